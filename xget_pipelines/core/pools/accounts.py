"""X accounts in the control-plane DB: the record XGet imports and the bulk upsert that stores it.

Re-importing an account updates it (by username) instead of duplicating it: the fields the new record
carries replace the stored ones, the rest are kept, and the account is reactivated with its last
error cleared (a deliberate re-import means "try it again"). Secrets are encrypted on the way in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, bindparam, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account, AccountOperation
from xget_pipelines.core.secrets import SecretBox

LOGIN_METHODS = ("TWITTER", "GOOGLE")


@dataclass
class AccountRecord:
    username: str
    password: str | None = None
    email: str | None = None
    email_password: str | None = None
    mfa_secret: str | None = None
    cookies: dict[str, str] | None = None
    login_method: str | None = None  # None: keep the stored one (new accounts: TWITTER)
    user_agent: str | None = None
    proxy_url: str | None = None
    headers: dict[str, str] | None = None

    def __repr__(self) -> str:  # never show secrets, even in a debugger or a traceback
        return (
            f"AccountRecord(username={self.username!r}, email={self.email!r}, "
            f"login_method={self.login_method!r})"
        )


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    usernames: list[str] = field(default_factory=list)


def _values(record: AccountRecord, box: SecretBox) -> dict:
    """Column values a record sets (only the fields it carries)."""
    values: dict = {}
    if record.login_method is not None:
        values["login_method"] = record.login_method
    if record.password is not None:
        values["password_enc"] = box.encrypt(record.password)
    if record.email is not None:
        values["email"] = record.email
    if record.email_password is not None:
        values["email_password_enc"] = box.encrypt(record.email_password)
    if record.mfa_secret is not None:
        values["mfa_secret_enc"] = box.encrypt(record.mfa_secret)
    if record.cookies is not None:
        values["cookies_enc"] = box.encrypt(json.dumps(record.cookies, sort_keys=True))
    for name in ("user_agent", "proxy_url", "headers"):
        if getattr(record, name) is not None:
            values[name] = getattr(record, name)
    return values


def upsert_accounts(
    engine: Engine,
    box: SecretBox,
    records: Sequence[AccountRecord],
    progress: Callable[[int], None] | None = None,
    batch_size: int = 1000,
) -> UpsertResult:
    """Insert new accounts and update known ones, in batches (10,000 accounts take seconds)."""
    result = UpsertResult()
    now = datetime.now(UTC)
    latest = {r.username: r for r in records}  # a file naming an account twice: the last line wins
    with read_only(engine) as conn:
        known = {r.username: r.id for r in conn.execute(select(Account.username, Account.id))}
    items = list(latest.values())
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        inserts, updates = [], []
        for record in batch:
            values = _values(record, box) | {
                "active": True,
                "error_msg": None,
                "out_cause": None,
                "login_failures": 0,
                "next_check_at": None,  # new credentials: checked at the upkeep's next tick
                "updated_at": now,
            }
            if record.username in known:
                updates.append((known[record.username], values))
            else:
                inserts.append(
                    {
                        "username": record.username,
                        "created_at": now,
                        "login_method": "TWITTER",
                        "cookies_enc": None,
                        "password_enc": None,
                        "email": None,
                        "email_password_enc": None,
                        "mfa_secret_enc": None,
                        "user_agent": None,
                        "proxy_url": None,
                        "headers": None,
                    }
                    | values
                )
        with engine.begin() as conn:
            if inserts:
                conn.execute(Account.__table__.insert(), inserts)
            # Group updates by the set of columns they touch so each group is one executemany.
            groups: dict[tuple[str, ...], list[dict]] = {}
            for account_id, values in updates:
                groups.setdefault(tuple(sorted(values)), []).append({"_id": account_id, **values})
            for columns, params in groups.items():
                stmt = (
                    update(Account.__table__)
                    .where(Account.__table__.c.id == bindparam("_id"))
                    .values({c: bindparam(c) for c in columns})
                )
                conn.execute(stmt, params)
        result.created += len(inserts)
        result.updated += len(updates)
        result.usernames.extend(r.username for r in batch)
        if progress:
            progress(len(batch))
    return result


def operation_window(op) -> dict:
    """An account's window on one operation as listings show it (``AccountOperation`` row -> dict)."""
    return {
        "operation": op.operation,
        "remaining": op.remaining,
        "limit": op.window_limit,
        "reset_at": op.reset_at,
        "requests": op.requests,
        "errors": op.errors,
        "soft_bans": op.soft_bans,
    }


def account_views(engine: Engine, username: str | None = None) -> list[dict]:
    """Accounts as the API and UI show them: state, login method, bound proxy and which credentials are
    stored (as booleans: never a secret), plus the per-operation windows."""
    query = select(Account).order_by(Account.username)
    if username is not None:
        query = query.where(Account.username == username)
    with read_only(engine) as conn:
        accounts = conn.execute(query).all()
        ids = [a.id for a in accounts]
        ops = (
            conn.execute(select(AccountOperation).where(AccountOperation.account_id.in_(ids))).all()
            if ids
            else []
        )
    by_account: dict[int, list] = {}
    for op in ops:
        by_account.setdefault(op.account_id, []).append(operation_window(op))
    now = datetime.now(UTC).timestamp()
    return [
        {
            "username": a.username,
            "email": a.email,
            "login_method": a.login_method,
            "active": a.active,
            "error": a.error_msg,
            "quarantined_until": a.quarantined_until if (a.quarantined_until or 0) > now else None,
            "proxy_id": a.proxy_id,
            "wanted_country": a.wanted_country,
            "has_password": a.password_enc is not None,
            "has_email_password": a.email_password_enc is not None,
            "has_mfa_secret": a.mfa_secret_enc is not None,
            "has_cookies": a.cookies_enc is not None,
            "last_used": a.last_used,
            "created_at": a.created_at,
            "operations": by_account.get(a.id, []),
        }
        for a in accounts
    ]


def delete_account(engine: Engine, username: str) -> bool:
    """Remove an account and its windows (its pages in the lake stay, with its id)."""
    from sqlalchemy import delete

    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.username == username)).scalar_one_or_none()
        if account_id is None:
            return False
        conn.execute(delete(AccountOperation).where(AccountOperation.account_id == account_id))
        conn.execute(delete(Account).where(Account.id == account_id))
    return True


def replace_account(
    engine: Engine, box: SecretBox, record: AccountRecord, wanted_country: str | None
) -> bool:
    """Replace every editable field of a known account with ``record``'s (PUT): a field it leaves None is
    cleared, secrets included; the login method defaults to TWITTER. Like a re-import, the account is
    reactivated with its error cleared and looked at by upkeep at its next tick. False if it is unknown."""
    values = {
        "login_method": record.login_method or "TWITTER",
        "password_enc": box.encrypt(record.password),
        "email": record.email,
        "email_password_enc": box.encrypt(record.email_password),
        "mfa_secret_enc": box.encrypt(record.mfa_secret),
        "cookies_enc": None
        if record.cookies is None
        else box.encrypt(json.dumps(record.cookies, sort_keys=True)),
        "user_agent": record.user_agent,
        "proxy_url": record.proxy_url,
        "wanted_country": wanted_country,
        "active": True,
        "error_msg": None,
        "out_cause": None,
        "login_failures": 0,
        "next_check_at": None,
        "updated_at": datetime.now(UTC),
    }
    with engine.begin() as conn:
        return (
            conn.execute(update(Account).where(Account.username == record.username).values(values)).rowcount
            > 0
        )
