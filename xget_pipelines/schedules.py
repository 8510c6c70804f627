"""Every schedule of XGet.

The ingest schedules request ``x_ingest`` runs for the active watchlist keys that are already partitions (the
watchlist sensor adds new keys); the others run a job or an asset on a clock. The two schedules whose clock is
a setting (``XGET_LAKE_MAINTENANCE_CRON``, ``XGET_X_OPERATIONS_REFRESH_CRON``) are built by ``definitions.py``
from its settings: a cron is part of a schedule's definition, not something a tick can look up.
"""

import datetime as dt

import dagster as dg

from xget_pipelines.assets.about import about_accounts
from xget_pipelines.assets.pool_stats import account_pool_stats
from xget_pipelines.jobs import ingest_request, lake_maintenance, x_ingest_job, x_operations_refresh
from xget_pipelines.partitions import watchlist_partitions
from xget_pipelines.resources import WatchlistResource


def _keys_to_collect(context: dg.ScheduleEvaluationContext, watchlist: WatchlistResource) -> list[str]:
    """The active watchlist keys the watchlist sensor has made partitions of."""
    known = set(context.instance.get_dynamic_partitions(watchlist_partitions.name))
    return [k for k in watchlist.active_keys() if k in known]


@dg.schedule(job=x_ingest_job, cron_schedule="30 0 * * *", execution_timezone="UTC")
def daily_ingest_schedule(context: dg.ScheduleEvaluationContext, watchlist: WatchlistResource):
    """Each night: yesterday (now complete) and today for every active watchlist key."""
    today = context.scheduled_execution_time.date()
    days = (today - dt.timedelta(days=1), today)
    return [ingest_request(day, key, "daily") for key in _keys_to_collect(context, watchlist) for day in days]


@dg.schedule(job=x_ingest_job, cron_schedule="5 * * * *", execution_timezone="UTC")
def hourly_ingest_schedule(context: dg.ScheduleEvaluationContext, watchlist: WatchlistResource):
    """Every hour: today's partition of every active key again. Each run is a new scrape session (a new
    observation in raw; engagement counts and the day's newest tweets), so trends and the entities stay
    current during the day. Off by default: it spends an hour's worth of rate limit per key."""
    today = context.scheduled_execution_time.date()
    hour = context.scheduled_execution_time.strftime("%H")
    return [ingest_request(today, key, f"hourly-{hour}") for key in _keys_to_collect(context, watchlist)]


pool_stats_schedule = dg.ScheduleDefinition(
    name="account_pool_stats_hourly",
    target=[account_pool_stats],
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    description="Record the account pool's state every hour.",
)

# Once a day, after the nightly ingest (00:30): the authors collected since the last run get their facts, and
# facts older than XGET_ABOUT_REFRESH_DAYS are asked again, within XGET_ABOUT_MAX_PER_RUN. Running by default:
# AboutAccountQuery has rate limits of its own per account, so it spends none of the collection's.
about_accounts_schedule = dg.ScheduleDefinition(
    name="about_accounts_daily",
    target=[about_accounts],
    cron_schedule="45 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description='"About this account" facts of new and stale authors, once a day (XGET_ABOUT_REFRESH_DAYS, '
    "XGET_ABOUT_MAX_PER_RUN).",
)


def maintenance_schedule(cron: str, retention_hours: int) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="lake_maintenance_schedule",
        job=lake_maintenance,
        cron_schedule=cron,
        execution_timezone="UTC",
        run_config={"ops": {"compact_and_vacuum": {"config": {"retention_hours": retention_hours}}}},
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Lake upkeep once a day (XGET_LAKE_MAINTENANCE_CRON).",
    )


def operations_refresh_schedule(cron: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="x_operations_refresh_schedule",
        job=x_operations_refresh,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Query ids and feature switches from X's bundles, every 6 hours "
        "(XGET_X_OPERATIONS_REFRESH_CRON).",
    )
