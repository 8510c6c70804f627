"""A watchlist backfill's estimate from the settings, shared by ``xget watch backfill`` and
``POST /v1/watchlist/backfills``: both are entry points with a ``Settings`` object, and both must sample
with the same client, budget and rate-limit view the runs will have. The work is ``core/x/backfill.py``'s.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from xget_pipelines.core.db.watchlist import active_keys, params_of
from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x import backfill
from xget_pipelines.core.x.watch import parse_watch_key
from xget_pipelines.settings import Settings


def default_until() -> dt.date:
    """Yesterday (UTC): today's partition is the schedule's, and it is not over yet."""
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def watched_key(engine: Engine, key: str) -> str:
    """``key`` normalised, if it is on the active watchlist (a backfill collects with its parameters and
    partitions only exist for watched keys); InvalidField otherwise."""
    try:
        normalised = parse_watch_key(key).key
    except ValueError as exc:
        raise InvalidField(str(exc), "key") from None
    if normalised not in active_keys(engine):
        raise InvalidField(
            f"{normalised!r} is not on the watchlist: add it first (`xget watch add`, POST /v1/watchlist) so "
            "the backfill collects it with its budget and product",
            "key",
        )
    return normalised


def estimate(
    settings: Settings,
    engine: Engine,
    lake: Lake,
    key: str,
    since: dt.date,
    until: dt.date | None = None,
    samples: int | None = None,
) -> backfill.Estimate:
    """Sample and price a backfill of the watched ``key`` (``core/x/backfill.py``), through the account pool
    at ``XGET_X_GRAPHQL_URL``."""
    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.x.client import XClient
    from xget_pipelines.core.x.web import XWeb

    watched = watched_key(engine, key)
    until = until or default_until()
    first_day = dt.date.fromisoformat(settings.partitions_start_date)
    backfill.backfill_range(watched, since, until, first_day)  # before any request to X
    pool = AccountPool(engine, secrets=settings.secret_box())

    def open_client() -> XClient:
        return XClient(
            settings.x_graphql_url,
            pool,
            timeout_s=settings.x_request_timeout_s,
            lease_deadline_s=settings.x_lease_deadline_s,
            web=XWeb.for_graphql_url(settings.x_graphql_url, settings.x_hosts),
        )

    return backfill.estimate(
        open_client,
        lake,
        engine,
        key=watched,
        since=since,
        until=until,
        params=params_of(engine, watched),
        first_day=first_day,
        samples=samples or settings.backfill_sample_days,
        utilisation=settings.backfill_utilisation,
        max_pages=settings.x_max_pages_per_partition,
        page_size=settings.x_page_size,
        timeline_days=settings.x_timeline_days,
    )
