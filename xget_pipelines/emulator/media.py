"""Media entities (photos, videos with mp4 variants, animated gifs) and link cards.

URLs point at X's media hosts with synthetic file names, so URL handling in a pipeline
behaves as in production. The URL builders below are shared with ``media_files.py``, which serves
the bytes behind them at ``/_media/<host>/<path>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Media, Tweet, short_code, tco

if TYPE_CHECKING:
    from .render_user import UserRenderer

_BITRATES = (288_000, 832_000, 2_176_000)


def _sizes(w: int, h: int) -> dict:
    def fit(limit: int) -> dict:
        scale = min(1.0, limit / max(w, h))
        return {"h": int(h * scale), "resize": "fit", "w": int(w * scale)}

    return {
        "large": fit(2048),
        "medium": fit(1200),
        "small": fit(680),
        "thumb": {"h": 150, "resize": "crop", "w": 150},
    }


def _faces(m: Media, scale: float) -> list[dict]:
    size = int(min(m.width, m.height) * 0.1 * scale)
    return [
        {"h": size, "w": size, "x": int(m.width * scale * (0.2 + 0.3 * i)), "y": int(m.height * scale * 0.2)}
        for i in range(m.faces)
    ]


def _aspect(w: int, h: int) -> list[int]:
    a, b = w, h
    while b:
        a, b = b, a % b
    return [w // a, h // a]


def _code(m: Media) -> str:
    return short_code("media", m.id, length=15)


def photo_url(m: Media) -> str:
    return f"https://pbs.twimg.com/media/{_code(m)}.jpg"


def gif_thumb_url(m: Media) -> str:
    return f"https://pbs.twimg.com/tweet_video_thumb/{_code(m)}.jpg"


def gif_url(m: Media) -> str:
    return f"https://video.twimg.com/tweet_video/{_code(m)}.mp4"


def video_thumb_url(m: Media) -> str:
    return f"https://pbs.twimg.com/amplify_video_thumb/{m.id}/img/{_code(m)}.jpg"


def playlist_url(m: Media) -> str:
    return f"https://video.twimg.com/amplify_video/{m.id}/pl/{_code(m)}.m3u8?tag=14"


def video_variants(m: Media) -> list[tuple[int, int, int, str]]:
    """(bitrate, width, height, url) of a video's mp4 variants, lowest bitrate first."""
    out = []
    for bitrate, height in zip(_BITRATES, (270, 360, 720), strict=False):
        w = m.width * height // max(1, m.height) if m.width >= m.height else height
        h = height if m.width >= m.height else m.height * height // max(1, m.width)
        code = short_code("v", m.id, bitrate)
        url = f"https://video.twimg.com/amplify_video/{m.id}/vid/avc1/{w}x{h}/{code}.mp4?tag=14"
        out.append((bitrate, w, h, url))
    return out


