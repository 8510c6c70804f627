"""The media store against the emulator over real HTTP, through real proxy servers (proxy.py, pproxy), into a
lake on tmp_path: content-addressed objects, dedup, the video variant under the limit, retries and
recorded failures, re-runs that fetch nothing new, the pool's proxies used and told of failures."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.fs as pafs
import pytest
from cryptography.fernet import Fernet

from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.files import root_for
from xget_pipelines.core.media import registry
from xget_pipelines.core.media.collect import collect_partition, download
from xget_pipelines.core.media.fetch import FetchConfig
from xget_pipelines.core.media.targets import extension, map_url, target_for
from xget_pipelines.core.pools.proxies import ACTIVE, INACTIVE, ProxyPool, parse_proxy_lines
from xget_pipelines.core.secrets import SecretBox
from xget_pipelines.core.x.clean import cleaned_schema
from xget_pipelines.emulator import media as media_urls
from xget_pipelines.emulator.proxy_servers import free_port, start_http_proxy, start_socks5_proxy

HOSTS = ("pbs.twimg.com", "video.twimg.com")


# -- rows as the parser makes them, from the emulator's world ---------------------------------------------


def media_row(tweet, m) -> dict:
    row = {
        "tweet_id": tweet.id,
        "media_key": m.key,
        "media_type": m.kind,
        "width": m.width,
        "height": m.height,
        "duration_ms": m.duration_ms or None,
        "expanded_url": None,
        "alt_text": None,
        "best_variant_url": None,
        "best_bitrate": None,
        "variants": None,
    }
    if m.kind == "photo":
        row["url"] = media_urls.photo_url(m)
    elif m.kind == "animated_gif":
        row |= {
            "url": media_urls.gif_thumb_url(m),
            "best_variant_url": media_urls.gif_url(m),
            "best_bitrate": 0,
            "variants": [{"bitrate": 0, "content_type": "video/mp4", "url": media_urls.gif_url(m)}],
        }
    else:
        variants = media_urls.video_variants(m)
        row |= {
            "url": media_urls.video_thumb_url(m),
            "best_variant_url": variants[-1][3],
            "best_bitrate": variants[-1][0],
            "variants": [
                {"bitrate": None, "content_type": "application/x-mpegURL", "url": media_urls.playlist_url(m)}
            ]
            + [{"bitrate": b, "content_type": "video/mp4", "url": u} for b, _, _, u in variants],
        }
    return row


def rows_of(world, kinds=("photo", "video", "animated_gif"), per_kind=3, reshared=False) -> list[dict]:
    out, seen = [], {k: 0 for k in kinds}
    for tweet in world.tweets:
        for m in tweet.media:
            if m.kind in seen and seen[m.kind] < per_kind and (m.source is not None) == reshared:
                seen[m.kind] += 1
                out.append(media_row(tweet, m))
    return out


def shortest_video(world):
    return min(
        ((t, m) for t in world.tweets for m in t.media if m.kind == "video" and m.source is None),
        key=lambda tm: (tm[1].duration_ms, tm[1].id),
    )


def url_map(emu) -> dict[str, str]:
    return {f"https://{host}/": f"{emu.url}/_media/{host}/" for host in HOSTS}


def config(emu, **kw) -> FetchConfig:
    return FetchConfig(url_map=url_map(emu), backoff_s=0.01, **kw)


def objects(lake: Lake) -> list[Path]:
    root = Path(lake.uri) / "media"
    return (
        sorted(p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts) if root.exists() else []
    )


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    """Poll ``condition`` (a server writing its log) until it holds or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def emu(emulator_factory):
    return emulator_factory(window_seconds=5, media_size_cap=8 * 1024 * 1024)


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))


# -- pure pieces ------------------------------------------------------------------------------------------


