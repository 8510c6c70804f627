"""One account's state as an operator asks for it (GET /v1/accounts/{name}/status): usable now or not and
why, its window per X operation, and what account upkeep last did and does next. Never a secret."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account, AccountOperation
from xget_pipelines.core.pools.accounts import operation_window


def _state(account, now: float) -> str:
    if not account.active:
        return "out"
    if (account.quarantined_until or 0) > now:
        return "quarantined"
    return "active"


def account_status(engine: Engine, username: str, now: datetime | None = None) -> dict | None:
    """The account's status at ``now``, or None when there is no such account."""
    at = (now or datetime.now(UTC)).timestamp()
    with read_only(engine) as conn:
        account = conn.execute(select(Account).where(Account.username == username)).first()
        if account is None:
            return None
        ops = conn.execute(
            select(AccountOperation)
            .where(AccountOperation.account_id == account.id)
            .order_by(AccountOperation.operation)
        ).all()
    windows = []
    for op in ops:
        window = operation_window(op)
        window["open"] = not (
            window["remaining"] is not None and window["remaining"] <= 0 and (window["reset_at"] or 0) > at
        )
        windows.append(window)
    day = datetime.fromtimestamp(at, UTC).date().isoformat()
    return {
        "username": account.username,
        "state": _state(account, at),
        "active": account.active,
        "reason": account.error_msg,
        "out_cause": account.out_cause,
        "quarantined_until": account.quarantined_until if (account.quarantined_until or 0) > at else None,
        "last_used": account.last_used,
        "last_check_at": account.last_check_at,
        "last_check": account.last_check,
        "next_check_at": account.next_check_at,
        "last_login_at": account.last_login_at,
        "login_reason": account.login_reason,
        "login_failures": account.login_failures or 0,
        "logins_today": account.logins_on_day if account.logins_day == day else 0,
        "operations": windows,
    }
