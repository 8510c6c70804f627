"""What the search indexes hold: explicit mappings, analyzers and the documents made from lake rows.

``MAPPING_VERSION`` names the shape of both indexes. Change it whenever a mapping, an analyzer or what a
document holds changes: the next sink run builds new indexes from the lake and swaps the aliases to them
(``core/sinks/search.py``). Mappings are ``dynamic: strict``: a document with a field the mapping does not
name is rejected (and the run fails saying so) instead of quietly growing the mapping.

Text fields are analyzed twice: ``english`` (stemming and stop words: "running" finds "run") and, in the
``.std`` subfield, ``standard`` (the words as written, stop words included, so a search for "the who" still
matches something). Ids are keywords (strings: JSON numbers above 2**53 lose precision in many clients);
``id_sort`` is the id zero-padded to 20 digits so that ties on ``created_at`` sort by id as numbers do.
Hashtags and mentions are read from the text (``#tag``, ``@user``, lower-cased): ``entities/tweets`` keeps
the text, and a corrected text then corrects its tags too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import pyarrow.compute as pc
import pyarrow.dataset as pads

from xget_pipelines.core.entities import USER_BUCKETS

MAPPING_VERSION = 1

SETTINGS = {"analysis": {"normalizer": {"xget_lowercase": {"type": "custom", "filter": ["lowercase"]}}}}

_KEYWORD = {"type": "keyword"}
_LOWER = {"type": "keyword", "normalizer": "xget_lowercase"}
_LONG = {"type": "long"}
_DATE = {"type": "date"}
_BOOL = {"type": "boolean"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}
_TEXT = {"type": "text", "analyzer": "english", "fields": {"std": {"type": "text", "analyzer": "standard"}}}

TWEET_COUNTS = ("like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count", "view_count")
_ENGAGEMENT = ("like_count", "retweet_count", "reply_count", "quote_count")  # as the lake's min_engagement
_TWEET_IDS = (
    "conversation_id",
    "author_id",
    "reply_to_tweet_id",
    "reply_to_user_id",
    "quoted_tweet_id",
    "retweeted_tweet_id",
)
_TWEET_FLAGS = ("is_quote", "is_retweet", "has_media", "possibly_sensitive")
_USER_COUNTS = (
    "followers_count",
    "following_count",
    "tweet_count",
    "listed_count",
    "favourites_count",
    "media_count",
)
_USER_FLAGS = ("verified", "blue_verified", "protected")

TWEETS_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "tweet_id": _KEYWORD,
        "id_sort": _KEYWORD,
        **{c: _KEYWORD for c in _TWEET_IDS},
        "author_username": _LOWER,
        "text": _TEXT,
        "lang": _KEYWORD,
        "hashtags": _LOWER,
        "mentions": _LOWER,
        "created_at": _DATE,
        "first_seen": _DATE,
        "last_seen": _DATE,
        **{c: _LONG for c in TWEET_COUNTS},
        "engagement": _LONG,
        **{c: _BOOL for c in _TWEET_FLAGS},
        "tombstone": _KEYWORD,
    },
}

USERS_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "user_id": _KEYWORD,
        "username": {**_LOWER, "fields": {"text": {"type": "text", "analyzer": "standard"}}},
        "display_name": _TEXT,
        "description": _TEXT,
        "location": {"type": "text", "analyzer": "standard"},
        "url": _STORED_ONLY,
        "profile_image_url": _STORED_ONLY,
        "profile_banner_url": _STORED_ONLY,
        "verified_type": _KEYWORD,
        "created_at": _DATE,
        "first_seen": _DATE,
        "last_seen": _DATE,
        **{c: _LONG for c in _USER_COUNTS},
        **{c: _BOOL for c in _USER_FLAGS},
    },
}

# Like X: a hashtag has a letter in it and is not glued to a word or an HTML entity (&amp;#39;); a mention is
# 1 to 15 of [A-Za-z0-9_] not glued to a word or an e-mail address.
# The sink's watermark, kept in the cluster itself (``SearchSink.state``): one document per alias (``_id`` =
# the alias) naming the physical index, its mapping version and the last Delta version shipped.
STATE_INDEX = "xget-sink-state"
STATE_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "alias": {"type": "keyword"},
        "table": {"type": "keyword"},
        "index": {"type": "keyword"},
        "mapping_version": {"type": "integer"},
        "lake_version": {"type": "long"},
        "documents": {"type": "long"},
        "updated_at": {"type": "date"},
    },
}

_HASHTAG = re.compile(r"(?<![\w&])[#＃](\w*[^\W\d]\w*)")
_MENTION = re.compile(r"(?<![\w@])[@＠]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])")


def hashtags(text: str) -> list[str]:
    return sorted({m.lower() for m in _HASHTAG.findall(text or "")})


def mentions(text: str) -> list[str]:
    return sorted({m.lower() for m in _MENTION.findall(text or "")})


def tweet_document(row: Mapping, usernames: Mapping[int, str]) -> dict:
    """The index document of an ``entities/tweets`` row (``usernames``: author id -> username)."""
    text = row.get("text") or ""
    counts = {c: row.get(c) for c in TWEET_COUNTS}
    return {
        "tweet_id": str(row["tweet_id"]),
        "id_sort": f"{row['tweet_id']:020d}",
        **{c: _id(row.get(c)) for c in _TWEET_IDS},
        "author_username": usernames.get(row.get("author_id")),
        "text": text,
        "lang": row.get("lang"),
        "hashtags": hashtags(text),
        "mentions": mentions(text),
        "created_at": _time(row.get("created_at")),
        "first_seen": _time(row.get("first_seen")),
        "last_seen": _time(row.get("last_seen")),
        **counts,
        "engagement": sum(counts[c] or 0 for c in _ENGAGEMENT),
        **{c: row.get(c) for c in _TWEET_FLAGS},
        "tombstone": row.get("tombstone"),
    }


def user_document(row: Mapping) -> dict:
    """The index document of an ``entities/users`` row."""
    keep = (
        "username",
        "display_name",
        "description",
        "location",
        "url",
        "profile_image_url",
        "profile_banner_url",
        "verified_type",
        *_USER_COUNTS,
        *_USER_FLAGS,
    )
    return {
        "user_id": str(row["user_id"]),
        **{c: row.get(c) for c in keep},
        **{c: _time(row.get(c)) for c in ("created_at", "first_seen", "last_seen")},
    }


def author_usernames(users_dataset: pads.Dataset | None, rows: list[dict]) -> dict[int, str]:
    """Author id -> username for the rows' authors (``users_dataset``: ``entities/users``), reading only
    their ``user_id % 16`` buckets. A later rename reaches a tweet's document when the tweet is next
    shipped; the API filters by author id, so it never depends on it."""
    ids = sorted({r["author_id"] for r in rows if r.get("author_id") is not None})
    if users_dataset is None or not ids:
        return {}
    buckets = sorted({i % USER_BUCKETS for i in ids})
    found = users_dataset.to_table(
        columns=["user_id", "username"],
        filter=pc.field("bucket").isin(buckets) & pc.field("user_id").isin(ids),
    )
    return dict(zip(found["user_id"].to_pylist(), found["username"].to_pylist(), strict=False))


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
