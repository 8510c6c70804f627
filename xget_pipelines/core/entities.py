"""Gold entities: the cleaned observations of a day merged into one row per tweet and per user.

``merge_day(lake, day)`` reads every cleaned partition of ``day`` (all watchlist keys) and merges it:

- ``entities/tweets`` (one row per ``tweet_id``) and ``entities/users`` (one row per ``user_id``) by Delta
  MERGE. The newest observation wins: a row is replaced only by an observation fetched later than its
  ``last_seen``; an older observation (a backfill of an earlier day run after a later one) only moves
  ``first_seen`` back. Re-merging a day changes nothing (idempotent), whatever the order days run in.
- ``entities/follows`` (one row per follower -> followed edge seen on a watched account's Followers or
  Following pages, partitioned by ``follower_id % 16``): ``first_seen``/``last_seen``. An edge not seen
  again is not taken for an unfollow: the pages are a sample (the newest followers first), not the list.
- ``entities/tweet_metrics_history`` and ``entities/user_metrics_history``: every observed engagement
  count (likes, retweets, replies, quotes, bookmarks, views) and follower/following count with the time it
  was observed, inserted once per (id, observed_at), so velocity and growth can be computed. A re-scrape
  adds its observations; the older ones stay.

Cost in proportion to the day, not the table: ``entities/tweets`` is partitioned by the tweet's
``created_date`` (immutable) and the merge joins on it, so delta-rs prunes the target to the partitions
the day's tweets fall in (mostly that day and the few before it); histories are partitioned by the
observation date, likewise. ``entities/users`` is partitioned by ``bucket = user_id % 16``: a user has no
immutable date, and a day's users touch most buckets, so a users merge reads up to the whole table, which
stays small next to tweets (one row per user, not per tweet).

Tombstones: tweets X answered as deleted or withheld (``cleaned/tombstones``) keep their last content and
get ``tombstone`` (the reason) and ``tombstoned_at``; a later observation of the tweet clears them.

Corrections (``cleaned/corrections``, ``core/corrections.py``): tweets a user supplied for the day are
observations of it, seen when supplied (``via = 'supplied'``); after the tweets and tombstones, every
correction of the tweets merged and of the day's corrected tweets is applied again (text/lang/... updates,
soft deletes as ``tombstone = 'deleted_by_user'``, restores), so corrections outlive later observations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.corrections import (
    CORRECTABLE,
    CORRECTIONS,
    USER_DELETED,
    fold,
    supplied_observations,
)
from xget_pipelines.core.lake.delta import Lake, sql_literal
from xget_pipelines.core.x import schema

TWEETS = "entities/tweets"
USERS = "entities/users"
TWEET_METRICS = "entities/tweet_metrics_history"
USER_METRICS = "entities/user_metrics_history"
FOLLOWS = "entities/follows"
ENTITY_TABLES = (TWEETS, USERS, TWEET_METRICS, USER_METRICS, FOLLOWS)
USER_BUCKETS = 16

_TS = pa.timestamp("us", tz="UTC")
_SEEN = [pa.field("first_seen", _TS, False), pa.field("last_seen", _TS, False)]
TWEETS_SCHEMA = pa.schema(
    [
        *schema.TWEETS,
        *_SEEN,
        pa.field("tombstone", pa.string()),
        pa.field("tombstoned_at", _TS),
        pa.field("created_date", pa.date32(), False),
    ]
)
USERS_SCHEMA = pa.schema([*schema.USERS, *_SEEN, pa.field("bucket", pa.int32(), False)])
FOLLOWS_SCHEMA = pa.schema(
    [
        pa.field("follower_id", pa.int64(), False),
        pa.field("followed_id", pa.int64(), False),
        *_SEEN,
        pa.field("bucket", pa.int32(), False),
    ]
)
TWEET_METRIC_COLUMNS = (
    "like_count",
    "retweet_count",
    "reply_count",
    "quote_count",
    "bookmark_count",
    "view_count",
)
USER_METRIC_COLUMNS = (
    "followers_count",
    "following_count",
    "tweet_count",
    "listed_count",
    "favourites_count",
    "media_count",
)
TWEET_METRICS_SCHEMA = pa.schema(
    [
        pa.field("tweet_id", pa.int64(), False),
        pa.field("observed_at", _TS, False),
        *[schema.TWEETS.field(c) for c in TWEET_METRIC_COLUMNS],
        pa.field("observed_date", pa.date32(), False),
    ]
)
USER_METRICS_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.int64(), False),
        pa.field("observed_at", _TS, False),
        *[schema.USERS.field(c) for c in USER_METRIC_COLUMNS],
        pa.field("observed_date", pa.date32(), False),
    ]
)
EPOCH_DATE = "DATE '1970-01-01'"  # created_date of a tweet without created_at (a partition value is needed)


@dataclass
class MergeResult:
    day: dt.date
    source_rows: dict[str, int] = field(default_factory=dict)  # deduplicated rows merged per table
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    tombstoned: int = 0
    corrected: int = 0  # entities/tweets rows a correction changed (core/corrections.py)
    versions: dict[str, int] = field(default_factory=dict)
    # The merge's cost: target files it read (after pruning), files it rewrote and the unchanged rows it
    # copied into them (delta-rs rewrites a touched file whole: there are no deletion vectors).
    files_scanned: dict[str, int] = field(default_factory=dict)
    files_rewritten: dict[str, int] = field(default_factory=dict)
    rows_copied: dict[str, int] = field(default_factory=dict)
    # The values of each table's partition column its merge wrote into: where a key it inserted can be
    # (the entity key checks look there, not at the whole table).
    partitions: dict[str, list] = field(default_factory=dict)


def _cleaned(lake: Lake, table: str, day: dt.date) -> pa.Table | None:
    return lake.read(table, where={"day": day})


def _prepare(con: duckdb.DuckDBPyConnection, sql: str, target_schema: pa.Schema) -> pa.Table:
    return con.sql(sql).to_arrow_table().select(target_schema.names).cast(target_schema)


def tweets_source(con: duckdb.DuckDBPyConnection, tombstones: pa.Table | None) -> pa.Table:
    """One row per tweet of the day's cleaned rows (registered as ``src``): the newest observation,
    with the first and last time it was seen that day; tombstone columns null."""
    cols = ", ".join(f'"{c}"' for c in schema.TWEETS.names)
    return _prepare(
        con,
        f"""
        select {cols}, first_seen, fetched_at as last_seen, null::varchar as tombstone,
               null::timestamptz as tombstoned_at,
               coalesce(cast(created_at at time zone 'UTC' as date), {EPOCH_DATE}) as created_date
        from (select *, row_number() over (partition by tweet_id order by fetched_at desc, page_key desc) as rn,
                     min(fetched_at) over (partition by tweet_id) as first_seen
              from src)
        where rn = 1
    """,
        TWEETS_SCHEMA,
    )


def users_source(con: duckdb.DuckDBPyConnection) -> pa.Table:
    cols = ", ".join(f'"{c}"' for c in schema.USERS.names)
    return _prepare(
        con,
        f"""
        select {cols}, first_seen, fetched_at as last_seen, cast(user_id % {USER_BUCKETS} as integer) as bucket
        from (select *, row_number() over (partition by user_id order by fetched_at desc, page_key desc) as rn,
                     min(fetched_at) over (partition by user_id) as first_seen
              from src)
        where rn = 1
    """,
        USERS_SCHEMA,
    )


def follows_source(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per edge of the day's follows (registered as ``src``), first and last time seen."""
    return _prepare(
        con,
        f"""
        select follower_id, followed_id, min(fetched_at) as first_seen, max(fetched_at) as last_seen,
               cast(follower_id % {USER_BUCKETS} as integer) as bucket
        from src group by 1, 2
    """,
        FOLLOWS_SCHEMA,
    )