def test_targets_urls_and_extensions(small_world):
    tweet, video = shortest_video(small_world)
    target = target_for(media_row(tweet, video))
    assert [c.bitrate for c in target.candidates] == [2_176_000, 832_000, 288_000]  # mp4s only, best first
    assert target.candidates[0].estimate == 2_176_000 * video.duration_ms // 8000
    assert target.url == target.candidates[0].url  # a video is known by its best variant
    legacy = media_row(tweet, video) | {"variants": None}  # rows parsed before the variants column
    assert [c.url for c in target_for(legacy).candidates] == [target.url]
    assert target_for({"media_type": "video", "url": "x", "best_variant_url": None}) is None
    mapping = {"https://pbs.twimg.com/": "http://a/", "https://pbs.twimg.com/media/": "http://b/"}
    assert map_url("https://pbs.twimg.com/media/x.jpg", mapping) == "http://b/x.jpg"  # longest prefix wins
    assert map_url("https://video.twimg.com/v.mp4", mapping) == "https://video.twimg.com/v.mp4"
    assert extension("image/jpeg; charset=binary", "https://h/x") == "jpg"
    assert (
        extension(None, "https://h/a/b.MP4?tag=1") == "mp4" and extension("", "https://h/card?x=1") == "bin"
    )


def test_an_s3_lake_root_gets_an_s3_filesystem_from_the_lakes_storage_options():
    s3 = root_for(
        "s3://bucket/lake/",
        {
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://minio:9000",
        },
    )
    assert isinstance(s3.fs, pafs.S3FileSystem) and s3.base == "bucket/lake" and s3.fs.region == "eu-west-1"
    local = root_for("file:///tmp/x/lake")
    assert isinstance(local.fs, pafs.LocalFileSystem) and local.base == "/tmp/x/lake"


# -- downloads --------------------------------------------------------------------------------------------


def test_objects_land_content_addressed_with_the_right_bytes(emu, lake, small_world):
    rows = rows_of(small_world)
    result = download(lake, rows, config(emu))
    assert (result.files, result.downloaded, result.failed, result.skipped_too_large) == (9, 9, 0, 0)
    assert result.routes == {"direct": 9}  # no proxy in the pool: straight to the host
    stored = registry.read(lake)
    assert set(stored) == {target_for(r).url for r in rows}
    for row in rows:
        rec = stored[target_for(row).url]
        body = (Path(lake.uri) / rec["object_path"]).read_bytes()
        assert rec["status"] == "downloaded" and rec["attempts"] == 1 and rec["error"] is None
        assert hashlib.sha256(body).hexdigest() == rec["sha256"] and len(body) == rec["bytes"]
        sha = rec["sha256"]
        assert rec["object_path"] == f"media/{sha[:2]}/{sha}.{extension(rec['content_type'], '')}"
        assert body == httpx.get(rec["fetched_url"]).content  # exactly what the host served
        if row["media_type"] == "photo":
            assert body[:3] == b"\xff\xd8\xff" and rec["object_path"].endswith(".jpg")
        else:
            assert body[4:8] == b"ftyp" and rec["object_path"].endswith(".mp4")
    assert len(objects(lake)) == 9
    assert not list((Path(lake.uri) / "media" / ".tmp").iterdir())  # no temporary file left


def test_the_same_content_for_two_tweets_is_one_object(emu, lake, small_world):
    reshared = next(
        t for t in small_world.tweets for m in t.media if m.kind == "video" and m.source is not None
    )
    clip = next(m for m in reshared.media if m.kind == "video")
    original = next(m for m in clip.source.media if m.kind == "video")
    photo_tweet = next(t for t in small_world.tweets if t.media and t.media[0].kind == "photo")
    photo_row = media_row(photo_tweet, photo_tweet.media[0])
    rows = [
        media_row(reshared, clip),
        media_row(clip.source, original),
        photo_row,
        photo_row | {"tweet_id": photo_tweet.id + 1},
    ]  # one file under two tweets
    result = download(lake, rows, config(emu, max_bytes=1_000_000_000), concurrency=1)
    # the photo once (one source URL); the clip under two URLs with the same bytes: fetched twice, stored once
    assert (result.files, result.downloaded, result.deduplicated) == (3, 2, 1)
    stored = registry.read(lake)
    clip_rec, original_rec = stored[rows[0]["best_variant_url"]], stored[rows[1]["best_variant_url"]]
    assert clip_rec["fetched_url"] != original_rec["fetched_url"]
    assert (
        clip_rec["object_path"] == original_rec["object_path"]
        and clip_rec["sha256"] == original_rec["sha256"]
    )
    assert len(objects(lake)) == 2


