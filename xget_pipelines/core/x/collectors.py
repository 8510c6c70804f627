"""What one (key, day) partition asks X for, one collector per kind of watchlist key.

``scrape.py`` owns the session around a partition (opening and resuming it, the raw writer, the outcome in
``ops/coverage``); a collector only says which timelines the key's day is made of and pages them through
:meth:`Day.timeline`, which resumes each from the session's stored pages and keeps to the key's budget:

- ``search``: SearchTimeline for the day (``since:``/``until:``), in the key's product (Latest or Top);
- ``account``: the user's id (UserByScreenName, or read back from a resumed session), then
  UserTweetsAndReplies paged back past the day while the day is recent, SearchTimeline ``from:`` for older
  days; today's partition may also take a few pages of Followers and Following;
- ``list``: ListMembers (today: a snapshot of now) and ListLatestTweetsTimeline paged back past the day;
- ``community``: CommunityQuery, members and moderators (today) and CommunityTweetsTimeline newest first;
- ``followers``/``following``: a full snapshot crawled over several runs (``follow_crawl.py``), in today's
  partition only.

Each returns a :class:`Collected`: why its timeline stopped, or a judgement already made over several
timelines, and what the outcome counts (a snapshot's users; else the day's tweets that landed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import follow_crawl, watch
from xget_pipelines.core.x.client import FetchedPage, XClient
from xget_pipelines.core.x.outcome import COMPLETE, FAILED, judged, judged_all
from xget_pipelines.core.x.pagination import Stop
from xget_pipelines.core.x.raw_pages import Resume, absent, newest_tweet, stored_user_id, user_id_of
from xget_pipelines.core.x.watch import Budget, KeyParams, WatchKey


@dataclass
class Day:
    """One partition's collection as its collector sees it: the key and day, the key's parameters and
    budget, where pages go (``record``, ``flush``) and where a resumed session left each timeline. An
    account's collector sets ``user_id`` as soon as it knows it (the expansions and the landed count start
    from it, a failed collection's too)."""

    client: XClient
    lake: Lake
    engine: Engine
    wk: WatchKey
    day: dt.date
    params: KeyParams
    budget: Budget
    page_size: int
    session_id: str
    resumed: bool
    resume: Resume
    record: Callable[[FetchedPage, str], None]
    flush: Callable[[], None]
    user_id: str | None = None

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(), dt.UTC)

    @property
    def today(self) -> bool:
        return self.day >= dt.datetime.now(dt.UTC).date()

    def timeline(self, operation, variables, target, reaches=None, check=None, budget=None) -> Stop | None:
        """Page one timeline within the key's budget (or ``budget``); see :func:`paginate`."""
        return paginate(
            self.client,
            self.resume,
            operation,
            variables,
            target,
            budget or self.budget,
            self.record,
            reaches,
            check,
        )


@dataclass
class Collected:
    """How a key's day was collected: ``stop`` of its one timeline, or ``judgement`` (outcome, reason) over
    several; ``items`` when the outcome counts something else than the day's tweets (a snapshot's users)."""

    stop: Stop | None = None
    judgement: tuple[str, str] | None = None
    items: int | None = None

    def judged(self, budget: Budget) -> tuple[str, str]:
        return self.judgement or judged(self.stop, budget)


def collect_search(day: Day, **_) -> Collected:
    query = watch.search_query(day.wk, day.day)
    variables = watch.search_variables(query, day.page_size, day.params.product)
    return Collected(stop=day.timeline("SearchTimeline", variables, query))


