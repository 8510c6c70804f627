"""Dagster's normal concurrency on one lake, as real processes: 16 `x_ingest` partitions at once, then two
`entities` days merged at once, each a `dagster asset materialize` process of its own (Dagster's own
executor, as a run worker would). Checked against the emulator's own count of pages served and against a
sequential collection of the same partitions: every page stored once, every cleaned partition the same, no
entity key twice, no gap in any Delta log. On a local lake and on the S3 test server."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.assets.cleaned import TABLES as CLEANED_TABLES
from xget_pipelines.assets.cleaned import asset_key
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.lake.delta import Lake

# raw_x_pages and every output of the cleaned multi-asset (it cannot be subset): from the code, so a new
# cleaned table joins the selection
INGEST = ",".join(["raw_x_pages", *(asset_key(table).to_user_string() for table in CLEANED_TABLES)])
ENTITIES = (
    "entities_tweets,entities_users,entities_tweet_metrics_history,entities_user_metrics_history,"
    "entities_follows"
)
TODAY = dt.datetime.now(dt.UTC).date()
DAYS = [(TODAY - dt.timedelta(days=d)).isoformat() for d in (2, 1)]


# A partition's tweets of its own day. An @account's timeline pages also carry the newer tweets above the day
# (today's, which keep appearing as the emulator's clock runs, and the reference was collected minutes
# earlier), and with them the tweets they reply to or quote, some of the day itself: for an @account the
# comparison is of the account's own tweets of the day, a search's all of the day's, which no later
# collection can change.
DAY_TWEETS = """
select t.day, t.watch_key, list_sort(list(distinct t.tweet_id))
from cleaned_tweets t
left join (select distinct user_id, lower(username) as handle from cleaned_users) u on u.user_id = t.author_id
where cast(t.created_at at time zone 'UTC' as date) = t.day
  and (not starts_with(t.watch_key, '@') or u.handle = lower(substr(t.watch_key, 2)))
