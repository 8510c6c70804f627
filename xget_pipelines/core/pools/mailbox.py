"""Reading X's emailed confirmation code (the ``LoginAcid`` login step) from the account's mailbox over IMAP.

When X asks for the code it has just emailed, ``account_login.login_account`` calls an
:class:`ImapCodeReader` built for the account's email and email password. The reader logs in to the
mailbox (IMAPS by default, plain IMAP by setting), and polls the configured folders for a message from
X that arrived after the login started, until ``XGET_IMAP_TIMEOUT_S``. The code is read from the subject
("Your X confirmation code is abc12def"), else from the body.

The IMAP server comes from ``XGET_IMAP_SERVER`` (``host[:port]``) when set, otherwise from the email's
domain (Gmail, Outlook, Yahoo, iCloud, ... or ``imap.<domain>``). Errors name the server and the
mailbox, never the password.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
import ssl
import time
from dataclasses import dataclass

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.redact import scrub

# Providers whose IMAP host is not imap.<domain>.
IMAP_HOSTS = {
    "gmail.com": "imap.gmail.com",
    "googlemail.com": "imap.gmail.com",
    "outlook.com": "outlook.office365.com",
    "hotmail.com": "outlook.office365.com",
    "live.com": "outlook.office365.com",
    "msn.com": "outlook.office365.com",
    "yahoo.com": "imap.mail.yahoo.com",
    "icloud.com": "imap.mail.me.com",
    "me.com": "imap.mail.me.com",
    "mac.com": "imap.mail.me.com",
    "aol.com": "imap.aol.com",
    "mail.ru": "imap.mail.ru",
    "inbox.ru": "imap.mail.ru",
    "list.ru": "imap.mail.ru",
    "bk.ru": "imap.mail.ru",
    "rambler.ru": "imap.rambler.ru",
    "yandex.ru": "imap.yandex.ru",
    "yandex.com": "imap.yandex.com",
    "gmx.com": "imap.gmx.com",
    "gmx.net": "imap.gmx.net",
    "gmx.de": "imap.gmx.net",
    "web.de": "imap.web.de",
    "zoho.com": "imap.zoho.com",
    "proton.me": "127.0.0.1",  # Proton needs its local Bridge
}
SENDERS = ("x.com", "twitter.com")
SUBJECT_CODE = re.compile(r"(?:X|Twitter) confirmation code is\s+([A-Za-z0-9]{4,12})", re.I)
BODY_CODE = re.compile(r"(?:confirmation|verification) code(?:\s+is)?\s*[:\-]?\s*([A-Za-z0-9]{6,12})\b", re.I)
CLOCK_SLACK_S = 5.0  # IMAP dates have second resolution and servers' clocks drift


class MailboxError(XGetError):
    """The mailbox could not be read (server unreachable, login refused, no code in time)."""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    ssl: bool

    def __str__(self) -> str:
        return f"{'imaps' if self.ssl else 'imap'}://{self.host}:{self.port}"


def imap_server_for(email_address: str, server: str = "", use_ssl: bool = True) -> ImapServer:
    """The IMAP server of a mailbox: ``server`` (``host[:port]``) when given, else by the email's domain."""
    default_port = 993 if use_ssl else 143
    if server:
        host, _, port = server.strip().rpartition(":") if ":" in server else (server.strip(), "", "")
        try:
            return ImapServer(host or server.strip(), int(port) if port else default_port, use_ssl)
        except ValueError:
            raise MailboxError(f"XGET_IMAP_SERVER={server!r} is not host[:port]") from None
    domain = email_address.rpartition("@")[2].strip().lower()
    if not domain or "@" not in email_address:
        raise MailboxError(f"{email_address!r} is not an email address: fix the account's email")
    return ImapServer(IMAP_HOSTS.get(domain, f"imap.{domain}"), default_port, use_ssl)


