"""The search sink: ``entities/tweets`` and ``entities/users`` in Elasticsearch 8/9 or OpenSearch, kept up to
date incrementally.

A run of ``SearchSink.sync(lake, "tweets")``:

1. reads the sink's state for the alias from the search cluster itself (index ``xget-sink-state``, one
   document per alias: the physical index, its mapping version, the last Delta version shipped). Keeping it
   there means a cluster that lost its data lost its watermark with it and is refilled, and a cluster that
   kept its data catches up from where it stopped; nothing outside the cluster can disagree with it;
2. builds a new physical index ``<alias>-v<MAPPING_VERSION>-<n>`` from the whole lake snapshot when there is
   no state, the alias does not point at the state's index, the mapping version changed, the table was
   recreated under the watermark, or a full reindex was asked for; then moves the alias in one ``_aliases``
   call (remove + add) and deletes the old index. Searches through the alias see the old index until the new
   one is complete, never an empty or half-filled one;
3. otherwise ships the rows of the files added since the watermark (``core/lake/changes.py``) into the index
   the alias points at;
4. writes the new watermark only after every bulk batch was acknowledged without a single rejected item.

Writes are idempotent (``_id`` = the tweet or user id, ``index`` operations): rows that come back twice (a
file a merge rewrote, a run that died after some batches) change nothing, so a failed run is simply re-run.

Tombstoned tweets (X answered them as deleted, withheld or unavailable, or a user soft-deleted them, see
``core/entities.py`` and ``core/corrections.py``) are deleted from the index rather than filtered at query
time: X's own search never returns them, every client of the index (the API, Dashboards/Kibana users) is
right without knowing a filter, and their text is not kept in a second store. They stay in the lake; a later
observation that clears the tombstone rewrites the row, which brings the tweet back into the index.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from xget_pipelines.core.entities import TWEETS, USERS
from xget_pipelines.core.lake.changes import Changes, changes_since
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.redact import url_without_credentials
from xget_pipelines.core.sinks import search_mappings as mappings
from xget_pipelines.core.sinks.search_bulk import bulk_errors
from xget_pipelines.core.sinks.search_client import SearchError, explain, open_client
from xget_pipelines.core.sinks.search_query import TweetSearch, page_of, search_body

KINDS = {"tweets": TWEETS, "users": USERS}


@dataclass
class SyncResult:
    kind: str
    alias: str
    index: str | None  # the physical index the alias points at after the run
    full: bool  # a new index was built from the whole snapshot
    from_version: int | None  # the watermark the run started from (None: nothing shipped before)
    to_version: int | None  # the lake version now in the index (None: the table does not exist yet)
    indexed: int = 0  # index operations acknowledged
    deleted: int = 0  # tombstoned tweets deleted from the index (or left out of a new one)
    batches: int = 0  # bulk requests sent
    documents: int | None = None  # documents behind the alias after the run
    replaced: list[str] = field(default_factory=list)  # old physical indexes deleted after the swap


class SearchSink:
    """The search sink: the tweets and users indexes of one search server, behind their aliases; kept up
    to date from the lake (``sync``) and searched by the API (``search_tweets``)."""

    def __init__(
        self,
        url: str,
        *,
        tweets_alias: str = "xget-tweets",
        users_alias: str = "xget-users",
        compat: str = "auto",
        username: str = "",
        password: str | None = None,
        batch_size: int = 2000,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        state_index: str = mappings.STATE_INDEX,
    ):
        if batch_size < 1:
            raise SearchError(f"batch_size must be at least 1, not {batch_size}: fix XGET_SEARCH_BATCH_SIZE")
        self.url, self.compat, self.batch_size = url, compat, batch_size
        self.aliases = {"tweets": tweets_alias, "users": users_alias}
        self.state_index = state_index
        self._auth = (username, password)
        self._timeout_s, self._max_retries = timeout_s, max_retries
        self._client: Elasticsearch | None = None
        self._lock = threading.Lock()
        self.flavour: str | None = None  # "elasticsearch" | "opensearch", known once connected

    @property
    def where(self) -> str:
        return url_without_credentials(self.url)

    @property
    def client(self) -> Elasticsearch:
        """The client, opened on first use (``compat="auto"`` asks the server once, then remembers)."""
        with self._lock:  # the API searches from many threads
            if self._client is None:
                self._client, self.flavour = open_client(
                    self.url,
                    self.compat,
                    username=self._auth[0],
                    password=self._auth[1],
                    timeout_s=self._timeout_s,
                    max_retries=self._max_retries,
                )
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def call(self, doing: str, method: Callable, **kwargs):
        """``method(**kwargs)`` of the client; its errors as :class:`SearchError` naming the server and
        ``doing``."""
        try:
            return method(**kwargs)
        except (ApiError, TransportError) as exc:
            raise self.error(exc, doing) from exc

    def error(self, exc: Exception, doing: str) -> SearchError:
        """A client exception as a :class:`SearchError` naming the server (never the password)."""
        return explain(exc, self.url, doing, self._auth[1])

    # -- reads -------------------------------------------------------------------------------------------

    def search_tweets(
        self, search: TweetSearch, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict], str | None]:
        """Tweets matching ``search``, newest first: rows shaped as the lake's and the next page's cursor."""
        return self.tweets_page(search_body(search, limit, cursor), limit)

    def tweets_page(self, body: dict, limit: int) -> tuple[list[dict], str | None]:
        """Run a ``search_query.search_body`` (built beforehand, so bad input fails before any request)."""
        alias = self.aliases["tweets"]
        answer = self.call(f"searching {alias}", self.client.search, index=alias, **body)
        return page_of(answer["hits"]["hits"], limit)

    def state(self, kind: str) -> dict | None:
        """The stored state of ``kind``'s alias (index, mapping_version, lake_version...); None when the state
        index or the alias's document is missing."""
        alias = self.aliases[kind]
        client = self.client.options(ignore_status=404)
        answer = self.call(f"reading the sink state of {alias}", client.get, index=self.state_index, id=alias)
        return answer.body.get("_source") if answer.meta.status == 200 else None

    def documents(self, kind: str) -> int:
        alias = self.aliases[kind]
        return int(self.call(f"counting {alias}", self.client.count, index=alias)["count"])

    def alias_target(self, kind: str) -> list[str]:
        """The physical indexes ``kind``'s alias points at (none before the first run)."""
        alias = self.aliases[kind]
        answer = self.call(
            f"reading alias {alias}", self.client.options(ignore_status=404).indices.get_alias, name=alias
        )
        return sorted(answer.body) if answer.meta.status == 200 else []

    # -- the sink ----------------------------------------------------------------------------------------

    def sync(
        self,
        lake: Lake,
        kind: str,
        *,
        full: bool = False,
        on_batch: Callable[[SyncResult, int], None] | None = None,
    ) -> SyncResult:
        """Bring ``kind``'s index up to the lake's current version (see the module docstring).
        ``on_batch(result so far, rows to ship)`` is called after each acknowledged bulk request. A failure
        raises :class:`SearchError` whose ``partial`` is the result so far (``from_version`` None: the
        watermark could not be read)."""
        result = SyncResult(kind, self.aliases[kind], None, False, None, None)
        try:
            self._sync(lake, kind, full, result, on_batch)
        except SearchError as exc:
            exc.partial = result
            raise
        return result

    def _sync(self, lake: Lake, kind: str, full: bool, result: SyncResult, on_batch: Callable | None) -> None:
        state = self.state(kind)
        current = self.alias_target(kind)
        result.from_version = watermark = state.get("lake_version") if state else None
        result.index = current[0] if current else None
        rebuild = (
            full
            or state is None
            or current != [state.get("index")]
            or state.get("mapping_version") != mappings.MAPPING_VERSION
        )
        changes = changes_since(lake, KINDS[kind], None if rebuild else watermark)
        if changes is None:  # the entity table does not exist yet: nothing to index, nothing to change
            return
        result.to_version, result.full = changes.version, rebuild or changes.full
        if result.full:
            self._rebuild(lake, kind, changes, current, result, on_batch)
        else:
            self._ship(lake, kind, changes, current[0], result, on_batch, fresh=False)
            if result.batches:
                self.call(f"refreshing {current[0]}", self.client.indices.refresh, index=current[0])
        result.documents = self.documents(kind)
        if result.full or result.to_version != watermark:
            self._write_state(KINDS[kind], result)
        for old in result.replaced:  # after the state names the new index: a failure here leaves only garbage
            self.call(
                f"deleting the replaced index {old}",
                self.client.options(ignore_status=404).indices.delete,
                index=old,
            )

    def _write_state(self, table: str, result: SyncResult) -> None:
        """The watermark, after a run whose every bulk batch was acknowledged (``refresh``: the next run reads
        it at once); the state index is created on first use."""
        client = self.client
        if not self.call(f"checking {self.state_index}", client.indices.exists, index=self.state_index):
            try:
                client.indices.create(index=self.state_index, mappings=mappings.STATE_MAPPING)
            except ApiError as exc:  # another run created it in between
                if "resource_already_exists" not in str(exc):
                    raise self.error(exc, f"creating {self.state_index}") from exc
        state = {
            "alias": result.alias,
            "table": table,
            "index": result.index,
            "mapping_version": mappings.MAPPING_VERSION,
            "lake_version": result.to_version,
            "documents": result.documents,
            "updated_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        self.call(
            f"writing the sink state of {result.alias}",
            client.index,
            index=self.state_index,
            id=result.alias,
            document=state,
            refresh=True,
        )

    def _rebuild(
        self,
        lake: Lake,
        kind: str,
        changes: Changes,
        current: list[str],
        result: SyncResult,
        on_batch: Callable | None,
    ) -> None:
        alias, client = self.aliases[kind], self.client
        if not current and self.call(
            f"checking for an index named {alias}", client.indices.exists, index=alias
        ):
            raise SearchError(
                f"the search server at {self.where} has an index named {alias}, where XGet "
                f"keeps an alias over versioned indexes ({alias}-v1-1, ...): delete that index "
                "or choose another alias (XGET_SEARCH_INDEX / XGET_SEARCH_USERS_INDEX)"
            )
        name = self._new_index_name(kind, current)
        mapping = mappings.TWEETS_MAPPING if kind == "tweets" else mappings.USERS_MAPPING
        settings = {**mappings.SETTINGS, "refresh_interval": "-1"}  # no refreshes while it fills: faster
        meta = {"_meta": {"xget_mapping_version": mappings.MAPPING_VERSION, "xget_table": KINDS[kind]}}
        self.call(
            f"creating index {name}",
            client.indices.create,
            index=name,
            settings=settings,
            mappings={**mapping, **meta},
        )
        self._ship(lake, kind, changes, name, result, on_batch, fresh=True)
        self.call(
            f"enabling refreshes of {name}",
            client.indices.put_settings,
            index=name,
            settings={"index": {"refresh_interval": "1s"}},
        )
        self.call(f"refreshing {name}", client.indices.refresh, index=name)
        actions = [{"remove": {"index": old, "alias": alias}} for old in current]
        self.call(
            f"moving alias {alias} to {name}",
            client.indices.update_aliases,
            actions=[*actions, {"add": {"index": name, "alias": alias}}],
        )
        result.index, result.replaced = name, list(current)

    def _new_index_name(self, kind: str, current: list[str]) -> str:
        """``<alias>-v<mapping version>-<n>``, n past every index of the alias seen; leftovers of runs that
        died while building (indexes of the alias the alias does not point at) are deleted first."""
        alias = self.aliases[kind]
        pattern = re.compile(rf"^{re.escape(alias)}-v(\d+)-(\d+)$")
        answer = self.call(
            f"listing the indexes of {alias}",
            self.client.indices.get_alias,
            index=f"{alias}-v*",
            expand_wildcards="all",
        )
        seen = [name for name in answer.body if pattern.match(name)]
        for leftover in sorted(set(seen) - set(current)):
            self.call(f"deleting the unfinished index {leftover}", self.client.indices.delete, index=leftover)
        n = max((int(pattern.match(name).group(2)) for name in seen), default=0) + 1
        return f"{alias}-v{mappings.MAPPING_VERSION}-{n}"

    def _ship(
        self,
        lake: Lake,
        kind: str,
        changes: Changes,
        index: str,
        result: SyncResult,
        on_batch: Callable | None,
        fresh: bool,
    ) -> None:
        """Send the changed rows in bulk requests of at most ``batch_size`` documents."""
        users = lake.table(USERS) if kind == "tweets" else None
        users_dataset = users.to_pyarrow_dataset() if users is not None else None
        total = changes.rows()
        for batch in changes.batches(batch_size=self.batch_size):
            rows = batch.to_pylist()
            names = mappings.author_usernames(users_dataset, rows) if kind == "tweets" else {}
            operations: list[dict] = []
            indexed = deleted = 0
            for row in rows:
                if kind == "tweets" and row.get("tombstone"):
                    deleted += 1
                    if not fresh:  # a new index never had it
                        operations.append({"delete": {"_index": index, "_id": str(row["tweet_id"])}})
                    continue
                if kind == "tweets":
                    doc_id, document = str(row["tweet_id"]), mappings.tweet_document(row, names)
                else:
                    doc_id, document = str(row["user_id"]), mappings.user_document(row)
                operations += [{"index": {"_index": index, "_id": doc_id}}, document]
                indexed += 1
            if operations:
                self._bulk(index, operations)
                result.batches += 1
            result.indexed, result.deleted = result.indexed + indexed, result.deleted + deleted
            if on_batch is not None:
                on_batch(result, total)

    def _bulk(self, index: str, operations: list[dict]) -> None:
        answer = self.call(f"sending a bulk request to {index}", self.client.bulk, operations=operations)
        if answer.get("errors"):
            raise bulk_errors(self.where, index, answer["items"])
