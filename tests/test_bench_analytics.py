"""bench/analytics.py's generated lakes are lakes XGet reads, and every measured step runs on them.

No timing is asserted: the bench measures, the test checks that what it measures is XGet's real path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import analytics  # noqa: E402
from analytics_steps import STEPS, Run  # noqa: E402
from lakegen import LakeSpec, added_day, lakes  # noqa: E402

from xget_pipelines.core.lake.catalog import connect, has_view  # noqa: E402
from xget_pipelines.core.lake.delta import Lake  # noqa: E402

SPEC = LakeSpec(tweets=3_000, seed=3, day_tweets=1_000)  # 3 days of 1,000 tweets, 1,000 users


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return lakes(SPEC, tmp_path_factory.mktemp("bench-lakes"))


def test_the_generated_lake_is_readable_by_xgets_own_views(generated):
    base, grown = generated
    con = connect(Lake(str(base)))
    for view in (
        "entities_tweets",
        "entities_users",
        "entities_follows",
        "entities_user_metrics_history",
        "cleaned_tweets",
        "cleaned_hashtags",
        "cleaned_mentions",
        "cleaned_urls",
        "analytics_tweet_sentiment",
    ):
        assert has_view(con, view), view
    assert con.execute("select count(*), count(distinct tweet_id) from entities_tweets").fetchone() == (
        3_000,
        3_000,
    )
    assert con.execute("select count(distinct created_date) from entities_tweets").fetchone()[0] == SPEC.days
    # heavy-tailed authors: the busiest account writes far more than the median one
    top, median = con.execute(
        "select max(n), median(n) from (select count(*) n from entities_tweets group by author_id)"
    ).fetchone()
    assert top > 10 * median
    grown_con = connect(Lake(str(grown)))
    day = added_day(SPEC)
    assert (
        grown_con.execute("select count(*) from entities_tweets where created_date = ?", [day]).fetchone()[0]
        == SPEC.day_tweets
    )
    # the added day is not scored yet: that is tweet_sentiment's incremental work
    assert (
        grown_con.execute(
            "select count(*) from analytics_tweet_sentiment s join entities_tweets t using (tweet_id) "
            "where t.created_date = ?",
            [day],
        ).fetchone()[0]
        == 0
    )


@pytest.mark.parametrize(
    "step",
    [s for s in STEPS if s.asset != "profile_embedding"],
    ids=lambda s: f"{s.asset}-{s.implementation}",
)
def test_every_step_runs_on_the_generated_lake(generated, step, tmp_path):
    base, grown = generated
    for mode in step.modes:
        run = Run(base if mode == "full" else grown, mode, SPEC, tmp_path)
        if step.prepare is not None and mode == "incremental":
            step.prepare(run)
        figures = step.run(run)
        assert figures["rows"] >= 0
        if step.asset in ("analytics_trends", "analytics_user_profiles", "analytics_graph_metrics"):
            assert figures["rows"] > 0
        if step.asset == "tweet_sentiment":
            assert figures["rows"] == figures["lake_texts"] - figures["already_scored"] > 0


def test_a_step_past_its_timeout_is_reported_as_a_timeout(generated, tmp_path, monkeypatch):
    base, _ = generated
    monkeypatch.setattr(analytics, "ROOT", tmp_path)
    step = next(s for s in STEPS if s.asset == "analytics_graph_metrics")
    args = argparse.Namespace(timeout=0.5, sentiment_model="vader")
    doc = analytics.measure(step, "full", base, SPEC, args)
    assert doc["status"] == "timeout"
    assert doc["seconds"] == 0.5
