"""When account upkeep looks at an account again, and what one tick of it did (``account_upkeep.py``).

Why an inactive account is out (``accounts.out_cause``) decides what upkeep does with it:

- ``session`` (X no longer knows the session: code 32, a 401, a refused csrf token, the signed-out app) and
  ``login`` (an automatic login failed): log in again with the stored credentials, with backoff and a cap
  per UTC day;
- ``suspended`` (code 64), ``locked`` (code 326), ``refused`` (a 403 without a known code): re-checked
  rarely, since X lifts some; a check X serves brings the account back;
- none: out by hand (``xget accounts disable``, PATCH ``active: false``): left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

SESSION, LOGIN = "session", "login"
SUSPENDED, LOCKED, REFUSED = "suspended", "locked", "refused"
RENEWABLE = (SESSION, LOGIN)
RECHECKED = (SUSPENDED, LOCKED, REFUSED)
CAUSES = (*RENEWABLE, *RECHECKED)


@dataclass(frozen=True)
class AccountCadence:
    """``check_interval_s``: one cheap request per ACTIVE account this often. ``recheck_refused_s``: a
    suspended, locked or refused account is asked again this often. A failed automatic login is retried
    after ``login_backoff_s``, doubled per failure in a row, at most ``login_backoff_max_s``; at most
    ``logins_per_day`` automatic logins per account and UTC day."""

    check_interval_s: float = 3600.0
    recheck_refused_s: float = 21600.0
    login_backoff_s: float = 900.0
    login_backoff_max_s: float = 21600.0
    logins_per_day: int = 3

    def __post_init__(self):
        if (
            min(self.check_interval_s, self.recheck_refused_s, self.login_backoff_s, self.login_backoff_max_s)
            <= 0
        ):
            raise ValueError("account upkeep intervals must be positive (seconds)")
        if self.logins_per_day < 0:
            raise ValueError("logins_per_day must be 0 (never log in by itself) or more")

    def login_delay_s(self, failures: int) -> float:
        """The wait before the next automatic login after ``failures`` failed ones in a row."""
        return min(self.login_backoff_max_s, self.login_backoff_s * 2 ** min(max(failures - 1, 0), 40))


def next_utc_day(now: datetime) -> datetime:
    """Midnight UTC after ``now``: when a capped account may log in again."""
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)


@dataclass
class AccountUpkeepTick:
    """What one tick did, by username: ``checked`` accounts (``healthy`` of them served), ``newly_out``
    (refused by X now), ``returned`` (a suspended or locked account X serves again), ``logged_in`` and
    ``login_failed`` (automatic logins), ``capped`` (at the daily cap), ``needs_person`` (no way to log in
    by itself: the reason says what to do), ``taken`` (due, but another tick held them); ``backlog`` were
    due and left for the next ticks."""

    checked: int = 0
    healthy: int = 0
    newly_out: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    logged_in: list[str] = field(default_factory=list)
    login_failed: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)
    needs_person: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    active: int = 0
    inactive: int = 0
    backlog: int = 0

    @property
    def did_something(self) -> bool:
        return bool(self.checked or self.logged_in or self.login_failed or self.capped or self.needs_person)

    def summary(self) -> str:
        parts = [f"checked {self.checked} ({self.healthy} served)"]
        for label, names in (
            ("out", self.newly_out),
            ("back", self.returned),
            ("logged in again", self.logged_in),
            ("login failed", self.login_failed),
            ("at the daily login cap", self.capped),
            ("need a person", self.needs_person),
            ("held by another tick", self.taken),
        ):
            if names:
                parts.append(f"{label} {len(names)} ({', '.join(names[:5])})")
        parts.append(f"{self.active} active, {self.inactive} inactive")
        if self.backlog:
            parts.append(f"{self.backlog} more due (next ticks)")
        return "; ".join(parts)

    def metadata(self) -> dict:
        return {
            "checked": self.checked,
            "healthy": self.healthy,
            "newly_out": len(self.newly_out),
            "returned": len(self.returned),
            "logged_in": len(self.logged_in),
            "login_failed": len(self.login_failed),
            "capped": len(self.capped),
            "needs_person": len(self.needs_person),
            "taken": len(self.taken),
            "active": self.active,
            "inactive": self.inactive,
            "backlog": self.backlog,
        }
