"""X's emailed confirmation code, read over IMAP from a real Dovecot: the emulator mails the code over
LMTP (as X's mailer would), XGet logs in to the mailbox and reads it back during the login flow."""

from __future__ import annotations

import imaplib
import time
import uuid

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.conftest import emulator_tokens
from xget_pipelines.core.pools.account_login import LoginSetup, login_account
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.pools.login_common import LoginError
from xget_pipelines.core.pools.mailbox import (
    ImapCodeReader,
    ImapConfig,
    ImapServer,
    MailboxError,
    code_from_message,
    imap_server_for,
)
from xget_pipelines.core.secrets import SecretBox

PASSWORD = "hunter2-Very-Secret"
MAIL_PASSWORD = "mailbox-Pa55-secret"


@pytest.fixture
def emu(emulator_factory, mail_server):
    return emulator_factory(window_seconds=5, mail_lmtp=mail_server.lmtp_address)


@pytest.fixture
def pool(engine):
    return AccountPool(engine, secrets=SecretBox(Fernet.generate_key()))


def _account(emu, pool, mail_server, *, mail_password=MAIL_PASSWORD) -> tuple[str, str]:
    """An X account that must confirm its login by email, with a real mailbox; returns (username, email)."""
    name = f"acid_{uuid.uuid4().hex[:6]}"
    address = f"{name}@mail.test"
    mail_server.add_user(address, MAIL_PASSWORD)
    httpx.post(
        f"{emu.url}/_emulator/login_accounts",
        timeout=10,
        json={"accounts": [{"username": name, "password": PASSWORD, "email": address, "acid": True}]},
    ).raise_for_status()
    upsert_accounts(
        pool.engine,
        pool.secrets,
        [AccountRecord(username=name, password=PASSWORD, email=address, email_password=mail_password)],
    )
    return name, address


def test_login_reads_the_emailed_code_over_imaps(emu, pool, mail_server):
    imap = ImapConfig(f"127.0.0.1:{mail_server.imaps_port}", ca_file=mail_server.ca_file, poll_s=0.2)
    name, address = _account(emu, pool, mail_server)

    cookies = login_account(pool, name, LoginSetup(emu.url, imap=imap))

    assert cookies == emulator_tokens(emu, name)
    state = next(a for a in pool.status() if a["username"] == name)
    assert state["active"] is True and state["error"] is None
    # The code really went through the mailbox: the message is there, from X, and unread by XGet.
    conn = imaplib.IMAP4("127.0.0.1", mail_server.imap_port)
    conn.login(address, MAIL_PASSWORD)
    conn.select("INBOX", readonly=True)
    _, data = conn.search(None, "FROM", "verify@x.com", "UNSEEN")
    assert len(data[0].split()) == 1
    conn.logout()


def test_plain_imap_by_setting_and_a_second_login_uses_the_new_code(emu, pool, mail_server):
    setup = LoginSetup(emu.url, imap=ImapConfig(f"127.0.0.1:{mail_server.imap_port}", ssl=False, poll_s=0.2))
    name, _ = _account(emu, pool, mail_server)
    first = login_account(pool, name, setup)
    time.sleep(1.1)  # the second code arrives in a later second than the first
    second = login_account(pool, name, setup)  # two X emails in the box now: the newest one is used
    assert first == second == emulator_tokens(emu, name)


def test_wrong_mailbox_password_fails_at_the_code_step_without_leaking_it(emu, pool, mail_server):
    imap = ImapConfig(f"127.0.0.1:{mail_server.imaps_port}", ca_file=mail_server.ca_file)
    name, address = _account(emu, pool, mail_server, mail_password="not-the-mail-password")

    with pytest.raises(LoginError) as err:
        login_account(pool, name, LoginSetup(emu.url, imap=imap))

    msg = str(err.value)
    assert err.value.step == "LoginAcid"
    assert "IMAP login to imaps://127.0.0.1" in msg and address in msg and "email password" in msg
    for secret in (PASSWORD, MAIL_PASSWORD, "not-the-mail-password"):
        assert secret not in msg
    state = next(a for a in pool.status() if a["username"] == name)
    assert state["active"] is False and "IMAP login" in state["error"]


