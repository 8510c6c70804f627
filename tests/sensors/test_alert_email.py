"""Alert email through a real SMTP server into a real mailbox: one message when an incident opens, nothing
while it merely lasts, a reminder after the interval, one on recovery; incidents opening together are one
digest; the SMTP password never reaches the log; a dead mail server is a logged error that names it, and what
was owed goes out on the next tick."""

import email
import email.policy
import imaplib
import logging
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from tests.conftest import control_plane_resource, installation_box
from tests.sensors.test_pool_health import webhook  # noqa: F401 - the real HTTP receiver fixture
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.incidents import Incident, IncidentBook
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.emulator.mail_server import _free_port
from xget_pipelines.resources import AccountPoolResource, AlertsResource
from xget_pipelines.sensors import account_pool_health_sensor

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
MAILBOX_PASSWORD = "oncall-pw"


@pytest.fixture
def oncall(mail_server):
    """A fresh mailbox for the alerts of one test."""
    address = f"oncall-{uuid.uuid4().hex[:8]}@alerts.test"
    mail_server.add_user(address, MAILBOX_PASSWORD)
    return address


def inbox(mail_server, address) -> list[email.message.Message]:
    """Every message in the mailbox, oldest first, read over IMAP as the login tests read X's codes."""
    conn = imaplib.IMAP4("127.0.0.1", mail_server.imap_port)
    try:
        conn.login(address, MAILBOX_PASSWORD)
        conn.select("INBOX", readonly=True)
        _, data = conn.search(None, "ALL")
        messages = []
        for num in data[0].split():
            _, parts = conn.fetch(num, "(RFC822)")
            messages.append(email.message_from_bytes(parts[0][1], policy=email.policy.default))
        return messages
    finally:
        conn.logout()


def body(message) -> str:
    return message.get_content()


def alerts_for(sqlite_url, smtp_url, to, **kwargs) -> AlertsResource:
    return AlertsResource(
        database_url=sqlite_url,
        smtp_url=smtp_url,
        email_from="XGet <xget@alerts.test>",
        email_to=to,
        **kwargs,
    )


POOL_LOW = Incident(
    "pool:accounts_usable_low",
    title="account pool low for SearchTimeline (fewer than 2 accounts can serve)",
    detail="1 of 3 X accounts can serve",
    remedy="log accounts in again (xget accounts login NAME) or import more",
)


def test_an_incident_is_mailed_once_reminded_while_it_lasts_and_mailed_on_recovery(
    sqlite_url, mail_server, smtp_relay, oncall
):
    alerts = alerts_for(sqlite_url, smtp_relay.url(), oncall, reminder_hours=6)
    assert alerts.report("pool", [POOL_LOW], T0).sent == 1
    (opened,) = inbox(mail_server, oncall)
    assert opened["Subject"] == f"[XGet] NEW: {POOL_LOW.title}"
    assert "What to do: log accounts in again (xget accounts login NAME)" in body(opened)

    # It lasts: later ticks (and a restarted process: a new resource over the same database) send nothing.
    assert alerts.report("pool", [POOL_LOW], T0 + timedelta(minutes=1)).sent == 0
    restarted = alerts_for(sqlite_url, smtp_relay.url(), oncall, reminder_hours=6)
    assert restarted.report("pool", [POOL_LOW], T0 + timedelta(hours=5)).sent == 0
    assert len(inbox(mail_server, oncall)) == 1

    assert restarted.report("pool", [POOL_LOW], T0 + timedelta(hours=6, minutes=1)).sent == 1
    assert restarted.report("pool", [POOL_LOW], T0 + timedelta(hours=6, minutes=2)).sent == 0
    reminder = inbox(mail_server, oncall)[1]
    assert reminder["Subject"] == f"[XGet] STILL OPEN: {POOL_LOW.title}"
    assert "STILL OPEN for 6 h 1 min" in body(reminder) and "What to do:" in body(reminder)

    assert restarted.report("pool", [], T0 + timedelta(hours=7)).sent == 1
    assert restarted.report("pool", [], T0 + timedelta(hours=8)).sent == 0
    messages = inbox(mail_server, oncall)
    assert len(messages) == 3 and messages[2]["Subject"] == f"[XGet] RECOVERED: {POOL_LOW.title}"
    assert "RECOVERED after 7 h 0 min" in body(messages[2])


