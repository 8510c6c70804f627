"""Pieces of a Tweet object that only some posts carry: tombstones, entities, edit history,
translations, long-post ("note") bodies and article previews."""

from __future__ import annotations

from .model import DELETED, EDITED, Tweet, short_code, snowflake_ms, tco
from .render_user import graphql_id

NOTE_CUT = 275  # long posts show this many characters in `legacy.full_text`
_TOMBSTONE_TEXT = {
    DELETED: "This Post was deleted by the Post author. Learn more",
    0: "This Post has been withheld in response to a report from the copyright holder. Learn more",
}


def tombstone(tweet: Tweet) -> dict:
    text = _TOMBSTONE_TEXT[tweet.flags & DELETED]
    return {
        "__typename": "TweetTombstone",
        "tombstone": {
            "__typename": "TextTombstone",
            "text": {
                "rtl": False,
                "text": text,
                "entities": [
                    {
                        "fromIndex": len(text) - 10,
                        "toIndex": len(text),
                        "ref": {
                            "type": "TimelineUrl",
                            "url": "https://help.example.com/notices",
                            "urlType": "ExternalUrl",
                        },
                    }
                ],
            },
        },
    }


def text_entities(text: str, tweet: Tweet, *, keep_empty: bool = False) -> dict:
    """hashtags / urls / user_mentions entities whose text occurs in `text`."""
    cursor: dict[str, int] = {}  # a repeated needle matches its next occurrence

    def span(needle: str) -> list[int] | None:
        at = text.find(needle, cursor.get(needle, 0))
        if at < 0:
            return None
        cursor[needle] = at + len(needle)
        return [at, at + len(needle)]

    hashtags, urls, mentions = [], [], []
    for tag in tweet.hashtags:
        if (where := span("#" + tag)) is not None:
            hashtags.append({"indices": where, "text": tag})
    for i, url in enumerate(tweet.urls):
        short = tco(tweet.id, i)
        if (where := span(short)) is not None:
            bare = url.split("://", 1)[-1]
            urls.append(
                {
                    "display_url": bare if len(bare) <= 26 else bare[:25] + "…",
                    "expanded_url": url,
                    "indices": where,
                    "url": short,
                }
            )
    for user in tweet.mentions:
        if (where := span("@" + user.screen_name)) is not None:
            mentions.append(
                {"id_str": str(user.id), "indices": where, "name": user.name, "screen_name": user.screen_name}
            )
    out = {"hashtags": hashtags, "symbols": [], "urls": urls, "user_mentions": mentions}
    return out if keep_empty else {k: v for k, v in out.items() if v}


def edit_control(t: Tweet) -> dict:
    until = str(t.ms + 3_600_000)
    if t.flags & EDITED:
        initial = t.id - (120_000 << 22)
        return {
            "edit_control_initial": {
                "edit_tweet_ids": [str(initial), str(t.id)],
                "editable_until_msecs": until,
                "edits_remaining": "4",
                "is_edit_eligible": True,
            },
            "initial_tweet_id": str(initial),
        }
    return {
        "edit_tweet_ids": [str(t.id)],
        "editable_until_msecs": until,
        "edits_remaining": "5",
        "is_edit_eligible": t.retweeted is None and t.reply_to is None,
    }


def translation(t: Tweet) -> dict:
    text = t.translation or ""
    data = {
        "associated_data": {},
        "destination_language": "en",
        "entities": text_entities(text, t, keep_empty=True),
        "source_language": t.lang,
        "translation": text,
    }
    if len(text) > 280:
        data["preview_translation"] = text[:NOTE_CUT].rstrip() + "…"
    return {"data": data, "is_available": True}


def note_tweet(t: Tweet) -> dict:
    first_word = t.text.split(" ", 1)[0]
    return {
        "is_expandable": True,
        "note_tweet_results": {
            "result": {
                "entity_set": {**text_entities(t.text, t, keep_empty=True), "timestamps": []},
                "id": graphql_id("NoteTweet", t.id),
                "media": {"inline_media": []},
                "richtext": {
                    "richtext_tags": [
                        {"from_index": 0, "richtext_types": ["Bold"], "to_index": len(first_word)}
                    ]
                },
                "text": t.text,
            }
        },
    }


def article(t: Tweet) -> dict:
    article_id = t.id + 1
    media_id = t.id - 2
    secs = snowflake_ms(t.id) // 1000
    code = short_code("article", t.id, length=15)
    return {
        "article_results": {
            "result": {
                "cover_media": {
                    "id": graphql_id("ApiMedia", media_id),
                    "media_id": str(media_id),
                    "media_key": f"3_{media_id}",
                    "media_info": {
                        "__typename": "ApiImage",
                        "color_info": {
                            "palette": [
                                {"percentage": 80.5, "rgb": {"blue": 40, "green": 30, "red": 20}},
                                {"percentage": 19.5, "rgb": {"blue": 200, "green": 180, "red": 160}},
                            ]
                        },
                        "original_img_height": 766,
                        "original_img_url": f"https://pbs.twimg.com/media/{code}.jpg",
                        "original_img_width": 1916,
                    },
                },
                "id": graphql_id("ArticleEntity", article_id),
                "lifecycle_state": {"modified_at_secs": secs},
                "metadata": {"first_published_at_secs": secs},
                "preview_text": t.text[:120],
                "rest_id": str(article_id),
                "title": f"Notes on {t.topic or 'everything'}",
            }
        }
    }
