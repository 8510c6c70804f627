"""Collecting a partition over real HTTP from the emulator: pages kept, rate limits, resume."""

import datetime as dt

import httpx
import pyarrow.compute as pc
import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.errors import NoAccountAvailable, XRequestError
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.x.clean import clean_partition
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.parse import parse_page
from xget_pipelines.core.x.raw_pages import RAW_TABLE
from xget_pipelines.core.x.scrape import scrape_partition


def served_pages(emulator) -> int:
    stats = httpx.get(f"{emulator.url}/_emulator/stats", timeout=5).json()
    return sum(op.get("pages", 0) for acc in stats["accounts"].values() for op in acc.values())


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request, sqlite_url):
    """The control plane on the embedded default and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return get_engine(sqlite_url)
    return get_engine(request.getfixturevalue("postgres_url"))


def term(world) -> str:
    return world.watchlist_suggestions()["terms"][0]


def test_search_partition_is_collected_whole_and_every_served_page_is_kept(
    emulator_factory, engine, lake, small_world, yesterday
):
    emu = emulator_factory(window_seconds=2, rate_limits={"SearchTimeline": 3})
    pool = register_accounts(emu, engine, ["a1", "a2", "a3"])
    key = term(small_world)
    with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
        result = scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r1", page_size=10)
        assert client.stats["rate_limited"] == 0  # accounts rest before X has to refuse them
    raw = lake.read(RAW_TABLE)
    assert result.pages == raw.num_rows == served_pages(emu) > 6  # more pages than two accounts' windows
    assert set(raw["account"].to_pylist()) == {"a1", "a2", "a3"}  # rotated as windows ran out
    assert pc.all(pc.equal(raw["http_status"], 200)).as_py()
    # the cursor chain is unbroken: each page asked for the cursor the previous one returned
    raw = raw.sort_by("seq")
    assert raw["cursor_in"].to_pylist()[1:] == raw["cursor_out"].to_pylist()[:-1]

    # the same partition asked in one big page holds exactly the tweets the small pages held
    cleaned = clean_partition(lake, engine, key=key, day=yesterday).tables["cleaned/tweets"]
    with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
        from xget_pipelines.core.x import watch
        from xget_pipelines.core.x.parse import parse_page

        q = watch.search_query(watch.parse_watch_key(key), yesterday)
        ids = set()
        for page in client.paginate("SearchTimeline", watch.search_variables(q, 500)):
            t = parse_page(page.body).tweets
            ids |= set(t.filter(pc.equal(t["via"], "timeline"))["tweet_id"].to_pylist())
    timeline = cleaned.filter(pc.equal(cleaned["via"], "timeline"))
    assert set(timeline["tweet_id"].to_pylist()) == ids and len(ids) > 20


def test_interrupted_partition_resumes_without_losing_or_refetching_pages(
    emulator_factory, any_engine, lake, small_world, yesterday
):
    engine = any_engine
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["b1", "b2"])
    key = term(small_world)

    class Crash(Exception):
        pass

    def crash_after(n):
        seen = []

        def on_page(page):
            seen.append(page)
            if len(seen) == n:
                raise Crash()

        return on_page

    with XClient(emu.graphql_url, pool) as client, pytest.raises(Crash):
        scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r1", on_page=crash_after(3))
    assert lake.read(RAW_TABLE).num_rows == 3  # what was fetched before the crash is stored
    with XClient(emu.graphql_url, pool) as client:
        resumed = scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r2")
    assert resumed.resumed and resumed.pages_before == 3
    raw = lake.read(RAW_TABLE).sort_by("seq")
    assert raw["session_id"].unique().to_pylist() == [resumed.session_id]
    cursors = raw["cursor_in"].to_pylist()
    assert len(cursors) == len(set(cursors))  # no page asked twice
    assert raw["cursor_in"].to_pylist()[1:] == raw["cursor_out"].to_pylist()[:-1]
    assert raw.num_rows == served_pages(emu)

    # an uninterrupted run of the same partition gets the same number of pages
    with XClient(emu.graphql_url, pool) as client:
        fresh = scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r3")
    assert not fresh.resumed and fresh.pages == raw.num_rows


def test_account_partition_fetches_profile_and_timeline_back_to_the_day(
    emulator_factory, engine, lake, small_world, yesterday
):
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["c1"])
    handle = small_world.watchlist_suggestions()["users"][0]
    with XClient(emu.graphql_url, pool) as client:
        result = scrape_partition(
            client, lake, engine, key=f"@{handle}", day=yesterday, run_id="r1", page_size=10
        )
    assert result.operations["UserByScreenName"] == 1 and result.operations["UserTweetsAndReplies"] >= 2
    cleaned = clean_partition(lake, engine, key=f"@{handle}", day=yesterday)
    tweets = cleaned.tables["cleaned/tweets"]
    assert handle in cleaned.tables["cleaned/users"]["username"].to_pylist()
    own = tweets.filter(pc.equal(tweets["via"], "timeline"))
    assert pc.min(own["created_at"]).as_py().date() < yesterday  # paged back past the whole day
    # the timeline holds every tweet of the day that a search by author finds
    from_search = _search_ids(emu, pool, f"from:{handle}", yesterday)
    timeline_ids = set(own["tweet_id"].to_pylist())
    assert from_search and from_search <= timeline_ids


def test_older_days_of_an_account_use_search_by_author(
    emulator_factory, engine, lake, small_world, yesterday
):
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["e1"])
    handle = small_world.watchlist_suggestions()["users"][0]
    day = yesterday - dt.timedelta(days=4)
    with XClient(emu.graphql_url, pool) as client:
        result = scrape_partition(client, lake, engine, key=f"@{handle}", day=day, run_id="r1")
    assert set(result.operations) == {"UserByScreenName", "SearchTimeline"}
    tweets = clean_partition(lake, engine, key=f"@{handle}", day=day).tables["cleaned/tweets"]
    own = tweets.filter(pc.equal(tweets["via"], "timeline"))
    assert own.num_rows > 0
    assert {t.date() for t in own["created_at"].to_pylist()} == {day}
    assert set(own["tweet_id"].to_pylist()) == _search_ids(emu, pool, f"from:{handle}", day)


def _search_ids(emu, pool, term, day):
    from xget_pipelines.core.x import watch
    from xget_pipelines.core.x.parse import parse_page

    query = f"{term} since:{day.isoformat()} until:{(day + dt.timedelta(days=1)).isoformat()}"
    ids = set()
    with XClient(emu.graphql_url, pool) as client:
        for page in client.paginate("SearchTimeline", watch.search_variables(query, 100)):
            t = parse_page(page.body).tweets
            ids |= set(t.filter(pc.equal(t["via"], "timeline"))["tweet_id"].to_pylist())
    return ids


def test_a_timeline_whose_end_repeats_its_cursor_stops_and_keeps_no_duplicate(
    emulator_factory, engine, lake, small_world, yesterday
):
    emu = emulator_factory(
        window_seconds=2, faults={"rules": [{"kind": "repeat_cursor", "operation": "SearchTimeline"}]}
    )
    pool = register_accounts(emu, engine, ["g1"])
    key = term(small_world)
    with XClient(emu.graphql_url, pool) as client:
        result = scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r1", page_size=50)
    raw = lake.read(RAW_TABLE).sort_by("seq")
    assert raw.num_rows == result.pages == served_pages(emu)
    assert raw["cursor_in"][-1].as_py() == raw["cursor_out"][-1].as_py()  # X repeated itself: we stopped
    tweets = clean_partition(lake, engine, key=key, day=yesterday).tables["cleaned/tweets"]
    assert tweets.num_rows == len(set(tweets["tweet_id"].to_pylist()))


def test_an_unknown_account_fails_with_a_clear_error(emulator_factory, engine, lake, yesterday):
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["h1"])
    with (
        XClient(emu.graphql_url, pool) as client,
        pytest.raises(LookupError, match="X has no user @nobody_here"),
    ):
        scrape_partition(client, lake, engine, key="@nobody_here", day=yesterday, run_id="r1")
    assert lake.read(RAW_TABLE).num_rows == 1  # the answer X gave is kept all the same


def test_a_resumed_account_partition_reuses_the_stored_profile(
    emulator_factory, engine, lake, small_world, yesterday
):
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["r1"])
    key = "@" + small_world.watchlist_suggestions()["users"][0]

    seen = []

    def crash_after_two(page):  # profile + one timeline page, then the worker dies
        seen.append(page)
        if len(seen) == 2:
            raise RuntimeError("worker died")

    with XClient(emu.graphql_url, pool) as client, pytest.raises(RuntimeError):
        scrape_partition(
            client, lake, engine, key=key, day=yesterday, run_id="r1", page_size=10, on_page=crash_after_two
        )
    with XClient(emu.graphql_url, pool) as client:
        resumed = scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r2", page_size=10)
    assert resumed.resumed and "UserByScreenName" not in resumed.operations  # the profile was not asked again
    raw = lake.read(RAW_TABLE).sort_by("seq")
    assert raw["operation"].to_pylist().count("UserByScreenName") == 1
    cursors = [c for c in raw["cursor_in"].to_pylist() if c is not None]
    assert len(cursors) == len(set(cursors))


# -- how a partition's collection ended (ops/coverage) ---------------------------------------------------


def _crash_when(condition):
    class Crash(Exception):
        pass

    seen = []

    def on_page(page):
        seen.append(page)
        if condition(page, len(seen)):
            raise Crash("worker died")

    return Crash, on_page


def test_a_resumed_partition_reports_the_whole_session(
    emulator_factory, engine, lake, small_world, yesterday
):
    """A session interrupted and resumed counts its pages and items over both runs, and its one row says how
    the partition ended, whatever the first run said."""
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["k1", "k2"])
    key = term(small_world)
    Crash, crash = _crash_when(lambda page, n: n == 3)
    with XClient(emu.graphql_url, pool) as client, pytest.raises(Crash):
        scrape_partition(
            client, lake, engine, key=key, day=yesterday, run_id="r1", page_size=10, on_page=crash
        )
    (first,) = coverage.read(lake)
    assert (first.outcome, first.pages, first.items, first.run_id) == ("failed", 3, 30, "r1")
    assert first.reason == "Crash: worker died"
    with XClient(emu.graphql_url, pool) as client:
        resumed = scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r2", page_size=10)
    (row,) = coverage.read(lake)  # updated, not added
    assert row == resumed.outcome and row.outcome == "complete" and row.resumed and row.run_id == "r2"
    assert row.pages == lake.read(RAW_TABLE).num_rows == 3 + resumed.pages
    tweets = clean_partition(lake, engine, key=key, day=yesterday).tables["cleaned/tweets"]
    assert row.items == pc.sum(pc.equal(tweets["via"], "timeline")).as_py() > 30  # every page, both runs


def test_a_resumed_timeline_that_had_stopped_is_judged_from_the_lake_without_a_request(
    emulator_factory, engine, lake, small_world, yesterday
):
    """Interrupted after its last page (the budget spent, or X's end reached), a partition resumes with no
    request at all and the outcome it had reached: truncated or complete."""
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["m1"])
    key = term(small_world)
    Crash, crash = _crash_when(lambda page, n: n == 2)
    with XClient(emu.graphql_url, pool) as client, pytest.raises(Crash):
        scrape_partition(
            client,
            lake,
            engine,
            key=key,
            day=yesterday,
            run_id="r1",
            page_size=10,
            max_pages=2,
            on_page=crash,
        )
    served = served_pages(emu)
    with XClient(emu.graphql_url, pool) as client:
        resumed = scrape_partition(
            client, lake, engine, key=key, day=yesterday, run_id="r2", page_size=10, max_pages=2
        )
    assert resumed.pages == 0 and served_pages(emu) == served
    assert (resumed.outcome.outcome, resumed.outcome.pages, resumed.outcome.items) == ("truncated", 2, 20)

    handle = "@" + small_world.watchlist_suggestions()["users"][0]
    start = dt.datetime.combine(yesterday, dt.time(), dt.UTC)

    def past_the_day(page, n):  # the timeline page that reaches back before the day: the last one
        tweets = parse_page(page.body, page.operation).tweets
        return page.operation == "UserTweetsAndReplies" and pc.max(tweets["created_at"]).as_py() < start

    Crash, crash = _crash_when(past_the_day)
    with XClient(emu.graphql_url, pool) as client, pytest.raises(Crash):
        scrape_partition(
            client, lake, engine, key=handle, day=yesterday, run_id="r3", page_size=10, on_page=crash
        )
    served = served_pages(emu)
    with XClient(emu.graphql_url, pool) as client:
        resumed = scrape_partition(client, lake, engine, key=handle, day=yesterday, run_id="r4", page_size=10)
    assert resumed.pages == 0 and served_pages(emu) == served
    assert resumed.outcome.outcome == "complete" and "past the day" in resumed.outcome.reason
    own = _search_ids(emu, pool, f"from:{handle[1:]}", yesterday)
    assert resumed.outcome.items >= len(own) > 0  # its tweets of the day (search has no retweets)


def test_collections_that_stop_on_errors_are_failed(emulator_factory, engine, lake, small_world, yesterday):
    key = term(small_world)
    # every account refused by X: none left to lease
    emu = emulator_factory(window_seconds=2, faults={"accounts": {"s1": "suspended"}})
    pool = register_accounts(emu, engine, ["s1"])
    with XClient(emu.graphql_url, pool, lease_deadline_s=2) as client, pytest.raises(NoAccountAvailable):
        scrape_partition(client, lake, engine, key=key, day=yesterday, run_id="r1")
    (row,) = coverage.read(lake)
    assert (row.outcome, row.pages, row.items) == ("failed", 0, 0)
    assert row.reason.startswith("NoAccountAvailable: No active X account can serve SearchTimeline")

    # X failing the operation past the retries
    emu = emulator_factory(
        window_seconds=2,
        faults={"rules": [{"kind": "http_5xx", "operation": "SearchTimeline", "status": 503}]},
    )
    pool = register_accounts(emu, engine, ["s2"])
    with (
        XClient(emu.graphql_url, pool, max_attempts=2, backoff_base_s=0.01) as client,
        pytest.raises(XRequestError),
    ):
        scrape_partition(client, lake, engine, key=key, day=yesterday - dt.timedelta(days=1), run_id="r2")

    # X serving unreadable pages at one cursor: the collection gives up without an exception
    emu = emulator_factory(
        window_seconds=2, faults={"rules": [{"kind": "malformed", "operation": "SearchTimeline"}]}
    )
    pool = register_accounts(emu, engine, ["s3"])
    day = yesterday - dt.timedelta(days=2)
    with XClient(emu.graphql_url, pool) as client:
        result = scrape_partition(client, lake, engine, key=key, day=day, run_id="r3")
    assert result.outcome.outcome == "failed" and result.outcome.pages == 3 == result.malformed
    rows = {r.day: r for r in coverage.read(lake)}
    assert [rows[d].outcome for d in sorted(rows)] == ["failed"] * 3
    assert "HTTP 503" in rows[yesterday - dt.timedelta(days=1)].reason
    assert rows[day].reason == "X kept serving unreadable pages at one cursor"
