"""The raw-page archive against a real MongoDB-wire server (SecantusDB, with a user and a password): the
lake's pages land once each and stay queryable inside their bodies, re-runs send only what is new, and a
server that dies mid-run fails the run clearly and loses nothing once it is back."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import dagster as dg
import orjson
import pyarrow as pa
import pytest
from pymongo import MongoClient, monitoring
from pymongo.errors import DuplicateKeyError

from xget_pipelines.assets.archive import archive_asset, raw_pages_archive
from xget_pipelines.core.sinks.archive import STATE, WATERMARK_ID, PageArchive
from xget_pipelines.core.sinks.archive_query import count_pages, find_pages, page_body
from xget_pipelines.core.x.raw_pages import RAW_SCHEMA, RAW_TABLE
from xget_pipelines.resources.archive import ArchiveResource
from xget_pipelines.resources.lake import LakeResource

DAY1, DAY2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
CAPTURES = [
    "search",
    "followers",
    "following",
    "user_by_login",
    "user_by_id",
    "user_about",
    "trends",
    "tweet_details",
    "retweeters",
    "community_info",
    "community_members",
    "list_members",
    "subscriptions",
    "verified_followers",
    "community_moderators",
]


def write_pages(
    lake,
    captures_dir,
    day: dt.date,
    count: int,
    *,
    malformed: int = 0,
    first: int = 0,
    bodies: list[bytes] | None = None,
) -> list[str]:
    """Append ``count`` pages with the bodies of real X captures to ``raw/x_pages`` the way the scrape does
    (RAW_SCHEMA, 5 pages a commit, partitioned by day); the last ``malformed`` are truncated. Page keys."""
    meta = json.loads((captures_dir / "__meta.json").read_text())
    operations = {
        capture: ids[0].split("/")[-1] for capture, ids in meta.items()
    }  # "search": "SearchTimeline"
    rows = []
    for i in range(first, first + count):
        name = CAPTURES[i % len(CAPTURES)]
        body = bodies[i - first] if bodies else (captures_dir / f"raw_{name}.json").read_bytes()
        broken = i >= first + count - malformed
        rows.append(
            {
                "page_key": hashlib.sha1(f"{day}|{i}".encode()).hexdigest()[:24],
                "session_id": "s1",
                "run_id": "r1",
                "watch_key": "python",
                "operation": operations[name],
                "target": "python",
                "variables": json.dumps({"rawQuery": "python", "count": 20}),
                "cursor_in": None if i == first else f"c{i}",
                "cursor_out": f"c{i + 1}",
                "seq": i,
                "http_status": 200,
                "account": "acc1",
                "proxy": None,
                "fetched_at": dt.datetime.combine(day, dt.time(1), dt.UTC) + dt.timedelta(minutes=i),
                "malformed": broken,
                "body": body[: len(body) // 2] if broken else body,
                "day": day,
            }
        )
    for start in range(0, len(rows), 5):
        batch = pa.Table.from_pylist(rows[start : start + 5], schema=RAW_SCHEMA)
        lake.append(RAW_TABLE, batch, partition_by=["day"])
    return [r["page_key"] for r in rows]


def lake_pages(lake) -> dict[str, dict]:
    return {r["page_key"]: r for r in lake.read(RAW_TABLE).to_pylist()}


@pytest.fixture
def resources(lake, mongo):
    archive = ArchiveResource(
        url=mongo.url, database=f"xget_{uuid.uuid4().hex[:8]}", batch_size=4, timeout_s=2
    )
    return {"lake": LakeResource(uri=lake.uri), "archive": archive}


# The production asset retries an unreachable server 30, 60 and 120 s later; the tests' retries do not wait.
QUICK_RETRY_ARCHIVE = archive_asset(dg.RetryPolicy(max_retries=1, delay=0))


def run(resources, **kwargs):
    return dg.materialize([QUICK_RETRY_ARCHIVE], resources=resources, raise_on_error=False, **kwargs)


def metadata(result) -> dict:
    event = result.asset_materializations_for_node("raw_pages_archive")[0]
    return {k: v.value for k, v in event.metadata.items()}


def stored(resources) -> PageArchive:
    return PageArchive(resources["archive"].url, resources["archive"].database, timeout_s=5)


def test_the_archive_holds_exactly_the_lakes_pages_queryable_inside_their_bodies(
    lake, captures_dir, resources, mongo
):
    keys = write_pages(lake, captures_dir, DAY1, 15, malformed=1) + write_pages(
        lake, captures_dir, DAY2, 6, first=15
    )
    instance = dg.DagsterInstance.ephemeral()
    result = run(resources, instance=instance)
    assert result.success
    md = metadata(result)
    pages = lake_pages(lake)
    assert md["pages_archived"] == md["new_documents"] == len(pages) == 21
    assert (md["from_version"], md["to_version"], md["full"]) == (-1, lake.version(RAW_TABLE), True)
    assert md["compressed_bodies"] == 1  # the malformed page: kept as the bytes X served
    with stored(resources) as archive:
        assert archive.pages.count_documents({}) == 21
        assert {d["_id"] for d in archive.pages.find({}, {"_id": True})} == set(keys) == set(pages)
        for key in keys[:14]:
            assert page_body(archive, key) == orjson.loads(pages[key]["body"])
        doc = archive.pages.find_one({"_id": keys[0]})
        assert doc["body"] == orjson.loads(pages[keys[0]]["body"]) and doc["body_format"] == "document"
        assert (doc["day"], doc["operation"], doc["http_status"], doc["variables"]) == (
            "2026-03-01",
            pages[keys[0]]["operation"],
            200,
            {"rawQuery": "python", "count": 20},
        )
        assert doc["fetched_at"] == pages[keys[0]]["fetched_at"]
        broken = keys[14]
        assert page_body(archive, broken) == pages[broken]["body"] and pages[broken]["malformed"]

        index = archive.pages.index_information()["page_key_unique"]
        assert index["unique"] and index["key"] == [("page_key", 1)]
        with pytest.raises(DuplicateKeyError):
            archive.pages.insert_one({"_id": "another id", "page_key": keys[0]})

        assert {p["page_key"] for p in find_pages(archive, day=DAY2)} == set(keys[15:])
        assert [p["page_key"] for p in find_pages(archive, page_key=keys[3])] == [keys[3]]
        assert all("body" not in p and "body_zlib" not in p for p in find_pages(archive, day=DAY1))
        searches = [k for k, p in pages.items() if p["operation"] == "SearchTimeline"]
        assert (
            count_pages(archive, operation="SearchTimeline", day=DAY1)
            == len([k for k in searches if pages[k]["day"] == DAY1])
            > 0
        )
        first_hour = dt.datetime.combine(DAY1, dt.time(1), dt.UTC)
        assert {
            p["page_key"]
            for p in find_pages(
                archive, fetched_from=first_hour, fetched_until=first_hour + dt.timedelta(minutes=5)
            )
        } == set(keys[:5])
        inside = {"body.data.user.result.core.screen_name": "XDevelopers"}
        expected = [
            k
            for k, p in pages.items()
            if not p["malformed"]
            and (orjson.loads(p["body"]).get("data") or {})
            .get("user", {})
            .get("result", {})
            .get("core", {})
            .get("screen_name")
            == "XDevelopers"
        ]
        assert count_pages(archive, where=inside) == len(expected) > 0
    logged = "\n".join(entry.user_message for entry in instance.all_logs(result.run_id))
    assert mongo.hosts in logged and mongo.password not in logged and "xget:***@" in logged
    assert mongo.password not in json.dumps(md)

    wrong_url = mongo.url.replace(mongo.password, "not-the-password")
    refused = run(
        {**resources, "archive": ArchiveResource(url=wrong_url, database=resources["archive"].database)}
    )
    message = refused.failure_data_for_node("raw_pages_archive").error.message
    assert not [
        e for e in refused.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"
    ]  # retrying cannot help
    assert "check the user and password of XGET_ARCHIVE_URL" in message and "not-the-password" not in message


def test_a_second_run_sends_nothing_and_then_only_the_new_pages(lake, captures_dir, resources):
    write_pages(lake, captures_dir, DAY1, 10)
    assert metadata(run(resources))["pages_archived"] == 10
    with stored(resources) as archive:
        before = {d["_id"]: d["archived_at"] for d in archive.pages.find({}, {"archived_at": True})}
    again = metadata(run(resources))
    assert (again["pages_archived"], again["batches"], again["full"]) == (0, 0, False)
    assert again["from_version"] == again["to_version"] == lake.version(RAW_TABLE)

    new = write_pages(lake, captures_dir, DAY2, 7, first=10)
    third = metadata(run(resources))
    assert (third["pages_archived"], third["new_documents"], third["full"]) == (7, 7, False)
    with stored(resources) as archive:
        assert archive.pages.count_documents({}) == 17
        after = {d["_id"]: d["archived_at"] for d in archive.pages.find({}, {"archived_at": True})}
        assert {k: after[k] for k in before} == before  # the first ten were not sent again
        assert set(after) - set(before) == set(new)
        assert archive.watermark() == lake.version(RAW_TABLE)


def test_a_page_over_the_16_mb_document_limit_is_kept_compressed_and_read_back_whole(
    lake, captures_dir, resources
):
    timeline = orjson.loads((captures_dir / "raw_list_timeline.json").read_bytes())
    big = orjson.dumps([timeline] * 16)  # 16 real pages in one compact JSON body: about 17 MB as BSON
    assert len(big) > 16 * 1024 * 1024
    small = (captures_dir / "raw_user_by_login.json").read_bytes()
    big_key, small_key = write_pages(lake, captures_dir, DAY1, 2, bodies=[big, small])
    md = metadata(run(resources))
    assert (md["pages_archived"], md["compressed_bodies"], md["omitted_bodies"]) == (2, 1, 0)
    with stored(resources) as archive:
        doc = archive.pages.find_one({"_id": big_key})
        assert (
            doc["body_format"] == "json_zlib" and "body" not in doc and len(doc["body_zlib"]) < len(big) / 4
        )
        assert page_body(archive, big_key) == [timeline] * 16
        assert page_body(archive, small_key) == orjson.loads(small)


class KillAfterFirstBatch(monitoring.CommandListener):
    """Kills the server (SIGKILL) right after it acknowledged the first page batch sent to ``database``: the
    run is cut between two batches, as by a crash. Observes the driver's own command events; inert once fired.
    """

    def __init__(self):
        self.server, self.database = None, None

    def arm(self, server, database):
        self.server, self.database = server, database

    def started(self, event):
        pass

    def failed(self, event):
        pass

    def succeeded(self, event):
        if self.server and event.command_name == "update" and event.database_name == self.database:
            server, self.server = self.server, None
            server.kill()


KILLER = KillAfterFirstBatch()
monitoring.register(KILLER)  # for clients created from now on: the run's own client included


def test_a_server_killed_mid_run_fails_it_clearly_and_the_next_run_catches_up(
    lake, captures_dir, resources, mongo
):
    write_pages(lake, captures_dir, DAY1, 12)
    KILLER.arm(mongo, resources["archive"].database)
    failed = run(resources)
    assert not failed.success
    failure = failed.failure_data_for_node("raw_pages_archive")
    error, texts = failure.error, []
    while error is not None:  # "Exceeded max_retries", caused by the last attempt's own failure
        texts.append(error.message)
        error = error.cause
    message = "\n".join(texts)
    assert f"MongoDB archive at {mongo.hosts} is unreachable" in message
    assert "The lake is untouched" in message and "the next run re-sends every page since then" in message
    assert mongo.password not in message and "xget:***@" in message
    # an unreachable server is retried (once here; three times, minutes apart, in production): the run fails
    assert len([e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]) == 1

    version_at_failure = lake.version(RAW_TABLE)
    write_pages(lake, captures_dir, DAY2, 5, first=12)  # the lake keeps taking pages meanwhile
    assert lake.version(RAW_TABLE) > version_at_failure

    mongo.start()  # same data folder, same port
    with MongoClient(mongo.url, serverSelectionTimeoutMS=5000) as client:
        assert client[resources["archive"].database][STATE].find_one({"_id": WATERMARK_ID}) is None
    caught_up = run(resources)
    assert caught_up.success
    md = metadata(caught_up)
    assert md["from_version"] == -1 and md["to_version"] == lake.version(RAW_TABLE)
    pages = lake_pages(lake)
    with stored(resources) as archive:
        ids = [d["_id"] for d in archive.pages.find({}, {"_id": True})]
        assert len(ids) == len(set(ids)) == len(pages) == 17  # nothing missing, nothing doubled
        assert set(ids) == set(pages)
        assert archive.watermark() == lake.version(RAW_TABLE)


def test_new_raw_pages_request_the_archive_on_their_own(tmp_path):
    from xget_pipelines.partitions import watch_daily_partitions

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("watchlist", ["python"])
    raw = dg.AssetSpec(
        "raw_x_pages", partitions_def=watch_daily_partitions
    )  # the raw asset's key and partitions
    defs = dg.Definitions(
        assets=[raw, raw_pages_archive],
        resources={  # evaluated, never run: nothing is contacted
            "lake": LakeResource(uri=str(tmp_path / "lake")),
            "archive": ArchiveResource(url="mongodb://127.0.0.1:9/"),
        },
    )
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # nothing collected yet
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "raw_x_pages", partition=dg.MultiPartitionKey({"date": "2026-03-01", "watch": "python"})
        )
    )
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert after.get_requested_partitions(dg.AssetKey("raw_pages_archive")) == {None}
