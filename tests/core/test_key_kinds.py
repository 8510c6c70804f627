"""The key kinds of issue 17 beyond searches and accounts, over real HTTP from the emulator and counted
against its world: ``followers:@handle`` snapshots crawled over several runs (the deep corner's 20,500
followers), compared with one SQL query after followers are removed at run time; ``list:<id>`` and
``community:<id>`` landing their members, moderators, info and tweets of the day in their tables."""

import datetime as dt

import httpx
import pyarrow.compute as pc
import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.lake import catalog, coverage
from xget_pipelines.core.x import follow_crawl
from xget_pipelines.core.x.clean import clean_partition
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.parse import parse_page
from xget_pipelines.core.x.raw_pages import RAW_TABLE
from xget_pipelines.core.x.scrape import scrape_partition
from xget_pipelines.core.x.watch import Budget, KeyParams, parse_watch_key

FAMOUS = "followers:@xget_famous"
UNFOLLOWED = """
select user_id from cleaned_follower_snapshots where watch_key = 'followers:@xget_famous' and snapshot = 1
except
select user_id from cleaned_follower_snapshots where watch_key = 'followers:@xget_famous' and snapshot = 2
"""
NEW_FOLLOWERS = """
select user_id from cleaned_follower_snapshots where watch_key = 'followers:@xget_famous' and snapshot = 2
except
select user_id from cleaned_follower_snapshots where watch_key = 'followers:@xget_famous' and snapshot = 1
"""


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture
def emu(emulator_factory):
    unlimited = (
        "Followers",
        "UserByScreenName",
        "ListMembers",
        "ListLatestTweetsTimeline",
        "CommunityQuery",
        "CommunityTweetsTimeline",
        "membersSliceTimeline_Query",
        "moderatorsSliceTimeline_Query",
    )
    return emulator_factory(rate_limits={op: 10_000 for op in unlimited})


@pytest.fixture
def collect(emu, engine, lake):
    """Collect and clean one (key, day) partition as the raw and cleaned assets do."""
    pool = register_accounts(emu, engine, ["k1", "k2"])

    def run(key, day, params, run_id="r", on_page=None):
        with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
            result = scrape_partition(
                client,
                lake,
                engine,
                key=key,
                day=day,
                run_id=run_id,
                page_size=100,
                flush_every=20,
                params=params,
                on_page=on_page,
            )
        clean_partition(lake, engine, key=key, day=day)
        return result

    return run


def _crash_after(n):
    seen = []

    def on_page(page):
        seen.append(page)
        if len(seen) == n:
            raise RuntimeError("worker killed")

    return on_page