def metrics_source(
    con: duckdb.DuckDBPyConnection, key: str, columns: tuple[str, ...], target: pa.Schema
) -> pa.Table:
    cols = ", ".join(f'any_value("{c}") as "{c}"' for c in columns)
    return _prepare(
        con,
        f"""
        select {key}, fetched_at as observed_at, {cols},
               cast(fetched_at at time zone 'UTC' as date) as observed_date
        from src group by {key}, fetched_at
    """,
        target,
    )


def _merge(
    lake: Lake,
    table: str,
    schema: pa.Schema,
    source: pa.Table,
    on: list[str],
    partition_by: list[str],
    updates: dict[str, str] | None,
    keep_older: dict[str, str] | None = None,
    newest: str = "last_seen",
) -> dict:
    """MERGE ``source`` into ``table`` on ``on`` (partition columns first, so the target is pruned).

    ``updates``: column -> expression applied when the source row is newer (``s.<newest> > t.<newest>``);
    ``keep_older``: applied when it is older. None: insert-only (histories). The table is created empty
    first if it is missing, so even a first merge is a MERGE: two runs merging at once into a new table
    conflict and are retried (``Lake.merge``), they never both insert the same key.
    """
    if source.num_rows == 0:
        lake.ensure(table, schema, partition_by)
        return {}
    # delta-rs prunes target files by literal predicates only (a join condition alone scans every file):
    # name the partition values the source holds, so the merge reads those partitions and no others.
    prune = [f"t.{c} IN ({', '.join(sql_literal(v) for v in _values(source, c))})" for c in partition_by]
    predicate = " AND ".join(prune + [f"t.{c} = s.{c}" for c in on])

    def clauses(merger):
        if updates is not None:
            merger = merger.when_matched_update(updates=updates, predicate=f"s.{newest} > t.{newest}")
            if keep_older:
                merger = merger.when_matched_update(updates=keep_older, predicate=f"s.{newest} < t.{newest}")
        return merger.when_not_matched_insert_all()

    return lake.merge(
        table, source, predicate, clauses, schema=schema, partition_by=partition_by, merge_schema=True
    )


