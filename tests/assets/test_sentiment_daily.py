"""The daily sentiment per watchlist key is computed for the days whose tweets were scored since the previous
run, and the stored table is the same as a whole recompute."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from tests.core.test_profile_daily import DAY0, DAY1, DAY2, World
from tests.serving.lake_fixture import rows_for
from xget_pipelines.assets.sentiment import sentiment_daily
from xget_pipelines.core.sentiment.models import VaderModel
from xget_pipelines.core.sentiment.scoring import SENTIMENT_DAILY
from xget_pipelines.core.sentiment.scoring import sentiment_daily as whole
from xget_pipelines.core.x.clean import cleaned_schema
from xget_pipelines.resources import LakeResource, SentimentResource

UTC = dt.UTC
VERSION = VaderModel.version
T0 = dt.datetime(2026, 6, 4, 1, tzinfo=UTC)


def collect(world: World, lake, day: dt.date, authors: list[int], scored_at: dt.datetime) -> None:
    """Tweets of ``day`` as a watchlist key's timeline collected them, scored at ``scored_at``."""
    ids = world.tweets(day, day, authors, 4)
    rows = [
        {"tweet_id": tid, "watch_key": "#cats", "via": "timeline", "day": day, "page_key": "p"} for tid in ids
    ]
    lake.replace_where(
        "cleaned/tweets",
        rows_for(cleaned_schema("cleaned/tweets"), rows),
        {"day": day, "watch_key": "#cats"},
        ["day"],
    )
    world.score(ids, VERSION, scored_at)


def run(lake, instance, tmp_path, model: str = "vader") -> dict:
    resources = {
        "lake": LakeResource(uri=lake.uri),
        "sentiment": SentimentResource(model=model, home=str(tmp_path / "home")),
    }
    result = dg.materialize([sentiment_daily], resources=resources, instance=instance)
    (event,) = result.asset_materializations_for_node("sentiment_daily")
    return {k: v.value for k, v in event.metadata.items()}


def rows(table) -> list[dict]:
    """Rows by key and day, the mean to 12 places (a sum's order differs between the two computations)."""
    out = sorted(table.to_pylist(), key=lambda r: (r["watch_key"], r["day"]))
    return [{**r, "mean_score": round(r["mean_score"], 12)} for r in out]


def stored(lake) -> list[dict]:
    return rows(lake.read(SENTIMENT_DAILY, where={"model_version": VERSION}))


def test_a_run_computes_only_the_days_scored_since_the_last_and_matches_a_recompute(lake, tmp_path):
    world = World(lake)
    instance = dg.DagsterInstance.ephemeral()
    collect(world, lake, DAY0, [1, 2, 3], T0)
    collect(world, lake, DAY1, [1, 4], T0 + dt.timedelta(hours=1))

    first = run(lake, instance, tmp_path)
    assert first["mode"] == "full" and first["rows"] == 2

    collect(world, lake, DAY2, [2, 5], T0 + dt.timedelta(hours=2))
    second = run(lake, instance, tmp_path)
    # DAY0 is not read again; DAY1's scores are within the margin of the previous run's newest score.
    assert second["mode"] == "days"
    assert second["days_computed"] == [DAY1.isoformat(), DAY2.isoformat()]
    assert second["rows"] == 3 and second["rows_written"] == 2

    recompute = rows(whole(lake, VERSION))
    assert stored(lake) == recompute
    assert [r["day"] for r in recompute] == [DAY0, DAY1, DAY2]
    assert [r["tweets"] for r in recompute] == [12, 8, 8]

    third = run(lake, instance, tmp_path)  # nothing scored since: the newest batch's day only
    assert third["days_computed"] == [DAY2.isoformat()] and stored(lake) == recompute


def test_a_run_for_another_model_than_the_last_computes_every_day(lake, tmp_path):
    world = World(lake)
    instance = dg.DagsterInstance.ephemeral()
    collect(world, lake, DAY0, [1, 2], T0)
    collect(world, lake, DAY1, [3], T0)
    assert run(lake, instance, tmp_path)["mode"] == "full"

    other = "transformers:/models/tweet-classifier"
    tweets = lake.read("entities/tweets", columns=["tweet_id"])["tweet_id"].to_pylist()
    world.score(tweets, other, T0 + dt.timedelta(hours=1))
    switched = run(lake, instance, tmp_path, model=other)
    assert switched["mode"] == "full" and switched["rows"] == 2
    back = run(lake, instance, tmp_path)  # the previous run aggregated the other model
    assert back["mode"] == "full" and [r["day"] for r in stored(lake)] == [DAY0, DAY1]