def test_the_video_variant_kept_is_the_best_under_the_limit(emu, lake, small_world):
    tweet, video = shortest_video(small_world)
    row = media_row(tweet, video)
    low, mid, top = (
        int(httpx.head(map_url(u, url_map(emu))).headers["content-length"])
        for _, _, _, u in media_urls.video_variants(video)
    )
    assert low < mid < top
    cases = [(top, 2_176_000), (top - 1, 832_000), (mid, 832_000), (mid - 1, 288_000)]
    for limit, bitrate in cases:
        case_lake = Lake(f"{lake.uri}-{limit}")
        result = download(case_lake, [row], config(emu, max_bytes=limit))
        rec = registry.read(case_lake)[row["best_variant_url"]]
        assert (result.downloaded, rec["status"], rec["bitrate"]) == (1, "downloaded", bitrate), limit
        assert rec["bytes"] <= limit and f"/{video.id}/" in rec["fetched_url"]

    emu.state.media_stats.reset()
    result = download(lake, [row], config(emu, max_bytes=low - 1))
    rec = registry.read(lake)[row["best_variant_url"]]
    assert (result.skipped_too_large, result.downloaded, rec["status"], rec["object_path"]) == (
        1,
        0,
        "skipped_too_large",
        None,
    )
    assert f"{top} bytes" in rec["error"] and f"{low} bytes" in rec["error"]
    stats = emu.state.media_stats.snapshot()
    assert stats["GET"] == 0 and stats["HEAD"] == 3  # judged by Content-Length: nothing too large was fetched
    again = download(lake, [row], config(emu, max_bytes=low - 1))  # same limit: not asked again
    assert again.skipped_too_large == 1 and emu.state.media_stats.snapshot()["HEAD"] == 3
    larger = download(lake, [row], config(emu, max_bytes=low))  # a larger limit judges it again
    assert larger.downloaded == 1 and registry.read(lake)[row["best_variant_url"]]["bitrate"] == 288_000


# -- proxies ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy_servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("media-proxies")
    http, socks = start_http_proxy(workdir, "mediauser", "Media-Pass-1"), start_socks5_proxy(workdir)
    yield http, socks
    http.stop()
    socks.stop()


@pytest.fixture
def pool(sqlite_url):
    return ProxyPool(get_engine(sqlite_url), SecretBox(Fernet.generate_key()))


def add_proxies(pool: ProxyPool, emu, *urls: str) -> list[int]:
    ids = pool.import_proxies(parse_proxy_lines("\n".join(urls)).records).ids
    pool.check(ids, target_url=f"{emu.url}/_emulator/whoami", timeout_s=5, attempts=1)
    return ids


def test_downloads_go_through_the_pools_proxies_in_turn(emu, lake, small_world, pool, proxy_servers):
    http, socks = proxy_servers
    http_id, socks_id = add_proxies(pool, emu, http.url(), socks.url())
    before = (len(http.log_text()), socks.connections_to(emu.port))
    rows = rows_of(small_world, kinds=("photo",), per_kind=6)
    result = download(lake, rows, config(emu), pool, concurrency=1)
    assert result.downloaded == 6 and result.routes == {f"proxy {http_id}": 3, f"proxy {socks_id}": 3}
    assert emu.state.media_stats.snapshot()["GET"] == 6
    # the proxies saw them: pproxy logs each tunnel it opens to the emulator, proxy.py one line per client
    # connection when it closes (the download kept one open for its three files, closed at the end)
    assert socks.connections_to(emu.port) > before[1]
    ours = [f"GET 127.0.0.1:{emu.port}/_media/{row['url'].split('://', 1)[1]} - 200 OK" for row in rows]
    assert wait_for(lambda: any(line in http.log_text()[before[0] :] for line in ours))