def _values(source: pa.Table, column: str) -> list:
    """The distinct values of a (partition) column, sorted."""
    return sorted(pc.unique(source[column]).to_pylist(), key=lambda v: (v is None, v))


def _entity_updates(target: pa.Schema, skip: tuple[str, ...]) -> dict[str, str]:
    updates = {c: f"s.{c}" for c in target.names if c not in skip}
    updates["first_seen"] = "CASE WHEN s.first_seen < t.first_seen THEN s.first_seen ELSE t.first_seen END"
    return updates


_FIRST_SEEN_ONLY = {
    "first_seen": "CASE WHEN s.first_seen < t.first_seen THEN s.first_seen ELSE t.first_seen END"
}


def merge_day(lake: Lake, day: dt.date) -> MergeResult:
    """Merge the cleaned observations of ``day`` into the entity tables; returns what changed."""
    result = MergeResult(day)
    con = duckdb.connect()
    tweets = _cleaned(lake, "cleaned/tweets", day)
    users = _cleaned(lake, "cleaned/users", day)
    tombstones = _cleaned(lake, "cleaned/tombstones", day)
    follows = _cleaned(lake, "cleaned/follows", day)
    # Tweets users supplied for this day are observations of it too, seen when supplied (fetched_at =
    # corrected_at): entities/tweets takes them like any other, and a later real observation replaces them.
    # They add nothing to the metric histories (their counts were not observed).
    corrections = lake.read(CORRECTIONS)  # small: one row per change a person made
    observed = _with_supplied(tweets, supplied_observations(corrections, day))
    plans = []
    merged_ids: list[int] = []
    if observed is not None and observed.num_rows:
        con.register("src", observed)
        source = tweets_source(con, tombstones)
        merged_ids = source["tweet_id"].to_pylist()
        plans.append(
            (
                TWEETS,
                TWEETS_SCHEMA,
                source,
                ["created_date", "tweet_id"],
                ["created_date"],
                _entity_updates(TWEETS_SCHEMA, ("created_date",)),
                _FIRST_SEEN_ONLY,
            )
        )
        con.unregister("src")
    if tweets is not None and tweets.num_rows:
        con.register("src", tweets)
        plans.append(
            (
                TWEET_METRICS,
                TWEET_METRICS_SCHEMA,
                metrics_source(con, "tweet_id", TWEET_METRIC_COLUMNS, TWEET_METRICS_SCHEMA),
                ["observed_date", "tweet_id", "observed_at"],
                ["observed_date"],
                None,
                None,
            )
        )
        con.unregister("src")
    if users is not None and users.num_rows:
        con.register("src", users)
        plans.append(
            (
                USERS,
                USERS_SCHEMA,
                users_source(con),
                ["bucket", "user_id"],
                ["bucket"],
                _entity_updates(USERS_SCHEMA, ("bucket",)),
                _FIRST_SEEN_ONLY,
            )
        )
        plans.append(
            (
                USER_METRICS,
                USER_METRICS_SCHEMA,
                metrics_source(con, "user_id", USER_METRIC_COLUMNS, USER_METRICS_SCHEMA),
                ["observed_date", "user_id", "observed_at"],
                ["observed_date"],
                None,
                None,
            )
        )
        con.unregister("src")
    if follows is not None and follows.num_rows:
        con.register("src", follows)
        plans.append(
            (
                FOLLOWS,
                FOLLOWS_SCHEMA,
                follows_source(con),
                ["bucket", "follower_id", "followed_id"],
                ["bucket"],
                {"last_seen": "s.last_seen", **_FIRST_SEEN_ONLY},
                _FIRST_SEEN_ONLY,
            )
        )
        con.unregister("src")
    for table, table_schema, source, on, partition_by, updates, keep_older in plans:
        metrics = _merge(lake, table, table_schema, source, on, partition_by, updates, keep_older)
        result.source_rows[table] = source.num_rows
        result.partitions[table] = _values(source, partition_by[0])
        result.inserted[table] = int(metrics.get("num_target_rows_inserted", 0))
        result.updated[table] = int(metrics.get("num_target_rows_updated", 0))
        result.files_scanned[table] = int(metrics.get("num_target_files_scanned", 0))
        result.files_rewritten[table] = int(metrics.get("num_target_files_removed", 0))
        result.rows_copied[table] = int(metrics.get("num_target_rows_copied", 0))
    if tombstones is not None and tombstones.num_rows and lake.table(TWEETS) is not None:
        result.tombstoned = _apply_tombstones(lake, con, tombstones)
    # Corrections last, so they win over what this merge just wrote (a newer observation resets text and
    # clears tombstones): all corrections of the tweets merged or tombstoned now, and of the tweets corrected
    # for this day (which may have no observation today). Applying them again changes nothing.
    if corrections is not None and corrections.num_rows and lake.table(TWEETS) is not None:
        touched = merged_ids + (tombstones["tweet_id"].to_pylist() if tombstones is not None else [])
        result.corrected = _apply_corrections(lake, fold(corrections, touched, day))
    for table in ENTITY_TABLES:
        version = lake.version(table)
        if version is not None:
            result.versions[table] = version
    return result


