"""The emulator serves the bytes behind its media URLs at /_media/<host>/<path>, over real HTTP: real
magic bytes, plausible sizes, HEAD, 404 for URLs the world does not have, and injectable failures."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, World
from xget_pipelines.emulator import media as media_urls

from .conftest import UNLIMITED, XClient


def local(emu: EmulatorServer, url: str) -> str:
    return url.replace("https://", emu.url + "/_media/")


def media_of(world: World, kind: str, reshared: bool = False):
    return next(
        m for t in world.tweets for m in t.media if m.kind == kind and (not reshared or m.source is not None)
    )


def mp4_boxes(body: bytes) -> list[tuple[str, int]]:
    boxes, at = [], 0
    while at < len(body):
        size = int.from_bytes(body[at : at + 4], "big")
        boxes.append((body[at + 4 : at + 8].decode(), size))
        assert size >= 8, boxes
        at += size
    assert at == len(body)  # the boxes tile the file exactly
    return boxes


def test_a_photo_is_a_jpeg_of_plausible_size_and_the_same_bytes_every_time(server, world):
    photo = media_of(world, "photo")
    first = httpx.get(local(server, media_urls.photo_url(photo)))
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert int(first.headers["content-length"]) == len(first.content)
    body = first.content
    assert body[:3] == b"\xff\xd8\xff" and body[6:10] == b"JFIF" and body[-2:] == b"\xff\xd9"
    assert 10_000 < len(first.content) < 1_000_000  # tens to hundreds of KB
    again = httpx.get(local(server, media_urls.photo_url(photo)))
    assert hashlib.sha256(again.content).digest() == hashlib.sha256(first.content).digest()
    other = next(m for t in world.tweets for m in t.media if m.kind == "photo" and m is not photo)
    assert httpx.get(local(server, media_urls.photo_url(other))).content != first.content


def test_video_variants_are_mp4s_sized_by_bitrate_and_duration_and_head_agrees(server, world):
    video = media_of(world, "video")
    cap = server.settings.media_size_cap
    sizes = []
    for bitrate, _, _, url in media_urls.video_variants(video):
        rep = httpx.get(local(server, url))  # with X's ?tag=14 query, as the URL is written
        assert rep.status_code == 200 and rep.headers["content-type"] == "video/mp4"
        assert [name for name, _ in mp4_boxes(rep.content)] == ["ftyp", "free", "mdat"]
        assert rep.content[4:12] == b"ftypisom"
        assert len(rep.content) == min(cap, bitrate * video.duration_ms // 8000)
        head = httpx.head(local(server, url))
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == rep.headers["content-length"]
        assert head.headers["content-type"] == "video/mp4"
        sizes.append(len(rep.content))
    assert sizes == sorted(sizes)


def test_gifs_thumbnails_and_playlists_are_served(server, world):
    gif = media_of(world, "animated_gif")
    mp4 = httpx.get(local(server, media_urls.gif_url(gif)))
    assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp" and 100_000 < len(mp4.content) < 1_000_000
    for url in (media_urls.gif_thumb_url(gif), media_urls.video_thumb_url(media_of(world, "video"))):
        thumb = httpx.get(local(server, url))
        assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    playlist = httpx.get(local(server, media_urls.playlist_url(media_of(world, "video"))))
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    assert playlist.headers["content-type"] == "application/x-mpegURL"


def test_a_reshared_clip_is_the_originals_file_under_its_own_url(server, world):
    clip = media_of(world, "video", reshared=True)
    original = next(m for m in clip.source.media if m.kind == "video")
    mine, theirs = media_urls.video_variants(clip)[0][3], media_urls.video_variants(original)[0][3]
    assert mine != theirs
    assert httpx.get(local(server, mine)).content == httpx.get(local(server, theirs)).content


def test_urls_the_world_does_not_have_are_404(server, world):
    photo = media_of(world, "photo")
    good = local(server, media_urls.photo_url(photo))
    for url in (
        good.replace(".jpg", "x.jpg"),
        good.replace("pbs.twimg.com", "example.com"),
        f"{server.url}/_media/video.twimg.com/amplify_video/1/vid/avc1/1x1/nope.mp4",
    ):
        assert httpx.get(url).status_code == 404
        assert httpx.head(url).status_code == 404


@pytest.fixture
def faulty(world):
    with EmulatorServer(world, UNLIMITED) as emu:
        yield emu


def test_faults_make_media_requests_fail_5xx_or_drop_mid_body_and_only_where_aimed(faulty, world):
    photo, other = [m for t in world.tweets for m in t.media if m.kind == "photo"][:2]
    url, other_url = local(faulty, media_urls.photo_url(photo)), local(faulty, media_urls.photo_url(other))
    name = media_urls.photo_url(photo).rsplit("/", 1)[1]
    rule = {"kind": "http_5xx", "operation": "media", "target": name, "count": 2, "status": 503}
    httpx.post(f"{faulty.url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()
    assert httpx.get(other_url).status_code == 200  # aimed at one file: the others are served
    assert httpx.get(url).status_code == 503 and httpx.head(url).status_code == 503
    rule = {"kind": "drop", "operation": "media", "target": name, "count": 1}
    httpx.post(f"{faulty.url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()
    with pytest.raises(
        httpx.RemoteProtocolError
    ):  # the headers and half the body, then the connection closes
        httpx.get(url)
    good = httpx.get(url)
    assert good.status_code == 200 and len(good.content) == int(good.headers["content-length"])
    # a rule aimed at media paths never touches GraphQL
    httpx.post(
        f"{faulty.url}/_emulator/faults",
        json={"rules": [{"kind": "http_5xx", "target": name, "status": 502}]},
    ).raise_for_status()
    client = XClient(faulty, "media-fault-check")
    try:
        assert client.get("UserByScreenName", screen_name=world.users[0].screen_name).status_code == 200
        assert httpx.get(url).status_code == 502
        stats = httpx.get(f"{faulty.url}/_emulator/media_stats").json()
        assert stats["faults"] == 4 and stats["gets_by_path"] == {
            f"pbs.twimg.com/media/{other_url.rsplit('/', 1)[1]}": 1,
            f"pbs.twimg.com/media/{name}": 1,
        }
        # drop applies to GraphQL answers too: X's pages can be cut off as well
        httpx.delete(f"{faulty.url}/_emulator/faults").raise_for_status()
        httpx.post(
            f"{faulty.url}/_emulator/faults",
            json={"rules": [{"kind": "drop", "operation": "UserByScreenName", "count": 1}]},
        ).raise_for_status()
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("UserByScreenName", screen_name=world.users[0].screen_name)
        assert client.get("UserByScreenName", screen_name=world.users[0].screen_name).status_code == 200
    finally:
        client.close()


def test_the_size_cap_bounds_what_a_video_weighs(world):
    video = max((m for t in world.tweets for m in t.media if m.kind == "video"), key=lambda m: m.duration_ms)
    with EmulatorServer(world, EmulatorSettings(media_size_cap=100_000)) as emu:
        top = media_urls.video_variants(video)[-1][3]
        assert video.duration_ms * 2_176_000 // 8000 > 100_000
        assert int(httpx.head(local(emu, top)).headers["content-length"]) == 100_000
