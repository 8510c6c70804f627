"""Proxy upkeep with REAL proxy servers (proxy.py, pproxy) and the emulator over HTTP: the check target is a
setting or named per check, a dead target marks nothing and says so, each check stores the exit address
and its country (looked up offline), failing proxies are re-checked with backoff and come back, binding
honours an account's wanted country, and the API's check takes a target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import installation_box, register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.geo import country_of
from xget_pipelines.core.pools.proxies import (
    ACTIVE,
    INACTIVE,
    Cadence,
    ProxyPool,
    TargetUnreachable,
    parse_proxy_lines,
)
from xget_pipelines.core.pools.proxy_upkeep import upkeep_tick
from xget_pipelines.emulator.proxy_servers import free_port, start_http_proxy, start_socks5_proxy

# A public address the emulator reports for the proxy exiting from 127.0.0.2 (test only: proxies on this
# machine exit from loopback addresses, which have no country). 81.2.69.160 is in a block registered to
# the UK (also MaxMind's own documented test address for GB).
EXIT_LOOPBACK, EXIT_PUBLIC, EXIT_COUNTRY = "127.0.0.2", "81.2.69.160", "GB"
T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def emulator(small_world):
    from xget_pipelines.emulator.runner import EmulatorServer
    from xget_pipelines.emulator.settings import EmulatorSettings

    server = EmulatorServer(small_world, EmulatorSettings(whoami_addresses={EXIT_LOOPBACK: EXIT_PUBLIC}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def whoami(emulator):
    return f"{emulator.url}/_emulator/whoami"


@pytest.fixture
def gb_proxy(tmp_path):
    """A SOCKS5 proxy whose connections leave from 127.0.0.2 (the emulator reports a UK address)."""
    server = start_socks5_proxy(tmp_path / "gb", "gb", "gb-pw", exit_address=EXIT_LOOPBACK)
    yield server
    server.stop()


@pytest.fixture
def pool(sqlite_url):
    return ProxyPool(get_engine(sqlite_url), installation_box())


def _import(pool, text):
    parsed = parse_proxy_lines(text)
    assert not parsed.errors
    return pool.import_proxies(parsed.records).ids


def test_the_offline_country_lookup_places_public_addresses_and_not_private_ones():
    assert country_of(EXIT_PUBLIC) == EXIT_COUNTRY
    assert country_of("8.8.8.8") == "US"
    assert country_of("::ffff:81.2.69.160") == EXIT_COUNTRY  # an IPv4 address as IPv6 servers log it
    for nowhere in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "fe80::1", "not an address", "", None):
        assert country_of(nowhere) is None


def test_a_check_records_the_exit_address_and_its_country(pool, whoami, gb_proxy, tmp_path):
    local = start_http_proxy(tmp_path / "local")
    try:
        gb, de = _import(pool, f"{gb_proxy.url()}\n{local.url()} country=DE\n")
        results = {r.proxy_id: r for r in pool.check(target_url=whoami, attempts=1, now=T0)}
        assert results[gb].exit_ip == EXIT_PUBLIC and results[gb].exit_country == EXIT_COUNTRY
        assert results[de].exit_ip == "127.0.0.1" and results[de].exit_country is None  # loopback: nowhere
        stored = {p.id: p for p in pool.list()}
        assert (stored[gb].exit_ip, stored[gb].exit_country, stored[gb].effective_country) == (
            EXIT_PUBLIC,
            EXIT_COUNTRY,
            EXIT_COUNTRY,
        )
        assert stored[de].effective_country == "DE"  # no country for its exit: the typed label counts
        assert stored[gb].last_check_at is not None and stored[gb].latency_ms is not None
        assert stored[gb].next_check_at == T0 + timedelta(seconds=Cadence().interval_s)
    finally:
        local.stop()


def test_a_dead_target_marks_no_proxy_and_says_it_is_the_target(pool, whoami, gb_proxy):
    (pid,) = _import(pool, gb_proxy.url())
    assert pool.check(target_url=whoami, attempts=1)[0].status == ACTIVE
    dead = f"http://127.0.0.1:{free_port()}/robots.txt"
    with pytest.raises(TargetUnreachable) as err:
        pool.check(target_url=dead, attempts=2, timeout_s=2)
    assert (
        dead in str(err.value)
        and "directly from here" in str(err.value)
        and "no proxy was marked" in str(err.value)
    )
    after = pool.get(pid)
    assert after.status == ACTIVE and after.failures == 0 and after.last_error is None


def test_a_dead_proxy_with_a_live_target_is_the_proxys_fault(pool, whoami):
    (pid,) = _import(pool, f"127.0.0.1:{free_port()}")
    (result,) = pool.check(target_url=whoami, attempts=1)
    assert result.status == INACTIVE and result.error
    assert pool.get(pid).failed_checks == 1


def test_upkeep_revives_a_proxy_that_comes_back_within_two_check_periods(pool, whoami, tmp_path):
    """Ticks every minute on a test clock: a proxy killed goes INACTIVE at its next check, is re-checked
    with growing waits while it is down (fewer checks than ticks), and is ACTIVE again within two check
    periods of coming back, however long it was away."""
    cadence = Cadence(interval_s=900, recheck_base_s=60)
    server = start_http_proxy(tmp_path / "flaky")
    try:
        (pid,) = _import(pool, server.url())

        def tick(at):
            return upkeep_tick(pool, whoami, at, cadence, attempts=3, timeout_s=3)

        first = tick(T0)
        assert first.checked == 1 and pool.get(pid).status == ACTIVE
        assert tick(T0 + timedelta(minutes=1)).checked == 0  # not due before its interval
        server.stop()
        now, out_at, checks_while_down = T0, None, 0
        for minute in range(1, 4 * 60):  # four hours down, a tick a minute
            now = T0 + timedelta(minutes=minute)
            t = tick(now)
            checks_while_down += t.checked
            if t.newly_inactive:
                out_at = now
        assert out_at is not None and out_at <= T0 + timedelta(seconds=cadence.interval_s + 60)
        assert pool.get(pid).status == INACTIVE and pool.get(pid).failed_checks >= 5
        assert checks_while_down < 4 * 60 // 10  # backoff: not a check every tick
        server = start_http_proxy(tmp_path / "flaky", port=server.port)  # back on the same address
        back_at, revived_at = now, None
        for minute in range(1, 60):
            now = back_at + timedelta(minutes=minute)
            if tick(now).revived:
                revived_at = now
                break
        assert revived_at is not None and revived_at - back_at <= timedelta(seconds=2 * cadence.interval_s)
        assert pool.get(pid).status == ACTIVE and pool.get(pid).failed_checks == 0
    finally:
        server.stop()


def test_upkeep_bounds_the_work_of_a_tick_and_skips_when_the_target_is_down(pool, whoami):
    ids = _import(pool, "".join(f"127.0.0.1:{free_port()}\n" for _ in range(5)))
    tick = upkeep_tick(pool, whoami, T0, Cadence(), max_per_tick=2, attempts=1, timeout_s=2)
    assert tick.checked == 2 and tick.backlog == 3 and len(tick.newly_inactive) == 2
    down = upkeep_tick(pool, f"http://127.0.0.1:{free_port()}/", T0, Cadence(), max_per_tick=2, attempts=1)
    assert down.checked == 0 and "unreachable" in (down.target_error or "")
    assert sum(pool.get(i).status == INACTIVE for i in ids) == 2  # the dead target marked nothing more


def test_an_account_binds_only_to_proxies_of_its_wanted_country(emulator, sqlite_url, gb_proxy, tmp_path):
    engine = get_engine(sqlite_url)
    local = start_http_proxy(tmp_path / "de")
    try:
        accounts = register_accounts(emulator, engine, ["uk_fan", "de_fan", "us_fan"])
        proxies = ProxyPool(engine, installation_box())
        gb, de = _import(proxies, f"{gb_proxy.url()}\n{local.url()} country=DE\n")
        proxies.check(target_url=f"{emulator.url}/_emulator/whoami", attempts=1)
        for name, country in (("uk_fan", "gb"), ("de_fan", "DE"), ("us_fan", "US")):
            assert accounts.set_wanted_country(name, country)
        leases = {name: accounts.try_lease("SearchTimeline", name) for name in ("uk_fan", "de_fan", "us_fan")}
        assert leases["uk_fan"].proxy_id == gb and leases["de_fan"].proxy_id == de
        assert leases["us_fan"] is None  # no US proxy: it rests rather than go out from GB or DE
        us = next(a for a in accounts.status() if a["username"] == "us_fan")
        assert "no ACTIVE proxy in US" in us["error"] and us["quarantined_until"]
        with pytest.raises(ValueError, match="2-letter"):
            accounts.set_wanted_country("us_fan", "USA")
    finally:
        local.stop()


def test_the_api_checks_through_a_named_target_and_names_a_dead_one(tmp_path, emulator, gb_proxy):
    from tests.serving.conftest import start_api_server

    with start_api_server(tmp_path / "api") as api, api.client("operator") as client:
        created = client.post("/v1/proxies", json={"proxy": gb_proxy.url()})
        assert created.status_code == 201, created.text
        target = f"{emulator.url}/_emulator/whoami"
        checked = client.post("/v1/proxies/check", json={"target": target, "attempts": 1})
        assert checked.status_code == 200, checked.text
        (row,) = checked.json()
        assert row["status"] == ACTIVE and row["exit_ip"] == EXIT_PUBLIC and row["exit_country"] == "GB"
        listed = client.get("/v1/proxies").json()
        assert listed[0]["exit_country"] == "GB" and listed[0]["next_check_at"]

        dead = f"http://127.0.0.1:{free_port()}/robots.txt"
        down = client.post("/v1/proxies/check", json={"target": dead, "attempts": 1, "timeout_s": 2})
        assert down.status_code == 502
        error = down.json()["error"]
        assert (
            error["code"] == "target_unreachable" and error["field"] == "target" and dead in error["message"]
        )
        assert client.get("/v1/proxies").json()[0]["status"] == ACTIVE  # nothing marked

        bad = client.post("/v1/proxies/check", json={"target": "ftp://example.org/"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "target"
        assert "http:// or https://" in bad.json()["error"]["message"]
