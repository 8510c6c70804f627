"""What a watchlist would collect from a world without collecting it: the cheap stand-in for a collection.

``observed_by_key(world, keys, ...)`` answers, for each watchlist key, the posts its partitions would land
(the key's own hits, ``via = 'timeline'`` in ``cleaned/tweets``), and ``observed_tweets`` the union of
those with the posts they quote or retweet (which the lake's ``entities/tweets`` also holds). It is used to
score the trend detector on what a watchlist sees for worlds the demo never collects (``bench/trends.py``,
``tests/core/test_trends.py``); ``tests/emulator/test_observed.py`` checks it against a real collection
over HTTP.

It asks the emulator's own logic, never a copy of it: the search keys go through ``search.SearchIndex``
(the same parser, index and matcher SearchTimeline serves) and every timeline is cut newest first with
``timeline.page_newest_first``, as the operations page it. What the collection asks per key
(``core/x/watch.py``):

- a search key: SearchTimeline Latest ``<key> since:<day> until:<day+1>``, newest first, at most
  ``pages_per_day`` pages of ``page_size`` posts;
- ``@handle``: on the ``timeline_days`` most recent days the profile with replies (UserTweetsAndReplies:
  the account's posts, retweets and replies with their parent) paged back from now until a page holds
  nothing of the day; on older days SearchTimeline ``from:<handle> since:<day> until:<day+1>``;
- ``list:<id>`` and ``community:<id>``: the members' posts (a reply to a member with its parent), and the
  posts made to the community, paged back from now until a page holds nothing of the day;
- ``followers:`` / ``following:``: no posts.

Not modelled (they add posts the trends barely notice, and cost a real collection to know): conversation
expansions (``expand=conversations:N``), a page cut short by a rate limit or a fault, and the pinned post
of an account's first page. Everything is judged at ``now_ms`` (default: the world's end), as
``hide_future_tweets`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from .model import Tweet, snowflake
from .search import SearchIndex, parse_query
from .timeline import page_newest_first
from .world import World

_DAY_MS = 86_400_000


def collected_days(world: World, days: int) -> list[dt.date]:
    """The world's last ``days`` UTC days, oldest first (the partitions a watchlist of ``days`` days has)."""
    last = world.cfg.end - dt.timedelta(days=1)
    return [last - dt.timedelta(days=i) for i in reversed(range(min(days, world.cfg.days)))]


def observed_by_key(
    world: World,
    keys: Iterable[str],
    days: int | Sequence[dt.date] = 14,
    pages_per_day: int = 50,
    page_size: int = 20,
    timeline_days: int = 2,
    paged_days: int | None = 2,
    now_ms: int | None = None,
    index: SearchIndex | None = None,
) -> dict[str, list[Tweet]]:
    """Each key's hits over ``days`` (a count of the world's last days, or the dates), within the budget of
    ``pages_per_day`` pages of ``page_size`` per (day, key). ``paged_days``: the most recent days a list or
    community key is collected on (the demo collects two, as the watchlist sensor does for a new key; None:
    all of ``days``). Tweets come back ascending by id, each once per key."""
    dates = collected_days(world, days) if isinstance(days, int) else sorted(days)
    now_ms = world.cfg.end_ms if now_ms is None else now_ms
    visible = snowflake(now_ms, 0x3FFFFF)
    index = index or SearchIndex(world)
    budget = pages_per_day * page_size
    today = dt.datetime.fromtimestamp((now_ms - 1) / 1000, dt.UTC).date()
    out: dict[str, list[Tweet]] = {}
    for key in keys:
        kind, value = _kind(key)
        found: dict[int, Tweet] = {}
        for day in dates:
            recent = (today - day).days < timeline_days
            if kind == "search" or (kind == "account" and not recent):
                query = key if kind == "search" else f"from:{value}"
                tweets = _search_day(world, index, query, day, visible, budget)
            elif kind == "account":
                user = world.user_by_screen_name(value)
                items = [] if user is None or user.protected or user.unavailable else _profile_items(user)
                tweets = _paged_back(items, day, visible, page_size, pages_per_day)
            elif kind in ("list", "community") and (paged_days is None or (today - day).days < paged_days):
                tweets = _paged_back(_items_of(world, kind, value), day, visible, page_size, pages_per_day)
            else:
                tweets = []
            found.update((t.id, t) for t in tweets)
        out[key] = sorted(found.values(), key=lambda t: t.id)
    return out


def observed_tweets(world: World, keys: Iterable[str], **kwargs) -> list[Tweet]:
    """Every post the watchlist's keys would collect (``observed_by_key``'s arguments), with the posts they
    quote or retweet, ascending by id."""
    found: dict[int, Tweet] = {}
    for tweets in observed_by_key(world, keys, **kwargs).values():
        for t in tweets:
            found[t.id] = t
            for inner in (t.quoted, t.retweeted):
                if inner is not None and not inner.hidden:
                    found[inner.id] = inner
    return sorted(found.values(), key=lambda t: t.id)


def demo_keys(world: World) -> list[str]:
    """The demo's watchlist for ``world`` (``demo.run_demo``): the suggested terms and three accounts, the
    first list and community, and the first account's followers."""
    s = world.watchlist_suggestions()
    return [
        *s["terms"],
        *(f"@{h}" for h in s["users"][:3]),
        f"list:{s['lists'][0]}",
        f"community:{s['communities'][0]}",
        f"followers:@{s['users'][0]}",
    ]


