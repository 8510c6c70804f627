"""``xget x doctor`` against the emulator: all clear on a healthy one; the fault named on a sick one."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import installation_box, register_accounts
from xget_pipelines.core.pools.proxies import ACTIVE, ProxyPool, parse_proxy_lines
from xget_pipelines.core.x.doctor import FAIL, OK, OPERATIONS, WARN, diagnose
from xget_pipelines.emulator.proxy_servers import start_http_proxy


def by_check(findings) -> dict:
    return {f.check: f for f in findings}


def test_a_healthy_account_passes_every_check(emulator_factory, engine):
    emu = emulator_factory(window_seconds=30)
    pool = register_accounts(emu, engine, ["healthy"])
    findings = by_check(
        diagnose(pool, emu.graphql_url, "healthy", proxy_check_url=f"{emu.url}/_emulator/whoami")
    )
    assert [f.status for f in findings.values()] == [OK] * len(findings), findings
    assert set(findings) == {"account", "cookies", "proxy", "transaction id", "query ids", *OPERATIONS}
    assert "48-byte key" in findings["transaction id"].detail
    assert "XGet's ids are current" in findings["query ids"].detail
    assert "rate limit 49/50" in findings["SearchTimeline"].detail  # the window X reported


def test_a_suspended_account_a_dead_proxy_and_rotated_ids_are_named(emulator_factory, engine, tmp_path):
    emu = emulator_factory(window_seconds=30)
    whoami = f"{emu.url}/_emulator/whoami"
    pool = register_accounts(emu, engine, ["sick"])
    servers = [start_http_proxy(tmp_path / f"proxy{i}") for i in range(2)]
    proxies = ProxyPool(engine, installation_box())
    ids = proxies.import_proxies(parse_proxy_lines("\n".join(s.url() for s in servers))[0]).ids
    assert {r.status for r in proxies.check(ids, target_url=whoami, attempts=1)} == {ACTIVE}
    try:
        lease = pool.lease("UserByScreenName", 5, username="sick")  # binds the account to a proxy
        pool.release(lease)
        bound = lease.proxy_id
        servers[ids.index(bound)].stop()  # the account's proxy dies
        httpx.post(f"{emu.url}/_emulator/releases", json={}).raise_for_status()  # X ships a release
        httpx.post(f"{emu.url}/_emulator/faults", json={"accounts": {"sick": "suspended"}}).raise_for_status()
        findings = by_check(diagnose(pool, emu.graphql_url, "sick", proxy_check_url=whoami))
    finally:
        for server in servers:
            server.stop()
    assert findings["proxy"].status == FAIL and f"proxy {bound}" in findings["proxy"].detail
    assert "xget proxies" in findings["proxy"].fix
    failed = [f for f in findings.values() if f.status == FAIL]
    assert any("suspended (X code 64)" in f.detail for f in failed), (
        findings
    )  # reached X through the other proxy
    assert {a["username"]: a for a in pool.status()}["sick"]["active"] is False


def test_the_proxy_line_shows_the_exit_address(emulator_factory, engine, tmp_path):
    emu = emulator_factory(window_seconds=30)
    whoami = f"{emu.url}/_emulator/whoami"
    pool = register_accounts(emu, engine, ["viaproxy"])
    server = start_http_proxy(tmp_path / "proxy")
    try:
        proxies = ProxyPool(engine, installation_box())
        proxies.check(
            proxies.import_proxies(parse_proxy_lines(server.url())[0]).ids, target_url=whoami, attempts=1
        )
        findings = by_check(diagnose(pool, emu.graphql_url, "viaproxy", proxy_check_url=whoami))
    finally:
        server.stop()
    assert all(f.status == OK for f in findings.values()), findings
    assert (
        findings["proxy"].detail.startswith("proxy 1 ")
        and "exit address 127.0.0.1" in findings["proxy"].detail
    )


def test_rotated_ids_are_reported_and_kept(emulator_factory, engine):
    emu = emulator_factory(window_seconds=30)
    pool = register_accounts(emu, engine, ["rot"])
    assert all(
        f.status == OK
        for f in diagnose(pool, emu.graphql_url, "rot", proxy_check_url=f"{emu.url}/_emulator/whoami")
    )
    new = httpx.post(f"{emu.url}/_emulator/releases", json={}).json()["releases"][-1]["query_ids"]
    findings = by_check(diagnose(pool, emu.graphql_url, "rot", proxy_check_url=f"{emu.url}/_emulator/whoami"))
    assert findings["query ids"].status == WARN
    assert (
        "SearchTimeline " in findings["query ids"].detail
        and new["SearchTimeline"] in findings["query ids"].detail
    )
    assert all(findings[op].status == OK for op in OPERATIONS)


def test_an_inactive_account_stops_at_the_first_line(emulator_factory, engine):
    emu = emulator_factory(window_seconds=30)
    pool = register_accounts(emu, engine, ["off"])
    pool.set_active("off", False, "locked (X code 326)")
    (finding,) = diagnose(pool, emu.graphql_url, "off", proxy_check_url=f"{emu.url}/_emulator/whoami")
    assert (
        finding.status == FAIL
        and "locked (X code 326)" in finding.detail
        and "xget accounts login off" in finding.fix
    )


@pytest.fixture
def cli(emulator_factory, xget_settings, tmp_path):
    emu = emulator_factory(window_seconds=30)
    settings = xget_settings(home=tmp_path / "home", x_graphql_url=emu.graphql_url)
    from xget_pipelines.core.db.engine import get_engine

    register_accounts(emu, get_engine(settings.resolved_database_url), ["cli1"])
    from xget_pipelines.cli import app

    return emu, lambda *args: CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_the_doctor_and_ops_commands(cli):
    emu, xget = cli
    result = xget("x", "doctor", "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"status": "fail"' not in result.stdout and '"check": "transaction id"' in result.stdout
    ops = xget("x", "ops", "--format", "json")
    assert ops.exit_code == 0 and "twscrape" in ops.stdout and '"operation": "SearchTimeline"' in ops.stdout
    new = httpx.post(f"{emu.url}/_emulator/releases", json={}).json()["releases"][-1]["query_ids"][
        "SearchTimeline"
    ]
    refreshed = xget("x", "ops", "--refresh", "--format", "json")
    assert refreshed.exit_code == 0, refreshed.output
    row = next(
        json.loads(line)
        for line in refreshed.stdout.splitlines()
        if line.startswith("{") and '"SearchTimeline"' in line
    )
    assert row["query id"] == new and "/x-web/x-web/assets/" in row["source"]
    httpx.post(f"{emu.url}/_emulator/faults", json={"accounts": {"cli1": "locked"}}).raise_for_status()
    result = xget("x", "doctor", "cli1", "--format", "json")
    assert result.exit_code == 1 and "locked (X code 326)" in result.stdout