def test_a_dead_proxy_is_reported_to_the_pool_and_the_others_carry_the_files(
    emu, lake, small_world, pool, proxy_servers, tmp_path
):
    http, _ = proxy_servers
    doomed = start_http_proxy(tmp_path / "doomed")
    dead_id, alive_id = add_proxies(pool, emu, doomed.url(), http.url())
    assert {p.id for p in pool.available()} == {dead_id, alive_id}
    doomed.stop()  # ACTIVE in the pool, dead in fact
    rows = rows_of(small_world, kinds=("photo",), per_kind=6)
    result = download(lake, rows, config(emu, attempts=3), pool, concurrency=1)
    assert result.downloaded == 6 and result.failed == 0
    assert result.routes == {f"proxy {alive_id}": 6}
    dead = pool.get(dead_id)
    # reported as the X client reports: three failures in a row take it out
    assert dead.status == INACTIVE and dead.failures == 3 and "Connect" in dead.last_error
    assert pool.get(alive_id).status == ACTIVE


def test_with_proxies_but_none_active_nothing_goes_out_direct(emu, lake, small_world, pool):
    pool.import_proxies(parse_proxy_lines(f"127.0.0.1:{free_port()}").records)  # CHECKING: never handed out
    emu.state.media_stats.reset()
    result = download(lake, rows_of(small_world, kinds=("photo",), per_kind=2), config(emu), pool)
    assert result.failed == 2 and result.downloaded == 0
    assert (
        "none is ACTIVE" in result.failures[0]["error"]
        and "xget proxies check" in result.failures[0]["error"]
    )
    assert emu.state.media_stats.snapshot()["GET"] == 0


# -- failures, retries and re-runs ------------------------------------------------------------------------


def test_faults_are_retried_a_persistent_failure_is_recorded_and_the_rest_stored(
    emu, lake, small_world, pool, proxy_servers
):
    http, _ = proxy_servers
    (proxy_id,) = add_proxies(pool, emu, http.url())
    rows = rows_of(small_world, kinds=("photo",), per_kind=3) + rows_of(
        small_world, ("animated_gif",), per_kind=3
    )
    urls = [target_for(r).url for r in rows]
    name = [u.rsplit("/", 1)[1] for u in urls]
    rules = [
        {"kind": "http_5xx", "operation": "media", "target": name[0], "status": 503},  # every time
        {"kind": "http_5xx", "operation": "media", "target": name[1], "count": 2, "status": 502},
        {"kind": "drop", "operation": "media", "target": name[4], "count": 1},
    ]  # a GIF cut off mid-body
    httpx.post(f"{emu.url}/_emulator/faults", json={"rules": rules}).raise_for_status()
    result = download(lake, rows, config(emu, attempts=3), pool)
    assert (result.downloaded, result.failed) == (5, 1)
    error = f"GET {map_url(urls[0], url_map(emu))}: HTTP 503"
    assert result.failures == [{"url": urls[0], "attempts": 3, "error": error}]
    stored = registry.read(lake)
    failed = stored[urls[0]]
    assert (failed["status"], failed["attempts"], failed["object_path"], failed["error"]) == (
        "failed",
        3,
        None,
        error,
    )
    assert (stored[urls[1]]["status"], stored[urls[1]]["attempts"]) == ("downloaded", 3)
    assert (stored[urls[4]]["status"], stored[urls[4]]["attempts"]) == ("downloaded", 2)
    assert {stored[u]["attempts"] for u in (urls[2], urls[3], urls[5])} == {1}
    assert len(objects(lake)) == 5 and not list((Path(lake.uri) / "media" / ".tmp").iterdir())
    # the host's 5xx and the cut-off body are not the proxy's fault: it stays in the pool, unblamed
    proxy = pool.get(proxy_id)
    assert proxy.status == ACTIVE and proxy.consecutive_failures == 0

    httpx.delete(f"{emu.url}/_emulator/faults").raise_for_status()  # the host recovers
    emu.state.media_stats.reset()
    again = download(lake, rows, config(emu, attempts=3), pool)
    assert (again.downloaded, again.already_stored, again.failed) == (1, 5, 0)
    assert emu.state.media_stats.snapshot()["gets_by_path"] == {urls[0].split("://", 1)[1]: 1}
    rec = registry.read(lake)[urls[0]]
    assert (rec["status"], rec["attempts"], rec["error"]) == (
        "downloaded",
        4,
        None,
    )  # attempts add up over runs


