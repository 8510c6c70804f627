"""Collect one watchlist partition into ``raw/x_pages``, resumable after a crash.

A *scrape session* is one attempt at a (key, day) partition. Pages are appended to the lake in small
batches as they arrive; the cursor to resume from is read back from the lake itself (the last stored
page of the session), so a crash between a lake commit and any bookkeeping can neither lose a page
nor fetch one twice. A session is marked complete only after its last page is stored; the next run
of an incomplete partition continues the same session. A resumed timeline that had already stopped (its
end, the day's lower bound, its budget) is judged from its stored pages and not asked again.

How the collection ended (``outcome.py``: complete, truncated or failed, with pages and items over the
whole session) is merged into ``ops/coverage`` before the session is closed: if that write fails, the
session stays open and the next run, which fetches nothing more, records it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import ScrapeSession
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import FetchedPage, XClient
from xget_pipelines.core.x.collectors import COLLECTORS, Day
from xget_pipelines.core.x.expand import Expander
from xget_pipelines.core.x.outcome import COMPLETE, FAILED, TRUNCATED, CollectionOutcome, judged_all
from xget_pipelines.core.x.pagination import Stop
from xget_pipelines.core.x.raw_pages import (
    RawWriter,
    Resume,
    landed_items,
    stored_pages,
)
from xget_pipelines.core.x.watch import FOLLOW_KINDS, Budget, KeyParams

log = logging.getLogger(__name__)


@dataclass
class ScrapeResult:
    session_id: str
    resumed: bool
    pages: int = 0
    pages_before: int = 0
    malformed: int = 0
    operations: dict[str, int] = field(default_factory=dict)
    outcome: CollectionOutcome | None = None  # how the partition's collection ended (ops/coverage)


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
    params: KeyParams | None = None,
) -> ScrapeResult:
    """Fetch every page of the (key, day) partition into ``raw/x_pages``; see the module docstring. What
    is asked of X depends on the key's kind (``collectors.py``).

    ``params``: the key's parameters (``watch.KeyParams``): its budget (default ``max_pages`` pages), search
    product and expansions (``expand.py``: after the day's timeline, each within a budget of its own).

    How the collection ended is recorded in ``ops/coverage`` (``CollectionOutcome``): returned in
    ``result.outcome``, and recorded as ``failed`` before an error propagates."""
    wk = watch.parse_watch_key(key)
    params = params or KeyParams()
    budget = params.budget_or(max_pages)
    partition_key = f"{day.isoformat()}|{key}"
    session_id, resumed = open_session(engine, partition_key)
    done = stored_pages(lake, day, key, session_id) if resumed else None
    result = ScrapeResult(session_id, resumed)
    result.pages_before = 0 if done is None else done.num_rows
    writer = RawWriter(lake, session_id, run_id, key, day, flush_every, seq=result.pages_before)
    resume = Resume(lake, day, key, session_id, done)

    def record(page: FetchedPage, target: str) -> None:
        writer.add(page, target)
        result.pages += 1
        result.malformed += page.malformed
        result.operations[page.operation] = result.operations.get(page.operation, 0) + 1
        if on_page:
            on_page(page)

    def outcome(name: str, reason: str, items: int | None = None) -> CollectionOutcome:
        if items is None:
            items = landed_items(lake, day, key, session_id, author_id=the_day.user_id)
        return CollectionOutcome(
            watch_key=key,
            day=day,
            outcome=name,
            reason=reason,
            pages=result.pages_before + result.pages,
            items=items,
            max_pages=budget.page_limit or 0,
            session_id=session_id,
            run_id=run_id,
            resumed=resumed,
            finished_at=dt.datetime.now(dt.UTC),
            budget=str(budget),
        )

    the_day = Day(
        client,
        lake,
        engine,
        wk,
        day,
        params,
        budget,
        page_size,
        session_id,
        resumed,
        resume,
        record,
        writer.flush,
    )
    try:
        collected = COLLECTORS[wk.kind](the_day, timeline_days=timeline_days, follow_pages=follow_pages)
        judgement = collected.judged(budget)
        if params.expand and wk.kind not in FOLLOW_KINDS:
            writer.flush()  # the expansions start from the day's tweets, read back from the lake
            expander = Expander(
                client,
                lake,
                resume,
                key=wk,
                day=day,
                session_id=session_id,
                params=params,
                budget=budget,
                page_size=page_size,
                record=record,
            )
            judgement = _with_expansions(judgement, expander.run(the_day.user_id), budget)
        writer.flush()
        ended = outcome(*judgement, items=collected.items)
        coverage.record(lake, [ended])
        result.outcome = ended
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        try:
            writer.flush()  # whatever was fetched is kept, so the next run resumes after it
        finally:
            _record_failure(
                lake, lambda: outcome(FAILED, error, items=0 if wk.kind in FOLLOW_KINDS else None)
            )
            close_session(engine, session_id, result.pages_before + result.pages, error=error)
        raise
    close_session(engine, session_id, result.pages_before + result.pages)
    return result


def _with_expansions(
    judgement: tuple[str, str], stops: dict[str, Stop | None], budget: Budget
) -> tuple[str, str]:
    """The day's outcome (``judgement``) with its expansions' (``judged_all`` of ``{expansion: stop}``):
    the worse of the two, the reason naming what fell short."""
    name, reason = judged_all(stops, budget)
    rank = {FAILED: 0, TRUNCATED: 1, COMPLETE: 2}
    if rank[name] < rank[judgement[0]]:
        return name, f"expansion {reason}"
    if name == COMPLETE:
        return judgement[0], f"{judgement[1]}; expansions complete: {', '.join(stops)}"
    if rank[name] == rank[judgement[0]]:
        return name, f"{judgement[1]}; expansion {reason}"
    return judgement


def _record_failure(lake: Lake, outcome: Callable[[], CollectionOutcome]) -> None:
    """Record a failed outcome on the way out of an error; a lake that fails too is logged, not raised (the
    error that stopped the collection is the one to report)."""
    try:
        coverage.record(lake, [outcome()])
    except Exception:  # noqa: BLE001 - the original error propagates; this one is only logged
        log.warning("could not record the failed outcome in %s", coverage.TABLE, exc_info=True)
