"""Alert when the account pool runs low, and say so again when it recovers.

The sensor reads the pool's health (``core/pools/health.py``) each minute. It alerts once when the accounts
that can serve an X operation fall below ``XGET_POOL_MIN_USABLE`` (a warning in the sensor's log and, with
``XGET_ALERT_WEBHOOK_URL``, a Slack-compatible webhook), and once when the pool is back above it; its JSON
cursor remembers which operations were last announced low, so a 3 a.m. outage pages once, not every minute.
The same state is the incident ``pool:accounts_usable_low`` for email (``resources/alerts.py``): mailed when
it opens, reminded while it lasts, mailed on recovery. It never requests runs."""

import json
from datetime import UTC, datetime

import dagster as dg

from xget_pipelines.core.incidents import Incident
from xget_pipelines.resources import AccountPoolResource, AlertsResource

POOL_LOW_KEY = "pool:accounts_usable_low"
POOL_REMEDY = (
    "see why accounts are out (xget accounts list, GET /v1/accounts); log the ones out for their session in "
    "again (xget accounts login NAME) or import more (xget accounts import FILE). Quarantined accounts come "
    "back by themselves when their rest ends."
)


def _describe(health) -> str:
    reasons = ", ".join(f"{n} {why}" for why, n in health.reasons.most_common()) or "none"
    per_op = ", ".join(f"{op} {n}" for op, n in health.operations.items())
    return (
        f"{health.usable} of {health.total} X accounts can serve ({health.quarantined} quarantined, "
        f"{health.inactive} inactive; reasons: {reasons}; per operation: {per_op})"
    )


def _previous(cursor: str | None) -> list[str]:
    if not cursor:
        return []
    state = json.loads(cursor)
    return state.get("low_ops", ["*"] if state.get("low") else [])  # "*": a cursor from before per-op health


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def account_pool_health_sensor(
    context: dg.SensorEvaluationContext, account_pool: AccountPoolResource, alerts: AlertsResource
):
    """Alert (log + webhook) when fewer accounts than the pool's ``min_usable`` (XGET_POOL_MIN_USABLE) can
    serve an X operation; again when operations recover. Pages on changes only, never every tick."""
    health = account_pool.health()
    low_ops = health.low_operations(account_pool.min_usable)
    was_low = _previous(context.cursor)
    cursor = json.dumps({"low_ops": low_ops, "usable": health.usable})
    incidents = (
        [] if not low_ops else [pool_low_incident(low_ops, account_pool.min_usable, _describe(health))]
    )
    emailed = alerts.report("pool", incidents, datetime.now(UTC)).summary()
    if set(low_ops) == set(was_low):
        return dg.SkipReason(f"no change: {_describe(health)}{f'; {emailed}' if emailed else ''}")
    newly_low = sorted(set(low_ops) - set(was_low))
    if newly_low:
        text = (
            f":rotating_light: XGet account pool is low for {', '.join(low_ops)} (fewer than "
            f"{account_pool.min_usable} accounts): {_describe(health)}. What to do: {POOL_REMEDY}"
        )
        context.log.warning(text)
    elif low_ops:
        text = (
            f":warning: XGet account pool partly recovered; still low for {', '.join(low_ops)}: "
            f"{_describe(health)}."
        )
        context.log.warning(text)
    else:
        text = f":white_check_mark: XGet account pool recovered: {_describe(health)}."
        context.log.info(text)
    delivered = alerts.post(text)
    context.update_cursor(cursor)
    return dg.SkipReason(
        f"alert sent{'' if delivered is not False else ' (webhook failed, see log)'}: {text}"
        f"{f'; {emailed}' if emailed else ''}"
    )


def pool_low_incident(low_ops: list[str], min_usable: int, described: str) -> Incident:
    return Incident(
        POOL_LOW_KEY,
        title=f"account pool low for {', '.join(low_ops)} (fewer than {min_usable} accounts can serve)",
        detail=described,
        remedy=POOL_REMEDY,
    )
