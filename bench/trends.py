"""Benchmark: trend burst precision and recall on what the demo's watchlist sees, and on the whole world.

Run: ``.venv/bin/python bench/trends.py`` (about a minute: four worlds of the demo's size) or
``--seeds 7 3 --tweets 20000`` for a quicker look. Prints one JSON line per (seed, view); the LAST line is
the headline: the worst precision and the worst recall over the seeds, for the watchlist and the world (a
seed whose days hold no burst and no event has neither figure: it is listed under ``undefined``).

Method
------
- Worlds: ``WorldConfig(seed, users, tweets, days)`` at the demo's defaults (3,000 users, 100,000 tweets,
  30 days) for the demo's seed (``settings.emulator_seed``) and three others (``--seeds``).
- Watchlist view: the demo's watchlist for that world (``observed.demo_keys``: the suggested terms, three
  accounts, a list, a community, followers) over its last ``--days`` days (the demo's 14), within the
  demo's budget of 50 pages of 20 per (day, key); what it collects is computed by ``emulator/observed.py``
  with the emulator's own search and paging, not collected over HTTP (``tests/emulator/test_observed.py``
  checks the two agree). Whole world: every post of the same days.
- Scoring: ``core.trends`` with its default ``TrendConfig`` (hourly buckets, 24-bucket baseline), the first
  day as warm-up, against the world's injected bursts (synthetic ground truth). ``precision`` is over the
  events detected in the tweets evaluated, ``recall`` over the bursts those tweets show
  (``core.trends.observable``: ``min_count`` of a burst's posts from ``min_authors`` accounts in one bucket
  of its window), ``recall_all`` over every injected burst of the days. False events carry their cause
  (``core.trends.false_cause``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def main() -> None:
    from xget_pipelines.emulator.observed import demo_keys, score_trends
    from xget_pipelines.emulator.world import World, WorldConfig
    from xget_pipelines.settings import Settings

    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[defaults.emulator_seed, 3, 5, 11])
    parser.add_argument("--users", type=int, default=defaults.emulator_users)
    parser.add_argument("--tweets", type=int, default=defaults.emulator_tweets)
    parser.add_argument("--world-days", type=int, default=defaults.emulator_days)
    parser.add_argument("--days", type=int, default=defaults.demo_days, help="days the watchlist collects")
    args = parser.parse_args()

    worst: dict[str, dict[str, float]] = {}
    undefined: dict[str, list[int]] = {}  # figure -> seeds where it had nothing to score
    for seed in args.seeds:
        t0 = time.perf_counter()
        world = World.generate(
            WorldConfig(seed=seed, users=args.users, tweets=args.tweets, days=args.world_days)
        )
        for view, keys in (("watchlist", demo_keys(world)), ("world", None)):
            result = score_trends(world, keys, days=args.days)
            doc = {
                "seed": seed,
                "view": view,
                "precision": result.precision,
                "recall": result.observable_recall,
                "recall_all": result.recall,
                "events": result.events,
                "true_events": result.true_events,
                "co_burst_events": result.co_burst_events,
                "observable_bursts": result.observable_bursts,
                "injected_bursts": result.bursts,
                "missed": result.missed,
                "false_events": result.false_events,
                "false_causes": result.false_causes,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            emit(doc)
            mins = worst.setdefault(view, {"precision": 1.0, "recall": 1.0})
            for k in ("precision", "recall"):
                if doc[k] is None:
                    # no event (precision) or no burst shown (recall): nothing to score; listed below
                    undefined.setdefault(f"{view}_{k}", []).append(seed)
                else:
                    mins[k] = min(mins[k], doc[k])
    emit(
        {
            "headline": "worst trend precision / recall over the seeds",
            "seeds": args.seeds,
            "tweets": args.tweets,
            "days": args.days,
            **{f"{view}_{k}": round(v, 4) for view, mins in worst.items() for k, v in mins.items()},
            "undefined": undefined,
        }
    )


if __name__ == "__main__":
    main()
