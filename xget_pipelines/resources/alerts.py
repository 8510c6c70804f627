"""Where XGet's alerts go: a Slack-compatible webhook (``XGET_ALERT_WEBHOOK_URL``), email to people over SMTP
(``XGET_ALERT_SMTP_URL``, ``XGET_ALERT_EMAIL_FROM``, ``XGET_ALERT_EMAIL_TO``), or the log only.

The webhook gets what the pool health and run failure sensors post, as they happen. Email goes by incident
(``core/incidents.py``): the sensors report what is wrong, the control-plane database remembers which
incidents are open, and each tick sends everything owed (new incidents, reminders every
``XGET_ALERT_REMINDER_HOURS``, recoveries) as one digest email. A mail server that is down is a logged error
naming it; what was owed stays owed and goes with the next tick."""

import logging
from dataclasses import dataclass
from datetime import datetime

import dagster as dg
from pydantic import Field

from xget_pipelines.core.alerts import AlertDeliveryError, SmtpServer, email_message, post_webhook
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.incidents import Incident, IncidentBook, digest

log = logging.getLogger("xget_pipelines.alerts")


@dataclass
class Delivery:
    """What one tick's delivery did: ``sent`` notices (in one email), or ``error`` and ``pending`` left."""

    sent: int = 0
    pending: int = 0
    error: str = ""

    def summary(self) -> str:
        if self.error:
            return f"{self.pending} alert(s) not delivered, retried next tick: {self.error}"
        return f"{self.sent} alert(s) emailed" if self.sent else ""


class AlertsResource(dg.ConfigurableResource):
    """The webhook the pool health and run failure sensors post to, and the email channel and incident book
    every alerting sensor reports to. The webhook URL and the SMTP URL are secrets (a token, a password):
    pass them as ``dg.EnvVar("XGET_ALERT_WEBHOOK_URL")`` / ``dg.EnvVar("XGET_ALERT_SMTP_URL")``, so the UI
    shows only their names."""

    webhook_url: str = Field(default="", description="Slack-compatible webhook URL (a secret); empty: none.")
    attempts: int = Field(
        default=3, description="Tries per message before the alert counts as not delivered."
    )
    backoff_s: float = Field(default=1.0, description="Wait before the second try, doubled after each.")
    database_url: str = Field(
        default="", description="Control-plane DB holding the incidents; empty: no incidents, no email."
    )
    smtp_url: str = Field(
        default="", description="smtp://user:password@host:587 or smtps://... (a secret); empty: no email."
    )
    email_from: str = Field(default="", description="The alert emails' sender address.")
    email_to: str = Field(default="", description="Comma-separated addresses the alert emails go to.")
    reminder_hours: float = Field(default=6.0, description="A reminder per open incident at most this often.")
    proxy_failed_checks: int = Field(
        default=3, description="A proxy is an incident once INACTIVE after this many failed checks in a row."
    )
    smtp_timeout_s: float = Field(default=20.0, description="Longest one SMTP conversation may take.")

    def post(self, text: str) -> bool | None:
        """Send ``text``: True once the webhook accepted it, False when it did not after retries, None when
        there is no webhook to send to."""
        if not self.webhook_url:
            return None
        return post_webhook(self.webhook_url, text, attempts=self.attempts, backoff_s=self.backoff_s)

    def recipients(self) -> list[str]:
        return [a.strip() for a in self.email_to.split(",") if a.strip()]

    def book(self) -> IncidentBook | None:
        """The incident book, or None without a database (the webhook-only setup of older tests)."""
        if not self.database_url:
            return None
        return IncidentBook(get_engine(self.database_url), reminder_s=self.reminder_hours * 3600.0)

    def report(self, source: str, incidents: list[Incident], now: datetime) -> Delivery:
        """``incidents`` is everything wrong in ``source`` now: open, keep or close incidents, then send what
        is owed (of every source) as one digest."""
        book = self.book()
        if book is None:
            return Delivery()
        book.report(source, incidents, now)
        return self.deliver(now, book)

    def open_incident(self, incident: Incident, now: datetime) -> Delivery:
        """An incident raised by an event (a failed run), closed by another (``resolve_incident``)."""
        book = self.book()
        if book is None:
            return Delivery()
        book.open(incident, now)
        return self.deliver(now, book)

    def resolve_incident(self, key: str, now: datetime) -> Delivery:
        book = self.book()
        if book is None:
            return Delivery()
        book.resolve(key, now)
        return self.deliver(now, book)

    def deliver(self, now: datetime, book: IncidentBook | None = None) -> Delivery:
        """Owe the reminders that are due, then send every owed message as one email. Without an SMTP URL
        the digest goes to the log. Never raises for a channel: an undelivered digest is logged (the server
        named, its password masked) and stays owed for the next tick."""
        book = book or self.book()
        if book is None:
            return Delivery()
        book.remind(now)
        token, notices = book.claim(now)
        if not notices:
            return Delivery()
        subject, body = digest(notices, now)
        if not self.smtp_url:
            log.warning("%s\n%s", subject, body)
            book.sent(token, notices, now)
            return Delivery(sent=len(notices))
        try:
            server = SmtpServer.from_url(self.smtp_url)
            recipients = self.recipients()
            if not recipients or not self.email_from:
                raise AlertDeliveryError(
                    f"alert email to {server.label} needs XGET_ALERT_EMAIL_FROM and XGET_ALERT_EMAIL_TO"
                )
            server.send(
                email_message(self.email_from, recipients, subject, body), timeout_s=self.smtp_timeout_s
            )
        except (AlertDeliveryError, ValueError) as exc:
            book.release(token)
            log.error("%s; %d alert(s) stay owed and are sent on the next tick", exc, len(notices))
            return Delivery(pending=len(notices), error=str(exc))
        book.sent(token, notices, now)
        log.info("alert email sent to %s: %s", ", ".join(recipients), subject)
        return Delivery(sent=len(notices))
