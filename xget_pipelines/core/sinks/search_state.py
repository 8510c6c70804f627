"""The search sink's watermark, kept in the search cluster itself: index ``xget-sink-state``, one document per
alias (``_id`` = the alias) naming the physical index, its mapping version and the last Delta version shipped.

Kept next to the data it describes, it can never disagree with it: a cluster that lost its indexes lost this
too (the next run refills everything), and one that kept them resumes from here. It is written only at the
end of a run whose every bulk batch was acknowledged, with ``refresh`` so the next run reads it at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from elasticsearch import ApiError

from xget_pipelines.core.sinks import search_mappings as mappings

if TYPE_CHECKING:
    from xget_pipelines.core.sinks.search import SearchIndex, SyncResult

STATE_INDEX = "xget-sink-state"
STATE_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "alias": {"type": "keyword"},
        "table": {"type": "keyword"},
        "index": {"type": "keyword"},
        "mapping_version": {"type": "integer"},
        "lake_version": {"type": "long"},
        "documents": {"type": "long"},
        "updated_at": {"type": "date"},
    },
}


def read_state(index: SearchIndex, alias: str) -> dict | None:
    """The state document of ``alias``; None when the state index or the document is missing."""
    client = index.client.options(ignore_status=404)
    answer = index.call(f"reading the sink state of {alias}", client.get, index=index.state_index, id=alias)
    return answer.body.get("_source") if answer.meta.status == 200 else None


def write_state(index: SearchIndex, table: str, result: SyncResult) -> None:
    client = index.client
    if not index.call(f"checking {index.state_index}", client.indices.exists, index=index.state_index):
        try:
            client.indices.create(index=index.state_index, mappings=STATE_MAPPING)
        except ApiError as exc:  # another run created it in between
            if "resource_already_exists" not in str(exc):
                raise index.error(exc, f"creating {index.state_index}") from exc
    state = {
        "alias": result.alias,
        "table": table,
        "index": result.index,
        "mapping_version": mappings.MAPPING_VERSION,
        "lake_version": result.to_version,
        "documents": result.documents,
        "updated_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    index.call(
        f"writing the sink state of {result.alias}",
        client.index,
        index=index.state_index,
        id=result.alias,
        document=state,
        refresh=True,
    )
