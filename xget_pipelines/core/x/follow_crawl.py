"""Full snapshots of an account's follower or following list (``followers:@handle``, ``following:@handle``).

A list of millions is more than one run can fetch within a key's budget, so a snapshot is a crawl that
continues over as many runs of today's partition as it takes (and over days: each day is a partition of its
own). Its state is in the control plane (``follow_snapshots``, one row per snapshot; migration 0012), not
derived from the lake: a snapshot spans many partitions and sessions, and only that table can say which
pages belong to which snapshot without reading every page the key ever stored.

- Each run is a scrape session (``scrape.py``) linked to exactly one snapshot
  (``follow_snapshot_sessions``: the session, the partition's day, and where the snapshot stood before it).
  A run continues the key's running snapshot or, when the last one is complete, starts the next one (with
  the profile, UserByScreenName, for the account's id and its count at the start).
- Where the snapshot stands is read back from the lake's pages of its last session, never from the
  snapshot row alone: a crash between a lake commit and the row's update can neither lose a page nor
  fetch one twice. The row's ``cursor``, ``pages`` and ``users`` are a summary, written when a run ends.
- When X's end of the list is reached (no next cursor, a repeated cursor, two empty pages) the snapshot
  is ``complete`` with ``completed_at``; the next run starts a new snapshot. ``cleaned/follower_snapshots``
  holds complete snapshots only (``clean_kinds.py``).

The key's budget bounds one run (``N pages``, ``N items``: user entries, or ``all``: to the end in one run).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow.compute as pc
from sqlalchemy import Engine, func, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import FollowSnapshot, FollowSnapshotSession
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import FetchedPage, XClient
from xget_pipelines.core.x.cursors import PageSummary, summarize_page
from xget_pipelines.core.x.pagination import Stop, ended
from xget_pipelines.core.x.raw_pages import RAW_TABLE, user_id_of
from xget_pipelines.core.x.watch import Budget, WatchKey

OPERATIONS = {"followers": "Followers", "following": "Following"}
_COUNTS = {"followers": "followers_count", "following": "following_count"}
_BODY_CHUNK = 200  # pages whose bodies are read at once when counting a session's users


@dataclass(frozen=True)
class Snapshot:
    id: str
    watch_key: str
    number: int
    direction: str
    account_id: str
    expected: int | None
    status: str
    cursor: str | None
    pages: int
    users: int
    started_at: dt.datetime
    completed_at: dt.datetime | None

    @property
    def operation(self) -> str:
        return OPERATIONS[self.direction]


@dataclass(frozen=True)
class Link:
    session_id: str
    snapshot_id: str
    seq: int
    day: dt.date
    cursor_before: str | None
    pages_before: int
    users_before: int


@dataclass(frozen=True)
class Position:
    """Where a snapshot's crawl stands: the cursor to continue from, pages and user entries so far, whether
    X's end was reached, content-free pages in a row at the end, when its last page was fetched."""

    cursor: str | None
    pages: int
    users: int
    ended: bool
    empty_before: int = 0
    last_fetched: dt.datetime | None = None


@dataclass
class CrawlRun:
    """What one run did to a snapshot: the snapshot as it is after the run, why the paging stopped, and the
    pages and user entries of this run."""

    snapshot: Snapshot
    stop: Stop | None
    pages: int = 0
    users: int = 0
    runs: int = 0  # sessions that fetched pages of the snapshot, this one included


# -- the control plane --------------------------------------------------------------------------------


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _snapshot(row) -> Snapshot:
    return Snapshot(
        row.id,
        row.watch_key,
        row.number,
        row.direction,
        row.account_id,
        row.expected,
        row.status,
        row.cursor,
        row.pages,
        row.users,
        _utc(row.started_at),
        _utc(row.completed_at),
    )


def snapshots(engine: Engine, key: str | None = None, complete_only: bool = False) -> list[Snapshot]:
    """The snapshots of ``key`` (every key's: None), oldest first."""
    query = select(FollowSnapshot).order_by(FollowSnapshot.watch_key, FollowSnapshot.number)
    if key is not None:
        query = query.where(FollowSnapshot.watch_key == key)
    if complete_only:
        query = query.where(FollowSnapshot.status == "complete")
    with read_only(engine) as conn:
        return [_snapshot(r) for r in conn.execute(query)]


def links(engine: Engine, snapshot_id: str) -> list[Link]:
    """The sessions that fetched pages of a snapshot, in order."""
    with read_only(engine) as conn:
        rows = conn.execute(
            select(FollowSnapshotSession)
            .where(FollowSnapshotSession.snapshot_id == snapshot_id)
            .order_by(FollowSnapshotSession.seq)
        ).all()
    return [_link(r) for r in rows]


