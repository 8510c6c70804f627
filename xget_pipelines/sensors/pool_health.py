"""Alert when the account pool runs low, and say so again when it recovers.

The sensor reads the pool's health (``core/pools/health.py``) each minute. It alerts once when the
accounts that can serve fall below ``XGET_POOL_MIN_USABLE`` (a warning in the sensor's log and, with
``XGET_ALERT_WEBHOOK_URL``, a Slack-compatible webhook), and once when the pool is back above it; its
JSON cursor remembers which state was last announced, so a 3 a.m. outage pages once, not every minute.
It never requests runs.
"""

import json

import dagster as dg

from xget_pipelines.core.alerts import post_webhook
from xget_pipelines.core.pools.health import pool_health
from xget_pipelines.resources import ControlPlaneResource
from xget_pipelines.settings import get_settings


def _describe(health) -> str:
    reasons = ", ".join(f"{n} {why}" for why, n in health.reasons.most_common()) or "none"
    return (f"{health.usable} of {health.total} X accounts can serve ({health.quarantined} quarantined, "
            f"{health.inactive} inactive; reasons: {reasons})")


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def account_pool_health_sensor(context: dg.SensorEvaluationContext, control_plane: ControlPlaneResource):
    """Alert (log + webhook) when fewer accounts than XGET_POOL_MIN_USABLE can serve; again on recovery."""
    settings = get_settings()
    health = pool_health(control_plane.engine())
    low = health.usable < settings.pool_min_usable
    was_low = json.loads(context.cursor)["low"] if context.cursor else False
    cursor = json.dumps({"low": low, "usable": health.usable})
    if low == was_low:
        return dg.SkipReason(f"no change: {_describe(health)}")
    if low:
        text = f":rotating_light: XGet account pool is low: {_describe(health)}. Import or re-login accounts."
        context.log.warning(text)
    else:
        text = f":white_check_mark: XGet account pool recovered: {_describe(health)}."
        context.log.info(text)
    delivered = None
    if settings.alert_webhook_url:
        delivered = post_webhook(settings.alert_webhook_url.get_secret_value(), text)
    context.update_cursor(cursor)
    return dg.SkipReason(f"alert sent{'' if delivered is not False else ' (webhook failed, see log)'}: {text}")
