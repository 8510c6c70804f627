"""The account lease: LRU order, exclusivity, rate-limit windows, bounded waits; SQLite and PostgreSQL."""

import threading
import time

import pytest

from tests.conftest import installation_box
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.errors import NoAccountAvailable
from xget_pipelines.core.pools.account_pool import AccountPool

COOKIES = {"auth_token": "t", "ct0": "c"}


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, sqlite_url):
    if request.param == "sqlite":
        return get_engine(sqlite_url)
    return get_engine(request.getfixturevalue("postgres_url"))


def make_pool(engine, n=3):
    pool = AccountPool(engine, secrets=installation_box())
    pool.add_accounts([(f"acc{i}", COOKIES) for i in range(n)])
    return pool


def test_leases_are_exclusive_and_least_recently_used_first(engine):
    pool = make_pool(engine, 3)
    a = pool.lease("SearchTimeline", 1)
    b = pool.lease("SearchTimeline", 1)
    c = pool.lease("SearchTimeline", 1)
    assert len({a.username, b.username, c.username}) == 3
    # the same accounts are free for another operation
    assert pool.try_lease("UserTweets") is not None
    assert pool.try_lease("SearchTimeline") is None
    pool.release(b)
    assert pool.lease("SearchTimeline", 1).username == b.username


def test_exhausted_account_rests_until_its_reset_and_comes_back_on_time(engine):
    pool = make_pool(engine, 1)
    lease = pool.lease("SearchTimeline", 1)
    reset = time.time() + 0.6
    lease.record(
        {"x-rate-limit-limit": "50", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    )
    assert lease.exhausted
    pool.release(lease)
    assert pool.try_lease("SearchTimeline") is None
    assert pool.next_free_at("SearchTimeline") == pytest.approx(reset)
    started = time.time()
    again = pool.lease("SearchTimeline", 5)
    waited = time.time() - started
    assert again.username == "acc0" and waited >= reset - started - 0.01
    assert again.remaining is None  # a new window


def test_deadline_error_names_operation_and_next_free_time(engine):
    pool = make_pool(engine, 1)
    lease = pool.lease("Followers", 1)
    lease.record({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(time.time() + 600)})
    pool.release(lease)
    started = time.time()
    with pytest.raises(NoAccountAvailable, match="Followers.*next one frees up at") as info:
        pool.lease("Followers", 2)
    assert time.time() - started < 1  # it knew at once that waiting cannot help
    assert info.value.next_free_at > time.time() + 500


def test_inactive_accounts_are_never_leased_and_reason_is_reported(engine):
    pool = make_pool(engine, 1)
    lease = pool.lease("UserTweets", 1)
    pool.mark_inactive(lease.account_id, "suspended (X code 64)")
    pool.release(lease)
    with pytest.raises(NoAccountAvailable, match=r"No active X account.*acc0 \(suspended \(X code 64\)\)"):
        pool.lease("UserTweets", 1)
    assert pool.status()[0]["active"] is False


def test_concurrent_workers_never_share_an_account(engine):
    pool_size, workers, rounds = 4, 8, 15
    make_pool(engine, pool_size)
    holders: dict[str, int] = {}
    clash = []
    lock = threading.Lock()

    errors = []

    def work():
        try:
            lease_rounds()
        except Exception as exc:  # surfaced below: a thread's exception must fail the test
            errors.append(exc)

    def lease_rounds():
        pool = AccountPool(
            engine, secrets=installation_box()
        )  # a pool object per worker, like separate run processes
        for _ in range(rounds):
            lease = pool.lease("SearchTimeline", 10)
            with lock:
                if holders.get(lease.username):
                    clash.append(lease.username)
                holders[lease.username] = 1
            time.sleep(0.002)
            with lock:
                holders[lease.username] = 0
            pool.release(lease)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and clash == []
    total = sum(
        op["requests"]
        for acc in AccountPool(engine, secrets=installation_box()).status()
        for op in acc["operations"]
    )
    assert total == 0  # no requests were recorded, only leases
    used = [acc for acc in AccountPool(engine, secrets=installation_box()).status() if acc["operations"]]
    assert len(used) == pool_size


def test_window_length_is_learned_from_headers_and_never_reopens_early():
    from xget_pipelines.core.pools.account_lease import AccountLease

    lease = AccountLease(1, "a", {}, None, None, "SearchTimeline", row_id=1)
    # first request of a window sent at 995.3; X says the window resets at the whole second 1000
    lease.record(
        {"x-rate-limit-limit": "10", "x-rate-limit-remaining": "9", "x-rate-limit-reset": "1000"},
        sent_at=995.3,
        received_at=995.35,
    )
    assert lease.window_s == pytest.approx(4.7)
    assert lease.reopens_at == 1000  # the window may really be 4.7 s long: not before the header
    lease.record(
        {"x-rate-limit-limit": "10", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "1000"},
        sent_at=996,
        received_at=996.01,
    )
    assert lease.window_s == pytest.approx(4.7)  # only a window's first request bounds its length
    # next window starts at 1000.01: header says 1005, the learned bound says 1000.06 + 4.7
    lease.record(
        {"x-rate-limit-limit": "10", "x-rate-limit-remaining": "9", "x-rate-limit-reset": "1005"},
        sent_at=1000.01,
        received_at=1000.06,
    )
    assert lease.reopens_at == pytest.approx(1004.76)


def test_learned_window_survives_release_and_release_stores_the_reopening(engine):
    pool = make_pool(engine, 1)
    lease = pool.lease("SearchTimeline", 1)
    now = time.time()
    lease.record(
        {"x-rate-limit-limit": "2", "x-rate-limit-remaining": "1", "x-rate-limit-reset": str(int(now) + 3)},
        sent_at=now,
        received_at=now,
    )
    lease.record(
        {"x-rate-limit-limit": "2", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(now) + 3)}
    )
    expected = lease.reopens_at
    pool.release(lease)
    assert pool.next_free_at("SearchTimeline") == pytest.approx(expected)
    again = pool.lease("SearchTimeline", 5)
    assert again.window_s == pytest.approx(int(now) + 3 - now)


