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
from xget_pipelines.core.x import follow_crawl, watch
from xget_pipelines.core.x.client import FetchedPage, XClient
from xget_pipelines.core.x.expand import Expander
from xget_pipelines.core.x.outcome import COMPLETE, FAILED, TRUNCATED, CollectionOutcome, judged, judged_all
from xget_pipelines.core.x.pagination import Stop
from xget_pipelines.core.x.raw_pages import (
    RawWriter,
    Resume,
    absent,
    landed_items,
    newest_tweet,
    stored_pages,
    stored_user_id,
    user_id_of,
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
    """Fetch every page of the (key, day) partition into ``raw/x_pages``; see the module docstring.

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
    user_id: str | None = None

    def record(page: FetchedPage, target: str) -> None:
        writer.add(page, target)
        result.pages += 1
        result.malformed += page.malformed
        result.operations[page.operation] = result.operations.get(page.operation, 0) + 1
        if on_page:
            on_page(page)

    def outcome(name: str, reason: str, items: int | None = None) -> CollectionOutcome:
        return CollectionOutcome(
            watch_key=key,
            day=day,
            outcome=name,
            reason=reason,
            pages=result.pages_before + result.pages,
            items=landed_items(lake, day, key, session_id, author_id=user_id) if items is None else items,
            max_pages=budget.page_limit or 0,
            session_id=session_id,
            run_id=run_id,
            resumed=resumed,
            finished_at=dt.datetime.now(dt.UTC),
            budget=str(budget),
        )

    def day_timeline(operation, variables, target, reaches=None, check=None) -> Stop | None:
        return _paginate(client, resume, operation, variables, target, budget, record, reaches, check)

    today = day >= dt.datetime.now(dt.UTC).date()
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    try:
        judgement: tuple[str, str] | None = None  # of the kinds with several timelines
        items: int | None = None  # a follower snapshot's users so far (else the day's tweets that landed)
        stop: Stop | None = None
        if wk.kind == "search":
            query = watch.search_query(wk, day)
            variables = watch.search_variables(query, page_size, params.product)
            stop = day_timeline("SearchTimeline", variables, query)
        elif wk.kind == "list":
            judgement = judged_all(_collect_list(wk, day_timeline, page_size, start, today), budget)
        elif wk.kind == "community":
            judgement = judged_all(_collect_community(wk, day_timeline, page_size, start, today), budget)
        elif wk.kind in FOLLOW_KINDS:
            if today:
                run = follow_crawl.crawl(
                    client,
                    lake,
                    engine,
                    wk,
                    day=day,
                    session_id=session_id,
                    budget=budget,
                    page_size=page_size,
                    record=record,
                    flush=writer.flush,
                )
                items = run.snapshot.users
                name, why = judged(run.stop, budget)
                reason = follow_crawl.progress_reason(run)
                judgement = (name, reason if name != FAILED else f"{why}; {reason}")
            else:
                items = 0
                judgement = (COMPLETE, f"{wk.key} is a snapshot of now, taken in today's partition only")
        else:
            user_id = stored_user_id(lake, day, key, session_id) if resumed else None
            if user_id is None:
                page = client.fetch("UserByScreenName", watch.user_by_screen_name_variables(wk.handle))
                record(page, wk.key)
                user_id = user_id_of(page.body)
            if user_id is None:
                raise LookupError(f"X has no user {wk.key}; remove it from the watchlist or fix the handle")
            if watch.use_timeline(day, timeline_days):
                stop = day_timeline(
                    "UserTweetsAndReplies",
                    watch.user_tweets_variables(user_id, page_size),
                    wk.key,
                    reaches=lambda body: newest_tweet(body, "UserTweetsAndReplies") >= start,
                )
            else:
                query = watch.search_query(wk, day)
                variables = watch.search_variables(query, page_size, params.product)
                stop = day_timeline("SearchTimeline", variables, query)
            if follow_pages > 0 and today:
                # Followers and following are a snapshot of now: collected in today's partition only,
                # never again for every backfilled day.
                for operation in ("Followers", "Following"):
                    variables = watch.follows_variables(user_id, page_size)
                    cap = Budget(pages=follow_pages)
                    _paginate(client, resume, operation, variables, wk.key, cap, record)
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
            judgement = _with_expansions(judgement or judged(stop, budget), expander.run(user_id), budget)
        writer.flush()
        ended = outcome(*(judgement or judged(stop, budget)), items=items)
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


def _collect_list(
    wk, day_timeline, page_size: int, start: dt.datetime, today: bool
) -> dict[str, Stop | None]:
    """A list's members (today's partition only: a snapshot of now) and its tweets of the day."""
    stops: dict[str, Stop | None] = {}
    exists = _exists(f"X has no list {wk.target_id}")
    if today:
        variables = watch.list_members_variables(wk.target_id, page_size)
        stops["ListMembers"] = day_timeline("ListMembers", variables, wk.key, check=exists)
    stops["ListLatestTweetsTimeline"] = day_timeline(
        "ListLatestTweetsTimeline",
        watch.list_tweets_variables(wk.target_id, page_size),
        wk.key,
        reaches=lambda body: newest_tweet(body, "ListLatestTweetsTimeline") >= start,
        check=exists,
    )
    return stops


def _collect_community(
    wk, day_timeline, page_size: int, start: dt.datetime, today: bool
) -> dict[str, Stop | None]:
    """A community's info, members and moderators (today's partition only) and its posts of the day."""
    stops: dict[str, Stop | None] = {}
    cid = wk.target_id
    exists = _exists(f"X has no community {cid}")
    if today:
        info = watch.community_variables(cid)
        stops["CommunityQuery"] = day_timeline("CommunityQuery", info, wk.key, check=exists)
        for operation in ("membersSliceTimeline_Query", "moderatorsSliceTimeline_Query"):
            variables = watch.community_slice_variables(cid, page_size)
            stops[operation] = day_timeline(operation, variables, wk.key, check=exists)
    stops["CommunityTweetsTimeline"] = day_timeline(
        "CommunityTweetsTimeline",
        watch.community_tweets_variables(cid, page_size),
        wk.key,
        reaches=lambda body: newest_tweet(body, "CommunityTweetsTimeline") >= start,
        check=exists,
    )
    return stops


def _exists(missing: str) -> Callable[[bytes], None]:
    """A check of a list's or community's page (stored first): LookupError with ``missing`` when X says
    there is no such list or community (retrying cannot help)."""

    def check(body: bytes) -> None:
        if absent(body):
            raise LookupError(f"{missing}; remove it from the watchlist or fix the id")

    return check


def _paginate(
    client, resume, operation, variables, target, budget: Budget, record, reaches=None, check=None
) -> Stop | None:
    """Page one timeline within ``budget`` (from where a resumed session left it); why it stopped. ``check``
    looks at each page's body once it is recorded (and raises to stop the collection)."""
    cursor, left, empty_before, stopped = resume.point(operation, budget.page_limit, reaches, target)
    if stopped is not None:
        return stopped
    pages = client.paginate(
        operation,
        variables,
        cursor=cursor,
        max_pages=None if left is None else max(left, 0),
        keep_going=None if reaches is None else (lambda page: reaches(page.body)),
        empty_before=empty_before,
        max_items=budget.items,
        items_before=(
            resume.entries(operation, target) if budget.items is not None and cursor is not None else 0
        ),
    )
    for page in pages:
        record(page, target)
        if check is not None:
            check(page.body)
    return pages.stop
