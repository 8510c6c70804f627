"""The X client against the emulator over HTTP: account refusals, rate limits, 5xx, malformed pages."""

import time

import httpx
import pytest

from tests.conftest import installation_box, register_accounts
from xget_pipelines.core.errors import NoAccountAvailable, XRequestError
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import XClient


def search_vars(count=20):
    return watch.search_variables("python", count)


def set_faults(emu, **faults):
    httpx.post(f"{emu.url}/_emulator/faults", json=faults, timeout=5).raise_for_status()


@pytest.mark.parametrize(
    "fault,reason",
    [
        ("suspended", "suspended (X code 64)"),
        ("locked", "locked (X code 326)"),
        ("bad_auth", "bad auth (X code 32)"),
    ],
)
def test_refused_account_leaves_the_pool_with_its_reason_and_the_page_still_comes(
    emulator_factory, engine, fault, reason
):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["bad", "good"])
    set_faults(emu, accounts={"bad": fault})
    with XClient(emu.graphql_url, pool, lease_deadline_s=5) as client:
        page = client.fetch("SearchTimeline", search_vars())
    assert page.status == 200 and page.account == "good"
    states = {a["username"]: a for a in pool.status()}
    assert states["bad"]["active"] is False and states["bad"]["error"] == reason
    assert states["good"]["active"] is True


def test_when_every_account_is_refused_the_error_says_so(emulator_factory, engine):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["s1", "s2"])
    set_faults(emu, accounts={"s1": "suspended", "s2": "locked"})
    with XClient(emu.graphql_url, pool, lease_deadline_s=5) as client:
        with pytest.raises(
            NoAccountAvailable, match=r"No active X account can serve SearchTimeline.*2 inactive"
        ):
            client.fetch("SearchTimeline", search_vars())


def test_soft_banned_account_rests_for_a_window_and_others_serve(emulator_factory, engine):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["soft"])
    set_faults(emu, accounts={"soft": "soft_ban"})
    with XClient(emu.graphql_url, pool, lease_deadline_s=5) as client:
        with pytest.raises(NoAccountAvailable, match="next one frees up at"):
            client.fetch("SearchTimeline", search_vars())
        assert client.stats["rate_limited"] == 1  # tried once, then rested instead of hammered
        register_accounts(emu, engine, ["fine"])
        pages = [client.fetch("SearchTimeline", search_vars()) for _ in range(3)]
    assert {p.account for p in pages} == {"fine"}
    soft = next(a for a in pool.status() if a["username"] == "soft")
    assert soft["active"] is True  # a soft ban is not a suspension
    (op,) = soft["operations"]
    assert op["remaining"] == 0 and op["reset_at"] > time.time() + 600


def test_rate_limited_pool_waits_for_the_reset_and_keeps_every_page(emulator_factory, engine):
    emu = emulator_factory(window_seconds=1.5, rate_limits={"SearchTimeline": 2})
    pool = register_accounts(emu, engine, ["r1"])
    started = time.time()
    with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
        pages = [client.fetch("SearchTimeline", search_vars()) for _ in range(5)]
    assert all(p.status == 200 for p in pages)
    assert client.stats["rate_limited"] == 0  # the client never asks beyond the window
    assert time.time() - started >= 2  # two resets were waited for, not skipped
    assert [p.rate_remaining for p in pages][:2] == [1, 0]


def test_transient_5xx_is_retried_and_persistent_5xx_fails_clearly(emulator_factory, engine):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["f1"])
    set_faults(emu, rules=[{"kind": "http_5xx", "operation": "SearchTimeline", "count": 2, "status": 503}])
    with XClient(emu.graphql_url, pool, backoff_base_s=0.01) as client:
        assert client.fetch("SearchTimeline", search_vars()).status == 200
        assert client.stats["retries"] == 2
        set_faults(emu, rules=[{"kind": "http_5xx", "operation": "SearchTimeline", "status": 500}])
        with pytest.raises(XRequestError, match=r"SearchTimeline failed after 5 attempts: HTTP 500"):
            client.fetch("SearchTimeline", search_vars())
    assert pool.status()[0]["active"] is True  # X's trouble is not the account's fault


def test_unreachable_x_fails_after_bounded_retries(engine):
    from xget_pipelines.core.pools.account_pool import AccountPool

    pool = AccountPool(engine, secrets=installation_box())
    pool.add_accounts([("n1", {"auth_token": "t", "ct0": "c"})])
    with XClient("http://127.0.0.1:9/i/api/graphql", pool, backoff_base_s=0.01, max_attempts=3) as client:
        with pytest.raises(XRequestError, match="after 3 attempts: ConnectError"):
            client.fetch("SearchTimeline", search_vars())


def test_malformed_page_is_returned_for_storage_then_the_cursor_is_asked_again(emulator_factory, engine):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["m1"])
    set_faults(emu, rules=[{"kind": "malformed", "operation": "SearchTimeline", "count": 1}])
    with XClient(emu.graphql_url, pool) as client:
        pages = list(client.paginate("SearchTimeline", search_vars(), max_pages=3))
    assert pages[0].malformed and not pages[1].malformed
    assert pages[0].cursor_in == pages[1].cursor_in  # the same page was asked again
    assert len(pages[0].body) > 0  # the truncated body is kept for the raw layer


def test_a_wrong_request_fails_at_once_without_burning_retries(emulator_factory, engine, monkeypatch):
    from xget_pipelines.core.x.operations import Operation

    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["w1"])
    real = Operation.params
    monkeypatch.setattr(
        Operation, "params", lambda op, variables: {**real(op, variables), "variables": "[1]"}
    )
    with XClient(emu.graphql_url, pool, backoff_base_s=0.01) as client:
        with pytest.raises(XRequestError, match="after 1 attempts: HTTP 400.*Invalid variables"):
            client.fetch("SearchTimeline", search_vars())
        assert client.stats["retries"] == 0
    assert pool.status()[0]["active"] is True


def test_a_response_slower_than_the_timeout_is_retried(emulator_factory, engine):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["t1"])
    set_faults(emu, rules=[{"kind": "slow", "operation": "SearchTimeline", "count": 1, "delay": 2.0}])
    with XClient(emu.graphql_url, pool, timeout_s=0.5, backoff_base_s=0.01) as client:
        page = client.fetch("SearchTimeline", search_vars())
    assert page.status == 200 and client.stats["retries"] == 1


def test_repeated_soft_bans_quarantine_the_account_for_every_operation(emulator_factory, engine):
    import sqlalchemy as sa

    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, engine, ["sb"])
    set_faults(emu, accounts={"sb": "soft_ban"})
    with XClient(emu.graphql_url, pool, lease_deadline_s=1, soft_ban_threshold=2) as client:
        with pytest.raises(NoAccountAvailable):
            client.fetch("SearchTimeline", search_vars())  # 1st soft ban: rested for a window
        with engine.begin() as conn:  # pretend the window went by
            conn.execute(sa.text("update account_operations set reset_at = 0, remaining = null"))
        with pytest.raises(NoAccountAvailable, match=r"sb \(soft-banned: 2 429s in a row.*quarantined until"):
            client.fetch("SearchTimeline", search_vars())
        assert client.stats["accounts_quarantined"] == 1
        # the quarantine covers every operation, not only the one that was refused
        with pytest.raises(NoAccountAvailable, match="UserTweets"):
            client.fetch("UserTweets", watch.user_tweets_variables("1", 20))
    (acc,) = pool.status()
    assert acc["active"] is True and acc["quarantined_until"] > time.time() + 3000
