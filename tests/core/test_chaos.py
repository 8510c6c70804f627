"""Issue 18's chaos test: a simulated day (20-minute steps, upkeep ticks on the simulated clock, the
emulator's rate-limit window one wall second) of 6 accounts with password and TOTP secret, one with cookies
only, and 3 real proxies, while X suspends, locks and lifts accounts, forgets sessions, and proxies die and
come back (``tests/chaos.py``). Every expired session with credentials is renewed without a person, every
proxy that comes back is ACTIVE within two check periods, no page is lost, and the alert email (a real SMTP
server relaying into Dovecot) arrives once per incident and once on its recovery."""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from tests.chaos import Chaos, ChaosConfig, ChaosRun
from tests.conftest import installation_box
from xget_pipelines.resources import AlertsResource

CONFIG = ChaosConfig()


MAILBOX_PASSWORD = "oncall-pw"
NOTICE = re.compile(r"^\* (NEW|STILL OPEN|RECOVERED)\b.*\[((?:account|proxy):[^\]]+)\]\r?$", re.MULTILINE)


@pytest.fixture
def oncall(mail_server):
    """The on-call mailbox the run's alert emails go to (a fresh Dovecot user)."""
    address = f"oncall-{uuid.uuid4().hex[:8]}@alerts.test"
    mail_server.add_user(address, MAILBOX_PASSWORD)
    return address


@pytest.fixture
def run(emulator_factory, engine, sqlite_url, tmp_path, smtp_relay, oncall) -> ChaosRun:
    emu = emulator_factory(
        window_seconds=CONFIG.window_s, rate_limits={"SearchTimeline": CONFIG.search_limit}
    )
    alerts = AlertsResource(
        database_url=sqlite_url,
        smtp_url=smtp_relay.url(),
        email_from="XGet <xget@alerts.test>",
        email_to=oncall,
    )
    chaos = Chaos(CONFIG, emu.url, engine, installation_box(), tmp_path, alerts=alerts)
    try:
        chaos.start()
        yield chaos.run()
    finally:
        chaos.stop()


def mailed_notices(mail_server, address: str) -> tuple[int, Counter]:
    """The emails in the mailbox (read over IMAP) and the notices they hold, counted by (kind, incident)."""
    conn = imaplib.IMAP4("127.0.0.1", mail_server.imap_port)
    try:
        conn.login(address, MAILBOX_PASSWORD)
        conn.select("INBOX", readonly=True)
        _, data = conn.search(None, "ALL")
        notices: Counter = Counter()
        for num in data[0].split():
            _, parts = conn.fetch(num, "(RFC822)")
            text = email.message_from_bytes(parts[0][1], policy=email.policy.default).get_content()
            notices.update(NOTICE.findall(text))
        return len(data[0].split()), notices
    finally:
        conn.logout()


def check_alerts(run: ChaosRun, mail_server, address: str) -> None:
    """The alert email arrives in the mailbox once per incident and once on its recovery: for every
    incident, its NEW notices equal its RECOVERED ones, plus one if it is still open at the end. The
    incidents are the accounts X suspended or locked, the sessions nobody can renew and the proxies that
    died; an expired session that upkeep renewed is no incident."""
    emails, notices = mailed_notices(mail_server, address)
    assert emails == run.alert_emails > 0 and sum(notices.values()) == run.alerts
    opened = Counter({key: n for (kind, key), n in notices.items() if kind == "NEW"})
    recovered = Counter({key: n for (kind, key), n in notices.items() if kind == "RECOVERED"})
    still_open = {f"account:{name}:out" for name in run.needs_person}
    for key in opened | recovered:
        assert opened[key] == recovered[key] + (key in still_open), (key, opened[key], recovered[key])
    faulted = {e.target for e in run.events if e.kind in ("suspend", "lock")}
    assert {f"account:{name}:out" for name in faulted | run.needs_person} <= set(opened)
    renewed_only = {name for name, _ in run.expired if name in run.credentialed} - faulted
    assert not {f"account:{name}:out" for name in renewed_only} & set(opened)
    proxies = {key for key in opened if key.startswith("proxy:")}
    assert proxies and all(recovered[key] for key in proxies)  # every proxy that died came back, mailed


def test_a_chaotic_day_heals_itself_and_loses_no_page(run, mail_server, oncall):
    events = {e.kind for e in run.events}
    assert events == {"suspend", "lock", "lift", "expire", "proxy_down", "proxy_up"}

    # every expired session with stored credentials is renewed by upkeep, without a person
    renewable = [(name, at) for name, at in run.expired if name in run.credentialed]
    assert len(renewable) == CONFIG.expiries
    not_renewed = [(name, at) for name, at in renewable if run.renewed_at(name, at) is None]
    assert not not_renewed, not_renewed
    # ... and the one without credentials is not: it waits for a person, with a reason that says so
    assert run.needs_person == {n for n, _ in run.expired if n not in run.credentialed} != set()

    # every proxy that comes back is ACTIVE within two check periods of its return (simulated time)
    assert len(run.proxy_returns) == CONFIG.proxy_outages
    two_periods = timedelta(seconds=2 * CONFIG.proxy_interval_s)
    late = [(i, at, run.active_again_at(i, at)) for i, at in run.proxy_returns]
    late = [x for x in late if x[2] is None or x[2] - x[1] > two_periods]
    assert not late, late
    assert sum(h.proxies_revived for h in run.hours) >= 1  # at least one was taken out, then revived

    # suspended and locked accounts X lifted came back by themselves
    assert sum(h.accounts_revived for h in run.hours) >= 1

    # no page lost: every SearchTimeline page the emulator served was received by the scrape work
    assert run.pages_received > 0
    assert run.pages_received <= run.pages_served <= run.pages_received + run.request_errors, (
        run.pages_received,
        run.pages_served,
        run.request_errors,
    )
    # the work went on all day: pages every simulated hour
    assert all(h.pages > 0 for h in run.hours), [h.line() for h in run.hours]

    # the alert email: once per incident, once on its recovery
    check_alerts(run, mail_server, oncall)
