"""Replacing a stored proxy's editable fields (PUT /v1/proxies/{id}): its endpoint and credentials, country,
city and ISP. The accounts bound to it stay bound (the id is kept); a new endpoint or password says nothing
about the old one's health, so the proxy is CHECKING again and due at the upkeep's next tick."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from xget_pipelines.core.db.models import Proxy
from xget_pipelines.core.pools.proxies import ProxyPool
from xget_pipelines.core.pools.proxy_records import CHECKING, ProxyError, ProxyRecord


class ProxyConflict(ProxyError):
    """Another stored proxy has the endpoint (scheme, host, port, username) a replacement asks for."""


def replace_proxy(pool: ProxyPool, proxy_id: int, record: ProxyRecord) -> None:
    """Give proxy ``proxy_id`` every editable field of ``record`` (None clears country, city, ISP, password).
    ``ProxyError`` when there is no such proxy, ``ProxyConflict`` when another one has the endpoint."""
    cols = Proxy.__table__.c
    with pool.engine.begin() as conn:
        row = conn.execute(select(Proxy.__table__).where(cols.id == proxy_id)).first()
        if row is None:
            raise ProxyError(f"no proxy with id {proxy_id} (see `xget proxies list`)")
        other = conn.execute(
            select(cols.id).where(
                cols.scheme == record.scheme,
                cols.host == record.host,
                cols.port == record.port,
                cols.username == (record.username or ""),
                cols.id != proxy_id,
            )
        ).scalar()
        if other is not None:
            raise ProxyConflict(f"proxy {other} already has this endpoint: change or remove that one instead")
        same_endpoint = (row.scheme, row.host, row.port, row.username) == record.key
        same_password = pool.secrets.decrypt(row.password_enc) == record.password
        values = {
            "scheme": record.scheme,
            "host": record.host,
            "port": record.port,
            "username": record.username or "",
            "password_enc": pool.secrets.encrypt(record.password),
            "country": record.country,
            "city": record.city,
            "isp": record.isp,
            "updated_at": datetime.now(UTC),
        }
        if not (same_endpoint and same_password):
            values |= {
                "status": CHECKING,
                "consecutive_failures": 0,
                "failed_checks": 0,
                "last_error": None,
                "latency_ms": None,
                "success_rate": None,
                "exit_ip": None,
                "exit_country": None,
                "next_check_at": None,
            }
        conn.execute(update(Proxy.__table__).where(cols.id == proxy_id).values(values))