def media_entity(t: Tweet, m: Media, i: int, short: str, span: list[int], users: UserRenderer) -> dict:
    """One entry of `legacy.entities.media` / `legacy.extended_entities.media`."""
    kind = "photo" if m.kind == "photo" else "video"
    obj: dict = {
        "display_url": "pic.x.com/" + short.rsplit("/", 1)[1],
        "expanded_url": f"https://x.com/{t.author.screen_name}/status/{t.id}/{kind}/{i + 1}",
        "ext_media_availability": {"status": "Available"},
        "id_str": str(m.id),
        "indices": span,
        "media_key": m.key,
        "media_results": {"result": {"media_key": m.key}},
        "original_info": {"focus_rects": [], "height": m.height, "width": m.width},
        "sizes": _sizes(m.width, m.height),
        "type": m.kind,
        "url": short,
    }
    if m.alt:
        obj["ext_alt_text"] = m.alt
    if m.kind == "photo":
        obj["media_url_https"] = photo_url(m)
        w, h = m.width, m.height
        obj["original_info"]["focus_rects"] = [  # 16:9, 1:1, 4:5, 3:4 and full crops
            {"h": min(h, w * 9 // 16), "w": w, "x": 0, "y": 0},
            {"h": min(w, h), "w": min(w, h), "x": 0, "y": 0},
            {"h": h, "w": min(w, h * 4 // 5), "x": 0, "y": 0},
            {"h": h, "w": min(w, h * 3 // 4), "x": 0, "y": 0},
            {"h": h, "w": w, "x": 0, "y": 0},
        ]
        scales = {
            "large": min(1.0, 2048 / max(m.width, m.height)),
            "medium": min(1.0, 1200 / max(m.width, m.height)),
            "orig": 1.0,
            "small": min(1.0, 680 / max(m.width, m.height)),
        }
        features: dict = {name: {"faces": _faces(m, s)} for name, s in scales.items()}
        if m.tagged:
            features["all"] = {
                "tags": [
                    {"name": u.name, "screen_name": u.screen_name, "type": "user", "user_id": str(u.id)}
                    for u in m.tagged
                ]
            }
        obj["features"] = features
        obj["allow_download_status"] = {"allow_download": True}
        return obj
    if m.kind == "animated_gif":
        obj["media_url_https"] = gif_thumb_url(m)
        obj["video_info"] = {
            "aspect_ratio": _aspect(m.width, m.height),
            "variants": [
                {
                    "bitrate": 0,
                    "content_type": "video/mp4",
                    "url": gif_url(m),
                }
            ],
        }
        return obj
    variants: list[dict] = [{"content_type": "application/x-mpegURL", "url": playlist_url(m)}]
    variants += [{"bitrate": b, "content_type": "video/mp4", "url": u} for b, _, _, u in video_variants(m)]
    obj["media_url_https"] = video_thumb_url(m)
    obj["video_info"] = {
        "aspect_ratio": _aspect(m.width, m.height),
        "duration_millis": m.duration_ms,
        "variants": variants,
    }
    info: dict = {"monetizable": False}
    if m.call_to_action:
        info.update(
            call_to_actions={"visit_site": {"url": m.call_to_action}},
            description="",
            embeddable=True,
            title="",
        )
    if m.source is not None:
        info["source_user"] = {"user_results": {"result": users.result(m.source.author)}}
        obj["source_status_id_str"] = str(m.source.id)
        obj["source_user_id_str"] = str(m.source.author.id)
    obj["additional_media_info"] = info
    return obj


def _image(url: str, w: int, h: int, alt: str | None = None) -> dict:
    value: dict = {"height": h, "url": url, "width": w}
    if alt:
        value["alt"] = alt
    return {"image_value": value, "type": "IMAGE"}


def _color() -> dict:
    return {
        "image_color_value": {
            "palette": [
                {"percentage": 71.2, "rgb": {"blue": 52, "green": 38, "red": 24}},
                {"percentage": 28.8, "rgb": {"blue": 230, "green": 220, "red": 210}},
            ]
        },
        "type": "IMAGE_COLOR",
    }


def card(t: Tweet, users: UserRenderer) -> dict:
    """A link preview card for the tweet's first URL (summary, summary_large_image, player)."""
    url, short = t.urls[0], tco(t.id, 0)
    domain = url.split("://", 1)[1].split("/", 1)[0]
    title = f"{(t.topic or 'news').capitalize()}: what changed this week"
    base = f"https://pbs.twimg.com/card_img/{t.id}/{short_code('card', t.id, length=8)}?format=jpg&name="
    values: list[tuple[str, dict]] = [
        ("title", {"string_value": title, "type": "STRING"}),
        (
            "description",
            {"string_value": f"A closer look at {t.topic or 'the news'} from {domain}.", "type": "STRING"},
        ),
        ("domain", {"string_value": domain, "type": "STRING"}),
        ("card_url", {"scribe_key": "card_url", "string_value": short, "type": "STRING"}),
        ("vanity_url", {"scribe_key": "vanity_url", "string_value": domain, "type": "STRING"}),
        (
            "site",
            {
                "scribe_key": "publisher_id",
                "type": "USER",
                "user_value": {"id_str": str(t.author.id), "path": []},
            },
        ),
        ("creator", {"type": "USER", "user_value": {"id_str": str(t.author.id), "path": []}}),
    ]
    prefixes = ["thumbnail_image"]
    if t.card == "summary_large_image":
        prefixes += ["photo_image_full_size", "summary_photo_image"]
        values.append(
            (
                "photo_image_full_size_alt_text",
                {"string_value": f"Illustration for {title}", "type": "STRING"},
            )
        )
    elif t.card == "player":
        prefixes.append("player_image")
        values += [
            ("player_url", {"string_value": f"https://{domain}/embed/{t.id % 1000}", "type": "STRING"}),
            ("player_width", {"string_value": "1280", "type": "STRING"}),
            ("player_height", {"string_value": "720", "type": "STRING"}),
        ]
    for prefix in prefixes:
        values += [
            (prefix, _image(base + "600x314", 600, 314)),
            (f"{prefix}_small", _image(base + "144x144", 144, 75)),
            (f"{prefix}_large", _image(base + "800x419", 800, 419, alt=title)),
            (f"{prefix}_x_large", _image(base + "png", 1200, 628)),
            (f"{prefix}_original", _image(base + "orig", 1200, 628)),
            (f"{prefix}_color", _color()),
        ]
    return {
        "legacy": {
            "binding_values": [{"key": k, "value": v} for k, v in values],
            "card_platform": {
                "platform": {"audience": {"name": "production"}, "device": {"name": "Swift", "version": "12"}}
            },
            "name": t.card,
            "url": short,
            "user_refs_results": [{"result": users.result(t.author)}],
        },
        "rest_id": short,
    }
