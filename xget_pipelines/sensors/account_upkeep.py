"""Account upkeep: every minute, look at the accounts that are due (``core/pools/account_upkeep.py``).

Each ACTIVE account gets one cheap request as itself every XGET_ACCOUNT_CHECK_INTERVAL_S, so a dead session
is found before a scrape needs it. An account out for its session (X code 32, a 401) that has the means to
log in again is logged in through its own proxy, with backoff (XGET_ACCOUNT_LOGIN_BACKOFF_S, doubled, at most
XGET_ACCOUNT_LOGIN_BACKOFF_MAX_S) and at most XGET_ACCOUNT_LOGINS_PER_DAY a UTC day; one without stays out
with a reason that says what a person must do. Suspended, locked and refused accounts are asked again every
XGET_ACCOUNT_RECHECK_REFUSED_S and return to the pool when X serves them. A tick looks at most
XGET_ACCOUNT_CHECKS_PER_TICK accounts, of which XGET_ACCOUNT_LOGINS_PER_TICK log in, so it stays within the
sensor's time limit; each account is claimed before it is touched (``account_upkeep.claim``), so two ticks
at once (a second daemon, a tick that overran) never check or log in one account twice. A tick that did
something records an observation of the ``account_pool`` asset (the UI's plots) and logs what changed; a
tick with nothing due is a skip. An account out for a cause only a person can fix is an incident
(``account:<name>:out``, one email when it goes out, one when it is back; ``core/pools/incidents.py``). It
never requests runs.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from xget_pipelines.core.pools.incidents import account_incidents
from xget_pipelines.resources import AccountUpkeepResource, AlertsResource

ACCOUNT_POOL_ASSET = dg.AssetSpec(
    "account_pool",
    group_name="ops",
    kinds={"sql"},
    description="The X account pool in the control-plane database (`xget accounts list`, GET /v1/accounts). "
    "Observed by account_upkeep_sensor on each tick that does something: checked, healthy, newly_out, "
    "returned, logged_in, login_failed, capped, needs_person, active, inactive, backlog.",
)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Check the accounts that are due (ACTIVE every XGET_ACCOUNT_CHECK_INTERVAL_S), log in again "
    "those whose session X refused (backoff, a daily cap), re-check suspended and locked ones rarely.",
)
def account_upkeep_sensor(
    context: dg.SensorEvaluationContext, account_upkeep: AccountUpkeepResource, alerts: AlertsResource
):
    """Look at the due accounts (bounded per tick); observe ``account_pool`` with what the tick did; report
    the accounts that need a person as incidents."""
    tick = account_upkeep.upkeep(datetime.now(UTC))
    emailed = alerts.report(
        "account", account_incidents(account_upkeep.control_plane.engine()), datetime.now(UTC)
    )
    if emailed.error:
        context.log.error(emailed.summary())
    cursor = json.dumps({"last_tick": datetime.now(UTC).isoformat(timespec="seconds"), **tick.metadata()})
    if not tick.did_something:
        return dg.SensorResult(
            skip_reason=f"no account due ({tick.active} active, {tick.inactive} inactive)", cursor=cursor
        )
    for label, names in (("accounts out", tick.newly_out), ("login failed", tick.login_failed)):
        if names:
            context.log.warning(f"{label}: {', '.join(names)}")
    if tick.needs_person:
        context.log.warning(f"accounts a person must fix (see their reason): {', '.join(tick.needs_person)}")
    for label, names in (("accounts back", tick.returned), ("logged in again", tick.logged_in)):
        if names:
            context.log.info(f"{label}: {', '.join(names)}")
    observation = dg.AssetObservation(
        asset_key=ACCOUNT_POOL_ASSET.key, metadata=tick.metadata(), description=tick.summary()
    )
    return dg.SensorResult(skip_reason=tick.summary(), cursor=cursor, asset_events=[observation])