def collect_account(day: Day, *, timeline_days: int = 2, follow_pages: int = 0, **_) -> Collected:
    wk = day.wk
    user_id = stored_user_id(day.lake, day.day, wk.key, day.session_id) if day.resumed else None
    if user_id is None:
        page = day.client.fetch("UserByScreenName", watch.user_by_screen_name_variables(wk.handle))
        day.record(page, wk.key)
        user_id = user_id_of(page.body)
    if user_id is None:
        raise LookupError(f"X has no user {wk.key}; remove it from the watchlist or fix the handle")
    day.user_id = user_id
    if watch.use_timeline(day.day, timeline_days):
        start = day.start
        stop = day.timeline(
            "UserTweetsAndReplies",
            watch.user_tweets_variables(user_id, day.page_size),
            wk.key,
            reaches=lambda body: newest_tweet(body, "UserTweetsAndReplies") >= start,
        )
    else:
        query = watch.search_query(wk, day.day)
        stop = day.timeline(
            "SearchTimeline", watch.search_variables(query, day.page_size, day.params.product), query
        )
    if follow_pages > 0 and day.today:
        # Followers and following are a snapshot of now: collected in today's partition only, never again
        # for every backfilled day.
        for operation in ("Followers", "Following"):
            variables = watch.follows_variables(user_id, day.page_size)
            day.timeline(operation, variables, wk.key, budget=Budget(pages=follow_pages))
    return Collected(stop=stop)


def collect_list(day: Day, **_) -> Collected:
    """A list's members (today's partition only: a snapshot of now) and its tweets of the day."""
    wk, start = day.wk, day.start
    stops: dict[str, Stop | None] = {}
    exists = _exists(f"X has no list {wk.target_id}")
    if day.today:
        variables = watch.list_members_variables(wk.target_id, day.page_size)
        stops["ListMembers"] = day.timeline("ListMembers", variables, wk.key, check=exists)
    stops["ListLatestTweetsTimeline"] = day.timeline(
        "ListLatestTweetsTimeline",
        watch.list_tweets_variables(wk.target_id, day.page_size),
        wk.key,
        reaches=lambda body: newest_tweet(body, "ListLatestTweetsTimeline") >= start,
        check=exists,
    )
    return Collected(judgement=judged_all(stops, day.budget))


def collect_community(day: Day, **_) -> Collected:
    """A community's info, members and moderators (today's partition only) and its posts of the day."""
    wk, start, cid = day.wk, day.start, day.wk.target_id
    stops: dict[str, Stop | None] = {}
    exists = _exists(f"X has no community {cid}")
    if day.today:
        info = watch.community_variables(cid)
        stops["CommunityQuery"] = day.timeline("CommunityQuery", info, wk.key, check=exists)
        for operation in ("membersSliceTimeline_Query", "moderatorsSliceTimeline_Query"):
            variables = watch.community_slice_variables(cid, day.page_size)
            stops[operation] = day.timeline(operation, variables, wk.key, check=exists)
    stops["CommunityTweetsTimeline"] = day.timeline(
        "CommunityTweetsTimeline",
        watch.community_tweets_variables(cid, day.page_size),
        wk.key,
        reaches=lambda body: newest_tweet(body, "CommunityTweetsTimeline") >= start,
        check=exists,
    )
    return Collected(judgement=judged_all(stops, day.budget))


def collect_follows(day: Day, **_) -> Collected:
    """A followers/following snapshot: crawled in today's partition only, over as many runs as it takes."""
    if not day.today:
        return Collected(
            judgement=(COMPLETE, f"{day.wk.key} is a snapshot of now, taken in today's partition only"),
            items=0,
        )
    run = follow_crawl.crawl(
        day.client,
        day.lake,
        day.engine,
        day.wk,
        day=day.day,
        session_id=day.session_id,
        budget=day.budget,
        page_size=day.page_size,
        record=day.record,
        flush=day.flush,
    )
    name, why = judged(run.stop, day.budget)
    reason = follow_crawl.progress_reason(run)
    return Collected(
        judgement=(name, reason if name != FAILED else f"{why}; {reason}"), items=run.snapshot.users
    )


COLLECTORS: dict[str, Callable[..., Collected]] = {
    "search": collect_search,
    "account": collect_account,
    "list": collect_list,
    "community": collect_community,
    **{kind: collect_follows for kind in watch.FOLLOW_KINDS},
}


def _exists(missing: str) -> Callable[[bytes], None]:
    """A check of a list's or community's page (stored first): LookupError with ``missing`` when X says
    there is no such list or community (retrying cannot help)."""

    def check(body: bytes) -> None:
        if absent(body):
            raise LookupError(f"{missing}; remove it from the watchlist or fix the id")

    return check


def paginate(
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
