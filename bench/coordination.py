"""Benchmark: coordinated behaviour detection (core/coordination.py) against the campaigns the emulator
injects (emulator/gen_campaigns.py), at the demo's world size, on the demo's seed and three more.

Run: ``.venv/bin/python bench/coordination.py`` (about 15 s a seed on 2 cores: the world's build, then the
detection twice) or ``--seeds 7 11`` / ``--users``, ``--tweets``, ``--days``. Prints one JSON line per seed,
then a headline JSON line (the last line): the worst precision and recall over the seeds and the trend
bursts reported as coordination, summed.

Each seed is scored twice:

- ``world``: every visible post of the world (what a collector of everything would hold);
- ``observed``: what the demo's watchlist collects over its last ``--watch-days`` days
  (``emulator/observed.py``: ``observed_tweets`` of ``demo_keys``, the emulator's own search and paging
  within the budget of 50 pages of 20 per day and key, checked against a real collection over HTTP in
  tests/emulator/test_observed.py). Recall is over the campaign accounts present in the subset.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xget_pipelines.core.coordination import detect, evaluate, tweet_tables, world_tables  # noqa: E402
from xget_pipelines.emulator.observed import demo_keys, observed_tweets  # noqa: E402
from xget_pipelines.emulator.world import World, WorldConfig  # noqa: E402

DEMO_SEED = 7
OTHER_SEEDS = (11, 23, 42)


def run(seed: int, users: int, tweets: int, days: int, watch_days: int) -> dict:
    t0 = time.perf_counter()
    world = World.generate(WorldConfig(seed=seed, users=users, tweets=tweets, days=days))
    built = time.perf_counter() - t0
    truth = world.ground_truth()
    t1 = time.perf_counter()
    whole = detect(*world_tables(world))
    detect_s = time.perf_counter() - t1
    scored = evaluate(whole, truth)
    seen_tweets, seen_urls, _ = tweet_tables(observed_tweets(world, demo_keys(world), days=watch_days))
    seen = detect(seen_tweets, seen_urls)
    seen_scored = evaluate(seen, truth, present=set(seen_tweets["author_id"].to_pylist()))
    return {
        "seed": seed,
        "tweets": len(world.tweets),
        "campaigns": len(truth["campaigns"]),
        "campaign_accounts": scored.campaign_accounts,
        "trend_bursts": len(truth["bursts"]),
        "world": {
            "clusters": whole.clusters.num_rows,
            "accounts": whole.members.num_rows,
            "precision": scored.precision,
            "recall": scored.recall,
            "bursts_as_coordination": scored.bursts_as_coordination,
        },
        "observed": {
            "tweets": seen_tweets.num_rows,
            "campaign_accounts_present": seen_scored.campaign_accounts,
            "clusters": seen.clusters.num_rows,
            "accounts": seen.members.num_rows,
            "precision": seen_scored.precision,
            "recall": seen_scored.recall,
            "bursts_as_coordination": seen_scored.bursts_as_coordination,
        },
        "build_s": round(built, 1),
        "detect_s": round(detect_s, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[DEMO_SEED, *OTHER_SEEDS])
    ap.add_argument("--users", type=int, default=3000, help="the demo's XGET_EMULATOR_USERS")
    ap.add_argument("--tweets", type=int, default=100_000, help="the demo's XGET_EMULATOR_TWEETS")
    ap.add_argument("--days", type=int, default=30, help="the demo's XGET_EMULATOR_DAYS")
    ap.add_argument("--watch-days", type=int, default=14, help="the demo's XGET_DEMO_DAYS")
    args = ap.parse_args()
    results = []
    for seed in args.seeds:
        result = run(seed, args.users, args.tweets, args.days, args.watch_days)
        results.append(result)
        print(json.dumps(result), flush=True)
    headline = {"seeds": args.seeds}
    for view in ("world", "observed"):
        headline[view] = {
            "worst_precision": min(r[view]["precision"] for r in results),
            "worst_recall": min(r[view]["recall"] for r in results),
            "bursts_as_coordination": sum(r[view]["bursts_as_coordination"] for r in results),
        }
    print(json.dumps(headline), flush=True)


if __name__ == "__main__":
    main()
