"""Tweet searches against the index, answered the way the lake answers them (``core/lake/tweet_reader.py``).

Same rules as the lake: every word must occur (here: in the English-stemmed text or, as written, in the
standard-analyzed ``text.std``), newest first by ``(created_at, tweet_id)``, keyset pages. Cursors are the
lake's (base64 of the last row's ``created_at`` ISO text and tweet id), turned into ``search_after`` values,
so a client paging through results can get one page from the index and the next from the lake (when the
API's circuit breaker opens) without noticing. Rows come back with the lake's columns and Python types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake.cursors import cursor_id, cursor_time, decode_cursor, encode_cursor
from xget_pipelines.core.lake.tweet_reader import TWEET_COLUMNS

MAX_WORDS = 16  # as the lake search
_IDS = (
    "tweet_id",
    "conversation_id",
    "author_id",
    "reply_to_tweet_id",
    "quoted_tweet_id",
    "retweeted_tweet_id",
)
_TIMES = ("created_at", "first_seen", "last_seen")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class TweetSearch:
    """A full-text search of tweets with the API's filters (``author_id`` already resolved from a handle)."""

    term: str
    author_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    lang: str | None = None
    has_media: bool | None = None
    min_engagement: int | None = None
    hashtag: str | None = None  # without '#', any case


def words_of(term: str) -> list[str]:
    words = term.split()
    if not words:
        raise InvalidField("the search term is empty", "q")
    if len(words) > MAX_WORDS:
        raise InvalidField(f"at most {MAX_WORDS} words in a search", "q")
    return words


def search_body(search: TweetSearch, limit: int, cursor: str | None) -> dict:
    """The ``_search`` request body: one more hit than ``limit`` tells whether another page follows."""
    must = [
        {
            "bool": {
                "should": [
                    {"match": {"text": {"query": word, "operator": "and"}}},
                    {"match": {"text.std": {"query": word, "operator": "and"}}},
                ],
                "minimum_should_match": 1,
            }
        }
        for word in words_of(search.term)
    ]
    filters: list[dict] = []
    if search.author_id is not None:
        filters.append({"term": {"author_id": str(search.author_id)}})
    for field, value in (("lang", search.lang), ("has_media", search.has_media)):
        if value is not None:
            filters.append({"term": {field: value}})
    if search.hashtag:
        filters.append({"term": {"hashtags": search.hashtag.removeprefix("#").lower()}})
    if search.since or search.until:
        bounds = {key: at.isoformat() for key, at in (("gte", search.since), ("lt", search.until)) if at}
        filters.append({"range": {"created_at": bounds}})
    if search.min_engagement is not None:
        filters.append({"range": {"engagement": {"gte": search.min_engagement}}})
    body: dict = {
        "size": limit + 1,
        "query": {
            "bool": {
                "must": must,
                "filter": filters,
                # tombstoned tweets are deleted by the sink; this only guards a hand-made index
                "must_not": [{"exists": {"field": "tombstone"}}],
            }
        },
        "sort": [{"created_at": {"order": "desc", "missing": "_last"}}, {"id_sort": {"order": "desc"}}],
        "track_total_hits": False,
    }
    if cursor:
        created, tweet_id = decode_cursor(cursor, 2)
        at, number = cursor_time(created), cursor_id(tweet_id)
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        body["search_after"] = [(at - _EPOCH) // dt.timedelta(milliseconds=1), f"{number:020d}"]
    return body


def page_of(hits: list[dict], limit: int) -> tuple[list[dict], str | None]:
    """Rows (the lake's tweet columns + the author's ``username``) and the next page's cursor."""
    rows = [row_of(hit.get("_source") or {}) for hit in hits[:limit]]
    more = len(hits) > limit
    nxt = None
    if more and rows and rows[-1]["created_at"] is not None:
        nxt = encode_cursor(rows[-1]["created_at"].isoformat(), rows[-1]["tweet_id"])
    return rows, nxt


def row_of(source: dict) -> dict:
    row = {column: source.get(column) for column in TWEET_COLUMNS}
    for column in _IDS:
        if row[column] is not None:
            row[column] = int(row[column])
    for column in _TIMES:
        if row[column] is not None:
            row[column] = dt.datetime.fromisoformat(str(row[column]).replace("Z", "+00:00"))
    row["username"] = source.get("author_username")
    return row
