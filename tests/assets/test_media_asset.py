"""x_media materialized by Dagster after a real scrape of the emulator (raw -> cleaned -> media), through a
real proxy server of the pool: every media row points at its stored object, a re-parse keeps the pointers,
a re-run fetches nothing, a failing file is recorded without failing the run, and switching it off works."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg
import httpx
import pytest

from tests.conftest import control_plane_resource, installation_box, register_accounts
from xget_pipelines.assets import cleaned_tables, ingest_assets
from xget_pipelines.assets.media import x_media
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.media import registry
from xget_pipelines.core.media.targets import target_for
from xget_pipelines.core.pools.proxies import ProxyPool, parse_proxy_lines
from xget_pipelines.emulator.proxy_servers import start_http_proxy
from xget_pipelines.resources import (
    AccountPoolResource,
    LakeResource,
    ProxyPoolResource,
    XApiResource,
)
from xget_pipelines.resources.media import MediaResource
from xget_pipelines.settings import Settings

DAY = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def http_proxy(tmp_path_factory):
    server = start_http_proxy(tmp_path_factory.mktemp("media-asset-proxy"))
    yield server
    server.stop()


@pytest.fixture
def scraped(emulator_factory, sqlite_url, tmp_path, small_world, http_proxy):
    """A partition scraped from the emulator and cleaned, with the pool's one proxy carrying every request."""
    emu = emulator_factory(window_seconds=2)
    engine = get_engine(sqlite_url)
    register_accounts(emu, engine, ["m1", "m2"])
    proxies = ProxyPool(engine, installation_box())
    ids = proxies.import_proxies(parse_proxy_lines(http_proxy.url()).records).ids
    proxies.check(ids, target_url=f"{emu.url}/_emulator/whoami", timeout_s=5, attempts=1)
    control_plane = control_plane_resource(sqlite_url)
    # XGet's own default: X's media hosts map to the emulator's /_media/ when X is the emulator
    url_map = Settings(x_graphql_url=emu.graphql_url).resolved_media_url_map
    resources = {
        "lake": LakeResource(uri=str(tmp_path / "lake")),
        "control_plane": control_plane,
        "account_pool": AccountPoolResource(control_plane=control_plane),
        "proxy_pool": ProxyPoolResource(control_plane=control_plane),
        "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10),
        "media": MediaResource(url_map_json=json.dumps(url_map), max_bytes=3_000_000, backoff_s=0.01),
    }
    instance = dg.DagsterInstance.ephemeral()
    key = max(small_world.watchlist_suggestions()["terms"][:3], key=len)
    instance.add_dynamic_partitions("watchlist", [key])
    partition = dg.MultiPartitionKey({"date": DAY, "watch": key})
    assert dg.materialize(
        ingest_assets, resources=resources, instance=instance, partition_key=partition
    ).success
    return emu, resources, instance, partition, ids[0]


def materialize_media(scraped, **media_overrides):
    emu, resources, instance, partition, _ = scraped
    if media_overrides:
        media = resources["media"]
        fields = {name: getattr(media, name) for name in ("url_map_json", "max_bytes", "backoff_s")}
        resources = {**resources, "media": MediaResource(**(fields | media_overrides))}
    result = dg.materialize([x_media], resources=resources, instance=instance, partition_key=partition)
    assert result.success
    md = result.asset_materializations_for_node("x_media")[0].metadata
    return {k: v.value for k, v in md.items()}


def media_rows(resources) -> list[dict]:
    con = connect(resources["lake"].lake())
    return (
        con.execute("select * from cleaned_media order by tweet_id, media_key").to_arrow_table().to_pylist()
    )


