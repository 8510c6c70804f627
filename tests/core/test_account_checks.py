"""`xget accounts check` logic against the emulator: working sessions pass, refused ones leave the pool."""

import httpx

from tests.conftest import installation_box, register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.checks import check_account


def test_check_marks_refused_accounts_and_keeps_good_ones(emulator_factory, sqlite_url):
    emu = emulator_factory(window_seconds=5)
    pool = register_accounts(emu, get_engine(sqlite_url), ["ok1", "susp", "lock"])
    httpx.post(
        f"{emu.url}/_emulator/faults", json={"accounts": {"susp": "suspended", "lock": "locked"}}
    ).raise_for_status()
    results = {name: check_account(pool, emu.graphql_url, name) for name in ("ok1", "susp", "lock", "ghost")}
    assert results["ok1"].ok and "session works" in results["ok1"].detail
    assert not results["susp"].ok and results["susp"].detail == "suspended (X code 64)"
    assert not results["lock"].ok and results["lock"].detail == "locked (X code 326)"
    assert results["ghost"].detail == "no such account in the pool"
    states = {a["username"]: a["active"] for a in pool.status()}
    assert states == {"ok1": True, "susp": False, "lock": False}
    # a second check of an inactive account says why without asking X again
    served = httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]["requests"]
    assert check_account(pool, emu.graphql_url, "susp").detail == "inactive: suspended (X code 64)"
    assert httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]["requests"] == served


def test_disable_and_enable(sqlite_url):
    from xget_pipelines.core.pools.account_pool import AccountPool

    pool = AccountPool(get_engine(sqlite_url), secrets=installation_box())
    pool.add_accounts([("a", {"auth_token": "t", "ct0": "c"})])
    pool.quarantine(pool.lease("SearchTimeline", 1), "soft-banned")
    assert pool.set_active("a", False, "sold")
    assert pool.status()[0]["error"] == "sold" and not pool.status()[0]["active"]
    assert pool.set_active("a", True)
    (acc,) = pool.status()
    assert acc["active"] and acc["error"] is None and acc["quarantined_until"] is None
    assert not pool.set_active("nobody", False)
