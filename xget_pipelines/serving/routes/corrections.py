"""Records a user supplies, corrections and soft deletes (``core/corrections.py``), and their history.

Every write is a row of ``cleaned/corrections`` in the lake (who, when, why, what) plus an entry of the
control-plane audit log (``data.supply``, ``data.correct``, ``data.delete``, ``data.restore``; subject
``tweet:<id>``). Writes answer 202 Accepted: a change takes effect at the next ``entities`` merge of the
tweet's created date, which the ``corrections_sensor`` requests within a minute; the response says which.

The lake is written before the audit log: a write lock on the control-plane DB is not held while the lake
commits, and the corrections table records the author and reason itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from xget_pipelines.core import corrections as core
from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal, audit
from xget_pipelines.core.corrections import Correction, CorrectionError
from xget_pipelines.serving.deps import require
from xget_pipelines.serving.errors import ERROR_RESPONSES, ApiError
from xget_pipelines.serving.state import ServingState, state


class TweetIdRoute(APIRoute):
    """A ``/data/{tweet_id}`` route that does not take the literal paths beside it (``/data/batch``,
    ``/data/search``) for an id: ``PUT /v1/data/batch`` is a 405 (only POST is served there), not a 422 about
    ``tweet_id``. Any other non-numeric id still matches and is a 422 naming ``tweet_id``."""

    LITERALS = frozenset({"batch", "search"})

    def matches(self, scope):
        match, child = super().matches(scope)
        if match != Match.NONE and child.get("path_params", {}).get("tweet_id") in self.LITERALS:
            return Match.NONE, {}
        return match, child


router = APIRouter(tags=["data"], responses=ERROR_RESPONSES, route_class=TweetIdRoute)
writer_dep = require(Permission.DATA_WRITE)
reader_dep = require(Permission.DATA_READ)

_ID = {"gt": 0, "lt": 2**63}
TweetId = Annotated[int, Path(gt=0, lt=2**63, description="The tweet's id")]


class SuppliedTweet(BaseModel):
    """A tweet a user supplies. Counts not given are 0; ``via`` is ``supplied``; unknown fields are refused."""  # noqa: E501 - the OpenAPI description

    model_config = ConfigDict(extra="forbid")

    tweet_id: int = Field(**_ID)
    text: str = Field(min_length=1, max_length=core.MAX_TEXT)
    created_at: dt.datetime = Field(description="ISO 8601; UTC if no zone; not in the future")
    conversation_id: int | None = Field(None, **_ID)
    author_id: int | None = Field(None, **_ID)
    lang: str | None = Field(None, min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")
    source_label: str | None = Field(None, max_length=500)
    reply_to_tweet_id: int | None = Field(None, **_ID)
    reply_to_user_id: int | None = Field(None, **_ID)
    quoted_tweet_id: int | None = Field(None, **_ID)
    retweeted_tweet_id: int | None = Field(None, **_ID)
    like_count: int | None = Field(None, ge=0, lt=2**63)
    retweet_count: int | None = Field(None, ge=0, lt=2**63)
    reply_count: int | None = Field(None, ge=0, lt=2**63)
    quote_count: int | None = Field(None, ge=0, lt=2**63)
    bookmark_count: int | None = Field(None, ge=0, lt=2**63)
    view_count: int | None = Field(None, ge=0, lt=2**63)
    possibly_sensitive: bool | None = None
    is_quote: bool | None = None
    is_retweet: bool | None = None
    has_media: bool | None = None
    card_name: str | None = Field(None, max_length=200)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value

    @field_validator("created_at")
    @classmethod
    def _created_at(cls, value: dt.datetime) -> dt.datetime:
        try:
            return core.created_at_of(value)
        except CorrectionError as exc:
            raise ValueError(str(exc)) from None


class CorrectedFields(BaseModel):
    """The fields a correction may change (counts and ids come with every observation: not correctable)."""

    model_config = ConfigDict(extra="allow")  # core names an unknown field and lists the allowed ones

    text: str | None = Field(None, min_length=1, max_length=core.MAX_TEXT)
    lang: str | None = Field(None, min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")
    possibly_sensitive: bool | None = None
    has_media: bool | None = None


class CorrectionIn(BaseModel):
    fields: CorrectedFields = Field(description="New values: text, lang, possibly_sensitive, has_media")
    reason: str | None = Field(None, max_length=core.MAX_REASON, description="Why (kept with the correction)")


class Accepted(BaseModel):
    correction_id: str
    tweet_id: int
    action: str
    day: dt.date
    corrected_at: dt.datetime
    status: str = "accepted"
    applies_at: str


class BatchAccepted(BaseModel):
    status: str = "accepted"
    count: int
    applies_at: str
    items: list[Accepted]


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answers core.corrections.Correction records

    correction_id: str
    tweet_id: int
    action: str
    fields: dict[str, Any] | None
    reason: str | None
    user_id: int | None
    username: str | None
    corrected_at: dt.datetime
    day: dt.date


class History(BaseModel):
    tweet_id: int
    items: list[CorrectionOut]


def _applies(days) -> str:
    return "the next entities merge of " + ", ".join(sorted({d.isoformat() for d in days}))


def _accepted(row: Correction) -> dict:
    return {
        **{k: getattr(row, k) for k in ("correction_id", "tweet_id", "action", "day", "corrected_at")},
        "status": "accepted",
        "applies_at": _applies([row.day]),
    }


def _audit(st: ServingState, principal: Principal, action: str, rows: list[Correction]) -> None:
    with st.engine.begin() as conn:
        for row in rows:
            detail = {"correction_id": row.correction_id, "day": row.day.isoformat(), "reason": row.reason}
            if row.action == "update":
                detail["fields"] = sorted(row.fields)
            audit(conn, principal.user_id, action, f"tweet:{row.tweet_id}", detail)


def _tweet_day(st: ServingState, tweet_id: int) -> dt.date:
    """The tweet's created_date partition: from the entities, else a supplied record not merged yet; 404."""
    day = st.tweets.tweet_days([tweet_id]).get(tweet_id) or core.supplied_day(st.lake, tweet_id)
    if day is None:
        raise ApiError(404, "not_found", f"no tweet {tweet_id} in the lake (supply it with POST /v1/data)")
    return day


