"""Incidents: what a person is told about by email, once per incident, not once per tick.

A sensor that watches something (the account pool, proxies, accounts, runs) says what is wrong right now
as a list of ``Incident`` values, each with a stable key (``pool:accounts_usable_low``,
``proxy:7:inactive``, ``account:alice:out``, ``run_failures:<job>``). The ``IncidentBook`` in the
control-plane database (table ``alert_incidents``) turns those states into messages:

- a key not open before is **opened**: one message;
- a key still open owes a **reminder** once ``reminder_s`` passed since its last message;
- an open key the sensor no longer reports is **recovered**: one message.

The message owed is stored on the row (``pending``) until a channel accepted it, so a mail server that is
down delays it to the next tick and never loses it, and a restart does not send it again. Opening is an
insert under a unique key and every change is a guarded update (``WHERE status = 'open'``, ``WHERE
pending IS NULL``), so several sensor processes that see the same state open, remind and close each
incident once. Sending claims the pending rows with a token first (``claim``); only the claimant sends
them, and a claim older than ``CLAIM_TIMEOUT`` (a sender that died) is taken over.

Everything pending goes out together: ``Notice`` rows are rendered as one digest (``digest``), so twenty
proxies dying in the same minute are one email listing twenty, each naming what to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import AlertIncident

OPEN, RESOLVED = "open", "resolved"
OPENED, REMINDER, RECOVERED = "opened", "reminder", "recovered"
CLAIM_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class Incident:
    """Something wrong now: its stable ``key`` (``<source>:...``), what is wrong (``title``, one line),
    the numbers behind it (``detail``) and what a person does about it (``remedy``, never empty)."""

    key: str
    title: str
    remedy: str
    detail: str = ""

    def __post_init__(self) -> None:
        if ":" not in self.key:
            raise ValueError(f"incident key {self.key!r} must start with its source, as in 'pool:...'")
        if not self.remedy.strip():
            raise ValueError(f"incident {self.key} must say what to do (remedy)")

    @property
    def source(self) -> str:
        return self.key.split(":", 1)[0]


@dataclass(frozen=True)
class Notice:
    """One message owed: ``kind`` (opened, reminder, recovered) for an incident as stored."""

    id: int
    key: str
    kind: str
    title: str
    detail: str
    remedy: str
    opened_at: datetime
    resolved_at: datetime | None


class IncidentBook:
    """The incidents in the control-plane database; ``reminder_s`` paces reminders of open ones."""

    def __init__(self, engine: Engine, reminder_s: float = 6 * 3600.0) -> None:
        if reminder_s <= 0:
            raise ValueError("the reminder interval must be positive (XGET_ALERT_REMINDER_HOURS)")
        self.engine, self.reminder = engine, timedelta(seconds=reminder_s)

    def report(self, source: str, current: Iterable[Incident], now: datetime) -> None:
        """``current`` is everything wrong in ``source`` now: open what is new, keep what lasts (its detail
        refreshed), close the open incidents of ``source`` that are not in it."""
        current = list(current)
        for incident in current:
            if incident.source != source:
                raise ValueError(f"incident {incident.key} is not of source {source!r}")
            self.open(incident, now)
        keys = {incident.key for incident in current}
        with read_only(self.engine) as conn:
            open_keys = conn.scalars(
                select(AlertIncident.key).where(AlertIncident.source == source, AlertIncident.status == OPEN)
            ).all()
        for key in open_keys:
            if key not in keys:
                self.resolve(key, now)

    def open(self, incident: Incident, now: datetime) -> bool:
        """Open ``incident`` (or reopen its resolved row); True when this call opened it. An open one only
        gets its text refreshed: no new message."""
        text = {"title": incident.title, "detail": incident.detail, "remedy": incident.remedy}
        with self.engine.begin() as conn:
            refreshed = conn.execute(
                update(AlertIncident)
                .where(AlertIncident.key == incident.key, AlertIncident.status == OPEN)
                .values(**text, last_seen_at=now)
            ).rowcount
            if refreshed:
                return False
            reopened = conn.execute(
                update(AlertIncident)
                .where(AlertIncident.key == incident.key, AlertIncident.status == RESOLVED)
                .values(
                    **text,
                    status=OPEN,
                    pending=OPENED,
                    opened_at=now,
                    last_seen_at=now,
                    resolved_at=None,
                    reminders=0,
                )
            ).rowcount
            if reopened:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    AlertIncident.__table__.insert().values(
                        key=incident.key,
                        source=incident.source,
                        status=OPEN,
                        pending=OPENED,
                        opened_at=now,
                        last_seen_at=now,
                        reminders=0,
                        **text,
                    )
                )
        except IntegrityError:  # another process opened it between our update and insert
            return False
        return True

    def resolve(self, key: str, now: datetime) -> bool:
        """Close the open incident ``key``: one recovery message is owed. True when this call closed it."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(AlertIncident)
                    .where(AlertIncident.key == key, AlertIncident.status == OPEN)
                    .values(status=RESOLVED, resolved_at=now, pending=RECOVERED)
                ).rowcount
            )

    def remind(self, now: datetime) -> int:
        """Owe a reminder for each open incident whose last message is ``reminder_s`` old; how many."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(AlertIncident)
                .where(
                    AlertIncident.status == OPEN,
                    AlertIncident.pending.is_(None),
                    AlertIncident.notified_at <= now - self.reminder,
                )
                .values(pending=REMINDER)
            ).rowcount

    def claim(self, now: datetime) -> tuple[str, list[Notice]]:
        """Take the pending messages no live sender holds: (the claim token, the notices, oldest first)."""
        token = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                update(AlertIncident)
                .where(
                    AlertIncident.pending.is_not(None),
                    or_(AlertIncident.claim.is_(None), AlertIncident.claimed_at < now - CLAIM_TIMEOUT),
                )
                .values(claim=token, claimed_at=now)
            )
            rows = conn.execute(
                select(AlertIncident).where(AlertIncident.claim == token).order_by(AlertIncident.id)
            ).all()
        notices = [
            Notice(r.id, r.key, r.pending, r.title, r.detail or "", r.remedy, r.opened_at, r.resolved_at)
            for r in rows
        ]
        return token, notices

    def sent(self, token: str, notices: list[Notice], now: datetime) -> None:
        """The claimed ``notices`` were delivered: nothing owed for them any more, unless the incident
        changed meanwhile (resolved while its opening was being sent: that recovery is still owed)."""
        with self.engine.begin() as conn:
            for notice in notices:
                conn.execute(
                    update(AlertIncident)
                    .where(
                        and_(
                            AlertIncident.id == notice.id,
                            AlertIncident.claim == token,
                            AlertIncident.pending == notice.kind,
                        )
                    )
                    .values(
                        pending=None,
                        notified_at=now,
                        reminders=AlertIncident.reminders + (1 if notice.kind == REMINDER else 0),
                    )
                )
            self._release(conn, token)

    def release(self, token: str) -> None:
        """The claimed messages were not delivered: leave them owed, for the next tick to send."""
        with self.engine.begin() as conn:
            self._release(conn, token)

    @staticmethod
    def _release(conn, token: str) -> None:
        conn.execute(
            update(AlertIncident).where(AlertIncident.claim == token).values(claim=None, claimed_at=None)
        )

    def open_incidents(self) -> list[AlertIncident]:
        with read_only(self.engine) as conn:
            return list(
                conn.execute(
                    select(AlertIncident).where(AlertIncident.status == OPEN).order_by(AlertIncident.id)
                ).all()
            )


_HEADINGS = {OPENED: "NEW", REMINDER: "STILL OPEN", RECOVERED: "RECOVERED"}


def _utc(moment: datetime) -> datetime:
    """SQLite gives stored times back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _since(start: datetime, end: datetime) -> str:
    start, end = _utc(start), _utc(end)
    minutes = max(0, int((end - start).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def digest(notices: list[Notice], now: datetime) -> tuple[str, str]:
    """(subject, body) of one email for all ``notices``: the subject counts them by kind (or is the one
    incident's title), the body lists each with what to do."""
    counts = {kind: sum(1 for n in notices if n.kind == kind) for kind in _HEADINGS}
    if len(notices) == 1:
        (only,) = notices
        subject = f"[XGet] {_HEADINGS[only.kind]}: {only.title}"
    else:
        parts = [f"{n} {_HEADINGS[kind].lower()}" for kind, n in counts.items() if n]
        subject = f"[XGet] {len(notices)} alerts: {', '.join(parts)}"
    lines = [f"XGet alerts at {now:%Y-%m-%d %H:%M} UTC.", ""]
    for notice in notices:
        if notice.kind == RECOVERED:
            lasted = _since(notice.opened_at, notice.resolved_at or now)
            head = f"{_HEADINGS[notice.kind]} after {lasted}"
        elif notice.kind == REMINDER:
            head = f"{_HEADINGS[notice.kind]} for {_since(notice.opened_at, now)}"
        else:
            head = _HEADINGS[notice.kind]
        lines.append(f"* {head}: {notice.title} [{notice.key}]")
        if notice.detail:
            lines.append(f"  {notice.detail}")
        if notice.kind != RECOVERED:
            lines.append(f"  What to do: {notice.remedy}")
        lines.append("")
    lines.append(
        "Each incident is mailed when it opens, reminded while it lasts and mailed once on recovery."
    )
    return subject, "\n".join(lines)
