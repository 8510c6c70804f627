"""Records users supply, corrections and soft deletes (core/corrections.py) and how the entity merge honours
them: supplied tweets become observations, corrections outlive newer observations, deletes tombstone, restores
clear, re-merging changes nothing, a batch is all or nothing. And the sensor that requests the merge."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pyarrow as pa
import pytest

from tests.core.test_entities import D1, D2, _state, put, rows, ts, tweet, user
from xget_pipelines.core import corrections as core
from xget_pipelines.core.corrections import CORRECTIONS, USER_DELETED, CorrectionError, TweetAlreadyKnown
from xget_pipelines.core.entities import TWEET_METRICS, TWEETS, merge_day
from xget_pipelines.core.errors import Conflict, InvalidField, NotFound
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.tweet_reader import TweetReader
from xget_pipelines.core.x.clean import cleaned_schema

UTC = dt.UTC


@dataclass
class Who:
    user_id: int
    username: str


ANN, BOB = Who(1, "ann"), Who(2, "bob")


def record(tweet_id: int, day: dt.date = D1, text: str = "supplied text", **extra) -> dict:
    return {
        "tweet_id": tweet_id,
        "text": text,
        "created_at": ts(day, 9).isoformat(),
        "author_id": 10,
        "lang": "en",
        **extra,
    }


def later(hours: float = 1) -> dt.datetime:
    """A fetch time after every correction made so far (corrections are stamped with the real clock)."""
    return dt.datetime.now(UTC) + dt.timedelta(hours=hours)


def tweet_row(lake, tweet_id: int) -> dict:
    (row,) = [r for r in rows(lake, TWEETS, "tweet_id") if r["tweet_id"] == tweet_id]
    return row


def test_a_tweet_supplied_for_a_day_never_collected_lands_in_the_entities(lake):
    (row,) = core.supply(lake, [record(7, like_count=4)], ANN, reason="from the archive")
    assert (row.action, row.day, row.username, row.reason) == (
        "insert",
        D1,
        "ann",
        "from the archive",
    )
    assert lake.read("cleaned/tweets") is None  # nothing was ever collected

    result = merge_day(lake, D1)
    assert result.source_rows[TWEETS] == 1 and result.inserted[TWEETS] == 1
    t = tweet_row(lake, 7)
    assert (t["text"], t["via"], t["visibility"], t["created_date"]) == (
        "supplied text",
        "supplied",
        "visible",
        D1,
    )
    assert t["like_count"] == 4 and t["retweet_count"] == 0 and t["view_count"] is None
    assert t["first_seen"] == t["last_seen"] == row.corrected_at
    assert lake.table(TWEET_METRICS) is None  # supplied counts were not observed: no metric history

    again = merge_day(lake, D1)  # idempotent
    assert again.inserted[TWEETS] == 0 and again.updated[TWEETS] == 0 and again.corrected == 0


def test_a_real_observation_replaces_a_supplied_tweet_and_keeps_its_corrections(lake):
    (supplied,) = core.supply(lake, [record(7)], ANN)
    merge_day(lake, D1)
    core.correct(lake, 7, {"lang": "de"}, "wrong language", ANN, D1)
    fetched = later()
    put(lake, "cleaned/tweets", D2, [tweet(7, ts(D1, 9), fetched, D2, likes=5, text="the real text")])
    merge_day(lake, D2)
    t = tweet_row(lake, 7)
    assert (t["text"], t["like_count"], t["via"], t["lang"]) == ("the real text", 5, "timeline", "de")
    assert (t["first_seen"], t["last_seen"]) == (supplied.corrected_at, fetched)


def test_a_correction_outlives_newer_observations_and_a_later_update_wins(lake):
    put(
        lake,
        "cleaned/tweets",
        D1,
        [tweet(1, ts(D1, 8), ts(D1, 12), D1, likes=3), tweet(2, ts(D1, 9), ts(D1, 12), D1)],
    )
    merge_day(lake, D1)
    row = core.correct(lake, 1, {"text": "first fix", "possibly_sensitive": True}, "typo", ANN, D1)
    assert (row.action, row.fields) == ("update", {"text": "first fix", "possibly_sensitive": True})
    core.correct(lake, 1, {"text": "second fix"}, None, BOB, D1)
    assert tweet_row(lake, 1)["text"] == "hello"  # nothing changes before the merge

    result = merge_day(lake, D1)
    assert result.corrected == 1
    t1, t2 = tweet_row(lake, 1), tweet_row(lake, 2)
    assert (t1["text"], t1["possibly_sensitive"], t1["like_count"]) == ("second fix", True, 3)
    assert t2["text"] == "hello"

    # A newer observation of the tweet (merged with a later day) brings new counts; the correction stays.
    put(lake, "cleaned/tweets", D2, [tweet(1, ts(D1, 8), later(), D2, likes=9, text="hello (edited)")])
    result = merge_day(lake, D2)
    assert result.updated[TWEETS] == 1 and result.corrected == 1
    t1 = tweet_row(lake, 1)
    assert (t1["text"], t1["possibly_sensitive"], t1["like_count"]) == ("second fix", True, 9)


def test_soft_delete_tombstones_until_restored_even_when_the_day_is_merged_again(lake):
    put(
        lake, "cleaned/tweets", D1, [tweet(1, ts(D1, 8), ts(D1, 12), D1), tweet(2, ts(D1, 8), ts(D1, 12), D1)]
    )
    merge_day(lake, D1)
    deleted = core.soft_delete(lake, 1, "spam", ANN, D1)
    with pytest.raises(Conflict) as already:
        core.soft_delete(lake, 1, None, ANN, D1)
    assert isinstance(already.value, CorrectionError) and already.value.field == "tweet_id"

    assert merge_day(lake, D1).corrected == 1
    t1 = tweet_row(lake, 1)
    assert (t1["tombstone"], t1["tombstoned_at"], t1["text"]) == (
        USER_DELETED,
        deleted.corrected_at,
        "hello",
    )
    reader = TweetReader(LiveCatalog(lake, refresh_s=0))
    with pytest.raises(NotFound):
        reader.tweet(1)
    assert reader.tweet(1, include_deleted=True)["tombstone"] == USER_DELETED

    # The day is collected again: the newer observation resets tombstone to null; the corrections re-mark it.
    put(
        lake,
        "cleaned/tweets",
        D1,
        [tweet(1, ts(D1, 8), later(), D1, likes=2), tweet(2, ts(D1, 8), later(), D1)],
    )
    result = merge_day(lake, D1)
    assert result.updated[TWEETS] == 2 and result.corrected == 1
    t1 = tweet_row(lake, 1)
    assert (t1["tombstone"], t1["like_count"]) == (USER_DELETED, 2)

    # An X tombstone later on does not replace the user's delete.
    tomb = pa.Table.from_pylist(
        [
            {
                "tweet_id": 1,
                "reason": "deleted",
                "watch_key": "python",
                "page_key": "p",
                "fetched_at": later(2),
                "day": D2,
            }
        ],
        schema=cleaned_schema("cleaned/tombstones"),
    )
    lake.replace_where("cleaned/tombstones", tomb, {"day": D2, "watch_key": "python"}, ["day"])
    result = merge_day(lake, D2)
    assert (result.tombstoned, result.corrected) == (0, 0) and tweet_row(lake, 1)["tombstone"] == USER_DELETED

    core.restore(lake, 1, "not spam", BOB, D1)
    with pytest.raises(CorrectionError):
        core.restore(lake, 1, None, BOB, D1)  # nothing left to restore
    assert merge_day(lake, D1).corrected == 1
    t1 = tweet_row(lake, 1)
    assert t1["tombstone"] is None and t1["tombstoned_at"] is None
    assert TweetReader(LiveCatalog(lake, refresh_s=0)).tweet(1)["tweet_id"] == 1
    assert [c.action for c in core.list_corrections(lake, 1)] == ["delete", "restore"]


def test_remerging_with_corrections_changes_nothing(lake):
    put(
        lake, "cleaned/tweets", D1, [tweet(1, ts(D1, 8), ts(D1, 12), D1), tweet(2, ts(D1, 8), ts(D1, 12), D1)]
    )
    put(lake, "cleaned/users", D1, [user(10, ts(D1, 12), D1, 100)])  # (_state reads every entity table)
    merge_day(lake, D1)
    core.supply(lake, [record(5), record(6, D2)], ANN)
    core.correct(lake, 1, {"text": "fixed", "lang": "fr", "has_media": True}, None, ANN, D1)
    core.soft_delete(lake, 2, None, ANN, D1)
    first = merge_day(lake, D1)
    merge_day(lake, D2)
    assert first.corrected == 2 and first.inserted[TWEETS] == 1
    before = _state(lake)
    version = lake.version(TWEETS)
    for day in (D1, D2, D1):
        again = merge_day(lake, day)
        assert again.corrected == 0 and again.inserted[TWEETS] == 0 and again.updated[TWEETS] == 0
    assert _state(lake) == before and lake.version(TWEETS) == version  # not even a new commit
    t1 = tweet_row(lake, 1)
    assert (t1["text"], t1["lang"], t1["has_media"]) == ("fixed", "fr", True)


def test_a_batch_is_one_commit_and_a_bad_record_writes_nothing(lake):
    future = (dt.datetime.now(UTC) + dt.timedelta(days=2)).isoformat()
    bad = [record(1), record(2), {**record(3), "created_at": future}]
    with pytest.raises(CorrectionError) as err:
        core.supply(lake, bad, ANN)
    assert (err.value.index, err.value.field) == (2, "records[2].created_at")
    assert isinstance(err.value, InvalidField)
    assert "future" in str(err.value)
    assert lake.table(CORRECTIONS) is None  # nothing written

    with pytest.raises(CorrectionError) as dup:
        core.supply(lake, [record(1), record(1)], ANN)
    assert dup.value.field == "records[1].tweet_id"

    naive = {**record(3, D2), "created_at": dt.datetime(2026, 3, 2, 23, 30)}  # no zone: UTC
    rows_ = core.supply(lake, [record(1), record(2), naive], ANN)
    assert lake.version(CORRECTIONS) == 0  # three records over two days: one commit
    assert [r.day for r in rows_] == [D1, D1, D2]
    assert (
        json.loads(lake.read(CORRECTIONS, where={"day": D2})["fields"][0].as_py())["created_at"]
        == "2026-03-02T23:30:00+00:00"
    )


def test_unknown_or_uncorrectable_fields_are_named(lake):
    with pytest.raises(ValueError) as unknown:
        core.supply_one(lake, record(1, likes=3), ANN)
    assert isinstance(unknown.value, CorrectionError) and unknown.value.field == "likes"
    assert "'likes'" in str(unknown.value)
    with pytest.raises(CorrectionError) as system:
        core.supply(lake, [record(1, via="timeline")], ANN)
    assert system.value.field == "records[0].via"
    for broken, field in (
        ({"text": ""}, "text"),
        ({"text": "x" * 25_001}, "text"),
        ({"tweet_id": 0}, "tweet_id"),
        ({"tweet_id": 2**63}, "tweet_id"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"author_id": -1}, "author_id"),
        ({"lang": "e n"}, "lang"),
    ):
        with pytest.raises(CorrectionError) as err:
            core.supply_one(lake, {**record(1), **broken}, ANN)
        assert err.value.field == field, broken
    with pytest.raises(CorrectionError) as missing:
        core.supply_one(lake, {"tweet_id": 1, "text": "no date"}, ANN)
    assert missing.value.field == "created_at"

    with pytest.raises(ValueError) as count:
        core.correct(lake, 1, {"text": "ok", "like_count": 0}, None, ANN, D1)
    assert count.value.field == "fields.like_count"
    assert all(name in str(count.value) for name in core.CORRECTABLE)
    with pytest.raises(CorrectionError):
        core.correct(lake, 1, {}, None, ANN, D1)
    with pytest.raises(CorrectionError):
        core.correct(lake, 1, {"has_media": "yes"}, None, ANN, D1)
    assert lake.table(CORRECTIONS) is None


def test_supplying_a_tweet_already_in_the_lake_is_a_conflict_unless_it_is_your_own(lake):
    put(lake, "cleaned/tweets", D1, [tweet(1, ts(D1, 8), ts(D1, 12), D1)])
    merge_day(lake, D1)
    with pytest.raises(Conflict) as collected:
        core.supply(lake, [record(1)], ANN)
    assert collected.value.field == "records[0].tweet_id"
    assert isinstance(collected.value, TweetAlreadyKnown) and not collected.value.supplied_by

    core.supply(lake, [record(5)], ANN)
    with pytest.raises(TweetAlreadyKnown) as theirs:
        core.supply(lake, [record(5)], BOB)  # not merged yet, still someone else's
    assert theirs.value.supplied_by == ["ann"] and "ann" in str(theirs.value)
    merge_day(lake, D1)
    core.supply(lake, [record(5, text="ann's second version")], ANN)  # her own record: replaced
    with pytest.raises(Conflict) as moved:
        core.supply_one(lake, record(5, D2), ANN)
    assert moved.value.field == "created_at"
    merge_day(lake, D1)
    assert tweet_row(lake, 5)["text"] == "ann's second version"
    assert [c.action for c in core.list_corrections(lake, 5)] == ["insert", "insert"]
    assert core.supplied_day(lake, 5) == D1 and core.supplied_day(lake, 1) is None


def test_the_sensor_requests_one_entities_run_per_corrected_day(lake):
    import dagster as dg

    from xget_pipelines.resources.lake import LakeResource
    from xget_pipelines.sensors.corrections import corrections_sensor

    def tick(cursor):
        ctx = dg.build_sensor_context(
            instance=dg.DagsterInstance.ephemeral(),
            cursor=cursor,
            resources={"lake": LakeResource(uri=lake.uri)},
        )
        return corrections_sensor(ctx)

    assert isinstance(tick(None), dg.SkipReason)  # no table yet
    core.supply(
        lake, [record(1), record(2, D2), record(3, dt.date(2005, 6, 1) + dt.timedelta(days=400))], ANN
    )
    first = tick(None)
    assert [(r.partition_key, r.run_key) for r in first.run_requests] == [
        (D1.isoformat(), f"corrections:{D1}:0"),
        (D2.isoformat(), f"corrections:{D2}:0"),
    ]  # 2006: before the partitions
    cursor = json.loads(first.cursor)
    assert cursor["version"] == 0 and cursor["corrected_at"]
    assert isinstance(tick(first.cursor), dg.SkipReason)  # unchanged

    core.correct(lake, 1, {"text": "fixed"}, None, ANN, D1)
    second = tick(first.cursor)
    assert {r.partition_key for r in second.run_requests} >= {D1.isoformat()}
    assert all(r.run_key.endswith(":1") for r in second.run_requests)
    assert json.loads(second.cursor)["version"] == 1