def test_a_follower_snapshot_is_crawled_over_several_runs_and_a_second_shows_who_left(
    collect, emu, engine, lake, small_world
):
    famous = small_world.deep.famous
    listed = {u.id for u in (small_world.users[i] for i in famous.followers) if not u.unavailable}
    assert len(famous.followers) == 20_500 and len(listed) > 20_000  # suspended ones X shows as unavailable
    today, budget = _today(), KeyParams(budget=Budget(pages=60))
    reasons = []
    for n in range(1, 10):
        on_page = _crash_after(25) if n == 2 else None  # the second run dies mid-crawl, the third resumes it
        try:
            collect(FAMOUS, today, budget, run_id=f"r{n}", on_page=on_page)
        except RuntimeError:
            assert coverage.read(lake, [FAMOUS])[0].outcome == "failed"
            continue
        row = coverage.read(lake, [FAMOUS])[0]
        reasons.append(row.reason)
        if row.outcome == "complete":
            break
        assert row.outcome == "truncated" and "continues next run" in row.reason
    assert n == 5  # 206 pages of 100 (the last one empty, X's end) in runs of 60: 4 runs, and the crash
    assert (
        reasons[0]
        == "snapshot 1 of @xget_famous's followers: 6,000 of 20,500 followers so far, continues next run"
    )
    assert (
        reasons[-1].startswith("snapshot 1 of @xget_famous's followers complete: ")
        and "over 4 runs" in reasons[-1]
    )
    first = follow_crawl.snapshots(engine, FAMOUS)[0]
    assert (first.status, first.pages, first.users) == ("complete", 206, 20_500)
    pages = lake.read(RAW_TABLE, {"watch_key": FAMOUS, "operation": "Followers"})
    assert pages.num_rows == 206 and len(set(pages["cursor_in"].to_pylist())) == 206  # none fetched twice

    snap = lake.read("cleaned/follower_snapshots", {"watch_key": FAMOUS})
    ids = snap["user_id"].to_pylist()
    assert len(ids) == len(set(ids)) and set(ids) == listed  # every follower X lists, exactly once
    assert set(snap["snapshot"].to_pylist()) == {1} and snap["completed_at"][0].as_py() == first.completed_at

    gone = [small_world.users[i] for i in famous.followers[::4000] if not small_world.users[i].unavailable]
    rep = httpx.post(
        f"{emu.url}/_emulator/followers/xget_famous", json={"remove": [str(u.id) for u in gone]}, timeout=10
    )
    assert rep.status_code == 200 and rep.json()["followers"] == 20_500 - len(gone)
    collect(FAMOUS, today, KeyParams(budget=Budget()), run_id="again")  # `all`: the whole list in one run
    row = coverage.read(lake, [FAMOUS])[0]
    assert row.outcome == "complete" and row.reason.startswith(
        "snapshot 2 of @xget_famous's followers complete"
    )
    assert row.items == 20_500 - len(gone)

    con = catalog.connect(lake)
    unfollowed = {r[0] for r in con.execute(UNFOLLOWED).fetchall()}
    assert unfollowed == {u.id for u in gone} and len(gone) >= 4
    assert con.execute(NEW_FOLLOWERS).fetchall() == []
    counts = dict(
        con.execute(
            "select snapshot, count(*) from cleaned_follower_snapshots group by snapshot order by 1"
        ).fetchall()
    )
    assert counts == {1: len(listed), 2: len(listed) - len(gone)}

    collect(FAMOUS, today, KeyParams(budget=Budget(pages=3)), run_id="third")  # snapshot 3 begins
    assert [s.status for s in follow_crawl.snapshots(engine, FAMOUS)] == ["complete", "complete", "running"]
    clean_partition(lake, engine, key=FAMOUS, day=today)  # a re-clean doubles nothing; 3 is not there yet
    again = lake.read("cleaned/follower_snapshots", {"watch_key": FAMOUS})
    assert again.num_rows == 2 * len(listed) - len(gone)


def test_a_follower_key_on_a_past_day_collects_nothing(collect, lake):
    yesterday = _today() - dt.timedelta(days=1)
    result = collect(FAMOUS, yesterday, KeyParams())
    row = coverage.read(lake, [FAMOUS])[0]
    assert result.pages == 0 and row.outcome == "complete" and "today's partition only" in row.reason


def _timeline_ids(lake, key, day) -> set[int]:
    pages = lake.read(RAW_TABLE, {"watch_key": key, "day": day})
    ids = set()
    for body, op in zip(pages["body"].to_pylist(), pages["operation"].to_pylist(), strict=True):
        t = parse_page(body, op).tweets
        t = t.filter(pc.equal(t["via"], "timeline"))
        for tid, created in zip(t["tweet_id"].to_pylist(), t["created_at"].to_pylist(), strict=True):
            if created.date() == day:
                ids.add(tid)
    return ids


def _on(day: dt.date, tweets) -> set[int]:
    return {t.id for t in tweets if dt.datetime.fromtimestamp(t.ms / 1000, dt.UTC).date() == day}


def test_a_list_key_lands_its_members_today_and_its_tweets_of_each_day(collect, lake, small_world):
    xlist = max(small_world.lists, key=lambda x: len(x.members))
    key, today = f"list:{xlist.id}", _today()
    yesterday = today - dt.timedelta(days=1)
    collect(key, today, KeyParams(budget=Budget()))
    collect(key, yesterday, KeyParams(budget=Budget()))

    members = lake.read("cleaned/list_members", {"watch_key": key})
    assert set(members["day"].to_pylist()) == {today}  # a snapshot of now: never for a past day
    assert set(members["list_id"].to_pylist()) == {xlist.id}
    assert members.sort_by("position")["user_id"].to_pylist() == [
        u.id for u in reversed(xlist.members) if not u.unavailable
    ]
    posts = [t for u in xlist.members for t in u.tweets if not t.hidden]
    expected = _on(yesterday, posts)
    assert len(expected) > 10 and _timeline_ids(lake, key, yesterday) == expected
    rows = {r.day: r for r in coverage.read(lake, [key])}
    assert (rows[yesterday].outcome, rows[yesterday].items) == ("complete", len(expected))
    assert rows[today].outcome == "complete" and "ListMembers" in rows[today].reason
    tweets = lake.read("cleaned/tweets", {"watch_key": key, "day": yesterday})
    assert expected <= set(tweets["tweet_id"].to_pylist())


