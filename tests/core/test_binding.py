"""Sticky account-to-proxy binding with real proxy servers (proxy.py) between XGet and the emulator."""

import time

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import installation_box, register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.errors import NoAccountAvailable, XRequestError
from xget_pipelines.core.pools.proxies import ACTIVE, INACTIVE, ProxyPool, parse_proxy_lines
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import XClient
from xget_pipelines.emulator.proxy_servers import start_http_proxy, start_socks5_proxy


@pytest.fixture
def proxies(tmp_path):
    servers = [start_http_proxy(tmp_path / f"p{i}") for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def control_url(request, sqlite_url):
    """Both control planes: on PostgreSQL a lease takes its row in one statement and rebinds afterwards."""
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def setup_pool(emu, engine, proxies, names):
    pool = register_accounts(emu, engine, names)
    records, errors = parse_proxy_lines("\n".join(s.url() for s in proxies))
    assert not errors
    proxy_pool = ProxyPool(engine, installation_box())
    ids = proxy_pool.import_proxies(records).ids
    results = proxy_pool.check(ids, target_url=f"{emu.url}/_emulator/whoami", attempts=1)
    assert all(r.status == ACTIVE for r in results)
    return pool, proxy_pool, ids


def test_proxies_with_credentials_carry_the_traffic(emulator_factory, sqlite_url, tmp_path):
    """The bound proxy's password (encrypted at rest) reaches the proxy: HTTP basic auth and SOCKS5."""
    servers = [
        start_http_proxy(tmp_path / "http", "puser", "http-pw"),
        start_socks5_proxy(tmp_path / "socks", "suser", "socks-pw"),
    ]
    try:
        emu = emulator_factory(window_seconds=5)
        engine = get_engine(sqlite_url)
        pool, _, ids = setup_pool(emu, engine, servers, ["c1", "c2"])
        for name in ("c1", "c2"):
            with XClient(emu.graphql_url, pool, account=name) as client:
                for _ in range(2):
                    assert client.fetch("SearchTimeline", watch.search_variables("python", 20)).status == 200
        assert sorted(bindings(engine).values()) == sorted(ids)
        port = int(emu.url.rsplit(":", 1)[1])
        assert all(s.connections_to(port) >= 1 for s in servers), [s.log_text()[-500:] for s in servers]
        assert "ProxyAuthenticationFailed" not in servers[0].log_text()
        assert "Unauthorized" not in servers[1].log_text()
    finally:
        for server in servers:
            server.stop()


def test_wrong_proxy_credentials_take_the_proxy_out_not_the_account(emulator_factory, sqlite_url, tmp_path):
    server = start_http_proxy(tmp_path / "http", "puser", "right-pw")
    try:
        emu = emulator_factory(window_seconds=5)
        engine = get_engine(sqlite_url)
        pool = register_accounts(emu, engine, ["w1"])
        proxy_pool = ProxyPool(engine, installation_box())
        records, _ = parse_proxy_lines(server.url(password="wrong-pw"))
        proxy_pool.import_proxies(records)
        with engine.begin() as conn:  # as if a check had passed before the provider changed the password
            conn.execute(sa.text("update proxies set status = 'ACTIVE'"))
        with XClient(emu.graphql_url, pool, lease_deadline_s=2, backoff_base_s=0.01) as client:
            with pytest.raises((XRequestError, NoAccountAvailable)) as err:
                client.fetch("SearchTimeline", watch.search_variables("python", 20))
        assert "X may be degraded" not in str(err.value)
        (proxy,) = proxy_pool.list()
        assert proxy.status == INACTIVE and "407" in (proxy.last_error or "")
        state = next(a for a in pool.status() if a["username"] == "w1")
        assert state["active"] is True  # the account did nothing wrong
    finally:
        server.stop()


def bindings(engine):
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("select username, proxy_id from accounts")).all())


