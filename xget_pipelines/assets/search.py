"""Sinks: the entity tables in a search index (Elasticsearch 8/9 or OpenSearch), for ``/v1/data/search``.

Each run ships what changed in the lake since the watermark the cluster holds (``core/sinks/search.py``);
a new mapping version or ``full_reindex`` builds a new index and swaps the alias. The sink only reads the
lake: a search server that is down fails the run, never the lake writes, and the next run catches up.
"""

import dagster as dg

from xget_pipelines.core.sinks.search import SearchSink, SyncResult
from xget_pipelines.core.sinks.search_client import SearchError, SearchUnavailable
from xget_pipelines.partitions import ON_PARENT_UPDATES
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.resources.search import SearchIndexResource

# A server down for a minute should not need a person: three retries, about 30, 60 and 120 s apart.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

_DESCRIPTIONS = {
    "tweets": "Every tweet of entities/tweets in the search index (alias xget-tweets by default) for "
    "full-text search: English-stemmed text, hashtags, mentions, author, dates, counts. Tombstoned "
    "tweets (deleted, withheld, soft-deleted) are removed from it. Incremental from the Delta "
    "version the index holds; metadata: documents indexed and deleted, versions, index, alias.",
    "users": "Every user of entities/users in the search index (alias xget-users by default): username, "
    "display name and description as full text, counts, dates. Incremental from the Delta version "
    "the index holds; metadata: documents indexed, versions, index, alias.",
}
_DEPS = {
    "tweets": ["entities_tweets", "entities_users"],  # tweets carry their author's username
    "users": ["entities_users"],
}


class SearchSinkConfig(dg.Config):
    full_reindex: bool = False  # build a new index from the whole lake snapshot and swap the alias to it


def search_asset(kind: str, retry_policy: dg.RetryPolicy | None = RETRY_POLICY) -> dg.AssetsDefinition:
    """The sink asset of ``kind`` (``tweets`` or ``users``)."""

    @dg.asset(
        name=f"search_{kind}",
        group_name="sinks",
        kinds={"elasticsearch", "opensearch"},
        deps=_DEPS[kind],
        automation_condition=ON_PARENT_UPDATES,
        retry_policy=retry_policy,
        pool="search_sink",  # with a limit of 1, two runs never rebuild the same alias at once
        description=_DESCRIPTIONS[kind],
    )
    def _sink(
        context: dg.AssetExecutionContext,
        config: SearchSinkConfig,
        search: SearchIndexResource,
        lake: LakeResource,
    ) -> dg.MaterializeResult:
        """Ship what changed in the entity table to the search index (see the description)."""
        return sync_to_index(context, kind, search.index(), lake, config.full_reindex)

    return _sink


def sync_to_index(
    context: dg.AssetExecutionContext, kind: str, index: SearchSink, lake: LakeResource, full: bool
) -> dg.MaterializeResult:
    def progress(done: SyncResult, total: int) -> None:
        if done.batches % 10 == 1:
            context.log.info(f"{done.alias}: {done.indexed + done.deleted} of {total} rows sent")

    try:
        result = index.sync(lake.lake(), kind, full=full, on_batch=progress)
    except SearchError as exc:
        # Only a server that is down or overloaded is worth the retry policy; a refusal (compat mode, a
        # mapping conflict, credentials) would fail the same way again.
        raise dg.Failure(
            description=f"{exc}. {_what_now(exc.partial)}",
            metadata=_metadata(exc.partial, index),
            allow_retries=isinstance(exc, SearchUnavailable),
        ) from exc
    finally:
        index.close()
    context.log.info(
        f"{result.alias} -> {result.index}: {result.indexed} indexed, {result.deleted} deleted, "
        f"lake version {result.from_version} -> {result.to_version}"
    )
    return dg.MaterializeResult(metadata=_metadata(result, index))


def _what_now(done: SyncResult | None) -> str:
    untouched = "The lake is untouched (the sink only reads it)"
    if done is None or (done.from_version is None and not done.full):
        return (
            f"{untouched}; the next run resumes from the watermark stored in the search cluster, or "
            "refills the index if the cluster lost it."
        )
    if done.full:
        kept = (
            f"the alias {done.alias} still points at {done.index}, so searches keep answering; "
            if done.index
            else ""
        )
        return f"{untouched}; {kept}the next run builds the new index again from the lake snapshot."
    return (
        f"{untouched}; the next run catches up from lake version {done.from_version} (documents already "
        "sent are overwritten, none are lost)."
    )


def _metadata(result: SyncResult | None, index: SearchSink) -> dict:
    md: dict = {"url": index.where, "server": index.flavour or "unknown"}
    if result is None:
        return md
    md.update(
        {
            "alias": result.alias,
            "index": result.index or "",
            "full": result.full,
            "documents_indexed": result.indexed,
            "documents_deleted": result.deleted,
            "bulk_requests": result.batches,
            "from_version": -1 if result.from_version is None else result.from_version,
            "to_version": -1 if result.to_version is None else result.to_version,
        }
    )
    if result.documents is not None:
        md["documents_in_index"] = result.documents
    if result.replaced:
        md["replaced_indexes"] = ", ".join(result.replaced)
    return md


search_tweets = search_asset("tweets")
search_users = search_asset("users")
search_assets = [search_tweets, search_users]