def _link(row) -> Link:
    return Link(
        row.session_id,
        row.snapshot_id,
        row.seq,
        row.day,
        row.cursor_before,
        row.pages_before,
        row.users_before,
    )


def _link_of(engine: Engine, session_id: str) -> Link | None:
    with read_only(engine) as conn:
        row = conn.execute(
            select(FollowSnapshotSession).where(FollowSnapshotSession.session_id == session_id)
        ).first()
    return _link(row) if row is not None else None


def _get(engine: Engine, snapshot_id: str) -> Snapshot:
    with read_only(engine) as conn:
        return _snapshot(conn.execute(select(FollowSnapshot).where(FollowSnapshot.id == snapshot_id)).one())


def _start(engine: Engine, wk: WatchKey, account_id: str, expected: int | None) -> Snapshot:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        last = conn.execute(
            select(func.max(FollowSnapshot.number)).where(FollowSnapshot.watch_key == wk.key)
        ).scalar()
        snapshot_id = uuid.uuid4().hex
        conn.execute(
            FollowSnapshot.__table__.insert().values(
                id=snapshot_id,
                watch_key=wk.key,
                number=(last or 0) + 1,
                direction=wk.kind,
                account_id=account_id,
                expected=expected,
                status="running",
                cursor=None,
                pages=0,
                users=0,
                started_at=now,
                updated_at=now,
            )
        )
    return _get(engine, snapshot_id)


def _link_session(engine: Engine, snapshot: Snapshot, session_id: str, day: dt.date, at: Position) -> Link:
    with engine.begin() as conn:
        seq = conn.execute(
            select(func.max(FollowSnapshotSession.seq)).where(
                FollowSnapshotSession.snapshot_id == snapshot.id
            )
        ).scalar()
        conn.execute(
            FollowSnapshotSession.__table__.insert().values(
                session_id=session_id,
                snapshot_id=snapshot.id,
                seq=(seq or 0) + 1,
                day=day,
                cursor_before=at.cursor,
                pages_before=at.pages,
                users_before=at.users,
                linked_at=dt.datetime.now(dt.UTC),
            )
        )
    return _link_of(engine, session_id)  # type: ignore[return-value]


def _save(engine: Engine, snapshot: Snapshot, at: Position) -> Snapshot:
    """Write where the snapshot stands; ``at.ended`` completes it (dated by its last page)."""
    values: dict = {
        "cursor": None if at.ended else at.cursor,
        "pages": at.pages,
        "users": at.users,
        "updated_at": dt.datetime.now(dt.UTC),
    }
    if at.ended:
        values.update(status="complete", completed_at=at.last_fetched or dt.datetime.now(dt.UTC))
    with engine.begin() as conn:
        conn.execute(update(FollowSnapshot).where(FollowSnapshot.id == snapshot.id).values(**values))
    return _get(engine, snapshot.id)


# -- the lake -----------------------------------------------------------------------------------------


def session_pages(
    lake: Lake, key: str, link: Link, operation: str, columns: tuple[str, ...] = ("seq", "body")
) -> Iterator[dict]:
    """The readable pages of ``operation`` one linked session stored, in fetch order, bodies read
    ``_BODY_CHUNK`` pages at a time (a session of an ``all`` budget may hold thousands)."""
    where = {"day": link.day, "watch_key": key, "session_id": link.session_id, "operation": operation}
    index = lake.read(RAW_TABLE, where, columns=["seq", "malformed"])
    if index is None or not index.num_rows:
        return
    seqs = index.filter(pc.invert(index["malformed"])).sort_by("seq")["seq"].to_pylist()
    for i in range(0, len(seqs), _BODY_CHUNK):
        chunk = lake.read(RAW_TABLE, {**where, "seq": seqs[i : i + _BODY_CHUNK]}, columns=list(columns))
        yield from chunk.sort_by("seq").to_pylist()


def position(lake: Lake, key: str, link: Link, operation: str) -> Position:
    """Where the snapshot stands after the pages ``link``'s session stored (from the lake)."""
    pages = users = empty = 0
    cursor, done, last_fetched = link.cursor_before, False, None
    for page in session_pages(lake, key, link, operation, ("seq", "cursor_in", "body", "fetched_at")):
        stored = _Stored(summarize_page(page["body"]))
        pages += 1
        users += stored.summary.content_entries
        done = ended(stored, page["cursor_in"], empty)
        empty = empty + 1 if stored.summary.content_entries == 0 else 0
        cursor, last_fetched = stored.cursor_out, page["fetched_at"]
    return Position(
        cursor, link.pages_before + pages, link.users_before + users, done, empty, _utc(last_fetched)
    )


