"""The lake on S3-compatible object storage, chosen by settings alone (XGET_LAKE_URI + storage options): a
real S3 API server from PyPI (moto's server, over HTTP on a free port) holds the lake while the ingest assets
collect a partition from the emulator, the entities merge it, SQL reads it, the media land in it, the sinks'
change feed follows it, and a backup of it restores to another prefix identical."""

import datetime as dt
import json

import dagster as dg
import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.entities import merge_day
from xget_pipelines.core.lake.backup import backup_lake
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.lake.changes import changes_since
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.restore import restore_lake

DAY = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def s3(s3_server):
    _, client, options = s3_server
    client.create_bucket(Bucket="xget-lake")
    return client, options


def test_the_pipeline_on_s3_by_settings_alone(
    s3, emulator_factory, sqlite_url, small_world, monkeypatch, tmp_path
):
    from xget_pipelines.assets import ingest_assets
    from xget_pipelines.assets.media import x_media
    from xget_pipelines.resources.environment import resources_for
    from xget_pipelines.settings import Settings

    client, options = s3
    emu = emulator_factory(window_seconds=2)
    monkeypatch.setenv("XGET_LAKE_URI", "s3://xget-lake/lake")
    monkeypatch.setenv("XGET_LAKE_STORAGE_OPTIONS", json.dumps(options))
    settings = Settings(
        database_url=sqlite_url, x_graphql_url=emu.graphql_url, home=tmp_path, x_lease_deadline_s=10
    )
    register_accounts(emu, get_engine(sqlite_url), ["s3a", "s3b"], secrets=settings.secret_box())
    resources = {k: v for k, v in resources_for(settings).items() if k != "dbt"}
    key = small_world.watchlist_suggestions()["terms"][0]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("watchlist", [key])
    result = dg.materialize(
        [*ingest_assets, x_media],
        resources=resources,
        instance=instance,
        partition_key=dg.MultiPartitionKey({"date": DAY, "watch": key}),
    )
    assert result.success

    lake = Lake(settings.resolved_lake_uri, settings.lake_storage_options)
    assert not lake.is_local
    objects = {o["Key"] for o in client.list_objects_v2(Bucket="xget-lake", Prefix="lake/")["Contents"]}
    assert any(k.startswith("lake/raw/x_pages/_delta_log/") for k in objects)
    assert any(k.startswith("lake/media/") for k in objects)  # the media objects too
    assert {"raw/x_pages", "cleaned/tweets", "cleaned/media"} <= set(lake.list_tables())

    merge_day(lake, dt.date.fromisoformat(DAY))
    con = connect(lake)  # SQL without DuckDB's httpfs: deltalake's own S3 client
    ((tweets, distinct),) = con.execute(
        "select count(*), count(distinct tweet_id) from cleaned_tweets"
    ).fetchall()
    assert tweets > 0 and con.execute("select count(*) from entities_tweets").fetchone()[0] == distinct
    stored = con.execute("select count(*) from cleaned_media where object_path is not null").fetchone()[0]
    assert stored == con.execute("select count(*) from cleaned_media").fetchone()[0] > 0

    feed = changes_since(lake, "entities/tweets", None)
    assert feed.full and sum(b.num_rows for b in feed.batches()) == distinct
    assert changes_since(lake, "entities/tweets", feed.version).empty

    manifest = backup_lake(lake, str(tmp_path / "backup"), sqlite_url)
    restored = Lake("s3://xget-lake/restored", options)
    report = restore_lake(str(tmp_path / "backup"), restored)
    assert report.tables == {t["name"]: (t["version"], t["rows"]) for t in manifest["tables"]}
    assert {i.name: (i.version, i.rows) for i in restored.describe()} == {
        i.name: (i.version, i.rows) for i in lake.describe()
    }
    assert report.media == len(manifest["media"]) > 0


def test_unsafe_commit_modes_are_refused_and_conditional_puts_are_set():
    from xget_pipelines.core.lake.delta import UnsafeCommitMode

    with pytest.raises(UnsafeCommitMode, match='Remove it and set "aws_conditional_put": "etag"'):
        Lake("s3://b/lake", {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"})
    with pytest.raises(UnsafeCommitMode, match="disable conditional puts"):
        Lake("s3://b/lake", {"aws_conditional_put": "disabled"})
    assert Lake("s3://b/lake", {"AWS_REGION": "eu-west-1"}).storage_options["aws_conditional_put"] == "etag"
    assert "aws_conditional_put" not in Lake("/tmp/lake").storage_options  # local: atomic renames


def test_concurrent_writers_on_s3_lose_and_double_nothing(s3, tmp_path):
    """Eight first appends and four overlapping merges as processes against the S3 server: every row once,
    no key twice, no gap in the log (the server's conditional puts refuse a second commit of a version)."""
    from tests.core.test_lake_concurrency import _append, _merge, _run

    client, options = s3
    root = ("s3://xget-lake/concurrency", options)
    start = (str(tmp_path / "appends"), 8)  # a barrier: every writer goes once all are loaded
    _run(_append, [(root, list(range(w * 100, w * 100 + 20)), start) for w in range(8)])
    start = (str(tmp_path / "merges"), 4)
    _run(
        _merge,
        [
            (root, list(range(0, 300)), 1, start, False),
            (root, list(range(150, 450)), 2, start, False),
            (root, list(range(250, 600)), 3, start, False),
            (root, list(range(0, 600)), 4, start, False),
        ],
    )
    lake = Lake(*root)
    appended = lake.read("raw/t")
    assert appended.num_rows == 160 and len(set(appended["id"].to_pylist())) == 160
    merged = lake.read("entities/t")
    ids = merged["id"].to_pylist()
    assert len(ids) == len(set(ids)) == 600 and set(merged["seen"].to_pylist()) == {4}
    logs = [
        o["Key"]
        for o in client.list_objects_v2(Bucket="xget-lake", Prefix="concurrency/raw/t/_delta_log/")[
            "Contents"
        ]
        if o["Key"].endswith(".json")
    ]
    versions = sorted(int(k.rsplit("/", 1)[1].split(".")[0]) for k in logs)
    assert versions == list(range(len(versions)))  # no gap in the log
