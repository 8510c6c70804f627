"""Proxies: import, encrypted credentials, health checks through REAL proxy servers (proxy.py for HTTP,
pproxy for SOCKS5) to the emulator's /_emulator/whoami, dead proxies taken out, filters, the CLI."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.proxies import (
    ACTIVE,
    CHECKING,
    INACTIVE,
    ProxyPool,
    parse_proxy_lines,
)
from xget_pipelines.core.redact import redact_urls
from xget_pipelines.core.secrets import SecretBox
from xget_pipelines.emulator.proxy_servers import (
    Blackhole,
    ProxyServerError,
    free_port,
    start_http_proxy,
    start_socks5_proxy,
)

HTTP_USER, HTTP_PASS = "alice", "Open-Sesame-42"
SOCKS_USER, SOCKS_PASS = "bob", "Hunter2-socks!"
WRONG_PASS = "Not-The-Password-99"


# -- servers (module scope: started once, each test checks through them) ---------------------------------


@pytest.fixture(scope="module")
def servers_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("proxy-servers")


@pytest.fixture(scope="module")
def emulator(small_world):
    from xget_pipelines.emulator.runner import EmulatorServer

    server = EmulatorServer(small_world).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_proxy(servers_dir):
    server = start_http_proxy(servers_dir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_auth_proxy(servers_dir):
    server = start_http_proxy(servers_dir, HTTP_USER, HTTP_PASS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def socks_proxy(servers_dir):
    server = start_socks5_proxy(servers_dir, SOCKS_USER, SOCKS_PASS)
    yield server
    server.stop()


def test_a_proxy_server_that_cannot_start_fails_the_test_loudly(tmp_path):
    """The fixtures raise (tests fail, never skip) when a server does not come up: here its port is taken."""
    hole = Blackhole()
    try:
        with pytest.raises(ProxyServerError, match=r"proxy\.py .* did not start \(exited"):
            start_http_proxy(tmp_path, port=hole.port, timeout=10)
        with pytest.raises(ProxyServerError, match=r"(?s)pproxy .* did not start .*address already in use"):
            start_socks5_proxy(tmp_path, port=hole.port, timeout=10)
    finally:
        hole.close()


@pytest.fixture
def whoami(emulator):
    return f"{emulator.url}/_emulator/whoami"


@pytest.fixture
def pool(sqlite_url):
    return ProxyPool(get_engine(sqlite_url), SecretBox(Fernet.generate_key()))


def _ids(pool, text):
    parsed = parse_proxy_lines(text)
    assert not parsed.errors, parsed.errors
    return pool.import_proxies(parsed.records).ids


# -- parsing and import -----------------------------------------------------------------------------------


def test_parse_reports_bad_lines_with_number_and_reason_and_keeps_the_good():
    text = "\n".join(
        [
            "# my proxies",  # 1 comment
            "http://alice:p%40ss%3Aword@10.0.0.1:8080",  # 2
            "socks5://bob:pw@proxy.example.com:1080 # country=de; city=Frankfurt am Main; isp=Hetzner Online",
            "10.0.0.2:3128",  # 4 host:port, default scheme
            "10.0.0.3:3128:carol:s3:cr3t country=US city=New York",  # 5 password with a colon
            "",  # 6 blank
            "ftp://10.0.0.4:21",  # 7 bad scheme
            "10.0.0.5",  # 8 no port
            "10.0.0.6:99999:dave:TopSecretPw",  # 9 port out of range
            "10.0.0.7:80:erin",  # 10 three fields
            "10.0.0.8:80 country=Germany",  # 11 bad country
            "https://frank:pw@10.0.0.9:443/path",  # 12 path
            "10.0.0.10:80 # colour=blue",  # 13 unknown metadata
            "https://frank:pw@10.0.0.9:443",  # 14
        ]
    )
    records, errors = parse_proxy_lines(text)
    assert [(r.scheme, r.host, r.port, r.username, r.password) for r in records] == [
        ("http", "10.0.0.1", 8080, "alice", "p@ss:word"),
        ("socks5", "proxy.example.com", 1080, "bob", "pw"),
        ("http", "10.0.0.2", 3128, None, None),
        ("http", "10.0.0.3", 3128, "carol", "s3:cr3t"),
        ("https", "10.0.0.9", 443, "frank", "pw"),
    ]
    assert (records[1].country, records[1].city, records[1].isp) == (
        "DE",
        "Frankfurt am Main",
        "Hetzner Online",
    )
    assert (records[3].country, records[3].city) == ("US", "New York")
    reasons = {e.line: e.reason for e in errors}
    assert sorted(reasons) == [7, 8, 9, 10, 11, 12, 13]
    assert "scheme 'ftp'" in reasons[7]
    assert "host:port" in reasons[8] and "1 field" in reasons[8]
    assert "65535" in reasons[9] and "TopSecretPw" not in reasons[9]
    assert "3 fields" in reasons[10]
    assert "2-letter" in reasons[11]
    assert "path" in reasons[12]
    assert "colour" in reasons[13]
    assert str(errors[0]).startswith("line 7: ")
    # Records never show their password, not even in repr.
    assert "p@ss:word" not in repr(records[0]) and "p%40ss" not in repr(records[0])
    assert records[0].url == "http://alice:***@10.0.0.1:8080"
    assert redact_urls("via socks5://bob:Hunter2@1.2.3.4:1080 ok") == "via socks5://bob:***@1.2.3.4:1080 ok"


def test_reimport_updates_instead_of_duplicating_and_secrets_are_encrypted(pool):
    first = pool.import_proxies(
        parse_proxy_lines(
            "http://alice:FirstSecret-1@10.0.0.1:8080 country=DE\n"
            "10.0.0.2:3128\n"
            "socks5://bob:SocksSecret-2@10.0.0.3:1080\n"
        ).records
    )
    assert (first.created, first.updated) == (3, 0)
    assert [p.status for p in pool.list()] == [CHECKING] * 3  # unverified: not handed out yet
    assert pool.available() == []

    # The same endpoints again: new password for alice, a city, plus one new proxy.
    again = pool.import_proxies(
        parse_proxy_lines(
            "http://alice:SecondSecret-3@10.0.0.1:8080 city=Berlin\n"
            "10.0.0.2:3128 country=fr\n"
            "socks5://bob:SocksSecret-2@10.0.0.3:1080\n"
            "socks5://bob:SocksSecret-2@10.0.0.4:1080\n"
        ).records
    )
    assert (again.created, again.updated) == (1, 3)
    assert again.ids[:3] == first.ids
    rows = {p.id: p for p in pool.list()}
    assert len(rows) == 4
    alice = rows[first.ids[0]]
    assert (alice.country, alice.city) == ("DE", "Berlin")  # fields a line leaves out are kept
    assert rows[first.ids[1]].country == "FR"
    assert pool.url_for(alice.id) == "http://alice:SecondSecret-3@10.0.0.1:8080"
    assert alice.url == "http://alice:***@10.0.0.1:8080"
    assert "SecondSecret" not in repr(alice)
    assert "SecondSecret" not in json.dumps(alice.as_dict(), default=str)

    # At rest: no plaintext anywhere in the table.
    with pool.engine.connect() as conn:
        dump = repr(conn.execute(sa.text("select * from proxies")).all())
    for secret in ("FirstSecret-1", "SecondSecret-3", "SocksSecret-2"):
        assert secret not in dump
    assert "alice" in dump  # the user name is not a secret


def test_import_and_health_on_postgres(postgres_url):
    pool = ProxyPool(get_engine(postgres_url), SecretBox(Fernet.generate_key()))
    ids = _ids(pool, "socks5://bob:PgSecret-1@10.1.0.1:1080 country=NL\n10.1.0.2:8080\n")
    again = pool.import_proxies(
        parse_proxy_lines("socks5://bob:PgSecret-1@10.1.0.1:1080 city=Amsterdam\n").records
    )
    assert (again.created, again.updated, again.ids) == (0, 1, ids[:1])
    assert pool.report(ids[0], ok=True, latency_ms=42.0) == ACTIVE
    assert [(p.id, p.country, p.city, p.latency_ms) for p in pool.available(country="nl")] == [
        (ids[0], "NL", "Amsterdam", 42.0)
    ]
    with pool.engine.connect() as conn:
        assert "PgSecret-1" not in repr(conn.execute(sa.text("select * from proxies")).all())


# -- health checks through real proxies -------------------------------------------------------------------


def test_check_through_live_http_and_socks5_proxies(
    pool, whoami, emulator, http_proxy, http_auth_proxy, socks_proxy, caplog
):
    caplog.set_level(logging.DEBUG)
    ids = _ids(pool, f"{http_proxy.url()}\n{http_auth_proxy.url()}\n{socks_proxy.url()}\n")
    before = [s.connections_to(emulator.port) for s in (http_proxy, http_auth_proxy, socks_proxy)]
    results = pool.check(target_url=whoami, timeout_s=5, attempts=2)
    assert [r.proxy_id for r in results] == ids
    for r in results:
        assert (r.status, r.successes, r.attempts, r.error) == (ACTIVE, 2, 2, None), r
        assert r.latency_ms > 0 and r.success_rate == 1.0
        assert r.exit_ip == "127.0.0.1" and r.exit_port  # the address the emulator saw
    # The requests really went through each proxy: each logged exactly our two requests to the emulator.
    after = [s.connections_to(emulator.port) for s in (http_proxy, http_auth_proxy, socks_proxy)]
    assert [a - b for a, b in zip(after, before, strict=False)] == [2, 2, 2]
    stored = {p.id: p for p in pool.available()}
    assert set(stored) == set(ids)
    for p in stored.values():
        assert p.status == ACTIVE and p.latency_ms > 0 and p.checks == 2 and p.failures == 0
        assert p.last_check_at is not None and p.last_error is None
    assert stored[ids[2]].url == f"socks5://{SOCKS_USER}:***@127.0.0.1:{socks_proxy.port}"
    # Secrets never reach the logs (httpx, httpcore and ours, at DEBUG).
    assert HTTP_PASS not in caplog.text and SOCKS_PASS not in caplog.text


def test_wrong_credentials_take_the_proxy_out_with_the_reason(
    pool, whoami, http_auth_proxy, socks_proxy, caplog
):
    caplog.set_level(logging.DEBUG)
    ids = _ids(pool, f"{http_auth_proxy.url(password=WRONG_PASS)}\n{socks_proxy.url(password=WRONG_PASS)}\n")
    results = pool.check(target_url=whoami, timeout_s=5, attempts=3)
    assert [r.status for r in results] == [INACTIVE, INACTIVE]
    http_error, socks_error = (r.error for r in results)
    assert "407" in http_error
    assert socks_error and WRONG_PASS not in socks_error
    for p in (pool.get(i) for i in ids):
        assert p.status == INACTIVE and p.last_error and WRONG_PASS not in p.last_error
        assert p.success_rate == 0.0 and p.consecutive_failures == 3
    assert pool.available() == []
    assert WRONG_PASS not in caplog.text


def test_a_proxy_killed_midway_goes_inactive_and_comes_back(pool, whoami, emulator, tmp_path, socks_proxy):
    server = start_http_proxy(tmp_path / "doomed")
    try:
        nobody = free_port()
        doomed, dead, alive = _ids(
            pool,
            f"{server.url()} country=DE\n127.0.0.1:{nobody} country=DE\n{socks_proxy.url()} country=DE\n",
        )
        first = {r.proxy_id: r for r in pool.check(target_url=whoami, timeout_s=3, attempts=3)}
        assert first[doomed].status == ACTIVE and first[alive].status == ACTIVE
        assert first[dead].status == INACTIVE and "Connect" in first[dead].error  # nothing listens there
        assert [p.id for p in pool.available(country="DE")] == sorted(
            [doomed, alive], key=lambda i: pool.get(i).score
        )

        server.stop()  # the proxy dies; the emulator is still up, reachable directly
        assert httpx.get(whoami, timeout=5).status_code == 200
        second = {r.proxy_id: r for r in pool.check([doomed], target_url=whoami, timeout_s=3, attempts=3)}
        assert second[doomed].status == INACTIVE and second[doomed].successes == 0
        stored = pool.get(doomed)
        assert stored.status == INACTIVE and "Connect" in stored.last_error
        assert 0 < stored.success_rate < 1 and stored.failures == 3 and stored.checks == 6
        assert [p.id for p in pool.available()] == [alive]
        assert pool.pick(exclude=[alive]) is None

        server = start_http_proxy(tmp_path / "doomed", port=server.port)  # back on the same port
        third = pool.check(status=INACTIVE, target_url=whoami, timeout_s=3, attempts=1)
        assert {r.proxy_id: r.status for r in third} == {doomed: ACTIVE, dead: INACTIVE}
        assert pool.get(doomed).last_error is None
        assert {p.id for p in pool.available(country="de")} == {doomed, alive}
    finally:
        server.stop()


def test_a_hanging_proxy_is_bounded_by_the_timeout_and_checks_run_concurrently(pool, whoami):
    hole = Blackhole()  # accepts TCP connections, never answers
    try:
        ids = _ids(pool, "".join(f"http://user{i}:pw@127.0.0.1:{hole.port}\n" for i in range(4)))
        started = time.monotonic()
        results = pool.check(target_url=whoami, timeout_s=0.5, attempts=2, concurrency=4, max_failures=2)
        elapsed = time.monotonic() - started
        # 4 proxies x 2 attempts x 0.5 s would take 4 s one after another; concurrently about 1 s.
        assert elapsed < 2.5, elapsed
        assert [r.proxy_id for r in results] == ids
        assert all(r.status == INACTIVE and "timed out after 0.5 s" in r.error for r in results)

        started = time.monotonic()
        pool.check(ids, target_url=whoami, timeout_s=0.3, attempts=1, concurrency=1)
        assert time.monotonic() - started >= 4 * 0.3 * 0.9  # the bound holds: one at a time
    finally:
        hole.close()


def test_available_filters_by_country_and_latency_best_first(pool):
    de_fast, de_slow, us_fast, fr_dead, nowhere = _ids(
        pool,
        "\n".join(
            [
                "10.2.0.1:80 country=DE",
                "10.2.0.2:80 country=DE",
                "10.2.0.3:80 country=US",
                "10.2.0.4:80 country=FR",
                "10.2.0.5:80",
            ]
        ),
    )
    pool.report(de_fast, True, 40.0)
    pool.report(de_slow, True, 400.0)
    pool.report(us_fast, True, 60.0)
    pool.report(nowhere, True, 90.0)
    pool.report(nowhere, False, error="reset by peer")  # one failure: still ACTIVE, ranked lower
    assert pool.get(nowhere).status == ACTIVE and pool.get(nowhere).success_rate == pytest.approx(0.8)
    pool.report(fr_dead, True, 10.0)
    for _ in range(3):
        pool.report(fr_dead, False, error="connection refused")
    assert pool.get(fr_dead).status == INACTIVE and pool.get(fr_dead).last_error == "connection refused"

    assert [p.id for p in pool.available()] == [de_fast, us_fast, nowhere, de_slow]
    assert [p.id for p in pool.available(country="de")] == [de_fast, de_slow]
    assert [p.id for p in pool.available(max_latency_ms=100)] == [de_fast, us_fast, nowhere]
    assert [p.id for p in pool.available(country="DE", max_latency_ms=100)] == [de_fast]
    assert pool.available(country="FR") == []  # the only French one is dead
    assert [p.id for p in pool.list(status=INACTIVE)] == [fr_dead]
    assert pool.pick(country="DE", exclude=[de_fast]).id == de_slow
    with pytest.raises(ValueError, match="2-letter"):
        pool.available(country="Germany")

    # Re-importing a dead proxy means "try it again": CHECKING, failures in a row and error cleared;
    # an unverified proxy whose check fails goes INACTIVE at once.
    again = pool.import_proxies(parse_proxy_lines("10.2.0.4:80\n10.2.0.6:80\n").records)
    assert (again.created, again.updated) == (1, 1)
    revived = pool.get(fr_dead)
    assert (revived.status, revived.consecutive_failures, revived.last_error) == (CHECKING, 0, None)
    assert revived.country == "FR" and revived.checks == 4  # history and geography are kept
    assert pool.report(again.ids[1], False, error="refused") == INACTIVE


# -- the CLI ------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_home(tmp_path, monkeypatch):

    monkeypatch.setenv("XGET_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"


def test_cli_import_list_check(cli_home, tmp_path, whoami, http_auth_proxy, socks_proxy):
    from xget_pipelines.cli import app

    runner = CliRunner()

    def xget(*args):
        return runner.invoke(app, list(args), catch_exceptions=False)

    nobody = free_port()
    listing = tmp_path / "proxies.txt"
    listing.write_text(
        "\n".join(
            [
                f"{http_auth_proxy.url()} # country=DE; city=Berlin",
                f"127.0.0.1:{socks_proxy.port}:{SOCKS_USER}:{SOCKS_PASS} country=NL",
                "socks4://10.0.0.1:1080",
                f"127.0.0.1:{nobody} country=DE",
                "not a proxy",
            ]
        )
    )
    result = xget("proxies", "import", str(listing))
    assert result.exit_code == 0, result.output
    assert "3 proxies added, 0 updated" in result.output
    assert "line 3: scheme 'socks4'" in result.output and "line 5:" in result.output
    # The colon form took the default scheme (http); the SOCKS server needs socks5: re-import it as such.
    socks_line = tmp_path / "socks.txt"
    socks_line.write_text(f"127.0.0.1:{socks_proxy.port}:{SOCKS_USER}:{SOCKS_PASS} country=NL\n")
    result = xget("proxies", "import", str(socks_line), "--scheme", "socks5")
    assert "1 proxies added" in result.output
    again = xget("proxies", "import", str(listing))
    assert "0 proxies added, 3 updated" in again.output

    listed = [json.loads(x) for x in xget("proxies", "list", "--format", "json").stdout.splitlines()]
    assert len(listed) == 4 and {p["status"] for p in listed} == {CHECKING}
    assert f"http://{HTTP_USER}:***@127.0.0.1:{http_auth_proxy.port}" in {p["proxy"] for p in listed}

    checked = xget(
        "proxies",
        "check",
        "--target",
        whoami,
        "--timeout",
        "3",
        "--attempts",
        "1",
        "--max-failures",
        "1",
        "--format",
        "json",
    )
    assert checked.exit_code == 0, checked.output
    results = {r["proxy"]: r for r in map(json.loads, checked.stdout.splitlines())}
    assert results[f"http://{HTTP_USER}:***@127.0.0.1:{http_auth_proxy.port}"]["status"] == ACTIVE
    assert results[f"socks5://{SOCKS_USER}:***@127.0.0.1:{socks_proxy.port}"]["status"] == ACTIVE
    assert results[f"socks5://{SOCKS_USER}:***@127.0.0.1:{socks_proxy.port}"]["exit_ip"] == "127.0.0.1"
    assert results[f"http://127.0.0.1:{nobody}"]["status"] == INACTIVE
    # The first import took the colon form as http: the SOCKS server refuses that one.
    assert results[f"http://{SOCKS_USER}:***@127.0.0.1:{socks_proxy.port}"]["status"] == INACTIVE

    table = xget("proxies", "list", "--available", "--country", "DE")
    assert table.exit_code == 0 and "1 proxies available" in table.stdout and "ACTIVE" in table.stdout
    assert "INACTIVE" not in table.stdout
    available = [
        json.loads(x)
        for x in xget(
            "proxies", "list", "--available", "--country", "de", "--format", "json"
        ).stdout.splitlines()
    ]
    assert [(p["proxy"], p["country"], p["city"]) for p in available] == [
        (f"http://{HTTP_USER}:***@127.0.0.1:{http_auth_proxy.port}", "DE", "Berlin")
    ]
    assert available[0]["latency_ms"] > 0 and available[0]["success_rate"] == 1.0
    as_csv = xget("proxies", "list", "--status", "INACTIVE", "--format", "csv").stdout.splitlines()
    assert as_csv[0].startswith("id,proxy,status") and len(as_csv) == 3
    human = xget("proxies", "check", "--target", whoami, "--timeout", "3", "--attempts", "1")
    assert human.exit_code == 0 and "checked through" in human.output
    for out in (result, again, checked, table, human, xget("proxies", "list")):
        assert HTTP_PASS not in out.output and SOCKS_PASS not in out.output

    bad = xget("proxies", "list", "--country", "Germany")
    assert bad.exit_code == 1 and "2-letter" in bad.output
    with sa.create_engine(f"sqlite:///{cli_home / 'xget.db'}").connect() as conn:
        dump = repr(conn.execute(sa.text("select * from proxies")).all())
    assert HTTP_PASS not in dump and SOCKS_PASS not in dump
