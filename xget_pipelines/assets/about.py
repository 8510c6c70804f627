""" "About this account" facts of every collected author (AboutAccountQuery), with their history."""

from collections.abc import Iterator

import dagster as dg

from xget_pipelines.core.about_accounts import ABOUT_ACCOUNTS, ABOUT_HISTORY, collect_about
from xget_pipelines.core.lake.preview import markdown_preview
from xget_pipelines.core.lake.tables import view_name
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource

ACCOUNTS_KEY, HISTORY_KEY = dg.AssetKey(view_name(ABOUT_ACCOUNTS)), dg.AssetKey(view_name(ABOUT_HISTORY))


@dg.multi_asset(
    name="about_accounts",
    specs=[
        dg.AssetSpec(
            ACCOUNTS_KEY,
            group_name="entities",
            kinds={"deltalake", "x"},
            deps=["entities_users"],
            description='X\'s "About this account" facts, one row per collected author (merged on '
            "user_id): country X bases it in and whether it calls that accurate, sign-up source, handle "
            "changes, status.",
            metadata={"table": ABOUT_ACCOUNTS},
        ),
        dg.AssetSpec(
            HISTORY_KEY,
            group_name="entities",
            kinds={"deltalake"},
            deps=["entities_users"],
            description='One row per account and changed "About this account" fact set, with observed_at.',
            metadata={"table": ABOUT_HISTORY},
        ),
    ],
    pool="x_api",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    can_subset=False,
)
def about_accounts(
    context: dg.AssetExecutionContext,
    x_api: XApiResource,
    lake: LakeResource,
    account_pool: AccountPoolResource,
) -> Iterator[dg.MaterializeResult]:
    """X's "About this account" facts of the collected authors (``entities/users``): the country an account
    is based in and whether X calls that accurate, where it signed up from, its handle changes, whether X
    checked its identity. Asked for the accounts whose facts are missing or older than
    ``XGET_ABOUT_REFRESH_DAYS``, at most ``XGET_ABOUT_MAX_PER_RUN`` a run, biggest accounts first. Current
    facts in ``entities/about_accounts`` (one row per user), every change in
    ``cleaned/about_account_history``; pages in ``raw/x_pages`` (watch_key ``about``). An account X answers as
    not found or suspended is recorded with that status; it never fails the run."""
    the_lake = lake.lake()
    with x_api.client(account_pool.pool()) as client:
        run = collect_about(
            client,
            the_lake,
            run_id=context.run.run_id,
            refresh_days=x_api.about_refresh_days,
            max_per_run=x_api.about_max_per_run,
        )
        stats = dict(client.stats)
    context.log.info(
        f"about-account facts: {run.fetched} fetched ({run.new} new, {run.refreshed} refreshed), "
        f"{run.skipped_fresh} fresh, {run.failed} failed, {run.deferred} deferred, {run.beyond_budget} "
        f"beyond this run's budget; {run.landed.changes} change(s) seen"
    )
    if run.due and not run.fetched:  # X could not be asked at all: the user has to act (accounts, X down)
        raise dg.Failure(
            f"no AboutAccountQuery answered for {run.due} due account(s): "
            + (run.stopped or (run.failures[0]["error"] if run.failures else "unknown error")),
            allow_retries=run.stopped is None,
        )
    if run.failed:
        context.log.warning(f"{run.failed} AboutAccountQuery request(s) failed; asked again next run")
    metadata = {
        "due": run.due,
        "fetched": run.fetched,
        "new": run.new,
        "refreshed": run.refreshed,
        "skipped_fresh": run.skipped_fresh,
        "beyond_budget": run.beyond_budget,
        "failed": run.failed,
        "deferred": run.deferred,
        "changes_seen": run.landed.changes,
        "history_rows_added": run.landed.history_rows,
        "statuses": dg.MetadataValue.json(dict(run.statuses)),
        "refresh_days": x_api.about_refresh_days,
        "max_per_run": x_api.about_max_per_run,
        "rate_limited_responses": stats["rate_limited"],
        "accounts_taken_out": stats["accounts_lost"],
        "lake_version": the_lake.version(ABOUT_ACCOUNTS) or 0,
    }
    if run.landed.changed_users:
        metadata["changes"] = dg.MetadataValue.json(run.landed.changed_users[:20])
    if run.failures:
        metadata["failures"] = dg.MetadataValue.json(run.failures[:20])
    if run.fetched:
        current = the_lake.read(ABOUT_ACCOUNTS)
        shown = current.select(["username", "status", "account_based_in", "location_accurate", "source"])
        metadata["preview"] = dg.MetadataValue.md(markdown_preview(shown.slice(0, 10)))
    yield dg.MaterializeResult(asset_key=ACCOUNTS_KEY, metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=HISTORY_KEY,
        metadata={
            "rows_added": run.landed.history_rows,
            "changes_seen": run.landed.changes,
            "lake_version": the_lake.version(ABOUT_HISTORY) or 0,
        },
    )