def code_from_message(raw: bytes) -> str | None:
    """X's confirmation code in an email (subject first, then the text body), or None."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    match = SUBJECT_CODE.search(str(msg.get("subject", "")))
    if match:
        return match.group(1)
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        return None
    match = BODY_CODE.search(re.sub(r"<[^>]+>", " ", str(text)))
    return match.group(1) if match else None


class ImapCodeReader:
    """Callable that returns the newest X confirmation code mailed to ``address`` since it was created."""

    def __init__(
        self,
        address: str,
        password: str,
        server: ImapServer,
        *,
        folders: tuple[str, ...] = ("INBOX",),
        timeout_s: float = 60.0,
        poll_s: float = 2.0,
        ca_file: str | None = None,
    ):
        self.address, self._password, self.server = address, password, server
        self.folders, self.timeout_s, self.poll_s, self.ca_file = folders, timeout_s, poll_s, ca_file
        self.since = time.time() - CLOCK_SLACK_S

    def _connect(self) -> imaplib.IMAP4:
        where = f"{self.server} (mailbox {self.address})"
        try:
            if self.server.ssl:
                context = ssl.create_default_context(cafile=self.ca_file)
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.server.host, self.server.port, ssl_context=context, timeout=20
                )
            else:
                conn = imaplib.IMAP4(self.server.host, self.server.port, timeout=20)
        except ssl.SSLError as exc:
            raise MailboxError(
                f"TLS with {where} failed ({exc.reason or exc}): check XGET_IMAP_SSL / XGET_IMAP_CA_FILE"
            ) from None
        except (TimeoutError, OSError) as exc:
            raise MailboxError(
                f"cannot reach IMAP server {where} ({type(exc).__name__}: {exc}): "
                "set XGET_IMAP_SERVER to the mailbox's IMAP host"
            ) from None
        try:
            conn.login(self.address, self._password)
        except imaplib.IMAP4.error as exc:
            conn.shutdown()
            detail = scrub(str(exc), [self._password])
            raise MailboxError(
                f"IMAP login to {where} refused ({detail}): check the account's email password "
                "(many providers need an app password)"
            ) from None
        return conn

    def _newest_code(self, conn: imaplib.IMAP4) -> str | None:
        best: tuple[float, int, str] | None = None
        day = time.strftime("%d-%b-%Y", time.gmtime(self.since - 86400))
        for folder in self.folders:
            status, _ = conn.select(_quote(folder), readonly=True)
            if status != "OK":
                raise MailboxError(
                    f"no folder {folder!r} in {self.address} on {self.server}: fix XGET_IMAP_FOLDERS"
                )
            status, data = conn.uid("search", None, "SINCE", day)
            if status != "OK" or not data or not data[0]:
                continue
            for uid in data[0].split()[-50:]:  # the newest 50 messages of the last days are plenty
                status, parts = conn.uid("fetch", uid, "(INTERNALDATE BODY.PEEK[])")
                if status != "OK":
                    continue
                meta, raw = _fetched(parts)
                if raw is None:
                    continue
                arrived = _internaldate(meta)
                if arrived is None or arrived < self.since:
                    continue
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                sender = str(msg.get("from", "")).lower()
                if not any(s in sender for s in SENDERS):
                    continue
                code = code_from_message(raw)
                if code and (best is None or (arrived, int(uid)) > best[:2]):
                    best = (arrived, int(uid), code)
        return best[2] if best else None

    def __call__(self) -> str:
        deadline = time.monotonic() + self.timeout_s
        conn = self._connect()
        try:
            while True:
                code = self._newest_code(conn)
                if code:
                    return code
                if time.monotonic() >= deadline:
                    raise MailboxError(
                        f"no X confirmation code arrived in {', '.join(self.folders)} of "
                        f"{self.address} within {self.timeout_s:g}s: check the mailbox (and "
                        "XGET_IMAP_FOLDERS if X's mail lands in spam)"
                    )
                time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))
                conn.noop()
        finally:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetched(parts: list) -> tuple[bytes, bytes | None]:
    for part in parts or []:
        if isinstance(part, tuple) and len(part) == 2:
            return part[0], part[1]
    return b"", None


def _internaldate(meta: bytes) -> float | None:
    tup = imaplib.Internaldate2tuple(meta)  # local time, as time.mktime wants it
    return time.mktime(tup) if tup else None


@dataclass(frozen=True)
class ImapConfig:
    """Where and how the accounts' mailboxes are read (``XGET_IMAP_*``; the entry points build it)."""

    server: str = ""  # host[:port]; empty: by the email's domain
    ssl: bool = True
    folders: tuple[str, ...] = ("INBOX",)
    timeout_s: float = 60.0
    poll_s: float = 2.0
    ca_file: str | None = None

    @staticmethod
    def folder_list(text: str) -> tuple[str, ...]:
        """``XGET_IMAP_FOLDERS`` (comma-separated) as folders; INBOX when it names none."""
        return tuple(f.strip() for f in text.split(",") if f.strip()) or ("INBOX",)


def reader_for_account(address: str | None, password: str | None, imap: ImapConfig) -> ImapCodeReader | None:
    """An IMAP code reader for an account's mailbox, or None without an email and its password."""
    if not address or not password:
        return None
    return ImapCodeReader(
        address,
        password,
        imap_server_for(address, imap.server, imap.ssl),
        folders=imap.folders,
        timeout_s=imap.timeout_s,
        poll_s=imap.poll_s,
        ca_file=imap.ca_file or None,
    )