def test_incidents_opening_in_one_tick_arrive_as_one_digest(sqlite_url, mail_server, smtp_relay, oncall):
    alerts = alerts_for(sqlite_url, smtp_relay.url(), oncall)
    dead = [
        Incident(f"proxy:{n}:inactive", title=f"proxy {n} INACTIVE", remedy=f"replace proxy {n}")
        for n in (1, 2, 3)
    ]
    assert alerts.report("proxy", dead, T0).sent == 3
    (digest,) = inbox(mail_server, oncall)
    assert digest["Subject"] == "[XGet] 3 alerts: 3 new" and smtp_relay.received == 1
    text = body(digest)
    for n in (1, 2, 3):
        assert f"NEW: proxy {n} INACTIVE [proxy:{n}:inactive]" in text
        assert f"What to do: replace proxy {n}" in text
    # Two come back, one stays: one email with the two recoveries.
    assert alerts.report("proxy", dead[2:], T0 + timedelta(minutes=5)).sent == 2
    second = inbox(mail_server, oncall)[1]
    assert second["Subject"] == "[XGet] 2 alerts: 2 recovered" and "proxy 3" not in body(second)


def test_two_processes_never_send_the_same_incident_twice(sqlite_url):
    first, second = (IncidentBook(get_engine(sqlite_url)) for _ in range(2))
    assert first.open(POOL_LOW, T0) is True
    assert second.open(POOL_LOW, T0) is False  # already open: the unique key and the guarded update
    token, notices = first.claim(T0)
    assert [n.key for n in notices] == [POOL_LOW.key]
    assert second.claim(T0)[1] == []  # held by the first sender
    first.sent(token, notices, T0)
    assert second.claim(T0 + timedelta(minutes=30))[1] == []  # sent: nothing owed


def test_the_smtp_password_never_reaches_the_log(sqlite_url, mail_server, smtp_relay, oncall, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = alerts_for(sqlite_url, smtp_relay.url(password="not-the-pw"), oncall)
    refused = wrong.report("pool", [POOL_LOW], T0)
    assert refused.error and "smtp://alerts:***@127.0.0.1" in refused.error
    assert "SMTPAuthenticationError" in refused.error  # the server's answer, not a timeout
    assert alerts_for(sqlite_url, smtp_relay.url(), oncall).deliver(T0).sent == 1
    assert "did not take the alert email" in caplog.text and "alert email sent" in caplog.text
    assert smtp_relay.password not in caplog.text and "not-the-pw" not in caplog.text
    assert smtp_relay.password not in refused.summary()


def test_a_dead_mail_server_is_a_clear_error_and_the_alert_goes_out_next_tick(
    sqlite_url, mail_server, smtp_relay, oncall, caplog
):
    port = _free_port()  # nobody listens
    down = alerts_for(sqlite_url, f"smtp://alerts:pw-of-dead@127.0.0.1:{port}", oncall, smtp_timeout_s=5)
    outcome = down.report("pool", [POOL_LOW], T0)
    assert outcome.sent == 0 and outcome.pending == 1
    assert f"SMTP server smtp://alerts:***@127.0.0.1:{port} did not take the alert email" in caplog.text
    assert "sent on the next tick" in caplog.text and "pw-of-dead" not in caplog.text
    # The next tick, the server is back (another URL here): the owed opening goes out, once.
    back = alerts_for(sqlite_url, smtp_relay.url(), oncall)
    assert back.report("pool", [POOL_LOW], T0 + timedelta(minutes=1)).sent == 1
    (opened,) = inbox(mail_server, oncall)
    assert opened["Subject"] == f"[XGet] NEW: {POOL_LOW.title}"


def _pool_tick(sqlite_url, cursor, alerts):
    resources = {
        "account_pool": AccountPoolResource(control_plane=control_plane_resource(sqlite_url), min_usable=2),
        "alerts": alerts,
    }
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        result = account_pool_health_sensor(ctx)
        return result, ctx.cursor


def test_the_pool_health_sensor_mails_and_posts_a_low_pool(
    sqlite_url,
    mail_server,
    smtp_relay,
    oncall,
    webhook,  # noqa: F811
):
    url, received = webhook
    alerts = alerts_for(sqlite_url, smtp_relay.url(), oncall, webhook_url=url)
    pool = AccountPool(get_engine(sqlite_url), secrets=installation_box())
    pool.add_accounts([("m1", {"auth_token": "t", "ct0": "c"})])
    result, cursor = _pool_tick(sqlite_url, None, alerts)
    assert "1 alert(s) emailed" in result.skip_message and len(received) == 1
    (opened,) = inbox(mail_server, oncall)
    assert "account pool low for" in opened["Subject"] and "What to do:" in body(opened)
    assert "xget accounts login NAME" in body(opened) and "What to do:" in received[0]["text"]
    _pool_tick(sqlite_url, cursor, alerts)
    assert len(inbox(mail_server, oncall)) == 1 and len(received) == 1


def test_a_dead_mail_server_does_not_break_the_pool_health_sensor(sqlite_url):
    down = alerts_for(sqlite_url, f"smtp://127.0.0.1:{_free_port()}", "oncall@alerts.test", smtp_timeout_s=5)
    result, _ = _pool_tick(sqlite_url, None, down)  # no accounts at all: low
    assert "not delivered, retried next tick" in result.skip_message