@pytest.mark.parametrize("strategy", ["lru", "round_robin"])
def test_rotation_strategies_cycle_through_every_account(engine, strategy):
    pool = AccountPool(engine, secrets=installation_box(), strategy=strategy)
    pool.add_accounts([(f"acc{i}", COOKIES) for i in range(4)])
    order = []
    for _ in range(8):
        lease = pool.lease("SearchTimeline", 1)
        order.append(lease.username)
        pool.release(lease)
    assert order == ["acc0", "acc1", "acc2", "acc3"] * 2


def test_unknown_strategy_is_refused(engine):
    with pytest.raises(ValueError, match="use one of lru, round_robin, health"):
        AccountPool(engine, secrets=installation_box(), strategy="random")


def test_a_window_whose_first_response_was_missed_is_not_reopened_early():
    from xget_pipelines.core.pools.account_lease import AccountLease

    lease = AccountLease(1, "a", {}, None, None, "SearchTimeline", row_id=1)
    lease.record(
        {"x-rate-limit-limit": "3", "x-rate-limit-remaining": "2", "x-rate-limit-reset": "101"},
        sent_at=100.0,
        received_at=100.01,
    )
    assert lease.window_s == pytest.approx(1.0)
    # the next window's first response was lost (a timeout): we only see its 2nd and 3rd requests
    lease.record(
        {"x-rate-limit-limit": "3", "x-rate-limit-remaining": "1", "x-rate-limit-reset": "102"},
        sent_at=100.7,
        received_at=100.71,
    )
    lease.record(
        {"x-rate-limit-limit": "3", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "102"},
        sent_at=100.8,
        received_at=100.81,
    )
    assert lease.exhausted and lease.reopens_at == 102  # not the stale 100.01 + 1.0


def test_reads_do_not_wait_for_a_writer_on_sqlite(sqlite_url):
    import threading

    from xget_pipelines.core.db.engine import read_only

    engine = get_engine(sqlite_url)
    pool = make_pool(engine, 2)
    holding = threading.Event()
    release = threading.Event()

    def writer():
        with engine.begin() as conn:  # holds the write lock
            conn.exec_driver_sql("update accounts set updated_at = updated_at")
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(5)
        with read_only(engine) as conn:  # would block on BEGIN IMMEDIATE until the writer ends
            assert conn.exec_driver_sql("select count(*) from accounts").scalar() == 2
        assert len(pool.status()) == 2
        assert thread.is_alive()  # the reads finished while the writer still held its lock
    finally:
        release.set()
        thread.join()


def test_quarantine_doubles_in_a_row_and_a_served_recheck_ends_it(engine):
    pool = make_pool(engine, 1)
    first = pool.quarantine(pool.lease("SearchTimeline", 1), "soft-banned", base_s=1.0)
    assert pool.try_lease("UserTweets") is None  # every operation rests
    assert pool.next_free_at("UserTweets") == pytest.approx(first)
    second = pool.quarantine(pool.lease("SearchTimeline", 5), "soft-banned again", base_s=1.0)
    assert second - time.time() == pytest.approx(2.0, abs=0.5) and second > first  # doubled
    recheck = pool.lease("SearchTimeline", 5)  # waits the quarantine out
    assert time.time() >= second
    recheck.successes = 1
    pool.release(recheck)
    third = pool.quarantine(pool.lease("SearchTimeline", 1), "soft-banned later", base_s=1.0)
    assert third - time.time() == pytest.approx(1.0, abs=0.5)  # the served recheck reset the series


def test_health_strategy_prefers_accounts_that_fail_less(engine):
    pool = AccountPool(engine, secrets=installation_box(), strategy="health")
    pool.add_accounts([(f"acc{i}", COOKIES) for i in range(3)])
    leases = [pool.lease("SearchTimeline", 1) for _ in range(3)]
    for lease, errors in zip(leases, (5, 0, 1), strict=False):
        lease.requests, lease.errors = 10, errors
        pool.release(lease)
    order = []
    for _ in range(3):
        order.append(pool.lease("SearchTimeline", 1).username)
    assert order == ["acc1", "acc2", "acc0"]


def test_a_lease_survives_the_database_dropping_its_connections(postgres_url):
    """PostgreSQL restarted or an idle timeout: the lease's pooled connections are dead, and the next lease
    and release still work (the statement is run again on a fresh connection)."""
    import sqlalchemy as sa

    from tests.conftest import POSTGRES_ADMIN_URL

    engine = get_engine(postgres_url)
    pool = make_pool(engine, 2)
    pool.release(pool.lease("SearchTimeline", 1))
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": engine.url.database},
        ).scalar()
    admin.dispose()
    assert ended >= 1
    lease = pool.lease("SearchTimeline", 1)
    pool.release(lease)
    assert {a["username"] for a in pool.status() if a["operations"]} == {"acc0", "acc1"}
