"""The one place that decides which resources an environment gets (local, CI, production)."""

import dagster as dg

from xget_pipelines.resources.alerts import AlertsResource
from xget_pipelines.resources.analytics import SentimentResource, TrendsResource
from xget_pipelines.resources.control_plane import ControlPlaneResource
from xget_pipelines.resources.dbt import dbt_resource
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.resources.media import MediaResource
from xget_pipelines.resources.pools import AccountPoolResource, AccountUpkeepResource, ProxyPoolResource
from xget_pipelines.resources.watchlist import WatchlistResource
from xget_pipelines.resources.x_api import XApiResource
from xget_pipelines.settings import Settings


def resources_for(settings: Settings) -> dict:
    """Resources from settings. Local and CI use the embedded defaults (SQLite, a lake folder, the
    emulator); production differs only by the URLs it sets, so the same code runs everywhere."""
    import json

    control_plane = ControlPlaneResource(
        database_url=settings.resolved_database_url,
        home=str(settings.home),
        secret_key=dg.EnvVar("XGET_SECRET_KEY") if settings.secret_key else "",
    )
    return {
        "lake": LakeResource(
            uri=settings.resolved_lake_uri, storage_options_json=json.dumps(settings.lake_storage_options)
        ),
        "control_plane": control_plane,
        "account_pool": AccountPoolResource(
            control_plane=control_plane, strategy=settings.pool_strategy, min_usable=settings.pool_min_usable
        ),
        "account_upkeep": AccountUpkeepResource(
            control_plane=control_plane,
            graphql_url=settings.x_graphql_url,
            login_url=settings.resolved_login_url,
            web_url=settings.x_web_url,
            imap_server=settings.imap_server,
            imap_ssl=settings.imap_ssl,
            imap_folders=settings.imap_folders,
            imap_timeout_s=settings.imap_timeout_s,
            imap_poll_s=settings.imap_poll_s,
            imap_ca_file=settings.imap_ca_file,
            chromium_path=settings.chromium_path,
            google_login_timeout_s=settings.google_login_timeout_s,
            check_interval_s=settings.account_check_interval_s,
            recheck_refused_s=settings.account_recheck_refused_s,
            login_backoff_s=settings.account_login_backoff_s,
            login_backoff_max_s=settings.account_login_backoff_max_s,
            logins_per_day=settings.account_logins_per_day,
            checks_per_tick=settings.account_checks_per_tick,
            logins_per_tick=settings.account_logins_per_tick,
        ),
        "proxy_pool": ProxyPoolResource(
            control_plane=control_plane,
            check_target_url=settings.resolved_proxy_check_url,
            check_interval_s=settings.proxy_check_interval_s,
            recheck_base_s=settings.proxy_recheck_base_s,
            recheck_max_s=settings.proxy_recheck_max_s or 0.0,
            checks_per_tick=settings.proxy_checks_per_tick,
        ),
        "watchlist": WatchlistResource(
            control_plane=control_plane,
            backfill_days=settings.watch_backfill_days,
            backfill_runs_in_flight=settings.backfill_runs_in_flight,
        ),
        "alerts": AlertsResource(
            webhook_url=dg.EnvVar("XGET_ALERT_WEBHOOK_URL") if settings.alert_webhook_url else "",
            database_url=settings.resolved_database_url,
            smtp_url=dg.EnvVar("XGET_ALERT_SMTP_URL") if settings.alert_smtp_url else "",
            email_from=settings.alert_email_from,
            email_to=settings.alert_email_to,
            reminder_hours=settings.alert_reminder_hours,
            proxy_failed_checks=settings.alert_proxy_failed_checks,
        ),
        "trends": TrendsResource(
            bucket_minutes=settings.trend_bucket_minutes,
            baseline_buckets=settings.trend_baseline_buckets,
            z_threshold=settings.trend_z_threshold,
            min_count=settings.trend_min_count,
        ),
        "sentiment": SentimentResource(
            model=settings.sentiment_model,
            train_limit=settings.sentiment_train_limit,
            fold_limit=settings.sentiment_fold_limit,
            held_out_limit=settings.sentiment_held_out_limit,
            home=str(settings.home),
        ),
        "dbt": dbt_resource(settings.resolved_marts_path),
        "x_api": XApiResource(
            graphql_url=settings.x_graphql_url,
            hosts_json=json.dumps(settings.x_hosts),
            transaction_ttl_s=settings.x_transaction_ttl_s,
            timeout_s=settings.x_request_timeout_s,
            lease_deadline_s=settings.x_lease_deadline_s,
            max_pages_per_partition=settings.x_max_pages_per_partition,
            page_size=settings.x_page_size,
            timeline_days=settings.x_timeline_days,
            follow_pages=settings.x_follow_pages,
            about_refresh_days=settings.about_refresh_days,
            about_max_per_run=settings.about_max_per_run,
            soft_ban_threshold=settings.soft_ban_threshold,
            quarantine_s=settings.quarantine_s,
            otlp_endpoint=settings.otlp_endpoint,
        ),
        "media": MediaResource(
            enabled=settings.media_download,
            max_bytes=settings.media_max_bytes,
            url_map_json=json.dumps(settings.resolved_media_url_map),
            attempts=settings.media_attempts,
        ),
        **sink_resources(settings),
    }


def sink_resources(settings: Settings) -> dict:
    """The optional sinks, each only when its URL is set (their client libraries are imported only then).
    Secrets (passwords, URLs that carry them) are passed as ``dg.EnvVar`` so the UI shows the variable's name,
    never the value."""
    resources: dict = {}
    if settings.search_url:
        from xget_pipelines.resources.search import SearchIndexResource

        resources["search"] = SearchIndexResource(
            url=settings.search_url,
            tweets_alias=settings.search_index,
            users_alias=settings.search_users_index,
            compat=settings.search_compat,
            username=settings.search_username,
            password=dg.EnvVar("XGET_SEARCH_PASSWORD") if settings.search_password else "",
            batch_size=settings.search_batch_size,
        )
    if settings.archive_url:
        from xget_pipelines.resources.archive import ArchiveResource

        resources["archive"] = ArchiveResource(
            url=dg.EnvVar("XGET_ARCHIVE_URL"), database=settings.archive_database
        )
    if settings.events_url:
        from xget_pipelines.resources.events import LakeEventsResource

        resources["lake_events"] = LakeEventsResource(
            url=dg.EnvVar("XGET_EVENTS_URL"), topic=settings.events_topic
        )
    return resources