def _with_supplied(tweets: pa.Table | None, supplied: pa.Table | None) -> pa.Table | None:
    """The day's cleaned tweets plus the supplied records (both in the cleaned/tweets schema)."""
    if supplied is None:
        return tweets
    if tweets is None or tweets.num_rows == 0:
        return supplied
    return pa.concat_tables([tweets.select(supplied.schema.names).cast(supplied.schema), supplied])


def _apply_corrections(lake: Lake, folded: pa.Table) -> int:
    """Apply the net corrections (one row per tweet, ``corrections.fold``) with one MERGE into
    entities/tweets: a corrected field takes its value, a soft delete sets ``tombstone = 'deleted_by_user'``
    (``tombstoned_at`` = when), a restore clears that tombstone (not X's). Only rows that would change are
    rewritten."""
    if folded.num_rows == 0:
        return 0
    days = ", ".join(sql_literal(d) for d in sorted(set(folded["created_date"].to_pylist())))
    deleted = sql_literal(USER_DELETED)
    restored = f"(s.user_deleted = false AND t.tombstone = {deleted})"
    updates = {c: f"coalesce(s.{c}, t.{c})" for c in CORRECTABLE}
    updates["tombstone"] = (
        f"CASE WHEN s.user_deleted = true THEN {deleted} WHEN {restored} THEN NULL ELSE t.tombstone END"
    )
    updates["tombstoned_at"] = (
        f"CASE WHEN s.user_deleted = true THEN s.deleted_at WHEN {restored} THEN NULL "
        "ELSE t.tombstoned_at END"
    )
    # (DataFusion needs the parentheses around IS DISTINCT FROM inside AND/OR.)
    changed = [f"(s.{c} IS NOT NULL AND (s.{c} IS DISTINCT FROM t.{c}))" for c in CORRECTABLE] + [
        f"(s.user_deleted = true AND ((t.tombstone IS DISTINCT FROM {deleted}) OR "
        "(t.tombstoned_at IS DISTINCT FROM s.deleted_at)))",
        restored,
    ]
    metrics = lake.merge(
        TWEETS,
        folded,
        f"t.created_date IN ({days}) AND t.tweet_id = s.tweet_id",
        lambda m: m.when_matched_update(updates=updates, predicate=" OR ".join(changed)),
    )
    return int(metrics.get("num_target_rows_updated", 0))


def _apply_tombstones(lake: Lake, con: duckdb.DuckDBPyConnection, tombstones: pa.Table) -> int:
    """Mark known tweets X now answers as deleted/withheld, unless seen alive after the tombstone."""
    con.register("tomb", tombstones)
    latest = con.sql("""
        select tweet_id, arg_max(reason, fetched_at) as tombstone, max(fetched_at) as tombstoned_at
        from tomb group by tweet_id
    """).to_arrow_table()
    con.unregister("tomb")
    ids = latest["tweet_id"].to_pylist()
    bounds = f"t.tweet_id >= {min(ids)} AND t.tweet_id <= {max(ids)}"  # file statistics prune the rest
    metrics = lake.merge(
        TWEETS,
        latest,
        f"{bounds} AND t.tweet_id = s.tweet_id",
        lambda m: m.when_matched_update(
            updates={"tombstone": "s.tombstone", "tombstoned_at": "s.tombstoned_at"},
            predicate="s.tombstoned_at > t.last_seen AND "
            "(t.tombstoned_at IS NULL OR s.tombstoned_at > t.tombstoned_at) AND "
            # a user's soft delete stays (corrections own it)
            f"(t.tombstone IS NULL OR t.tombstone <> {sql_literal(USER_DELETED)})",
        ),
    )
    return int(metrics.get("num_target_rows_updated", 0))
