"""Rules for request parameters that REST (``routes/``) and GraphQL (``graphql_types.py``) share, so both
refuse the same input with the same message: times and windows, and whose tasks a principal sees."""

from __future__ import annotations

import datetime as dt

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.errors import InvalidField


def aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """A time with its zone (UTC when it has none), within 2006-2100; InvalidField names ``field``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if value.year < 2006 or value.year > 2100:
        raise InvalidField(f"{field} {value.isoformat()} is outside 2006-2100", field)
    return value


def time_window(
    since: dt.datetime | None, until: dt.datetime | None, default_days: int
) -> tuple[dt.datetime, dt.datetime]:
    """An analytics window: until defaults to now, since to ``default_days`` before; at most 366 days."""
    until = aware(until, "until") or dt.datetime.now(dt.UTC)
    since = aware(since, "since") or until - dt.timedelta(days=default_days)
    if since >= until:
        raise InvalidField("since must be before until", "since")
    if (until - since).days > 366:
        raise InvalidField("a window spans at most 366 days", "since")
    return since, until


def task_owner(principal: Principal) -> int | None:
    """Whose tasks a principal sees and manages: everyone's (None) with tasks:admin, else its own."""
    return None if principal.can(Permission.TASKS_ADMIN) else principal.user_id
