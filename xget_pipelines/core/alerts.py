"""Alerts to a chat webhook (Slack-compatible JSON ``{"text": ...}``) and to people by email over SMTP;
retried, never fatal.

The SMTP server is one URL, ``smtp://user:password@host:587`` (STARTTLS when the server offers it, or
always with ``?starttls=required``; ``?starttls=off`` for a local relay), or ``smtps://...:465`` (TLS from
the first byte). Its password is a secret: every log line and error names the server as ``masked_url``
shows it (``smtp://user:***@host:587``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from xget_pipelines.core.redact import masked_url, scrub

log = logging.getLogger(__name__)


def post_webhook(
    url: str, text: str, attempts: int = 3, timeout_s: float = 10.0, backoff_s: float = 1.0
) -> bool:
    """POST the alert; True once the webhook accepts it (2xx). Failures are logged, not raised:
    an alert that cannot be delivered must not break the sensor that raised it."""
    for attempt in range(1, attempts + 1):
        try:
            rep = httpx.post(url, json={"text": text}, timeout=timeout_s)
            if rep.is_success:
                return True
            problem = f"HTTP {rep.status_code}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        log.warning("alert webhook attempt %d/%d failed: %s", attempt, attempts, problem)
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return False


STARTTLS_MODES = ("auto", "required", "off")


@dataclass(frozen=True)
class SmtpServer:
    """Where alert emails go, parsed from the URL of ``XGET_ALERT_SMTP_URL``."""

    host: str
    port: int
    ssl: bool  # smtps://: TLS from the first byte
    starttls: str  # auto | required | off (smtp:// only)
    username: str
    password: str
    label: str  # the URL with its password masked: what logs and errors show

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse ``smtp[s]://[user[:password]@]host[:port][?starttls=auto|required|off]``; a clear error
        naming what is wrong otherwise (the password never in it)."""
        label = masked_url(url)
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                f"XGET_ALERT_SMTP_URL {label!r} is not an SMTP URL: write smtp://user:password@host:587 "
                "(STARTTLS) or smtps://user:password@host:465 (TLS)"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        starttls = query.get("starttls", "auto").lower()
        if starttls not in STARTTLS_MODES:
            raise ValueError(
                f"XGET_ALERT_SMTP_URL {label!r}: starttls must be one of {', '.join(STARTTLS_MODES)}"
            )
        is_ssl = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if is_ssl else 587)
        except ValueError as exc:
            raise ValueError(f"XGET_ALERT_SMTP_URL {label!r}: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            ssl=is_ssl,
            starttls="off" if is_ssl else starttls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            label=label,
        )

    def _connect(self, timeout_s: float) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=timeout_s, context=context)
        conn = smtplib.SMTP(self.host, self.port, timeout=timeout_s)
        conn.ehlo()
        if self.starttls == "required" or (self.starttls == "auto" and conn.has_extn("starttls")):
            conn.starttls(context=context)
            conn.ehlo()
        return conn

    def send(self, message: EmailMessage, timeout_s: float = 20.0) -> None:
        """Deliver ``message`` (one connection, logged in when the URL has a user); raises
        ``AlertDeliveryError`` naming the server (masked) and why."""
        try:
            with self._connect(timeout_s) as conn:
                if self.username:
                    conn.login(self.username, self.password)
                refused = conn.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            why = scrub(f"{type(exc).__name__}: {exc}", [self.password])
            raise AlertDeliveryError(
                f"SMTP server {self.label} did not take the alert email: {why}"
            ) from None
        if refused:
            raise AlertDeliveryError(
                f"SMTP server {self.label} refused the alert email for {', '.join(sorted(refused))}"
            )


class AlertDeliveryError(RuntimeError):
    """An alert a channel did not accept; the message names the channel (its secret masked) and why."""


def email_message(sender: str, recipients: list[str], subject: str, body: str) -> EmailMessage:
    """A plain-text email with the headers a mail server expects (Date, Message-ID)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "xget.local")
    message.set_content(body)
    return message