group by 1, 2
"""


def _materialize(env: dict, select: str, partition: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "xget_pipelines.definitions",
            "--select",
            select,
            "--partition",
            partition,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _all(procs: list[subprocess.Popen]) -> None:
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    failed = [out[-3000:] for p, out in zip(procs, outputs, strict=False) if p.returncode != 0]
    assert not failed, failed[0]


def _log_versions(lake: Lake, table: str) -> list[int]:
    from xget_pipelines.core.lake.files import root_for

    root = root_for(lake.path(table), lake.storage_options)
    return sorted(
        int(p.rsplit("/", 1)[1].split(".")[0])
        for p in root.list("_delta_log")
        if p.endswith(".json") and p.rsplit("/", 1)[1].split(".")[0].isdigit()
    )


@pytest.fixture(scope="module")
def moto_s3(s3_server):
    _, client, options = s3_server
    client.create_bucket(Bucket="xget-stress")
    return options


def _keys(world) -> list[str]:
    suggested = world.watchlist_suggestions()
    busy = [
        u.screen_name
        for u in sorted(world.users, key=lambda u: -len(u.tweets))
        if not (u.protected or u.unavailable) and u.screen_name not in suggested["users"]
    ]
    return suggested["terms"][:4] + [
        "@" + u for u in [*suggested["users"], *busy][:4]
    ]  # searches and accounts


@pytest.fixture(scope="module")
def emu(small_world):
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import EmulatorServer

    with EmulatorServer(small_world, EmulatorSettings(window_seconds=60)) as server:
        yield server


@pytest.fixture(scope="module")
def reference(emu, small_world, tmp_path_factory) -> dict:
    """The cleaned tweet ids of every (day, key) collected one partition after another, in this process."""
    keys = _keys(small_world)
    return _sequential_reference(
        tmp_path_factory.mktemp("reference"), emu, keys, [f"{day}|{key}" for day in DAYS for key in keys]
    )


# On S3 half the partitions (8, both days): the S3 test server answers every request of 16 processes in one
# Python process, and twice the runs would cost the suite minutes without a different kind of collision.
@pytest.mark.parametrize("where,keys_per_day", [("local", 8), ("s3", 4)])
def test_sixteen_partitions_and_two_merges_at_once_store_everything_once(
    where, keys_per_day, tmp_path, emu, small_world, moto_s3, reference
):
    keys = _keys(small_world)[:keys_per_day] if keys_per_day == 8 else _keys(small_world)[2:6]
    partitions = [f"{day}|{key}" for day in DAYS for key in keys]
    options = moto_s3 if where == "s3" else {}
    uri = f"s3://xget-stress/{tmp_path.name}" if where == "s3" else str(tmp_path / "lake")
    database = f"sqlite:///{tmp_path / 'xget.db'}"
    register_accounts(emu, get_engine(database), [f"{where}{i}" for i in range(len(partitions))])
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # XGET_HOME stays the test session's: the runs decrypt the accounts' cookies with its key
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "XGET_DATABASE_URL": database,
        "XGET_LAKE_URI": uri,
        "XGET_LAKE_STORAGE_OPTIONS": json.dumps(options),
        "XGET_X_GRAPHQL_URL": emu.graphql_url,
        "XGET_X_LEASE_DEADLINE_S": "60",
        "XGET_MEDIA_DOWNLOAD": "false",
    }
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster"))
    instance.add_dynamic_partitions("watchlist", keys)

    before = httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]["pages"]
    _all([_materialize(env, INGEST, p) for p in partitions])  # every partition's run at once
    _all([_materialize(env, ENTITIES, day) for day in DAYS])  # both days merged at once

    lake = Lake(uri, options)
    con = connect(lake)
    served = httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]["pages"] - before
    stored, distinct = con.execute("select count(*), count(distinct page_key) from raw_x_pages").fetchone()
    # Every page the emulator served, once. A page the emulator sent but the client never received (its
    # request timed out on a loaded machine) is retried and stored once: such pages are the transport
    # errors the accounts' counters recorded, and nothing else may separate served from stored.
    errors = _account_errors(database)
    assert stored == distinct and stored <= served <= stored + errors, (stored, distinct, served, errors)
    assert con.execute("select count(distinct (day, watch_key)) from raw_x_pages").fetchone()[0] == len(
        partitions
    )
    total, ids = con.execute("select count(*), count(distinct tweet_id) from entities_tweets").fetchone()
    cleaned = con.execute("select count(distinct tweet_id) from cleaned_tweets").fetchone()[0]
    assert total == ids == cleaned  # no key twice, none missing
    users = con.execute("select count(*) - count(distinct user_id) from entities_users").fetchone()[0]
    assert users == 0
    covered = con.execute(
        "select count(*), count(distinct (day, watch_key)), count(*) filter (where outcome = 'complete') "
        "from ops_coverage"
    ).fetchone()
    assert covered == (len(partitions),) * 3  # one row per partition however many runs merged at once
    for table in ("raw/x_pages", "cleaned/tweets", "entities/tweets", "entities/users", "ops/coverage"):
        versions = _log_versions(lake, table)
        assert versions == list(range(len(versions))), (table, versions)  # no gap

    ours = {(r[0].isoformat(), r[1]): r[2] for r in con.execute(DAY_TWEETS).fetchall()}
    assert ours == {k: v for k, v in reference.items() if f"{k[0]}|{k[1]}" in partitions}


def _account_errors(database: str) -> int:
    """The failed requests (timeouts, resets, 5xx) the pool's accounts counted, over every operation."""
    with get_engine(database).connect() as conn:
        return conn.execute(sa.text("select coalesce(sum(errors), 0) from account_operations")).scalar_one()


def _sequential_reference(folder, emu, keys, partitions) -> dict:
    from xget_pipelines.assets import ingest_assets
    from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource

    database = f"sqlite:///{folder / 'reference.db'}"
    register_accounts(emu, get_engine(database), [f"ref{i}" for i in range(4)])
    control = control_plane_resource(database)
    resources = {
        "lake": LakeResource(uri=str(folder / "lake")),
        "control_plane": control,
        "account_pool": AccountPoolResource(control_plane=control),
        "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=60),
    }
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("watchlist", keys)
    for partition in partitions:
        day, key = partition.split("|")
        assert dg.materialize(
            ingest_assets,
            resources=resources,
            instance=instance,
            partition_key=dg.MultiPartitionKey({"date": day, "watch": key}),
        ).success
    con = connect(Lake(str(folder / "lake")))
    return {(r[0].isoformat(), r[1]): r[2] for r in con.execute(DAY_TWEETS).fetchall()}