def test_tls_to_an_untrusted_server_is_refused_with_the_setting_to_fix(emu, pool, mail_server):
    imap = ImapConfig(f"127.0.0.1:{mail_server.imaps_port}")  # the test CA is not trusted
    name, _ = _account(emu, pool, mail_server)
    with pytest.raises(LoginError, match="TLS with imaps://127.0.0.1.*XGET_IMAP_CA_FILE"):
        login_account(pool, name, LoginSetup(emu.url, imap=imap))


def test_no_email_in_time_names_the_mailbox_and_folders(emulator_factory, pool, mail_server):
    silent = emulator_factory(window_seconds=5)  # this X never mails its codes
    imap = ImapConfig(
        f"127.0.0.1:{mail_server.imap_port}",
        ssl=False,
        folders=ImapConfig.folder_list("INBOX"),
        timeout_s=1,
        poll_s=0.2,
    )
    name, address = _account(silent, pool, mail_server)
    started = time.monotonic()
    with pytest.raises(LoginError) as err:
        login_account(pool, name, LoginSetup(silent.url, imap=imap))
    assert time.monotonic() - started < 15  # bounded by the setting, not a hang
    assert f"no X confirmation code arrived in INBOX of {address} within 1s" in str(err.value)


def test_reader_ignores_old_mail_and_other_senders(mail_server):
    address = f"reader_{uuid.uuid4().hex[:6]}@mail.test"
    mail_server.add_user(address, MAIL_PASSWORD)
    conn = imaplib.IMAP4("127.0.0.1", mail_server.imap_port)
    conn.login(address, MAIL_PASSWORD)
    old = (
        "From: X <verify@x.com>\r\nTo: "
        + address
        + "\r\nSubject: Your X confirmation code is oldcode1\r\n\r\nold\r\n"
    )
    conn.append("INBOX", None, imaplib.Time2Internaldate(time.time() - 3600), old.encode())
    conn.logout()

    reader = ImapCodeReader(
        address,
        MAIL_PASSWORD,
        ImapServer("127.0.0.1", mail_server.imap_port, False),
        timeout_s=1.5,
        poll_s=0.2,
    )
    mail_server.deliver(
        address, "Your X confirmation code is phish999", "click here", sender="X <x@evil.test>"
    )
    with pytest.raises(MailboxError, match="no X confirmation code arrived"):
        reader()  # neither the hour-old code nor a stranger's mail counts
    mail_server.deliver(address, "Login attempt", "Your confirmation code is:\n\n  ab12cd34\n")
    assert reader() == "ab12cd34"  # from the body when the subject has none


def test_unreachable_server_and_bad_setting_are_clear():
    reader = ImapCodeReader("a@mail.test", "pw", ImapServer("127.0.0.1", 1, False), timeout_s=1)
    with pytest.raises(MailboxError, match="cannot reach IMAP server imap://127.0.0.1:1 .*XGET_IMAP_SERVER"):
        reader()
    with pytest.raises(MailboxError, match="not host\\[:port\\]"):
        imap_server_for("a@mail.test", "host:notaport")
    with pytest.raises(MailboxError, match="not an email address"):
        imap_server_for("no-at-sign")


def test_imap_server_by_domain():
    assert imap_server_for("someone@gmail.com") == ImapServer("imap.gmail.com", 993, True)
    assert imap_server_for("someone@Hotmail.com") == ImapServer("outlook.office365.com", 993, True)
    assert imap_server_for("x@rambler.ru", use_ssl=False) == ImapServer("imap.rambler.ru", 143, False)
    assert imap_server_for("x@example.net") == ImapServer("imap.example.net", 993, True)
    assert imap_server_for("x@example.net", "mail.local:1993") == ImapServer("mail.local", 1993, True)


def test_code_from_message_subject_and_html_body():
    assert code_from_message(b"Subject: Your X confirmation code is k3j4h5g6\r\n\r\nbody") == "k3j4h5g6"
    html = b"Subject: Confirm\r\nContent-Type: text/html\r\n\r\n<p>Your confirmation code:</p><b>9f8e7d6c</b>"
    assert code_from_message(html) == "9f8e7d6c"
    assert code_from_message(b"Subject: hello\r\n\r\nnothing here") is None
