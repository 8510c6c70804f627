"""Analytics from the lake: trends, sentiment, users, profiles, similar users, the graph."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake.cursors import decode_id_cursor, decode_tweet_cursor
from xget_pipelines.core.lake.tweet_reader import TweetFilter
from xget_pipelines.serving.deps import require
from xget_pipelines.serving.errors import ERROR_RESPONSES
from xget_pipelines.serving.export import (
    EXPORT_RESPONSES,
    Format,
    all_pages,
    export_response,
    json_response,
    rows_response,
)
from xget_pipelines.serving.params import time_window
from xget_pipelines.serving.state import state

router = APIRouter(tags=["analytics"], responses=ERROR_RESPONSES)
read_dep = require(Permission.ANALYTICS_READ)
UserRef = Path(..., min_length=1, max_length=64, description="Numeric user id, handle or @handle")


class Trend(BaseModel):
    name: str
    count: int
    peak_z: float | None
    peak_bucket: dt.datetime | None
    burst: bool | None
    burst_buckets: int


class Items(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


FormatQuery = Query(
    None, description="json, ndjson, csv, parquet or xlsx: download every row instead of a page"
)


async def _maybe_export(rows: list[dict], fmt: str | None, stem: str, wrap: bool = True):
    """The rows as a download when ``format=`` asks for one, else the list's JSON body (``{"items": rows}``,
    or the bare list when ``wrap`` is false)."""
    if fmt:
        return await run_in_threadpool(rows_response, rows, fmt, stem)
    return json_response({"items": rows} if wrap else rows)


@router.get(
    "/trends",
    response_model=list[Trend],
    responses=EXPORT_RESPONSES,
    summary="Top hashtags (or watchlist keys) of a window, with their peak burst score",
)
async def trends(
    request: Request,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    scope: str = Query("global", max_length=256, description="global or a watchlist key"),
    kind: Literal["hashtag", "volume"] = "hashtag",
    bursts_only: bool = False,
    limit: int = Query(50, ge=1, le=1000),
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    since, until = time_window(since, until, 1)
    rows = await run_in_threadpool(
        state(request).analytics.trends, since, until, scope, kind, bursts_only, limit
    )
    return await _maybe_export(rows, format, "trends", wrap=False)


@router.get(
    "/trends/{name}",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="One term's buckets: count, baseline, burst score",
)
async def trend_series(
    request: Request,
    name: str = Path(..., min_length=1, max_length=256),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    scope: str = Query("global", max_length=256),
    kind: Literal["hashtag", "volume"] = "hashtag",
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    since, until = time_window(since, until, 7)
    rows = await run_in_threadpool(state(request).analytics.trend_series, name, since, until, scope, kind)
    return await _maybe_export(rows, format, f"trend-{name}")


@router.get(
    "/sentiment",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="Daily sentiment per watchlist key (format= downloads it)",
)
async def sentiment(
    request: Request,
    watch_key: str | None = Query(None, max_length=256),
    since: dt.date | None = None,
    until: dt.date | None = None,
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    if since and until and since > until:
        raise InvalidField("since must not be after until", "since")
    rows = await run_in_threadpool(state(request).analytics.sentiment, watch_key, since, until)
    return await _maybe_export(rows, format, "sentiment")


@router.get("/users/{user}", response_model=dict[str, Any], summary="A user as last observed")
async def user(request: Request, user: str = UserRef, _: Principal = Depends(read_dep)) -> dict:
    return await run_in_threadpool(state(request).tweets.user, user)


@router.get(
    "/users/{user}/profile",
    response_model=dict[str, Any],
    summary="A user's profile: activity, topics, sentiment, engagement, influence, bot signals",
)
async def profile(request: Request, user: str = UserRef, _: Principal = Depends(read_dep)) -> dict:
    return await run_in_threadpool(state(request).analytics.profile, user)


@router.get(
    "/users/{user}/similar",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="The most similar users (tweet embeddings)",
)
async def similar(
    request: Request,
    user: str = UserRef,
    limit: int = Query(5, ge=1, le=50),
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    rows = await run_in_threadpool(state(request).analytics.similar, user, limit)
    return await _maybe_export(rows, format, "similar")


@router.get(
    "/users/{user}/tweets",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="A user's tweets, newest first",
)
async def user_tweets(
    request: Request,
    user: str = UserRef,
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(50, ge=1, le=1000),
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    reader = state(request).tweets
    if format:
        stream = await run_in_threadpool(reader.stream, TweetFilter(user=user))
        return await run_in_threadpool(export_response, stream, format, "user-tweets")
    if cursor:
        decode_tweet_cursor(cursor)  # one not issued here is a 400 even where the lake has nothing to page
    page = await run_in_threadpool(reader.page, TweetFilter(user=user), limit, cursor)
    return json_response({"items": page.rows, "next_cursor": page.next_cursor})


@router.get(
    "/graph/top",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="Most central users of the mention or follow graph",
)
async def graph_top(
    request: Request,
    graph: Literal["mention", "follow"] = "mention",
    order: Literal["pagerank", "in_degree", "out_degree", "weighted_in", "weighted_out"] = "pagerank",
    limit: int = Query(50, ge=1, le=1000),
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    rows = await run_in_threadpool(state(request).analytics.graph_top, graph, limit, order)
    return await _maybe_export(rows, format, f"graph-{graph}")


async def _neighbors(
    request: Request, user: str, direction: str, cursor: str | None, limit: int, fmt: str | None
):
    reader = state(request).analytics
    if fmt:
        rows = await run_in_threadpool(all_pages, lambda n, c: reader.neighbors(user, direction, n, c))
        return await _maybe_export(rows, fmt, direction)
    if cursor:
        decode_id_cursor(cursor)  # one not issued here is a 400 even where no follows were collected
    page = await run_in_threadpool(reader.neighbors, user, direction, limit, cursor)
    return json_response({"items": page.rows, "next_cursor": page.next_cursor})


@router.get(
    "/graph/{user}/followers",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="A user's collected followers",
)
async def followers(
    request: Request,
    user: str = UserRef,
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(100, ge=1, le=1000),
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    return await _neighbors(request, user, "followers", cursor, limit, format)


@router.get(
    "/graph/{user}/following",
    response_model=Items | list[dict[str, Any]],
    responses=EXPORT_RESPONSES,
    summary="The accounts a user follows (collected)",
)
async def following(
    request: Request,
    user: str = UserRef,
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(100, ge=1, le=1000),
    format: Format | None = FormatQuery,
    _: Principal = Depends(read_dep),
):
    return await _neighbors(request, user, "following", cursor, limit, format)