def _kind(key: str) -> tuple[str, str]:
    from xget_pipelines.core.x.watch import parse_watch_key

    wk = parse_watch_key(key)
    if wk.kind in ("account", "followers", "following"):
        return wk.kind, wk.handle
    if wk.kind in ("list", "community"):
        return wk.kind, wk.target_id
    return wk.kind, wk.key


def _search_day(
    world: World, index: SearchIndex, query: str, day: dt.date, visible: int, budget: int
) -> list[Tweet]:
    """SearchTimeline Latest of ``query`` on ``day``, as the collection words it, up to ``budget`` posts."""
    raw = f"{query} since:{day.isoformat()} until:{(day + dt.timedelta(days=1)).isoformat()}"
    positions = index.evaluate(parse_query(raw), "Latest")
    page = page_newest_first(positions, lambda p: world.tweets[p].id, None, visible, budget)
    return [world.tweets[p] for p in page]


def _profile_items(user) -> list[tuple[Tweet, ...]]:
    """UserTweetsAndReplies' items (``ops_tweets._profile_items`` with replies): a reply with its parent."""
    return [(t,) if t.reply_to is None else (t.reply_to, t) for t in user.tweets if not t.hidden]


def _items_of(world: World, kind: str, target: str) -> list[tuple[Tweet, ...]]:
    """A list's timeline items (``ops_tweets._list_items``) or a community's posts, ascending by id."""
    if kind == "community":
        community = world.community_by_id(target)
        return [(t,) for t in community.tweets] if community else []
    xlist = world.list_by_id(target)
    if xlist is None:
        return []
    members = {u.idx for u in xlist.members}
    tweets = sorted((t for u in xlist.members for t in u.tweets if not t.hidden), key=lambda t: t.id)
    return [
        (t.reply_to, t) if t.reply_to is not None and t.reply_to.author.idx in members else (t,)
        for t in tweets
    ]


def _paged_back(
    items: list[tuple[Tweet, ...]], day: dt.date, visible: int, page_size: int, pages: int
) -> list[Tweet]:
    """A timeline paged newest first from now until a page holds nothing of ``day`` (or the budget): every
    post of the pages read lands, those of other days too."""
    start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp() * 1000)
    out: list[Tweet] = []
    before = None
    for _ in range(pages):
        page = page_newest_first(items, lambda it: it[-1].id, before, visible, page_size)
        if not page:
            break
        for item in page:
            out.extend(item)
        if not any(start <= it[-1].ms < start + _DAY_MS for it in page) and page[-1][-1].ms < start:
            break
        before = page[-1][-1].id
    return out


def register_view(con, tweets: Iterable[Tweet], by_key: dict[str, list[Tweet]]) -> None:
    """``tw``, ``tags`` and ``watched`` (``core.trends.series_counts``' inputs) over observed posts, as
    ``core.trends.register_sources`` makes them over the lake: no native retweets, lower-case hashtags."""
    import pyarrow as pa

    rows = [t for t in tweets if t.retweeted is None]
    ts = pa.timestamp("us", tz="UTC")
    con.register(
        "tw",
        pa.table(
            {
                "tweet_id": pa.array([t.id for t in rows], pa.int64()),
                "created_at": pa.array([t.ms * 1000 for t in rows], pa.int64()).cast(ts),
                "author_id": pa.array([t.author.id for t in rows], pa.int64()),
            }
        ),
    )
    pairs = sorted({(t.id, h.lower()) for t in rows for h in t.hashtags})
    con.register(
        "tags",
        pa.table({"tweet_id": pa.array([p[0] for p in pairs], pa.int64()), "tag": [p[1] for p in pairs]}),
    )
    hits = [(t.id, k) for k, ts_ in by_key.items() for t in ts_ if t.retweeted is None]
    con.register(
        "watched",
        pa.table({"tweet_id": pa.array([h[0] for h in hits], pa.int64()), "watch_key": [h[1] for h in hits]}),
    )


def score_trends(world: World, keys: Sequence[str] | None, cfg=None, days: int = 14, **kwargs):
    """``core.trends.evaluate`` of the burst detection over what ``keys`` collect on the world's last
    ``days`` days (``observed_by_key``'s other arguments in ``kwargs``), or over every post of those days
    when ``keys`` is None (the whole world), against the world's injected bursts; the first day is the
    warm-up, as in ``analytics_trends`` over the lake."""
    import duckdb

    from xget_pipelines.core.trends import TrendConfig, burst_events, detect, evaluate, series_counts

    cfg = cfg or TrendConfig()
    dates = collected_days(world, days)
    if keys is None:
        by_key: dict[str, list[Tweet]] = {}
        first = int(dt.datetime.combine(dates[0], dt.time(), dt.UTC).timestamp() * 1000)
        tweets: list[Tweet] = [t for t in world.tweets if t.ms >= first and not t.hidden]
    else:
        by_key = observed_by_key(world, keys, days=dates, **kwargs)
        tweets = observed_tweets(world, keys, days=dates, **kwargs)
    con = duckdb.connect()
    register_view(con, tweets, by_key)
    series_counts(con, cfg)
    start = dt.datetime.combine(dates[0], dt.time(), dt.UTC)
    end = dt.datetime.combine(dates[-1], dt.time(), dt.UTC) + dt.timedelta(days=1)
    trends = detect(con, cfg, start, end, observed_from=start)
    return evaluate(burst_events(trends, cfg), world.ground_truth()["bursts"], start, end, cfg, start, con)