def test_scrape_clean_and_media_fill_object_path_for_every_media_row(scraped, http_proxy):
    emu, resources, _, _, proxy_id = scraped
    rows = media_rows(resources)
    assert len(rows) >= 5 and {r["media_type"] for r in rows} >= {"photo", "video"}
    assert all(r["object_path"] is None for r in rows)  # nothing stored yet
    videos = [r for r in rows if r["media_type"] == "video"]
    assert all(len([v for v in r["variants"] if v["content_type"] == "video/mp4"]) == 3 for r in videos)

    md = materialize_media(scraped)
    files = len({target_for(r).url for r in rows})
    assert md["files"] == files and md["rows"] == len(rows) and md["failed"] == 0
    assert md["downloaded"] + md["deduplicated"] == files and md["skipped_too_large"] == 0 and md["bytes"] > 0
    assert md["routes"] == {f"proxy {proxy_id}": files}  # every file through the pool's proxy
    assert md["pointed"] == len(rows) and "failures" not in md

    lake_root = Path(resources["lake"].uri)
    stored = registry.read(resources["lake"].lake())
    for row in media_rows(resources):
        rec = stored[target_for(row).url]
        assert row["object_path"] == rec["object_path"] and row["object_path"].startswith("media/")
        body = (lake_root / row["object_path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == rec["sha256"] == Path(row["object_path"]).stem
        assert body[:3] == b"\xff\xd8\xff" if row["media_type"] == "photo" else body[4:8] == b"ftyp"
        if row["media_type"] == "video":
            assert rec["bytes"] <= 3_000_000 and rec["bitrate"] in {v["bitrate"] for v in row["variants"]}
    # the tweet's media with SQL, as docs/how-to/sinks.md shows
    con = connect(resources["lake"].lake())
    joined = con.execute(
        "select count(*) from cleaned_media m join cleaned_tweets t using (tweet_id) "
        "where m.object_path is not null"
    ).fetchone()[0]
    assert joined == len(rows)
    assert wait_for_log(http_proxy, f"127.0.0.1:{emu.port}/_media/")


def wait_for_log(server, text: str, timeout_s: float = 10.0) -> bool:
    """proxy.py writes a client connection's line when it closes: poll for it."""
    import time

    deadline = time.monotonic() + timeout_s
    while text not in server.log_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_reparse_keeps_object_path_and_a_second_run_fetches_nothing(scraped):
    emu, resources, instance, partition, _ = scraped
    materialize_media(scraped)
    pointed = {(r["tweet_id"], r["media_key"]): r["object_path"] for r in media_rows(resources)}
    assert pointed and None not in pointed.values()

    # re-parse the partition from raw (what a backfill of the cleaned layer does): the pointers stay
    assert dg.materialize(
        [cleaned_tables], resources=resources, instance=instance, partition_key=partition
    ).success
    assert {(r["tweet_id"], r["media_key"]): r["object_path"] for r in media_rows(resources)} == pointed

    emu.state.media_stats.reset()
    version = resources["lake"].lake().version(registry.TABLE)
    md = materialize_media(scraped)
    assert (md["downloaded"], md["deduplicated"], md["bytes"], md["failed"]) == (0, 0, 0, 0)
    assert md["already_stored"] == md["files"] and md["pointed"] == len(pointed)
    assert emu.state.media_stats.snapshot()["GET"] == 0
    assert resources["lake"].lake().version(registry.TABLE) == version
    con = connect(resources["lake"].lake())
    assert con.execute("select count(*), count(distinct url) from cleaned_media_objects").fetchone() == (
        md["files"],
        md["files"],
    )


def test_a_file_that_keeps_failing_is_recorded_and_the_run_succeeds(scraped):
    emu, resources, _, _, _ = scraped
    rows = media_rows(resources)
    doomed = target_for(next(r for r in rows if r["media_type"] == "photo")).url
    rule = {"kind": "http_5xx", "operation": "media", "target": doomed.rsplit("/", 1)[1], "status": 503}
    httpx.post(f"{emu.url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()
    md = materialize_media(scraped)
    assert md["failed"] == 1 and md["downloaded"] + md["deduplicated"] == md["files"] - 1
    assert (
        doomed.split("://", 1)[1] in md["failures"]
        and "| 3 |" in md["failures"]
        and "HTTP 503" in md["failures"]
    )
    rec = registry.read(resources["lake"].lake())[doomed]
    assert (rec["status"], rec["attempts"]) == ("failed", 3)
    after = media_rows(resources)
    assert [r["object_path"] is None for r in after] == [target_for(r).url == doomed for r in after]


def test_switched_off_it_fetches_nothing_and_says_so(scraped):
    emu, resources, _, _, _ = scraped
    md = materialize_media(scraped, enabled=False)
    assert md["enabled"] is False and "XGET_MEDIA_DOWNLOAD=false" in md["note"]
    assert emu.state.media_stats.snapshot()["GET"] == 0
    assert resources["lake"].lake().table(registry.TABLE) is None
    assert not (Path(resources["lake"].uri) / "media").exists()