def test_accounts_are_spread_over_proxies_stick_to_them_and_traffic_goes_through(
    emulator_factory, control_url, proxies
):
    emu = emulator_factory(window_seconds=5)
    engine = get_engine(control_url)
    pool, _, ids = setup_pool(emu, engine, proxies, ["b1", "b2"])
    with XClient(emu.graphql_url, pool) as client:
        for _ in range(2):
            for op, variables in (
                ("SearchTimeline", watch.search_variables("python", 20)),
                ("UserByScreenName", watch.user_by_screen_name_variables("xget_showcase")),
            ):
                assert client.fetch(op, variables).status == 200
            client.close()
    bound = bindings(engine)
    assert sorted(bound.values()) == sorted(ids)  # one account per proxy (fewest accounts first)
    port = int(emu.url.rsplit(":", 1)[1])
    assert sum(s.connections_to(port) for s in proxies) >= 4  # every request went through a proxy
    again = bindings(engine)
    assert again == bound  # sticky


def test_a_dead_proxy_is_taken_out_and_its_account_rebound_after_its_window(
    emulator_factory, control_url, proxies
):
    emu = emulator_factory(window_seconds=2, rate_limits={"SearchTimeline": 50})
    engine = get_engine(control_url)
    pool, proxy_pool, ids = setup_pool(emu, engine, proxies, ["solo"])
    with XClient(emu.graphql_url, pool, backoff_base_s=0.01, lease_deadline_s=5) as client:
        assert client.fetch("SearchTimeline", watch.search_variables("python", 20)).status == 200
        first = bindings(engine)["solo"]
        dead = next(s for s, i in zip(proxies, ids, strict=False) if i == first)
        dead.stop()
        started = time.time()
        page = client.fetch("SearchTimeline", watch.search_variables("python", 20))
        assert page.status == 200 and client.stats["proxy_failures"] == 3
        assert client.stats["retries"] == 2  # no backoff once the proxy is out: the account rebinds instead
    assert proxy_pool.get(first).status == INACTIVE
    second = bindings(engine)["solo"]
    assert second != first and second in ids
    # its window with the dead proxy had to end first: never two proxies in one window
    assert time.time() - started >= 1


def test_scattered_failures_through_a_working_proxy_never_add_up_to_taking_it_out(
    emulator_factory, sqlite_url, proxies
):
    emu = emulator_factory(window_seconds=5)
    engine = get_engine(sqlite_url)
    pool, proxy_pool, ids = setup_pool(emu, engine, proxies[:1], ["s1"])
    with XClient(emu.graphql_url, pool, timeout_s=0.5, backoff_base_s=0.01) as client:
        for _ in range(4):  # each time one request times out through the proxy, the retry gets through
            httpx.post(
                f"{emu.url}/_emulator/faults",
                timeout=10,
                json={"rules": [{"kind": "slow", "delay": 1.5, "count": 1}]},
            ).raise_for_status()
            assert client.fetch("SearchTimeline", watch.search_variables("python", 20)).status == 200
        assert client.stats["proxy_failures"] == 4
    (proxy,) = proxy_pool.list()
    assert proxy.status == ACTIVE and proxy.consecutive_failures == 0


def test_with_every_proxy_dead_accounts_rest_instead_of_going_direct(emulator_factory, control_url, proxies):
    emu = emulator_factory(window_seconds=2)
    engine = get_engine(control_url)
    pool, proxy_pool, ids = setup_pool(emu, engine, proxies, ["x1"])
    for server in proxies:
        server.stop()
    proxy_pool.check(ids, target_url=f"{emu.url}/_emulator/whoami", attempts=3, timeout_s=1)
    with XClient(emu.graphql_url, pool, lease_deadline_s=1) as client:
        with pytest.raises(NoAccountAvailable, match="no ACTIVE proxy to bind to"):
            client.fetch("SearchTimeline", watch.search_variables("python", 20))
    stats = __import__("httpx").get(f"{emu.url}/_emulator/stats").json()
    assert stats["totals"]["requests"] == 0  # nothing went out from the server's own address
