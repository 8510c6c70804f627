"""Sticky account-to-proxy binding, decided inside the lease's transaction.

- No proxy in the pool at all: accounts go direct (the embedded default; an account's own
  ``proxy_url`` from its import file is used as given).
- An account bound to an ACTIVE proxy keeps it: X sees one address per account.
- An unbound account, or one whose proxy is no longer ACTIVE, is (re)bound to the ACTIVE proxy with the
  fewest accounts (then the best ranked) -- but never while one of its rate-limit windows is still
  running, so an account is never used through two proxies in one window. Until its windows end it
  rests (``quarantined_until``, with the reason), and other accounts serve.
- Proxies exist but none is ACTIVE: the account rests rather than go out from the server's own
  address; the proxy upkeep sensor (or ``xget proxies check``) brings proxies back.
- An account with a ``wanted_country`` binds only to ACTIVE proxies of that country: the country of the
  exit address a check saw, else the proxy's typed label (``ProxyInfo.effective_country``). A bound proxy
  found elsewhere is left like a proxy that is not ACTIVE; with none of the country left the account
  rests with the reason ("no ACTIVE proxy in DE ..."), never going out from another country.

Two workers leasing different operations of one account may both try to rebind it: the update is a
compare-and-set on the old binding, and the loser uses the winner's proxy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, func, select, update

from xget_pipelines.core.db.models import Account, AccountOperation, Proxy
from xget_pipelines.core.pools.proxy_records import ACTIVE, build_url
from xget_pipelines.core.secrets import SecretBox

log = logging.getLogger(__name__)
NO_PROXY_REST_S = 300.0


@dataclass
class Binding:
    proxy_id: int | None = None
    proxy_url: str | None = None  # with credentials: for the HTTP client only
    rest_until: float | None = None  # set when the account cannot be used now
    reason: str | None = None


def _url(conn: Connection, box: SecretBox, proxy_id: int) -> str:
    row = conn.execute(select(Proxy.__table__).where(Proxy.id == proxy_id)).one()
    return build_url(
        row.scheme, row.host, row.port, row.username or None, box.decrypt(row.password_enc), redact=False
    )


def bound_columns() -> list:
    """Columns a lease's candidate query adds (outer join of the account's proxy) so that ``settled`` can
    decide the common cases without a query of its own."""
    return [
        select(Proxy.id).limit(1).exists().label("any_proxy"),
        Proxy.status.label("proxy_status"),
        Proxy.scheme.label("proxy_scheme"),
        Proxy.host.label("proxy_host"),
        Proxy.port.label("proxy_port"),
        Proxy.username.label("proxy_username"),
        Proxy.password_enc.label("proxy_password_enc"),
        _proxy_country().label("proxy_country"),
        Account.wanted_country.label("wanted_country"),
    ]


def _proxy_country():
    """Where a proxy exits, in SQL: the looked-up exit country, else the typed label."""
    return func.coalesce(Proxy.exit_country, Proxy.country)


def settled(box: SecretBox, row) -> Binding | None:
    """The binding of a candidate row carrying ``bound_columns``, when nothing needs to change: no proxy in
    the pool (direct), or the account's proxy is ACTIVE. None: ``resolve`` must decide (a rebind)."""
    if not row.any_proxy:
        return Binding()
    wanted = row.wanted_country
    if row.proxy_id is not None and row.proxy_status == ACTIVE and wanted in (None, row.proxy_country):
        return Binding(
            row.proxy_id,
            build_url(
                row.proxy_scheme,
                row.proxy_host,
                row.proxy_port,
                row.proxy_username or None,
                box.decrypt(row.proxy_password_enc),
                redact=False,
            ),
        )
    return None


def resolve(conn: Connection, box: SecretBox, account_id: int, bound_id: int | None, now: float) -> Binding:
    if conn.execute(select(func.count()).select_from(Proxy)).scalar() == 0:
        return Binding()
    wanted = conn.execute(select(Account.wanted_country).where(Account.id == account_id)).scalar()
    where = f" in {wanted}" if wanted else ""
    if bound_id is not None:
        bound = conn.execute(select(Proxy.status, _proxy_country()).where(Proxy.id == bound_id)).first()
        if bound is not None and bound[0] == ACTIVE and wanted in (None, bound[1]):
            return Binding(bound_id, _url(conn, box, bound_id))
    ao = AccountOperation
    running = conn.execute(
        select(func.max(ao.reset_at)).where(
            ao.account_id == account_id, ao.reset_at > now, ao.remaining.is_not(None)
        )
    ).scalar()
    if running is not None:
        was = f"proxy {bound_id} is not ACTIVE{where}" if bound_id is not None else "proxies were added"
        return Binding(rest_until=running, reason=f"{was}; rebinding when its rate-limit windows end")
    load = func.count(Account.id)
    best = conn.execute(
        select(Proxy.id)
        .outerjoin(Account, Account.proxy_id == Proxy.id)
        .where(Proxy.status == ACTIVE, *([_proxy_country() == wanted] if wanted else []))
        .group_by(Proxy.id, Proxy.latency_ms)
        .order_by(load, Proxy.latency_ms.is_(None), Proxy.latency_ms, Proxy.id)
        .limit(1)
    ).scalar()
    if best is None:
        if wanted:
            reason = (
                f"no ACTIVE proxy in {wanted} (the account's wanted country) to bind to; import proxies "
                f"of {wanted}, wait for the proxy upkeep to revive one, or change the account's country"
            )
        else:
            reason = "no ACTIVE proxy to bind to; run `xget proxies check` or import proxies"
        log.warning("account %d rests: %s", account_id, reason)
        return Binding(rest_until=now + NO_PROXY_REST_S, reason=reason)
    same = Account.proxy_id.is_(None) if bound_id is None else Account.proxy_id == bound_id
    won = conn.execute(
        update(Account)
        .where(and_(Account.id == account_id, same))
        .values(proxy_id=best, updated_at=datetime.now(UTC))
    ).rowcount
    if not won:  # another worker rebound it first: use its choice
        best = conn.execute(select(Account.proxy_id).where(Account.id == account_id)).scalar()
        if best is None:
            return Binding(rest_until=now + 1.0, reason="binding changed concurrently")
    return Binding(best, _url(conn, box, best))