@dataclass(frozen=True)
class _Stored:
    """A stored page as ``pagination.ended`` reads it."""

    summary: PageSummary
    malformed: bool = False

    @property
    def cursor_out(self) -> str | None:
        return self.summary.cursor_bottom


# -- one run ------------------------------------------------------------------------------------------


def _profile(body: bytes, direction: str) -> int | None:
    """The follower (or following) count a UserByScreenName page shows: what the snapshot should reach."""
    from xget_pipelines.core.x.parse import parse_page

    users = parse_page(body, "UserByScreenName").users
    column = _COUNTS[direction]
    if not users.num_rows or column not in users.column_names:
        return None
    return users[column][0].as_py()


def crawl(
    client: XClient,
    lake: Lake,
    engine: Engine,
    wk: WatchKey,
    *,
    day: dt.date,
    session_id: str,
    budget: Budget,
    page_size: int,
    record: Callable[[FetchedPage, str], None],
    flush: Callable[[], None],
) -> CrawlRun:
    """Continue (or start) the key's snapshot within ``budget`` in the scrape session ``session_id``; its
    pages go through ``record`` (the session's writer) and are flushed before the snapshot row is updated."""
    operation = OPERATIONS[wk.kind]
    link = _link_of(engine, session_id)
    if link is None:  # a new session: the running snapshot, or a new one
        snapshot, at = _current(client, lake, engine, wk, record, operation)
        link = _link_session(engine, snapshot, session_id, day, at)
    else:  # a resumed session: its own stored pages are part of where the snapshot stands
        snapshot = _get(engine, link.snapshot_id)
        at = position(lake, wk.key, link, operation)
    runs = len(links(engine, snapshot.id))
    if at.ended:  # the interrupted run had reached X's end
        return CrawlRun(_save(engine, snapshot, at), Stop.END, runs=runs)
    spent_pages, spent_users = at.pages - link.pages_before, at.users - link.users_before
    pages = client.paginate(
        operation,
        watch.follows_variables(snapshot.account_id, page_size),
        cursor=at.cursor,
        max_pages=None if budget.pages is None else max(budget.pages - spent_pages, 0),
        empty_before=at.empty_before,
        max_items=budget.items,
        items_before=spent_users,
    )
    run = CrawlRun(snapshot, None, runs=runs)
    cursor, last_fetched = at.cursor, None
    for page in pages:
        record(page, wk.key)
        run.pages += 1
        if not page.malformed:
            run.users += page.summary.content_entries
            cursor, last_fetched = page.cursor_out, page.fetched_at
    run.stop = pages.stop
    flush()
    after = Position(
        cursor,
        at.pages + run.pages,
        at.users + run.users,
        pages.stop is Stop.END,
        last_fetched=last_fetched,
    )
    run.snapshot = _save(engine, snapshot, after)
    return run


def _current(
    client: XClient, lake: Lake, engine: Engine, wk: WatchKey, record, operation: str
) -> tuple[Snapshot, Position]:
    """The key's running snapshot and where it stands, or a new snapshot (the last one complete, or none)."""
    known = snapshots(engine, wk.key)
    last = known[-1] if known else None
    if last is not None and last.status == "running":
        previous = links(engine, last.id)
        if not previous:
            return last, Position(last.cursor, last.pages, last.users, False)
        at = position(lake, wk.key, previous[-1], operation)
        if not at.ended:
            return last, at
        _save(engine, last, at)  # its last run reached X's end and was cut before it said so
    page = client.fetch("UserByScreenName", watch.user_by_screen_name_variables(wk.handle))
    record(page, wk.key)
    account_id = user_id_of(page.body)
    if account_id is None:
        raise LookupError(f"X has no user @{wk.handle}; remove {wk.key} from the watchlist or fix the handle")
    snapshot = _start(engine, wk, account_id, _profile(page.body, wk.kind))
    return snapshot, Position(None, 0, 0, False)


def progress_reason(run: CrawlRun) -> str:
    """The coverage row's reason for a run of a follower snapshot."""
    s = run.snapshot
    what = f"snapshot {s.number} of @{s.watch_key.rsplit('@', 1)[1]}'s {s.direction}"
    if s.status == "complete":
        return (
            f"{what} complete: {s.users:,} listed in {s.pages:,} pages over {run.runs} "
            f"run{'s' if run.runs != 1 else ''}; the next run starts snapshot {s.number + 1}"
        )
    of = f"{s.expected:,}" if s.expected is not None else "?"
    return f"{what}: {s.users:,} of {of} {s.direction} so far, continues next run"
