"""What X said about each id of a dataset, and ``ops/hydration``, the lake table that keeps it.

``classify`` reads a TweetResultsByRestIds (or TweetResultByRestId) body: one item per requested id, in
request order (emulator/ops_lookup.py has the evidence). A post X serves is ``found``; an item without
``result`` is ``deleted`` (X answers a deleted post and an id it never had the same way, so "deleted"
means "not there"); ``TweetUnavailable`` carries X's reason (``Suspended``, ``Protected``: the author's
state); a ``TweetTombstone`` carries X's notice (withheld, deleted, a suspended account's). Anything else
X gives as a reason is ``unavailable`` with the reason kept. Found posts are matched by their own id, so
a body whose list does not line up with the request still places them; the other ids of such a body are
left undecided (the caller asks them one by one).

``ops/hydration`` holds one row per (dataset, tweet_id), partitioned by dataset and MERGEd on that key:
a re-run updates rows, never adds a second one. Every status is final: a later run of the dataset skips
the ids that have one (``decided``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass

import orjson
import pyarrow as pa

from xget_pipelines.core.lake.delta import Lake, sql_literal

TABLE = "ops/hydration"
SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("tweet_id", pa.int64(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("author_id", pa.int64()),
        pa.field("checked_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("run_id", pa.string()),
    ]
)
STATUSES = ("found", "deleted", "suspended", "protected", "withheld", "unavailable")
_REASONS = {"suspended": "suspended", "protected": "protected", "deleted": "deleted", "missing": "deleted"}
NO_RESULT = "no result (deleted, or never existed)"


@dataclass(frozen=True)
class IdStatus:
    """One row of ``ops/hydration``."""

    dataset: str
    tweet_id: int
    status: str
    reason: str | None
    author_id: int | None
    checked_at: dt.datetime
    run_id: str | None


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _tombstone_status(text: str) -> str:
    lowered = text.lower()
    for word, status in (("withheld", "withheld"), ("suspended", "suspended"), ("deleted", "deleted")):
        if word in lowered:
            return status
    return "unavailable"


def _verdict(item: object) -> tuple[str, str | None, int | None, int | None]:
    """(status, reason, author id, the post's own id) of one ``tweetResult`` item."""
    result = item.get("result") if isinstance(item, dict) else None
    if not isinstance(result, dict):
        return "deleted", NO_RESULT, None, None
    kind = result.get("__typename")
    if kind == "TweetUnavailable":
        reason = str(result.get("reason") or "")
        return _REASONS.get(reason.lower(), "unavailable"), reason or None, None, None
    if kind == "TweetTombstone":
        text = ((result.get("tombstone") or {}).get("text") or {}).get("text") or ""
        return _tombstone_status(text), text or None, None, None
    post = result.get("tweet") if kind == "TweetWithVisibilityResults" else result
    if not isinstance(post, dict) or _int(post.get("rest_id")) is None:
        return "unavailable", f"unreadable result ({kind})", None, None
    author = ((post.get("core") or {}).get("user_results") or {}).get("result") or {}
    author_id = _int(author.get("rest_id")) or _int((post.get("legacy") or {}).get("user_id_str"))
    return "found", None, author_id, _int(post["rest_id"])


def classify(body: bytes, ids: list[int]) -> dict[int, tuple[str, str | None, int | None]]:
    """``{id: (status, reason, author id)}`` for the ids of ``ids`` the body decides (see the module doc)."""
    try:
        doc = orjson.loads(body)
        items = doc["data"]["tweetResult"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return {}
    items = items if isinstance(items, list) else [items]
    verdicts = [_verdict(item) for item in items]
    out: dict[int, tuple[str, str | None, int | None]] = {}
    wanted = set(ids)
    for status, reason, author, own in verdicts:
        if own in wanted:
            out[own] = (status, reason, author)
    if len(items) == len(ids):
        for tid, (status, reason, author, _) in zip(ids, verdicts, strict=True):
            out.setdefault(tid, (status, reason, author))
    return out


def record(lake: Lake, dataset: str, rows: list[IdStatus]) -> None:
    """Insert or update ``rows`` by (dataset, tweet_id); the dataset's partition only is read."""
    if not rows:
        return
    latest = {r.tweet_id: r for r in rows}
    source = pa.Table.from_pylist([asdict(r) for r in latest.values()], SCHEMA)
    lake.merge(
        TABLE,
        source,
        f"t.dataset = {sql_literal(dataset)} AND t.dataset = s.dataset AND t.tweet_id = s.tweet_id",
        lambda m: m.when_matched_update_all().when_not_matched_insert_all(),
        schema=SCHEMA,
        partition_by=["dataset"],
        streamed_exec=False,
    )


def read(lake: Lake, dataset: str) -> pa.Table:
    table = lake.read(TABLE, {"dataset": dataset})
    return SCHEMA.empty_table() if table is None else table.cast(SCHEMA)


def decided(lake: Lake, dataset: str) -> set[int]:
    """Ids of ``dataset`` that already have a (final) status."""
    table = lake.read(TABLE, {"dataset": dataset}, columns=["tweet_id"])
    return set() if table is None else set(table["tweet_id"].to_pylist())


def counts(lake: Lake, dataset: str) -> dict[str, int]:
    """Ids per status of the whole dataset, every status listed."""
    table = lake.read(TABLE, {"dataset": dataset}, columns=["status"])
    found = Counter(table["status"].to_pylist()) if table is not None else Counter()
    return {s: found.get(s, 0) for s in STATUSES} | {s: n for s, n in found.items() if s not in STATUSES}