def test_a_community_key_lands_its_info_members_moderators_and_tweets(collect, lake, small_world):
    community = max(small_world.communities, key=lambda c: len(c.tweets))
    key, today = f"community:{community.id}", _today()
    yesterday = today - dt.timedelta(days=1)
    collect(key, today, KeyParams(budget=Budget()))
    collect(key, yesterday, KeyParams(budget=Budget()))

    info = lake.read("cleaned/communities", {"watch_key": key}).to_pylist()
    assert len(info) == 1 and info[0]["day"] == today
    assert (info[0]["community_id"], info[0]["name"], info[0]["description"]) == (
        community.id,
        community.name,
        community.description,
    )
    assert info[0]["member_count"] == len(community.members) and info[0]["creator_id"] == community.creator.id
    assert info[0]["created_at"] == dt.datetime.fromtimestamp(community.created_ms / 1000, dt.UTC)
    roles = lake.read("cleaned/community_members", {"watch_key": key})
    got = set(zip(roles["user_id"].to_pylist(), roles["role"].to_pylist(), strict=True))
    assert got == {(u.id, community.role(i).lower()) for i, u in enumerate(community.members)}
    assert {"admin", "moderator", "member"} == {r for _, r in got}

    expected = _on(yesterday, community.tweets)
    assert expected and _timeline_ids(lake, key, yesterday) == expected
    row = {r.day: r for r in coverage.read(lake, [key])}[yesterday]
    assert (row.outcome, row.items) == ("complete", len(expected))
    assert lake.read("cleaned/community_members", {"watch_key": key, "day": yesterday}).num_rows == 0


def test_a_budgeted_list_is_truncated_naming_the_timeline_cut(collect, lake, small_world):
    xlist = max(small_world.lists, key=lambda x: len(x.members))
    key = f"list:{xlist.id}"
    collect(key, _today(), KeyParams(budget=Budget(pages=1)))
    row = coverage.read(lake, [key])[0]
    assert row.outcome == "truncated" and "more to fetch: ListMembers" in row.reason  # its end: a 2nd page


def test_an_unknown_list_fails_with_a_clear_error(collect, lake):
    with pytest.raises(LookupError, match="X has no list 123"):
        collect("list:123", _today(), KeyParams())
    assert coverage.read(lake, ["list:123"])[0].outcome == "failed"


def test_key_kinds_are_validated_and_normalised():
    assert parse_watch_key("list:1494877848087187461").kind == "list"
    assert parse_watch_key("LIST:007").key == "list:7"
    assert parse_watch_key("community:1501272736215322629").target_id == "1501272736215322629"
    assert parse_watch_key("followers:xget_famous").key == FAMOUS
    wk = parse_watch_key("following:@NASA")
    assert (wk.kind, wk.handle) == ("following", "NASA")
    assert parse_watch_key("list:123 python").kind == "search"  # X's own list: operator, in a search
    for bad, says in (
        ("list:nasa/astronauts", "numeric id"),
        ("community:", "numeric id"),
        ("followers:@not a handle", "search"),
        ("followers:@way_too_long_for_x_handles", "names no X handle"),
        ("following:", "names no X handle"),
    ):
        if says == "search":
            assert parse_watch_key(bad).kind == "search"
            continue
        with pytest.raises(ValueError, match=says):
            parse_watch_key(bad)


def test_an_unknown_community_fails_with_a_clear_error(collect, lake):
    with pytest.raises(LookupError, match="X has no community 42; remove it from the watchlist"):
        collect("community:42", _today(), KeyParams())
    assert coverage.read(lake, ["community:42"])[0].outcome == "failed"


def test_a_following_snapshot_in_one_run_with_the_budget_all(collect, engine, lake, small_world):
    user = max(
        (u for u in small_world.users.people if not (u.protected or u.unavailable)),
        key=lambda u: len(u.following),
    )
    key = f"following:@{user.screen_name}"
    collect(key, _today(), KeyParams(budget=Budget()))
    row = coverage.read(lake, [key])[0]
    assert row.outcome == "complete" and "over 1 run;" in row.reason
    rows = lake.read("cleaned/follower_snapshots", {"watch_key": key})
    expected = {small_world.users[i].id for i in user.following if not small_world.users[i].unavailable}
    assert set(rows["user_id"].to_pylist()) == expected and rows.num_rows == len(expected) > 5
    assert set(rows["direction"].to_pylist()) == {"following"}
    assert set(rows["account_id"].to_pylist()) == {user.id}
    assert [s.number for s in follow_crawl.snapshots(engine, key)] == [1]
