"""Account upkeep against the emulator over HTTP, ticks driven on the test's own clock: expired sessions are
renewed without a person (TOTP, and a code emailed to a real Dovecot mailbox, through the account's proxy),
failing logins back off and stop at the daily cap, suspended accounts stay out until X lifts them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import emulator_tokens, installation_box, register_accounts
from xget_pipelines.core.db.models import Account
from xget_pipelines.core.pools.account_cadence import AccountCadence
from xget_pipelines.core.pools.account_login import LoginSetup
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.account_upkeep import upkeep_tick
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.pools.mailbox import ImapConfig
from xget_pipelines.core.pools.proxies import ProxyPool, parse_proxy_lines
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import XClient
from xget_pipelines.emulator.proxy_servers import start_http_proxy

PASSWORD = "upkeep-Very-Secret-1"
MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
MAIL_PASSWORD = "mailbox-Secret-2"
T0 = datetime(2030, 1, 7, 0, 10, tzinfo=UTC)  # the test's clock: ticks are driven at times it picks
CADENCE = AccountCadence(
    check_interval_s=3600,
    recheck_refused_s=21600,
    login_backoff_s=900,
    login_backoff_max_s=21600,
    logins_per_day=3,
)


@pytest.fixture
def emu(emulator_factory, mail_server):
    return emulator_factory(window_seconds=5, mail_lmtp=mail_server.lmtp_address)


def _login_accounts(emu, *accounts: dict) -> None:
    httpx.post(
        f"{emu.url}/_emulator/login_accounts", json={"accounts": list(accounts)}, timeout=10
    ).raise_for_status()


def _row(engine, username: str):
    with engine.connect() as conn:
        return conn.execute(select(Account).where(Account.username == username)).one()


def _tick(pool, emu, now, setup=None, **kwargs):
    return upkeep_tick(pool, emu.graphql_url, setup or LoginSetup(emu.url), now, CADENCE, **kwargs)


def _expire(emu, *names: str) -> None:
    for name in names:
        httpx.post(f"{emu.url}/_emulator/accounts/{name}/expire", timeout=10).raise_for_status()


def test_expired_sessions_with_credentials_are_renewed_by_ticks_without_a_person(
    emu, engine, mail_server, tmp_path
):
    box = installation_box()
    mail = f"acid_{uuid.uuid4().hex[:6]}@mail.test"
    mail_server.add_user(mail, MAIL_PASSWORD)
    _login_accounts(
        emu,
        {"username": "totp_a", "password": PASSWORD, "email": "a@example.org", "mfa_secret": MFA_SECRET},
        {"username": "acid_b", "password": PASSWORD, "email": mail, "acid": True},
    )
    upsert_accounts(
        engine,
        box,
        [
            AccountRecord(
                "totp_a",
                PASSWORD,
                "a@example.org",
                mfa_secret=MFA_SECRET,
                cookies=emulator_tokens(emu, "totp_a"),
            ),
            AccountRecord("acid_b", PASSWORD, mail, MAIL_PASSWORD, cookies=emulator_tokens(emu, "acid_b")),
        ],
    )
    pool = register_accounts(emu, engine, ["cookies_only"])  # imported with cookies alone: no way to log in
    proxy = start_http_proxy(tmp_path / "proxy")
    try:
        proxies = ProxyPool(engine, box)
        proxies.import_proxies(parse_proxy_lines(proxy.url()).records)
        assert proxies.check(target_url=f"{emu.url}/_emulator/whoami")[0].ok
        setup = LoginSetup(
            emu.url, imap=ImapConfig(f"127.0.0.1:{mail_server.imap_port}", ssl=False, poll_s=0.2)
        )

        first = _tick(pool, emu, T0, setup)
        assert (first.checked, first.healthy, first.newly_out) == (3, 3, [])
        old = emulator_tokens(emu, "totp_a")
        _expire(emu, "totp_a", "acid_b", "cookies_only")
        assert not _tick(pool, emu, T0 + timedelta(minutes=59), setup).did_something  # not due yet

        later = T0 + timedelta(hours=1)
        tick = _tick(pool, emu, later, setup)
        assert sorted(tick.newly_out) == ["acid_b", "cookies_only", "totp_a"]
        assert sorted(tick.logged_in) == ["acid_b", "totp_a"] and tick.needs_person == ["cookies_only"]
        for name in ("totp_a", "acid_b"):
            row = _row(engine, name)
            assert row.active and row.error_msg is None and row.out_cause is None
            assert row.last_login_at.replace(tzinfo=UTC) == later and row.logins_on_day == 1
            assert "bad auth (X code 32)" in row.login_reason
            assert AccountPool(engine, secrets=box)._cookies(row.cookies_enc) == emulator_tokens(emu, name)
        assert emulator_tokens(emu, "totp_a") != old  # a new session, not the old cookies again
        stuck = _row(engine, "cookies_only")
        assert not stuck.active and "bad auth (X code 32)" in stuck.error_msg
        assert "no password stored" in stuck.error_msg and "re-import" in stuck.error_msg
        # both logins went through the account's proxy (it logs the first request of a connection)
        assert proxy.log_text().count("POST 127.0.0.1:") >= 2 and "guest/activate.json" in proxy.log_text()
        with XClient(emu.graphql_url, pool, lease_deadline_s=5, account="acid_b") as client:
            page = client.fetch("SearchTimeline", watch.search_variables("python", 20))
        assert page.status == 200 and page.account == "acid_b"
        # renewed accounts are checked again an interval later, and serve
        again = _tick(pool, emu, later + timedelta(hours=1), setup)
        assert again.healthy == 2 and not again.logged_in
    finally:
        proxy.stop()


def test_failing_logins_back_off_and_stop_at_the_daily_cap(emu, engine):
    _login_accounts(emu, {"username": "wrongpw", "password": PASSWORD, "email": "w@example.org"})
    box = installation_box()
    upsert_accounts(
        engine, box, [AccountRecord("wrongpw", "not-the-password", cookies=emulator_tokens(emu, "wrongpw"))]
    )
    pool = AccountPool(engine, secrets=box)
    _expire(emu, "wrongpw")

    now = T0
    tick = _tick(pool, emu, now)
    assert tick.newly_out == ["wrongpw"] and tick.login_failed == ["wrongpw"]
    for failures, wait in ((1, 900), (2, 1800)):  # backoff: 900 s, doubled per failure in a row
        row = _row(engine, "wrongpw")
        assert (row.login_failures, row.logins_on_day) == (failures, failures)
        assert row.next_check_at.replace(tzinfo=UTC) == now + timedelta(seconds=wait)
        assert "LoginEnterPassword" in row.error_msg and "next automatic login" in row.error_msg
        assert not _tick(pool, emu, now + timedelta(seconds=wait - 1)).did_something  # waits its turn
        now += timedelta(seconds=wait)
        assert _tick(pool, emu, now).login_failed == ["wrongpw"]
    now += timedelta(seconds=3600)
    capped = _tick(pool, emu, now)  # a 4th login the same UTC day: refused by the cap, no request to X
    row = _row(engine, "wrongpw")
    assert capped.capped == ["wrongpw"] and not capped.login_failed and row.logins_on_day == 3
    assert (
        "3 automatic logins a day reached" in row.error_msg and "xget accounts login wrongpw" in row.error_msg
    )
    midnight = datetime(2030, 1, 8, tzinfo=UTC)
    assert row.next_check_at.replace(tzinfo=UTC) == midnight
    assert not _tick(pool, emu, midnight - timedelta(seconds=1)).did_something
    assert _tick(pool, emu, midnight).login_failed == ["wrongpw"]  # a new day, a new attempt
    assert _row(engine, "wrongpw").logins_on_day == 1

    # A person stores the right password: the account is looked at again at once and logs in.
    upsert_accounts(engine, box, [AccountRecord("wrongpw", PASSWORD)])
    fixed = _tick(pool, emu, midnight + timedelta(seconds=60))
    assert fixed.newly_out == ["wrongpw"] and fixed.logged_in == ["wrongpw"]  # the old cookies, then a login
    row = _row(engine, "wrongpw")
    assert row.active and row.login_failures == 0 and row.logins_on_day == 2


def test_suspended_and_locked_stay_out_and_return_when_x_lifts_them(emu, engine):
    pool = register_accounts(emu, engine, ["sus", "lock", "fine", "byhand"])
    pool.set_active("byhand", False, "sold")
    assert _tick(pool, emu, T0).healthy == 3  # the one disabled by hand is left alone
    httpx.post(
        f"{emu.url}/_emulator/faults", json={"accounts": {"sus": "suspended", "lock": "locked"}}
    ).raise_for_status()

    out = _tick(pool, emu, T0 + timedelta(hours=1))
    assert sorted(out.newly_out) == ["lock", "sus"] and not out.logged_in and not out.needs_person
    assert (
        _row(engine, "sus").error_msg == "suspended (X code 64)"
        and _row(engine, "sus").out_cause == "suspended"
    )
    assert _row(engine, "lock").error_msg == "locked (X code 326)"
    served = httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]["requests"]
    assert _tick(pool, emu, T0 + timedelta(hours=2)).checked == 1  # only "fine": the refused ones rest
    assert httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]["requests"] == served + 1

    httpx.post(
        f"{emu.url}/_emulator/faults", json={"accounts": {"sus": None}}
    ).raise_for_status()  # X lifts it
    back = _tick(pool, emu, T0 + timedelta(hours=7))
    assert back.returned == ["sus"] and "lock" not in back.returned
    sus, lock, byhand = (_row(engine, n) for n in ("sus", "lock", "byhand"))
    assert sus.active and sus.error_msg is None and sus.out_cause is None
    assert not lock.active and lock.error_msg == "locked (X code 326)" and lock.out_cause == "locked"
    assert lock.next_check_at.replace(tzinfo=UTC) == T0 + timedelta(hours=13)
    assert not byhand.active and byhand.error_msg == "sold" and byhand.last_check_at is None


def test_a_tick_is_bounded_and_leaves_the_rest_for_the_next(emu, engine):
    pool = register_accounts(emu, engine, [f"b{i}" for i in range(5)])
    first = _tick(pool, emu, T0, max_per_tick=2)
    assert (first.checked, first.backlog) == (2, 3)
    assert _tick(pool, emu, T0, max_per_tick=2).checked == 2
    assert (_tick(pool, emu, T0, max_per_tick=2).checked, _tick(pool, emu, T0, max_per_tick=2).checked) == (
        1,
        0,
    )
