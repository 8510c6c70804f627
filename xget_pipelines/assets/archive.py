"""Sink: every raw page archived as a MongoDB document (on when ``XGET_ARCHIVE_URL`` is set)."""

import dagster as dg

from xget_pipelines.core.sinks.archive import ArchiveError, ArchiveUnavailable
from xget_pipelines.partitions import ON_PARENT_UPDATES
from xget_pipelines.resources.archive import ArchiveResource
from xget_pipelines.resources.lake import LakeResource

# A server down for a minute should not need a person: three retries, about 30, 60 and 120 s apart. Only an
# unreachable server is retried; refused credentials or a rejected write would fail the same way again.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def archive_asset(retry_policy: dg.RetryPolicy | None = RETRY_POLICY) -> dg.AssetsDefinition:
    """The archive asset (tests build one with a retry policy that does not wait)."""

    @dg.asset(
        name="raw_pages_archive",
        group_name="sinks",
        kinds={"mongodb"},
        deps=["raw_x_pages"],
        automation_condition=ON_PARENT_UPDATES,
        retry_policy=retry_policy,
    )
    def _archive(
        context: dg.AssetExecutionContext, lake: LakeResource, archive: ArchiveResource
    ) -> dg.MaterializeResult:
        """Every page of ``raw/x_pages`` as a document of the MongoDB collection ``raw_pages`` (``_id`` = page
        key, the body as a queryable BSON document; pages over 16 MB or not JSON as compressed bytes).

        Incremental: ships the pages added since the Delta version it last archived (its watermark, kept in
        MongoDB's ``_xget_state``) with idempotent upserts, and moves the watermark only once all are written.
        A failed run loses nothing and doubles nothing: the retry, or the next run, re-sends from the same
        watermark.
        """
        return archive_pages(context, lake, archive)

    return _archive


def archive_pages(context: dg.AssetExecutionContext, lake: LakeResource, archive: ArchiveResource):
    context.log.info(f"archiving raw/x_pages to {archive.display_url()} (database {archive.database})")
    with archive.open() as store:
        try:
            result = store.archive(lake.lake(), batch_size=archive.batch_size, log=context.log.info)
        except ArchiveError as exc:
            raise dg.Failure(
                str(exc),
                allow_retries=isinstance(exc, ArchiveUnavailable),
                metadata={
                    "pages_written_before_failure": exc.sent,
                    "watermark": exc.watermark if exc.watermark is not None else -1,
                },
            ) from None
    if result.omitted:
        context.log.warning(
            f"{result.omitted} page(s) too large to archive even compressed: only their "
            "columns were stored; the lake keeps the pages"
        )
    return dg.MaterializeResult(
        metadata={
            "pages_archived": result.pages,
            "new_documents": result.inserted,
            "from_version": result.from_version if result.from_version is not None else -1,
            "to_version": result.to_version if result.to_version is not None else -1,
            "full": result.full,
            "files": result.files,
            "batches": result.batches,
            "compressed_bodies": result.compressed,
            "omitted_bodies": result.omitted,
            "archive": archive.display_url(),
            "database": archive.database,
        }
    )


raw_pages_archive = archive_asset()
