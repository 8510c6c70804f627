"""Proxy upkeep: every minute, check the proxies that are due (``core/pools/proxy_upkeep.py``).

ACTIVE proxies are checked every XGET_PROXY_CHECK_INTERVAL_S through each to XGET_PROXY_CHECK_URL; one
that fails is re-checked with exponential backoff (from XGET_PROXY_RECHECK_BASE_S, at most
XGET_PROXY_RECHECK_MAX_S) and returns to ACTIVE on its first success, without a person. A tick checks at
most XGET_PROXY_CHECKS_PER_TICK proxies, so it stays within the sensor's time limit; the rest wait for the
next ticks. A tick that checked something records an observation of the ``proxy_pool`` asset with what it
did (checked, revived, newly inactive, ACTIVE and INACTIVE counts: the asset's plots in the UI) and logs
revivals and losses; a tick with nothing due is a skip that says when the next check is. A proxy INACTIVE
after XGET_ALERT_PROXY_FAILED_CHECKS failed checks in a row is an incident (``proxy:<id>:inactive``, one email
when it opens, one when the proxy is back; ``core/pools/incidents.py``). It never requests runs.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from xget_pipelines.core.pools.incidents import proxy_incidents
from xget_pipelines.resources import AlertsResource, ProxyPoolResource

PROXY_POOL_ASSET = dg.AssetSpec(
    "proxy_pool",
    group_name="ops",
    kinds={"sql"},
    description="The proxy pool in the control-plane database (`xget proxies list`, GET /v1/proxies). "
    "Observed by proxy_upkeep_sensor on each tick that checks proxies: checked, revived, newly_inactive, "
    "active, inactive, backlog.",
)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Check the proxies that are due (ACTIVE every XGET_PROXY_CHECK_INTERVAL_S, failing ones "
    "with backoff) through each to XGET_PROXY_CHECK_URL; revived ones return to ACTIVE.",
)
def proxy_upkeep_sensor(
    context: dg.SensorEvaluationContext, proxy_pool: ProxyPoolResource, alerts: AlertsResource
):
    """Check the due proxies (bounded per tick); observe ``proxy_pool`` with what the tick did; report the
    proxies dead for long as incidents."""
    tick = proxy_pool.upkeep(datetime.now(UTC))
    if not tick.target_error:  # with the target down, nothing is known about the proxies
        engine = proxy_pool.control_plane.engine()
        emailed = alerts.report(
            "proxy", proxy_incidents(engine, alerts.proxy_failed_checks), datetime.now(UTC)
        )
        if emailed.error:
            context.log.error(emailed.summary())
    cursor = json.dumps({"last_tick": datetime.now(UTC).isoformat(timespec="seconds"), **tick.metadata()})
    if tick.target_error:
        context.log.warning(tick.target_error)
        return dg.SensorResult(skip_reason=tick.target_error, cursor=cursor)
    if not tick.checked:
        return dg.SensorResult(
            skip_reason=f"no proxy due ({tick.active} ACTIVE, {tick.inactive} INACTIVE)", cursor=cursor
        )
    if tick.newly_inactive:
        context.log.warning(f"proxies out: {', '.join(tick.newly_inactive)}")
    if tick.revived:
        context.log.info(f"proxies back: {', '.join(tick.revived)}")
    observation = dg.AssetObservation(
        asset_key=PROXY_POOL_ASSET.key, metadata=tick.metadata(), description=tick.summary()
    )
    return dg.SensorResult(skip_reason=tick.summary(), cursor=cursor, asset_events=[observation])
