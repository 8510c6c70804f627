"""Burst detection on known inputs: the emulator world's injected bursts (its ground truth) and small
hand-made series."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from xget_pipelines.core.trends import TrendConfig, burst_events, detect, evaluate, series_counts

UTC = dt.UTC
T0 = dt.datetime(2026, 5, 1, tzinfo=UTC)


def connection(
    tweets: list[tuple[int, dt.datetime, list[str]]],
    watched: list[tuple[int, str]] = (),
    authors: dict[int, int] | None = None,
):
    """``tw``, ``tags`` and ``watched`` over hand-made tweets, each by its own account unless ``authors``
    (tweet id -> account) says otherwise."""
    authors = authors or {}
    con = duckdb.connect()
    con.register(
        "tw",
        pa.table(
            {
                "tweet_id": pa.array([t[0] for t in tweets], pa.int64()),
                "created_at": pa.array([t[1] for t in tweets], pa.timestamp("us", tz="UTC")),
                "author_id": pa.array([authors.get(t[0], t[0]) for t in tweets], pa.int64()),
            }
        ),
    )
    con.register(
        "tags",
        pa.table(
            {
                "tweet_id": pa.array([t[0] for t in tweets for _ in t[2]], pa.int64()),
                "tag": pa.array([g for t in tweets for g in t[2]], pa.string()),
            }
        ),
    )
    con.register(
        "watched",
        pa.table(
            {
                "tweet_id": pa.array([w[0] for w in watched], pa.int64()),
                "watch_key": pa.array([w[1] for w in watched], pa.string()),
            }
        ),
    )
    return con


def test_the_worlds_injected_bursts_are_found_with_high_precision(small_world):
    tweets = [
        (t.id, dt.datetime.fromtimestamp(t.ms / 1000, UTC), [h.lower() for h in t.hashtags])
        for t in small_world.tweets
        if not t.retweeted
    ]
    con = connection(tweets)
    cfg = TrendConfig()
    series_counts(con, cfg)
    start = min(t[1] for t in tweets).replace(minute=0, second=0, microsecond=0)
    end = max(t[1] for t in tweets).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    trends = detect(con, cfg, start, end, observed_from=start)
    result = evaluate(
        burst_events(trends, cfg), small_world.ground_truth()["bursts"], start, end, cfg, start, con
    )
    assert result.bursts >= 4  # bursts after the first day's warm-up
    assert result.recall >= 0.9 and result.precision >= 0.9, (result.missed, result.false_events)


@pytest.mark.parametrize("seed", [7, 3])
def test_bursts_are_found_with_high_precision_in_what_the_demos_watchlist_collects(seed):
    """The demo's watchlist over a smaller world (``emulator/observed.py``: its search and timeline hits
    within the budget, checked against a real collection in tests/emulator/test_observed.py): a sparse
    sample of the world, where one account's flurry or a quiet tag's chance hour must not pass for a burst.
    ``bench/trends.py`` measures the demo's size."""
    from xget_pipelines.emulator.observed import demo_keys, score_trends
    from xget_pipelines.emulator.world import World, WorldConfig

    world = World.generate(WorldConfig(seed=seed, users=1000, tweets=30_000, days=14, deep=False))
    result = score_trends(world, demo_keys(world), days=10)
    assert result.observable_bursts >= 4  # most injected bursts show in the watchlist's tweets
    assert result.observable_recall >= 0.9, result.missed
    assert result.precision >= 0.9, result.false_events


def hourly(counts: list[int], tag: str, first_id: int = 0) -> list[tuple[int, dt.datetime, list[str]]]:
    out, tid = [], first_id
    for hour, n in enumerate(counts):
        for i in range(n):
            out.append((tid, T0 + dt.timedelta(hours=hour, minutes=i % 60), [tag]))
            tid += 1
    return out


