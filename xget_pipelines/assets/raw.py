"""Bronze: every page X serves for the watchlist, stored exactly as served."""

import datetime as dt
import json

import dagster as dg

from xget_pipelines.core.db.watchlist import params_of
from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.secrets import SecretKeyError
from xget_pipelines.core.tasks import PARAMS_TAG
from xget_pipelines.core.x.scrape import scrape_partition
from xget_pipelines.core.x.watch import KeyParams, parse_params
from xget_pipelines.partitions import split_partition_key, watch_daily_partitions
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource


@dg.asset(
    key_prefix=[],
    group_name="raw",
    kinds={"deltalake", "x"},
    partitions_def=watch_daily_partitions,
    pool="x_api",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    metadata={"table": "raw/x_pages"},
)
def raw_x_pages(
    context: dg.AssetExecutionContext,
    x_api: XApiResource,
    lake: LakeResource,
    account_pool: AccountPoolResource,
) -> dg.MaterializeResult:
    """Raw X GraphQL pages for one watchlist key and day (table ``raw/x_pages``).

    Search keys run SearchTimeline for the day; ``@account`` keys fetch the profile, then the
    account's tweets and replies of the day (its timeline for the last two days, search by author
    before that); ``list:<id>`` and ``community:<id>`` keys their members (and a community's info and
    moderators) in today's partition and their tweets of the day; ``followers:@handle`` /
    ``following:@handle`` keys continue a full snapshot of the list in today's partition; all within
    the key's budget (``xget watch add KEY --budget all``; default ``XGET_X_MAX_PAGES_PER_PARTITION``
    pages) and with its search product (Latest or Top); then the key's expansions (``--expand``:
    conversations, quotes, retweeters, media), each within a budget of its own. Pages are
    written before they are parsed, in small batches; an interrupted partition resumes from its last
    stored cursor on the next run (same session). How the collection ended (complete, truncated at the
    budget, failed), with its pages and items, is in the metadata and in ``ops/coverage``.
    """
    day, key = split_partition_key(context.partition_key)
    _refuse_concurrent_collection(context)
    pool = account_pool.pool()
    the_lake = lake.lake()
    params = _params(context, pool.engine, key)
    with x_api.client(pool) as client:
        try:
            result = scrape_partition(
                client,
                the_lake,
                pool.engine,
                key=key,
                day=dt.date.fromisoformat(day),
                run_id=context.run.run_id,
                max_pages=x_api.max_pages_per_partition,
                page_size=x_api.page_size,
                timeline_days=x_api.timeline_days,
                follow_pages=x_api.follow_pages,
                params=params,
            )
        except (LookupError, SecretKeyError) as exc:  # no such account / the wrong key: retrying cannot help
            raise dg.Failure(str(exc), allow_retries=False) from exc
        stats = dict(client.stats)
    outcome = result.outcome
    context.log.info(
        f"{key} {day}: {outcome.outcome} ({outcome.reason}); {result.pages} pages this run "
        f"({result.pages_before} before resume), {outcome.items} tweets of the day, "
        f"{stats['rate_limited']} rate-limited responses, {stats['accounts_lost']} accounts taken out"
    )
    return dg.MaterializeResult(
        metadata={
            "outcome": dg.MetadataValue.text(outcome.outcome),
            "outcome_reason": dg.MetadataValue.text(outcome.reason),
            "pages": dg.MetadataValue.int(outcome.pages),
            "items": dg.MetadataValue.int(outcome.items),
            "page_budget": dg.MetadataValue.int(outcome.max_pages),
            "budget": dg.MetadataValue.text(outcome.budget or ""),
            "product": dg.MetadataValue.text(params.product),
            "expand": dg.MetadataValue.text(" ".join(str(e) for e in params.expand)),
            "pages_this_run": result.pages,
            "resumed": result.resumed,
            "session_id": result.session_id,
            "malformed_pages": result.malformed,
            "rate_limited_responses": stats["rate_limited"],
            "retries": stats["retries"],
            "accounts_taken_out": stats["accounts_lost"],
            # X's request contract: 404s with an empty body (stale transaction or query id), looks at X's
            # bundles they caused, session cookies X rotated and XGet stored
            "contract_refusals": stats["refused_404"],
            "query_id_refreshes": stats["operation_refreshes"],
            "cookies_rotated": stats["cookies_rotated"],
            "operations": result.operations,
            "lake_version": the_lake.version("raw/x_pages") or 0,
        }
    )


def _params(context: dg.AssetExecutionContext, engine, key: str) -> KeyParams:
    """The run's collection parameters: a task's (its runs carry them in a tag), else the key's on the
    watchlist as they are now."""
    tagged = context.run.tags.get(PARAMS_TAG)
    if tagged is None:
        return params_of(engine, key)
    try:
        return parse_params(json.loads(tagged))
    except (ValueError, InvalidField) as exc:
        raise dg.Failure(f"the run's {PARAMS_TAG} tag is not valid: {exc}", allow_retries=False) from exc


def _refuse_concurrent_collection(context: dg.AssetExecutionContext) -> None:
    """Two runs collecting one partition at once would resume the same session twice."""
    others = [
        r.run_id
        for r in context.instance.get_runs(
            dg.RunsFilter(
                tags={"dagster/partition": str(context.partition_key)},
                statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            )
        )
        if r.run_id != context.run.run_id
    ]
    if others:
        raise dg.Failure(
            f"partition {context.partition_key} is being collected by run {others[0]}; "
            "wait for it to finish (or terminate it) and re-run this one",
            allow_retries=False,
        )
