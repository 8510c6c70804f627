"""The op of the ``x_operations_refresh`` job (``jobs.py``): read X's web bundles for the current query ids
and feature switches, on a schedule (``schedules.py``).

X rotates query ids with its web client's releases (a stale one gets 404 with an empty body). A request
that meets that 404 already looks again on its own (``core/x/client.py``); this job looks ahead of the
scrapes, so the first request after a release does not pay for the look, and pages someone (the run
fails, so ``run_failure_alert_sensor`` alerts) when an operation XGet collects with has gone from the
bundles. A job of one op rather than an asset: it keeps control-plane state, not lake data.
"""

import dagster as dg

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.x.doctor import OPERATIONS
from xget_pipelines.resources import AccountPoolResource, XApiResource


@dg.op(tags={"kind": "x"})
def refresh_x_operations(
    context: dg.OpExecutionContext, x_api: XApiResource, account_pool: AccountPoolResource
) -> dg.Output:
    """Load X's web app through a pool account and keep the query ids and switches its bundles name."""
    with x_api.client(account_pool.pool()) as client:
        try:
            report = client.refresh_operations(OPERATIONS)
        except XGetError as exc:
            raise dg.Failure(f"cannot read X's web bundles: {exc}") from exc
        listing = client.catalog.listing()
    changed = "| operation | old query id | new query id |\n|---|---|---|\n" + "\n".join(
        f"| {op} | {old} | {new} |" for op, old, new in report.changed
    )
    ids = "| operation | query id | source |\n|---|---|---|\n" + "\n".join(
        f"| {op.name} | {op.query_id} | {op.source} |" for op in listing if op.name in OPERATIONS
    )
    metadata = {
        "operations_found": report.found,
        "bundles_read": report.scripts,
        "bundles_failed": report.failed,
        "changed": len(report.changed),
        "changed_ids": dg.MetadataValue.md(changed),
        "query_ids": dg.MetadataValue.md(ids),
        "page": report.page_url,
    }
    context.log.info(
        f"{report.found} operations in {report.scripts} bundles; {len(report.changed)} query ids changed"
    )
    if report.missing:
        raise dg.Failure(
            f"X's web bundles no longer name {', '.join(report.missing)}: X renamed or removed "
            "operations XGet collects with; upgrade XGet/twscrape",
            metadata=metadata,
        )
    return dg.Output(None, metadata=metadata)
