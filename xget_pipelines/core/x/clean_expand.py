"""The cleaned tables of a key's expansions (``expand.py``); ``clean.py`` calls ``clean_expansions`` for every
partition it rebuilds. The tweets and users of the expansions' pages (replies, quote tweets, retweeters,
media posts) go to ``cleaned/tweets`` and ``cleaned/users`` like any others; these tables add the structure:

- ``cleaned/conversations``: one row per tweet of every conversation a ``conversations:N`` expansion
  collected (the TweetDetail pages: the expanded post, its ancestors and every reply under it):
  ``conversation_id``, ``tweet_id``, ``parent_id`` (the tweet it replies to), ``depth`` (the conversation's
  root 0, its direct replies 1, ...; null when a link of the chain up to the root was not collected: a
  deleted or protected reply), ``author_id``, ``created_at``;
- ``cleaned/retweeters``: one row per (tweet, user who retweeted it) of a ``retweeters:N`` expansion, in the
  order X listed them (newest first).

Both are replaced per (day, watch_key) partition from the partition's latest complete session: a re-run
doubles nothing, and a re-scrape without the expansion empties them.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.expand import target
from xget_pipelines.core.x.parse import MalformedPage, parse_page

_ID, _TS, _STR = pa.int64(), pa.timestamp("us", tz="UTC"), pa.string()
_OBSERVED = [("watch_key", _STR), ("page_key", _STR), ("fetched_at", _TS), ("day", pa.date32())]

CONVERSATIONS = pa.schema(
    [
        ("conversation_id", _ID),
        ("tweet_id", _ID),
        ("parent_id", _ID),
        ("depth", pa.int32()),
        ("author_id", _ID),
        ("created_at", _TS),
        *_OBSERVED,
    ]
)
RETWEETERS = pa.schema([("tweet_id", _ID), ("user_id", _ID), ("position", pa.int32()), *_OBSERVED])
TABLES = {"cleaned/conversations": CONVERSATIONS, "cleaned/retweeters": RETWEETERS}


def clean_expansions(
    lake: Lake, *, key: str, day: dt.date, pages: pa.Table
) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Rebuild this module's tables for the (key, day) partition from ``pages`` (the latest complete session's
    rows in fetch order, with their ``target``); returns (tables, lake versions). A partition with no
    expansion pages writes only where the table holds rows of it from an earlier session."""
    targets = pages["target"].fill_null("") if "target" in pages.column_names else None
    tables = {
        "cleaned/conversations": conversations(_of(pages, targets, "conversations"), key, day),
        "cleaned/retweeters": retweeters(_of(pages, targets, "retweeters"), key, day),
    }
    versions = {}
    where = {"day": day, "watch_key": key}
    for table, data in tables.items():
        if data.num_rows == 0 and not _has_rows(lake, table, where):
            continue
        versions[table] = lake.replace_where(table, data, where, ["day"])
    return tables, versions


def _of(pages: pa.Table, targets: pa.ChunkedArray | None, kind: str) -> list[dict]:
    if targets is None or pages.num_rows == 0:
        return []
    return pages.filter(pc.starts_with(targets, target(kind, ""))).to_pylist()


def _has_rows(lake: Lake, table: str, where: dict) -> bool:
    stored = lake.read(table, where, columns=["day"])
    return stored is not None and stored.num_rows > 0


def _observed(row: dict, key: str, day: dt.date) -> dict:
    return {"watch_key": key, "page_key": row["page_key"], "fetched_at": row["fetched_at"], "day": day}


def conversations(rows: list[dict], key: str, day: dt.date) -> pa.Table:
    """Every tweet of the TweetDetail pages (not the posts they quote), once, from its newest page; depth
    from the parent links among them."""
    found: dict[int, dict] = {}
    for row in sorted(rows, key=lambda r: r["fetched_at"]):
        try:
            tweets = parse_page(row["body"], "TweetDetail").tweets
        except MalformedPage:
            continue
        for t in tweets.filter(pc.equal(tweets["via"], "timeline")).to_pylist():
            found[t["tweet_id"]] = {
                "conversation_id": t["conversation_id"],
                "tweet_id": t["tweet_id"],
                "parent_id": t["reply_to_tweet_id"],
                "author_id": t["author_id"],
                "created_at": t["created_at"],
                **_observed(row, key, day),
            }
    for tid, out in found.items():
        out["depth"] = _depth(found, tid)
    ordered = sorted(found.values(), key=lambda r: (r["conversation_id"] or 0, r["tweet_id"]))
    return pa.Table.from_pylist(ordered, schema=CONVERSATIONS)


def _depth(found: dict[int, dict], tid: int) -> int | None:
    """Steps from ``tid`` up to its conversation's root; None when the chain leaves the collected tweets."""
    depth, node, seen = 0, found[tid], set()
    while node["tweet_id"] != node["conversation_id"]:
        parent = node["parent_id"]
        if parent is None or parent in seen or parent not in found:
            return None
        seen.add(parent)
        node, depth = found[parent], depth + 1
    return depth


def retweeters(rows: list[dict], key: str, day: dt.date) -> pa.Table:
    """(tweet, retweeter) edges of the Retweeters pages, each once, in X's order; the tweet is the one the
    page's target names (``expand:retweeters:<tweet id>``)."""
    out: dict[tuple[int, int], dict] = {}
    listed: dict[int, int] = {}  # retweeters of each tweet so far
    for row in rows:
        tweet = row["target"].rsplit(":", 1)[1]
        if not tweet.isdigit():
            continue
        try:
            users = parse_page(row["body"], "Retweeters").timeline_user_ids
        except MalformedPage:
            continue
        for uid in users:
            edge = (int(tweet), uid)
            if edge not in out:
                position = listed.get(edge[0], 0)
                listed[edge[0]] = position + 1
                edge_row = {"tweet_id": edge[0], "user_id": uid, "position": position}
                out[edge] = {**edge_row, **_observed(row, key, day)}
    return pa.Table.from_pylist(list(out.values()), schema=RETWEETERS)


def ensure_expansion_tables(lake: Lake) -> None:
    """Create both tables empty unless they exist (the dbt mart ``conversation_trees`` reads one of them)."""
    for table, schema in TABLES.items():
        lake.ensure(table, schema, ["day"])
