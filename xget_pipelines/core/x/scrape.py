"""Collect one watchlist partition into ``raw/x_pages``, resumable after a crash.

A *scrape session* is one attempt at a (key, day) partition. Pages are appended to the lake in small
batches as they arrive; the cursor to resume from is read back from the lake itself (the last stored
page of the session), so a crash between a lake commit and any bookkeeping can neither lose a page
nor fetch one twice. A session is marked complete only after its last page is stored; the next run
of an incomplete partition continues the same session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import ScrapeSession
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import FetchedPage, XClient

RAW_TABLE = "raw/x_pages"
RAW_SCHEMA = pa.schema(
    [
        ("page_key", pa.string()),
        ("session_id", pa.string()),
        ("run_id", pa.string()),
        ("watch_key", pa.string()),
        ("operation", pa.string()),
        ("target", pa.string()),
        ("variables", pa.string()),
        ("cursor_in", pa.string()),
        ("cursor_out", pa.string()),
        ("seq", pa.int32()),
        ("http_status", pa.int32()),
        ("account", pa.string()),
        ("proxy", pa.string()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("malformed", pa.bool_()),
        ("body", pa.large_binary()),
        ("day", pa.date32()),
    ]
)


@dataclass
class ScrapeResult:
    session_id: str
    resumed: bool
    pages: int = 0
    pages_before: int = 0
    malformed: int = 0
    operations: dict[str, int] = field(default_factory=dict)


def page_key(page: FetchedPage, target: str) -> str:
    raw = f"{page.operation}|{target}|{page.cursor_in or ''}|{page.fetched_at.isoformat()}"
    return hashlib.sha1(raw.encode()).hexdigest()[:24]


# -- sessions -----------------------------------------------------------------------------------------


def open_session(engine: Engine, partition_key: str) -> tuple[str, bool]:
    """The partition's unfinished session to resume, or a new one. Returns (id, resumed)."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        row = conn.execute(
            select(ScrapeSession.id, ScrapeSession.status)
            .where(ScrapeSession.partition_key == partition_key)
            .order_by(ScrapeSession.started_at.desc())
            .limit(1)
        ).first()
        if row is not None and row.status != "complete":
            conn.execute(
                update(ScrapeSession).where(ScrapeSession.id == row.id).values(status="running", error=None)
            )
            return row.id, True
        session_id = uuid.uuid4().hex
        conn.execute(
            ScrapeSession.__table__.insert().values(
                id=session_id, partition_key=partition_key, status="running", pages=0, started_at=now
            )
        )
        return session_id, False


def close_session(engine: Engine, session_id: str, pages: int, error: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ScrapeSession)
            .where(ScrapeSession.id == session_id)
            .values(
                status="failed" if error else "complete",
                pages=pages,
                error=error,
                finished_at=dt.datetime.now(dt.UTC),
            )
        )


def latest_complete_session(engine: Engine, partition_key: str) -> str | None:
    with read_only(engine) as conn:
        return conn.execute(
            select(ScrapeSession.id)
            .where(ScrapeSession.partition_key == partition_key, ScrapeSession.status == "complete")
            .order_by(ScrapeSession.finished_at.desc())
            .limit(1)
        ).scalar()


# -- collecting ---------------------------------------------------------------------------------------