def test_a_spike_on_a_quiet_tag_is_one_event_and_a_busy_daily_rhythm_is_none():
    rhythm = [2, 1, 1, 1, 2, 3, 6, 10, 14, 16, 18, 18, 18, 18, 18, 18, 18, 19, 20, 20, 18, 15, 10, 6] * 3
    quiet = [1, 0, 0, 1, 0, 0, 1, 0] * 6 + [0, 1, 0, 0, 9, 14, 6, 0] + [0, 1, 0, 0, 1, 0, 0, 0] * 2
    quiet_tweets = hourly(quiet, "quiet", 10_000)
    spike = [(t[0], "k") for t in quiet_tweets if t[1] >= T0 + dt.timedelta(hours=52)]  # a key that caught it
    con = connection(hourly(rhythm, "busy") + quiet_tweets, watched=spike)
    cfg = TrendConfig()
    series_counts(con, cfg)
    trends = detect(con, cfg, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=3), observed_from=T0)
    events = [e for e in burst_events(trends, cfg) if e.scope == "global"]
    assert [(e.name, e.start) for e in events] == [("quiet", T0 + dt.timedelta(hours=52))]
    assert events[0].tweets == 9 + 14  # the second hour is judged against the hours before the burst
    volume = trends.filter(pa.compute.equal(trends["kind"], "volume")).to_pylist()
    assert {r["scope"] for r in volume} == {"k"}  # the watchlist key's own volume series
    assert [e.name for e in burst_events(trends, cfg) if e.scope == "k"] == ["quiet", "k"]  # per key, too


def test_one_accounts_flurry_on_a_quiet_tag_is_no_burst_but_many_accounts_are():
    quiet = [1, 0, 0, 1, 0, 0, 1, 0] * 4 + [10, 0]
    tweets = hourly(quiet, "quiet")
    flurry = {t[0]: 1 for t in tweets if t[1] >= T0 + dt.timedelta(hours=32)}  # one account wrote the 10
    cfg = TrendConfig()
    events = {}
    for name, authors in (("one account", flurry), ("ten accounts", None)):
        con = connection(tweets, authors=authors)
        series_counts(con, cfg)
        trends = detect(con, cfg, T0 + dt.timedelta(days=1), T0 + dt.timedelta(hours=34), observed_from=T0)
        events[name] = [e.start for e in burst_events(trends, cfg)]
    assert events == {"one account": [], "ten accounts": [T0 + dt.timedelta(hours=32)]}


@pytest.mark.parametrize("burst_posts, lifted", [(5, True), (1, False)])
def test_a_tag_counts_as_lifted_by_a_burst_only_when_the_bursts_posts_made_it_one(burst_posts, lifted):
    """A quiet tag at 1 an hour gets 11 tweets in the hour a burst runs: with 5 of them the burst's own
    posts, without those it would be 6, no burst, so the event is the burst's effect (though under half of
    its tweets carry the burst's term); with 1, the other 10 make it an event of its own, a false one."""
    tweets = hourly([1] * 30, "quiet")
    burst_hour = T0 + dt.timedelta(hours=30)
    extra = [
        (1000 + i, burst_hour + dt.timedelta(minutes=i), ["quiet", "boom"] if i < burst_posts else ["quiet"])
        for i in range(11)
    ]
    boom = [(2000 + i, burst_hour + dt.timedelta(minutes=i), ["boom"]) for i in range(20)]
    con = connection(tweets + extra + boom)
    cfg = TrendConfig()
    series_counts(con, cfg)
    end = burst_hour + dt.timedelta(hours=1)
    trends = detect(con, cfg, T0 + dt.timedelta(days=1), end, observed_from=T0)
    events = burst_events(trends, cfg)
    assert {e.name for e in events} == {"quiet", "boom"}
    injected = [{"term": "#boom", "start": burst_hour.isoformat(), "end": end.isoformat()}]
    result = evaluate(events, injected, T0 + dt.timedelta(days=1), end, cfg, T0, con)
    assert result.co_burst_events == (1 if lifted else 0)
    assert result.precision == (1.0 if lifted else 0.5)


def test_nothing_is_flagged_before_a_full_baseline_was_observed():
    con = connection(hourly([0] * 3 + [30], "new"))
    cfg = TrendConfig(baseline_buckets=6)
    series_counts(con, cfg)
    trends = detect(con, cfg, T0, T0 + dt.timedelta(hours=4), observed_from=T0)
    assert trends.filter(trends["burst"]).num_rows == 0
    later = detect(con, cfg, T0, T0 + dt.timedelta(hours=4), observed_from=T0 - dt.timedelta(hours=6))
    assert later.filter(later["burst"]).num_rows == 1


def test_bucket_settings_are_checked():
    with pytest.raises(ValueError, match="divisor of 1440"):
        TrendConfig(bucket_minutes=7)
    with pytest.raises(ValueError, match="baseline_buckets"):
        TrendConfig(baseline_buckets=1)