def test_a_second_run_fetches_nothing_new_and_a_lost_object_is_fetched_again(emu, lake, small_world):
    rows = rows_of(small_world)
    first = download(lake, rows, config(emu))
    version = lake.version(registry.TABLE)
    emu.state.media_stats.reset()
    second = download(lake, rows, config(emu))
    assert (second.downloaded, second.deduplicated, second.already_stored, second.bytes) == (
        0,
        0,
        first.files,
        0,
    )
    stats = emu.state.media_stats.snapshot()
    assert stats["GET"] == stats["HEAD"] == 0  # nothing asked
    assert lake.version(registry.TABLE) == version  # nothing written
    assert len(registry.read(lake)) == first.files
    lost = objects(lake)[0]
    lost.unlink()
    third = download(lake, rows, config(emu))
    assert third.downloaded == 1 and lost.exists() and len(registry.read(lake)) == first.files


def test_collect_partition_points_the_cleaned_rows_at_their_objects(emu, lake, small_world):
    import datetime as dt

    day, key = dt.date(2026, 5, 4), "cats"
    rows = rows_of(small_world, per_kind=2)
    observed = {
        "watch_key": key,
        "page_key": "p1",
        "fetched_at": dt.datetime(2026, 5, 4, tzinfo=dt.UTC),
        "day": day,
        "object_path": None,
    }
    table = pa.Table.from_pylist([r | observed for r in rows], schema=cleaned_schema("cleaned/media"))
    lake.replace_where("cleaned/media", table, {"day": day, "watch_key": key}, ["day"])
    lake.replace_where(
        "cleaned/media",
        table.set_column(
            table.schema.get_field_index("watch_key"), "watch_key", pa.array(["dogs"] * len(rows))
        ),
        {"day": day, "watch_key": "dogs"},
        ["day"],
    )
    result = collect_partition(lake, day, key, config(emu))
    assert result.downloaded == len(rows) == result.pointed
    media = lake.read("cleaned/media", {"day": day, "watch_key": key}).to_pylist()
    stored = registry.read(lake)
    assert all(m["object_path"] == stored[target_for(m).url]["object_path"] for m in media)
    assert lake.read("cleaned/media", {"day": day, "watch_key": "dogs"})["object_path"].null_count == len(
        rows
    )


def test_spool_files_left_by_a_killed_download_are_swept_once_an_hour_old(emu, lake, small_world):
    import os

    spool = Path(lake.uri) / "media" / ".tmp"
    spool.mkdir(parents=True)
    old, fresh = spool / "download-killed", spool / "download-running"
    for path in (old, fresh):
        path.write_bytes(b"half a file")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert download(lake, rows_of(small_world, kinds=("photo",), per_kind=1), config(emu)).downloaded == 1
    assert not old.exists() and fresh.exists()  # another process may still be writing a fresh one
