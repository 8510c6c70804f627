"""Tweets from the lake: filtered lists with cursor pages, search, one tweet, exports.

Writes (records a user supplies, corrections, soft deletes) are in ``corrections.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake.cursors import decode_tweet_cursor
from xget_pipelines.core.lake.tweet_reader import TweetFilter
from xget_pipelines.serving.deps import require
from xget_pipelines.serving.errors import ERROR_RESPONSES
from xget_pipelines.serving.export import EXPORT_RESPONSES, Format, export_response, json_response
from xget_pipelines.serving.params import aware
from xget_pipelines.serving.routes.corrections import TweetIdRoute
from xget_pipelines.serving.state import state

router = APIRouter(tags=["data"], responses=ERROR_RESPONSES)
read_dep = require(Permission.DATA_READ)


class TweetPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None
    backend: str | None = None


def tweet_filter(
    term: str | None = Query(None, max_length=500, description="Every word must occur in the text"),
    user: str | None = Query(None, max_length=64, description="Author: @handle, handle or numeric id"),
    since: dt.datetime | None = Query(None, description="Created at or after (ISO 8601; UTC if no zone)"),
    until: dt.datetime | None = Query(None, description="Created before"),
    lang: str | None = Query(None, min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$"),
    has_media: bool | None = Query(None),
    min_engagement: int | None = Query(
        None, ge=0, le=10**12, description="likes + retweets + replies + quotes"
    ),
    watch_key: str | None = Query(
        None, max_length=256, description="Only tweets collected for this watchlist key"
    ),
) -> TweetFilter:
    since, until = aware(since, "since"), aware(until, "until")
    if since and until and since >= until:
        raise InvalidField("since must be before until", "since")
    return TweetFilter(
        term=term or None,
        user=user,
        since=since,
        until=until,
        lang=lang,
        has_media=has_media,
        min_engagement=min_engagement,
        watch_key=watch_key,
    )


def _exported(request: Request, f: TweetFilter, fmt: str, stem: str, ids_as_strings: bool):
    reader = state(request).tweets.stream(f)
    return export_response(reader, fmt, stem, ids_as_strings=ids_as_strings)


@router.get(
    "/data",
    response_model=TweetPage | list[dict[str, Any]],
    summary="Tweets, newest first, with filters and cursor pages; format= streams every match as a file",
    responses=EXPORT_RESPONSES,
)
async def list_data(
    request: Request,
    _: Principal = Depends(read_dep),
    f: TweetFilter = Depends(tweet_filter),
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(50, ge=1, le=1000),
    format: Format | None = Query(None, description="json, ndjson, csv, parquet or xlsx: all matches"),
    ids_as_strings: bool = Query(False, description="Render ids as strings (JavaScript clients)"),
):
    if format:
        return await run_in_threadpool(_exported, request, f, format, "tweets", ids_as_strings)
    if cursor:
        decode_tweet_cursor(cursor)  # one not issued here is a 400 even where the lake has nothing to page
    page = await run_in_threadpool(state(request).tweets.page, f, limit, cursor)
    return json_response({"items": page.rows, "next_cursor": page.next_cursor})


@router.get(
    "/data/search",
    response_model=TweetPage | list[dict[str, Any]],
    summary="Full-text search (the search index when configured, else the lake; X-Search-Backend says "
    "which answered)",
    responses=EXPORT_RESPONSES,
)
async def search(
    request: Request,
    _: Principal = Depends(read_dep),
    q: str = Query(..., min_length=1, max_length=500, description="Words that must all occur"),
    f: TweetFilter = Depends(tweet_filter),
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(50, ge=1, le=1000),
    format: Format | None = Query(None),
    ids_as_strings: bool = Query(False),
):
    if not q.strip():
        raise InvalidField("q is empty: give words to search for", "q")
    f.term = " ".join(filter(None, [q, f.term]))
    if format:
        return await run_in_threadpool(_exported, request, f, format, "search", ids_as_strings)
    if cursor:
        decode_tweet_cursor(cursor)  # whichever backend answers, a cursor not issued here is a 400
    page, backend = await run_in_threadpool(state(request).search.search, f, limit, cursor)
    answer = json_response({"items": page.rows, "next_cursor": page.next_cursor, "backend": backend})
    answer.headers["X-Search-Backend"] = backend.split(" ")[0]
    return answer


async def get_tweet(
    request: Request,
    tweet_id: int = Path(..., ge=1, le=2**63 - 1, description="A positive 64-bit tweet id"),
    _: Principal = Depends(read_dep),
) -> dict:
    return await run_in_threadpool(state(request).tweets.tweet, tweet_id)


# The route class of corrections' /data/{tweet_id} routes: GET /v1/data/batch is a 405 (only POST is served
# there), not a 422 about tweet_id.
router.add_api_route(
    "/data/{tweet_id}",
    get_tweet,
    methods=["GET"],
    route_class_override=TweetIdRoute,
    response_model=dict[str, Any],
    summary="One tweet with its author, hashtags, mentions and sentiment",
)
