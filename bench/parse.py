"""Benchmark: XGet's ``parse_page`` against twscrape's parser on the same response bodies.

Run: ``.venv/bin/python bench/parse.py`` (about 10 s). Prints one JSON line per page, then a headline
JSON line (the last line). Both parsers read the same bytes in the same process, interleaved, and
each page's time is the best of several repetitions (the median is reported too):

- XGet: ``parse_page(body, operation)`` -> Arrow tables;
- twscrape 0.20.1: ``json.loads(body)`` + ``list(parse_tweets(d))`` + ``list(parse_users(d))``.

Pages, in three sets:

- ``captures``: the current-schema X captures (``raw_*.json`` in ``XGET_CAPTURES_DIR``, default
  ``<repo>/../shared/x-captures/twscrape``), byte for byte as stored. They are pretty-printed:
  indentation is about 70% of their bytes, and skipping it costs msgspec (XGet) proportionally more
  than ``json.loads`` (twscrape), so this set is the least favourable to XGet (``stored_*``).
- ``compact``: the same bodies re-serialised compactly, as X (and the emulator) actually send them.
- ``emulator``: pages rendered by the offline emulator's handlers, when they are importable.

The headline ``ratio`` is over the pages as the pipeline receives them: the compact captures plus the
emulator pages ("captures plus emulator pages", as the issue asks), with the stored-file figure
beside it so nobody mistakes one for the other.

"tweets/s" counts twscrape's tweets for both sides (same numerator, so the ratio is the time ratio);
XGet's row count, which adds retweeted originals, is reported per page as ``xget_tweet_rows``.
twscrape's error dumps (a file per object it cannot parse) are switched off here; see below.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["TWS_TELEMETRY"] = "0"  # before twscrape is imported
os.environ.setdefault("TWS_LOG_LEVEL", "CRITICAL")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import twscrape.models as tws_models  # noqa: E402
from twscrape.models import parse_tweets, parse_users  # noqa: E402

from xget_pipelines.core.x.parse import AmbiguousOperation, detect_operation, parse_page  # noqa: E402

# twscrape writes the whole page to /tmp/twscrape for every object it fails to parse (one User on
# raw_verified_followers, ...): hundreds of MB over a run. The bench turns that off, which also keeps
# the dump I/O out of twscrape's time: what is timed is parsing.
tws_models._write_dump = lambda kind, e, x, obj: None

CAPTURES = Path(os.environ.get("XGET_CAPTURES_DIR", REPO.parent / "shared" / "x-captures" / "twscrape"))
REPEATS = int(os.environ.get("XGET_BENCH_REPEATS", "15"))
MIN_SAMPLE_S = 0.004  # loop a parser until one sample lasts this long, so timer noise is small
TARGET = 5.0


def emulator_pages() -> tuple[list[tuple[str, bytes, str]], str]:
    """Synthetic pages rendered by the emulator's operation handlers, if they are importable.

    The emulator is built alongside this parser and has no stable page-building API yet, so this
    calls its handlers the way its server does and falls back to captures only on any failure.
    """
    try:
        import orjson

        from xget_pipelines.emulator import ops_tweets, ops_users
        from xget_pipelines.emulator.engagement import Engagement
        from xget_pipelines.emulator.render_tweet import TweetRenderer
        from xget_pipelines.emulator.render_user import UserRenderer
        from xget_pipelines.emulator.search import SearchIndex
        from xget_pipelines.emulator.settings import EmulatorSettings
        from xget_pipelines.emulator.timeline import Ctx
        from xget_pipelines.emulator.world import World, WorldConfig
    except ImportError as exc:
        return [], f"emulator not usable ({exc}): captures only"
    try:
        # deep=False: the pages measured stay those of an ordinary world (not the 540-reply thread)
        world = World.generate(WorldConfig(seed=5, users=400, tweets=8000, days=10, deep=False))
        settings = EmulatorSettings()
        users = UserRenderer()
        tweets = TweetRenderer(users, Engagement(world.cfg.end_ms))
        search = SearchIndex(world)
        picks = world.watchlist_suggestions()
        top_user = world.user_by_screen_name(picks["users"][0])
        popular = max(
            (t for t in world.tweets if not (t.retweeted or t.hidden or t.reply_to)),
            key=lambda t: len(getattr(t, "replies", ()) or ()),
        )
        requests = [
            (
                f"search {term!r}",
                ops_tweets.search_timeline,
                "SearchTimeline",
                {"rawQuery": term, "product": "Latest", "count": 20},
            )
            for term in picks["terms"][:3]
        ]
        requests += [
            (
                "search count=100",
                ops_tweets.search_timeline,
                "SearchTimeline",
                {"rawQuery": picks["terms"][0], "product": "Latest", "count": 100},
            ),
            ("user tweets", ops_tweets.user_tweets, "UserTweets", {"userId": str(top_user.id), "count": 40}),
            ("tweet detail", ops_tweets.tweet_detail, "TweetDetail", {"focalTweetId": str(popular.id)}),
            ("followers", ops_users.followers, "Followers", {"userId": str(top_user.id), "count": 50}),
        ]
        if picks["lists"]:
            requests.append(
                (
                    "list timeline",
                    ops_tweets.list_timeline,
                    "ListLatestTweetsTimeline",
                    {"listId": picks["lists"][0], "count": 40},
                )
            )
        pages = []
        for name, handler, op, variables in requests:
            ctx = Ctx(
                world=world,
                settings=settings,
                users=users,
                tweets=tweets,
                search=search,
                now_ms=world.cfg.end_ms,
                variables=variables,
            )
            pages.append((f"emulator {name}", orjson.dumps(handler(ctx)), op))
        return pages, f"{len(pages)} pages rendered by the emulator's handlers (world seed 5, 8000 tweets)"
    except Exception as exc:  # noqa: BLE001 - the emulator is work in progress; never fail the bench
        return [], f"emulator handlers failed ({type(exc).__name__}: {exc}): captures only"


def capture_pages() -> list[tuple[str, bytes, str]]:
    if not CAPTURES.is_dir():
        raise SystemExit(f"captures not found at {CAPTURES}; set XGET_CAPTURES_DIR")
    pages = []
    for path in sorted(CAPTURES.glob("raw_*.json")):
        body = path.read_bytes()
        try:
            op = detect_operation(body)
        except AmbiguousOperation:
            op = "UserByRestId" if "by_id" in path.name else "UserByScreenName"
        pages.append((path.name, body, op))
    return pages


def twscrape_parse(body: bytes) -> tuple[int, int]:
    doc = json.loads(body)
    return len(list(parse_tweets(doc))), len(list(parse_users(doc)))


def sample(fn, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def loops_for(fn) -> int:
    one = sample(fn, 1)
    return max(1, int(MIN_SAMPLE_S / max(one, 1e-7)))


def bench_page(name: str, body: bytes, op: str) -> dict:
    def ours():
        return parse_page(body, op)

    def theirs():
        return twscrape_parse(body)

    page = ours()
    tweets, users = theirs()
    inner_x, inner_t = loops_for(ours), loops_for(theirs)
    xs, ts = [], []
    gc.collect()
    for _ in range(REPEATS):  # interleaved, so drifts of the machine hit both alike
        xs.append(sample(ours, inner_x))
        ts.append(sample(theirs, inner_t))
    x, t = min(xs), min(ts)
    mb = len(body) / 1e6
    return {
        "bench": "parse",
        "page": name,
        "operation": op,
        "bytes": len(body),
        "tweets": tweets,
        "users": users,
        "xget_tweet_rows": page.tweets.num_rows,
        "xget_user_rows": page.users.num_rows,
        "xget_ms": round(x * 1e3, 4),
        "twscrape_ms": round(t * 1e3, 4),
        "xget_median_ms": round(statistics.median(xs) * 1e3, 4),
        "twscrape_median_ms": round(statistics.median(ts) * 1e3, 4),
        "xget_mb_per_s": round(mb / x, 1),
        "twscrape_mb_per_s": round(mb / t, 1),
        "xget_tweets_per_s": round(tweets / x),
        "twscrape_tweets_per_s": round(tweets / t),
        "ratio": round(t / x, 2),
    }


def summary(rows: list[dict], label: str) -> dict:
    x = sum(r["xget_ms"] for r in rows) / 1e3
    t = sum(r["twscrape_ms"] for r in rows) / 1e3
    tweets = sum(r["tweets"] for r in rows)
    mb = sum(r["bytes"] for r in rows) / 1e6
    with_tweets = [r for r in rows if r["tweets"]]
    return {
        f"{label}pages": len(rows),
        f"{label}bytes": int(mb * 1e6),
        f"{label}tweets": tweets,
        f"{label}xget_tweets_per_s": round(tweets / x),
        f"{label}twscrape_tweets_per_s": round(tweets / t),
        f"{label}xget_mb_per_s": round(mb / x, 1),
        f"{label}twscrape_mb_per_s": round(mb / t, 1),
        f"{label}ratio": round(t / x, 2),
        f"{label}ratio_tweet_pages": round(
            sum(r["twscrape_ms"] for r in with_tweets) / sum(r["xget_ms"] for r in with_tweets), 2
        )
        if with_tweets
        else None,
        f"{label}median_page_ratio": round(statistics.median(r["ratio"] for r in rows), 2),
        f"{label}min_page_ratio": min(r["ratio"] for r in with_tweets) if with_tweets else None,
    }


def compact(body: bytes) -> bytes:
    """The body as X serves it: compact JSON, UTF-8 text unescaped (the captures are pretty-printed)."""
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


def main() -> None:
    started = time.perf_counter()
    captures = capture_pages()
    synthetic, note = emulator_pages()
    sets = {
        "captures": captures,
        "compact": [(name, compact(body), op) for name, body, op in captures],
        "emulator": synthetic,
    }
    results: dict[str, list[dict]] = {}
    for label, pages in sets.items():
        results[label] = []
        for name, body, op in pages:
            results[label].append(bench_page(name, body, op) | {"set": label})
            print(json.dumps(results[label][-1]), flush=True)
    wire = results["compact"] + results["emulator"]
    head = {"bench": "parse", **summary(wire, ""), "target": TARGET}
    head["meets_target"] = head["ratio"] >= TARGET
    head.update(summary(results["captures"], "stored_"))
    head["stored_meets_target"] = head["stored_ratio"] >= TARGET
    head.update(summary(results["compact"], "compact_"))
    if results["emulator"]:
        head.update(summary(results["emulator"], "emulator_"))
    head["emulator"] = note
    head["method"] = (
        f"best of {REPEATS} interleaved samples per page, same bytes, one process; "
        "tweets/s = twscrape's tweet count / summed best times. Headline: the pages as X sends "
        "them (compact captures + emulator pages); stored_*: the raw_* capture files as stored "
        "(pretty-printed); compact_*, emulator_*: each set alone"
    )
    head["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(head), flush=True)


if __name__ == "__main__":
    main()