def _supply(st: ServingState, principal: Principal, records: list[dict], batch: bool) -> list[Correction]:
    rows = (
        core.supply(st.lake, records, principal)
        if batch
        else [core.supply_one(st.lake, records[0], principal)]
    )
    _audit(st, principal, "data.supply", rows)
    return rows


class _RecordsRoute(TweetIdRoute):
    """Names a bad record of a batch ``records[3].created_at`` (FastAPI would say ``3.created_at``)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request):
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = []
                for error in exc.errors():
                    loc = list(error.get("loc", ()))
                    if loc[:1] == [
                        "body"
                    ]:  # ("body", 3, "created_at") -> ("body", "records[3]", "created_at")
                        rest = loc[1:]
                        if rest and isinstance(rest[0], int):
                            loc = ["body", f"records[{rest[0]}]", *rest[1:]]
                        else:
                            loc = ["body", "records", *rest]
                    errors.append({**error, "loc": tuple(loc)})
                raise RequestValidationError(errors, body=exc.body) from None

        return route


def _dump(record: SuppliedTweet) -> dict:
    return record.model_dump(exclude_none=True)


@router.post(
    "/data",
    status_code=202,
    response_model=Accepted,
    summary="Supply a tweet (it lands in the entities at the next merge of its created date)",
)
async def supply_one(
    request: Request, record: SuppliedTweet, principal: Principal = Depends(writer_dep)
) -> dict:
    rows = await run_in_threadpool(_supply, state(request), principal, [_dump(record)], False)
    return _accepted(rows[0])


async def supply_batch(
    request: Request,
    records: list[SuppliedTweet] = Body(
        ..., min_length=1, max_length=core.MAX_BATCH, description=f"1 to {core.MAX_BATCH} tweets"
    ),
    principal: Principal = Depends(writer_dep),
) -> dict:
    rows = await run_in_threadpool(_supply, state(request), principal, [_dump(r) for r in records], True)
    return {
        "status": "accepted",
        "count": len(rows),
        "applies_at": _applies(r.day for r in rows),
        "items": [_accepted(r) for r in rows],
    }


# (the method decorators cannot take a route class of their own)
router.add_api_route(
    "/data/batch",
    supply_batch,
    methods=["POST"],
    route_class_override=_RecordsRoute,
    status_code=202,
    response_model=BatchAccepted,
    summary=f"Supply up to {core.MAX_BATCH} tweets at once: all or none (a bad record is a 422 "
    "naming it, records[i].field)",
)


@router.put(
    "/data/{tweet_id}",
    status_code=202,
    response_model=Accepted,
    summary="Correct a tweet's text, lang, possibly_sensitive or has_media (at the next merge of its day)",
)
async def correct_tweet(
    request: Request, body: CorrectionIn, tweet_id: TweetId, principal: Principal = Depends(writer_dep)
) -> dict:
    st = state(request)
    fields = body.fields.model_dump(exclude_unset=True)

    def run() -> Correction:
        # before the lookup: a bad field is a 422 whether or not the tweet exists
        core.validate_fields(fields)
        day = _tweet_day(st, tweet_id)
        row = core.correct(st.lake, tweet_id, fields, body.reason, principal, day)
        _audit(st, principal, "data.correct", [row])
        return row

    return _accepted(await run_in_threadpool(run))


def _delete_or_restore(
    st: ServingState, principal: Principal, tweet_id: int, reason: str | None, action: str
) -> Correction:
    day = _tweet_day(st, tweet_id)
    change = core.soft_delete if action == "delete" else core.restore
    row = change(st.lake, tweet_id, reason, principal, day)
    _audit(st, principal, f"data.{action}", [row])
    return row


@router.delete(
    "/data/{tweet_id}",
    status_code=202,
    response_model=Accepted,
    summary="Soft-delete a tweet: hidden from the API from the next merge of its day on (kept in the lake)",
)
async def delete_tweet(
    request: Request,
    tweet_id: TweetId,
    reason: str | None = Query(None, max_length=core.MAX_REASON, description="Why"),
    principal: Principal = Depends(writer_dep),
) -> dict:
    row = await run_in_threadpool(_delete_or_restore, state(request), principal, tweet_id, reason, "delete")
    return _accepted(row)


@router.post(
    "/data/{tweet_id}/restore",
    status_code=202,
    response_model=Accepted,
    summary="Undo a soft delete (at the next merge of the tweet's day)",
)
async def restore_tweet(
    request: Request,
    tweet_id: TweetId,
    reason: str | None = Query(None, max_length=core.MAX_REASON, description="Why"),
    principal: Principal = Depends(writer_dep),
) -> dict:
    row = await run_in_threadpool(_delete_or_restore, state(request), principal, tweet_id, reason, "restore")
    return _accepted(row)


@router.get(
    "/data/{tweet_id}/corrections",
    response_model=History,
    summary="Who supplied, corrected, deleted or restored a tweet, when and why (oldest first)",
)
async def tweet_corrections(request: Request, tweet_id: TweetId, _: Principal = Depends(reader_dep)) -> dict:
    items = await run_in_threadpool(core.list_corrections, state(request).lake, tweet_id)
    return {"tweet_id": tweet_id, "items": items}
