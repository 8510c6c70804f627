"""What is wrong in the pools right now, as incidents for email (``core/incidents.py``).

Read from the control-plane state that upkeep keeps, not from one tick's results, so an incident lasts
exactly as long as its cause (a proxy that comes back closes it, whichever process saw it come back):

- ``proxy:<id>:inactive``: a proxy INACTIVE after at least ``failed_checks`` checks in a row with no
  success. Upkeep keeps re-checking it; a person decides whether it is gone for good.
- ``account:<name>:out``: an account out for a cause upkeep cannot fix by itself (suspended, locked,
  refused, a failed automatic login, or a session it cannot renew for lack of credentials). Accounts out
  for their session that upkeep will log in again, and accounts taken out by hand, are not incidents.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account, Proxy
from xget_pipelines.core.incidents import Incident
from xget_pipelines.core.pools.account_upkeep import missing_credentials
from xget_pipelines.core.redact import redact_urls

INACTIVE = "INACTIVE"

ACCOUNT_REMEDIES = {
    "suspended": "X suspended it: appeal at https://help.x.com/forms/account-access/appeals, or remove it "
    "from the pool (xget accounts disable NAME); upkeep asks X again now and then and returns it if X "
    "lifts it.",
    "locked": "X locked it: log in to x.com as the account in a browser, pass X's challenge, then put it "
    "back (xget accounts enable NAME) or store fresh cookies (xget accounts add); upkeep re-checks it now "
    "and then.",
    "refused": "X refuses its requests (HTTP 403): log in to x.com as the account to see why, then "
    "xget accounts enable NAME; upkeep re-checks it now and then.",
    "login": "its automatic login failed (the reason says which step): check its password, TOTP secret "
    "or mailbox (re-import it with the right ones), or log it in by hand (xget accounts login NAME).",
}


def proxy_incidents(engine: Engine, failed_checks: int) -> list[Incident]:
    """The proxies INACTIVE after ``failed_checks`` or more failed checks in a row."""
    with read_only(engine) as conn:
        rows = conn.execute(
            select(Proxy.id, Proxy.scheme, Proxy.host, Proxy.port, Proxy.failed_checks, Proxy.last_error)
            .where(Proxy.status == INACTIVE, Proxy.failed_checks >= failed_checks)
            .order_by(Proxy.id)
        ).all()
    return [
        Incident(
            f"proxy:{r.id}:inactive",
            title=f"proxy {r.id} ({r.scheme}://{r.host}:{r.port}) INACTIVE after {r.failed_checks} failed "
            "checks in a row",
            detail=redact_urls(f"last error: {r.last_error or 'none recorded'}"),
            remedy="ask the proxy's provider whether it still exists, or replace it "
            f"(xget proxies remove {r.id}, then xget proxies import); upkeep keeps re-checking it with "
            "backoff and returns it to ACTIVE on its first successful check, its accounts are moved to other "
            "proxies meanwhile.",
        )
        for r in rows
    ]


def account_incidents(engine: Engine) -> list[Incident]:
    """The accounts out for a cause only a person can fix."""
    with read_only(engine) as conn:
        accounts = conn.execute(  # rows with the account's columns, as missing_credentials reads them
            select(Account)
            .where(Account.active.is_(False), Account.out_cause.is_not(None))
            .order_by(Account.username)
        ).all()
    incidents = []
    for account in accounts:
        remedy = ACCOUNT_REMEDIES.get(account.out_cause)
        if account.out_cause == "session":
            missing = missing_credentials(account)
            remedy = f"its session expired and it cannot log in by itself: {missing}" if missing else None
        if remedy is None:  # upkeep renews it by itself
            continue
        incidents.append(
            Incident(
                f"account:{account.username}:out",
                title=f"X account {account.username} is out ({account.out_cause})",
                detail=redact_urls(account.error_msg or ""),
                remedy=remedy.replace("NAME", account.username),
            )
        )
    return incidents
