"""Two upkeep ticks at once (a second daemon, or a tick that overran the sensor's time limit while the next
one started) never check or log in the same account twice: each tick claims an account by compare-and-set on
its ``next_check_at`` before it touches it. On SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.conftest import installation_box
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.models import Account
from xget_pipelines.core.pools.account_cadence import AccountCadence
from xget_pipelines.core.pools.account_login import LoginSetup
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.account_upkeep import CLAIM_S, claim, due_accounts, upkeep_tick
from xget_pipelines.core.pools.checks import AccountCheck

NOW = datetime(2030, 1, 7, 3, 0, tzinfo=UTC)
CADENCE = AccountCadence(
    check_interval_s=3600,
    recheck_refused_s=21600,
    login_backoff_s=900,
    login_backoff_max_s=21600,
    logins_per_day=3,
)


@pytest.fixture(params=["sqlite", "postgres"])
def pool(request, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    pool = AccountPool(get_engine(url), secrets=installation_box())
    pool.add_accounts([(f"claim{i}", {"auth_token": f"t{i}", "ct0": f"c{i}"}) for i in range(3)])
    return pool


def test_an_account_read_as_due_is_claimed_once(pool):
    rows, due = due_accounts(pool, NOW, 10)
    assert due == 3
    first = rows[0]
    assert claim(pool, first, NOW + timedelta(seconds=CLAIM_S))
    assert not claim(pool, first, NOW + timedelta(seconds=CLAIM_S))  # the same read, a second tick: refused
    again, due_after = due_accounts(pool, NOW, 10)
    assert due_after == 2 and first.username not in {r.username for r in again}
    # once the claim has passed (the tick died), the account is due again and can be claimed anew
    (back,) = [r for r in due_accounts(pool, NOW + timedelta(seconds=CLAIM_S), 10)[0] if r.id == first.id]
    assert claim(pool, back, NOW + timedelta(seconds=2 * CLAIM_S))


def test_a_tick_that_read_its_accounts_before_another_ran_checks_none_of_them(pool, monkeypatch):
    """Tick A reads the three due accounts, tick B runs in full, then A goes on with what it read: A
    touches none of them, so each account was checked once."""
    import xget_pipelines.core.pools.account_upkeep as upkeep

    with pool.engine.begin() as conn:  # checked before: next_check_at set and due, as on a running pool
        conn.execute(update(Account).values(next_check_at=NOW - timedelta(minutes=5)))
    checked: list[str] = []

    def check(_pool, username):
        checked.append(username)
        return AccountCheck(username, ok=True, detail="served")

    def tick():
        setup = LoginSetup("http://unused.invalid")
        return upkeep_tick(pool, "http://unused.invalid", setup, NOW, CADENCE, check=check)

    read_by_a = due_accounts(pool, NOW, 8)
    b = tick()
    monkeypatch.setattr(upkeep, "due_accounts", lambda *args: read_by_a)
    a = tick()
    assert sorted(checked) == ["claim0", "claim1", "claim2"]  # each once
    assert (b.checked, len(b.taken)) == (3, 0) and (a.checked, sorted(a.taken)) == (0, sorted(checked))
    assert "held by another tick 3" in a.summary()