class _RawWriter:
    """Buffers fetched pages and appends them to the lake every ``flush_every`` pages."""

    def __init__(
        self, lake: Lake, session_id: str, run_id: str, key: str, day: dt.date, flush_every: int, seq: int
    ):
        self.lake, self.session_id, self.run_id, self.key, self.day = lake, session_id, run_id, key, day
        self.flush_every = flush_every
        self.rows: list[dict] = []
        self.seq = seq

    def add(self, page: FetchedPage, target: str) -> None:
        self.rows.append(
            {
                "page_key": page_key(page, target),
                "session_id": self.session_id,
                "run_id": self.run_id,
                "watch_key": self.key,
                "operation": page.operation,
                "target": target,
                "variables": orjson.dumps(page.variables).decode(),
                "cursor_in": page.cursor_in,
                "cursor_out": page.cursor_out,
                "seq": self.seq,
                "http_status": page.status,
                "account": page.account,
                "proxy": None,
                "fetched_at": page.fetched_at,
                "malformed": page.malformed,
                "body": page.body,
                "day": self.day,
            }
        )
        self.seq += 1
        if len(self.rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.lake.append(
                RAW_TABLE, pa.Table.from_pylist(self.rows, schema=RAW_SCHEMA), partition_by=["day"]
            )
            self.rows = []


_RESUME_COLUMNS = ["operation", "cursor_in", "cursor_out", "seq", "malformed"]


def stored_pages(lake: Lake, day: dt.date, key: str, session_id: str) -> pa.Table:
    """Pages of one session already in the lake (cursors only, no bodies), in fetch order."""
    table = lake.read(
        RAW_TABLE, {"day": day, "watch_key": key, "session_id": session_id}, columns=_RESUME_COLUMNS
    )
    if table is None:
        return RAW_SCHEMA.empty_table().select(_RESUME_COLUMNS)
    return table.sort_by("seq")


def scrape_partition(
    client: XClient,
    lake: Lake,
    engine: Engine,
    *,
    key: str,
    day: dt.date,
    run_id: str,
    max_pages: int = 50,
    page_size: int = 20,
    flush_every: int = 5,
    timeline_days: int = 2,
    on_page: Callable[[FetchedPage], None] | None = None,
    follow_pages: int = 0,
) -> ScrapeResult:
    """Fetch every page of the (key, day) partition into ``raw/x_pages``; see the module docstring."""
    wk = watch.parse_watch_key(key)
    partition_key = f"{day.isoformat()}|{key}"
    session_id, resumed = open_session(engine, partition_key)
    done = stored_pages(lake, day, key, session_id) if resumed else None
    result = ScrapeResult(session_id, resumed)
    result.pages_before = 0 if done is None else done.num_rows
    writer = _RawWriter(lake, session_id, run_id, key, day, flush_every, seq=result.pages_before)

    def record(page: FetchedPage, target: str) -> None:
        writer.add(page, target)
        result.pages += 1
        result.malformed += page.malformed
        result.operations[page.operation] = result.operations.get(page.operation, 0) + 1
        if on_page:
            on_page(page)

    try:
        if wk.kind == "search":
            query = watch.search_query(wk, day)
            _paginate(
                client,
                "SearchTimeline",
                watch.search_variables(query, page_size),
                query,
                done,
                max_pages,
                record,
            )
        else:
            user_id = _stored_user_id(lake, day, key, session_id) if resumed else None
            if user_id is None:
                page = client.fetch("UserByScreenName", watch.user_by_screen_name_variables(wk.handle))
                record(page, wk.key)
                user_id = _user_id(page.body)
            if user_id is None:
                raise LookupError(f"X has no user {wk.key}; remove it from the watchlist or fix the handle")
            if watch.use_timeline(day, timeline_days):
                start = dt.datetime.combine(day, dt.time(), dt.UTC)
                _paginate(
                    client,
                    "UserTweetsAndReplies",
                    watch.user_tweets_variables(user_id, page_size),
                    wk.key,
                    done,
                    max_pages,
                    record,
                    keep_going=lambda p: _newest_tweet(p) >= start,
                )
            else:
                query = watch.search_query(wk, day)
                _paginate(
                    client,
                    "SearchTimeline",
                    watch.search_variables(query, page_size),
                    query,
                    done,
                    max_pages,
                    record,
                )
            if follow_pages > 0 and day >= dt.datetime.now(dt.UTC).date():
                # Followers and following are a snapshot of now: collected in today's partition only,
                # never again for every backfilled day.
                for operation in ("Followers", "Following"):
                    _paginate(
                        client,
                        operation,
                        watch.follows_variables(user_id, page_size),
                        wk.key,
                        done,
                        follow_pages,
                        record,
                    )
        writer.flush()
    except BaseException as exc:
        writer.flush()  # whatever was fetched is kept, so the next run resumes after it
        close_session(
            engine, session_id, result.pages_before + result.pages, error=f"{type(exc).__name__}: {exc}"
        )
        raise
    close_session(engine, session_id, result.pages_before + result.pages)
    return result


def _paginate(client, operation, variables, target, done, max_pages, record, keep_going=None) -> None:
    cursor = None
    if done is not None:
        mine = done.filter(pc.and_(pc.equal(done["operation"], operation), pc.invert(done["malformed"])))
        if mine.num_rows:
            last_in, last_out = mine["cursor_in"][-1].as_py(), mine["cursor_out"][-1].as_py()
            if last_out is None or last_out == last_in:
                return  # that timeline had already ended before the interruption
            cursor = last_out
            max_pages -= mine.num_rows
    for page in client.paginate(
        operation, variables, cursor=cursor, max_pages=max(max_pages, 0), keep_going=keep_going
    ):
        record(page, target)


def _user_id(body: bytes) -> str | None:
    try:
        result = orjson.loads(body)["data"]["user"]["result"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return result.get("rest_id") if isinstance(result, dict) else None


def _stored_user_id(lake: Lake, day: dt.date, key: str, session_id: str) -> str | None:
    """The user id from the profile page a resumed session already stored (only that body is read)."""
    profiles = lake.read(
        RAW_TABLE,
        {"day": day, "watch_key": key, "session_id": session_id, "operation": "UserByScreenName"},
        columns=["body"],
    )
    for body in profiles["body"].to_pylist() if profiles is not None else []:
        if uid := _user_id(body):
            return uid
    return None


def _newest_tweet(page: FetchedPage) -> dt.datetime:
    """Creation time of the newest tweet on a timeline page (the earliest time if none)."""
    from xget_pipelines.core.x.parse import parse_page

    tweets = parse_page(page.body, page.operation).tweets
    if tweets.num_rows == 0:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    newest = pc.max(tweets["created_at"]).as_py()
    return newest or dt.datetime.min.replace(tzinfo=dt.UTC)
