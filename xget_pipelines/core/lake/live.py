"""The lake's DuckDB catalog kept live for a long-running reader (the API, ``xget export``, a sensor's count):
one connection whose views (``core/lake/catalog.py``) follow the lake, shared by the readers of tweets and
users (``tweet_reader.py``), analytics (``analytics_reader.py``) and task results (``task_results.py``).

At most every ``refresh_s`` seconds it compares each table's Delta version and re-registers only the tables
that changed (re-opening a snapshot costs milliseconds; doing it per request would dominate the latency).
Each query runs on its own cursor of the connection, so requests run in parallel.

Kept warm per table version (``_warm``), because every request needs them: the created dates of the tweet
files (pages read the newest days first) and the newest days themselves in memory, up to ``hot_rows`` tweets
(``XGET_API_HOT_TWEETS``: most pages are of the last day or two); user id -> username (every page names its
authors); the trends (a small, hot aggregate: each request would otherwise re-read 30+ files' footers).
Measured by bench/api.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from xget_pipelines.core.errors import InvalidField, Unavailable
from xget_pipelines.core.lake.catalog import connect, register
from xget_pipelines.core.lake.delta import Lake

HOT_TABLES = ("entities/tweets", "entities/users", "analytics/trends")
LATE_MATERIALIZATION_ROWS = 1001


class LakeUnavailable(Unavailable):
    """The lake cannot be read right now (storage down, a table being rewritten)."""


@dataclass(frozen=True)
class HotTweets:
    """The newest days of ``entities/tweets`` held in memory, swapped whole per table version, so a request
    that took it reads one consistent snapshot."""

    table: str | None = None  # the in-memory table, None when nothing is held
    days: list[dt.date] = field(default_factory=list)  # every created_date partition, newest first
    held: frozenset[dt.date] = frozenset()  # the days ``table`` holds


class LiveCatalog:
    def __init__(self, lake: Lake, marts: str | None = None, refresh_s: float = 2.0, hot_rows: int = 200_000):
        self.lake = lake
        self.marts = marts
        self.refresh_s = refresh_s
        self.hot_rows = hot_rows  # 0: nothing held in memory (one-off readers: sensors, the CLI)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._versions: dict[str, int] = {}
        self._hot = HotTweets()
        self._retired: str | None = None  # the hot table before the current one, dropped at the next swap
        self._kind = "table" if hot_rows > 0 else "view"
        self._checked = 0.0

    # -- the connection ----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Open the connection, or look for new table versions every ``refresh_s``. Once a connection is
        open, one thread refreshes and the others go on with the snapshot they have (DuckDB swaps a view
        between their queries), rather than queue behind it: a refresh must not become every request's p99."""
        now = time.monotonic()
        if self._con is not None and now - self._checked < self.refresh_s:
            return
        if not self._lock.acquire(blocking=self._con is None):
            return
        try:
            if self._con is not None and time.monotonic() - self._checked < self.refresh_s:
                return
            try:
                if self._con is None:
                    con = connect(self.lake)
                    # A page is up to 1,000 rows: DuckDB then reads the other columns of the winners only.
                    con.execute(f"SET late_materialization_max_rows = {LATE_MATERIALIZATION_ROWS}")
                    versions = {t: self.lake.version(t) for t in self.lake.list_tables()}
                    for table in HOT_TABLES:
                        self._warm(con, table, versions.get(table))
                    self._con, self._versions = con, versions
                else:
                    for table in self.lake.list_tables():
                        version = self.lake.version(table)
                        if self._versions.get(table) != version:
                            register(self._con, self.lake, table)
                            if table in HOT_TABLES:
                                self._warm(self._con, table, version)
                            self._versions[table] = version
            except (OSError, duckdb.Error, Exception) as exc:  # deltalake raises its own error types
                if self._con is None:
                    raise LakeUnavailable(f"cannot read the lake at {self.lake.uri}: {exc}") from exc
                # keep serving the last snapshot; try again next time
            self._checked = time.monotonic()
        finally:
            self._lock.release()

    def _warm(self, con: duckdb.DuckDBPyConnection, table: str, version: int | None) -> None:
        """Keep what every request needs of a table ready, once per table version (see HOT_TABLES)."""
        if table == "entities/tweets":
            days: list[dt.date] = []
            hot: list[dt.date] = []
            if version is not None:
                actions = self.lake.table(table).get_add_actions(flatten=True)
                actions = actions if isinstance(actions, pa.Table) else pa.table(actions)
                rows_per_day: dict[dt.date, int] = {}
                for day, n in zip(
                    actions["partition.created_date"].to_pylist(),
                    actions["num_records"].to_pylist(),
                    strict=False,
                ):
                    if day is not None:
                        rows_per_day[day] = rows_per_day.get(day, 0) + int(n or 0)
                days = sorted(rows_per_day, reverse=True)
                total = 0
                for day in days:  # the newest days, as many as fit in hot_rows
                    total += rows_per_day[day]
                    if total > self.hot_rows:
                        break
                    hot.append(day)
            name = None
            if hot:  # a table per version: requests still reading the previous one are not cut short
                name = f"hot_tweets_{version}"
                literals = ", ".join(f"DATE '{d.isoformat()}'" for d in hot)
                con.execute(
                    f"create or replace table {name} as select * from entities_tweets "
                    f"where created_date in ({literals}) order by created_at desc, tweet_id desc"
                )
            if self._retired and self._retired != name:
                con.execute(f"drop table if exists {self._retired}")
            self._retired = self._hot.table if self._hot.table != name else None
            self._hot = HotTweets(name, days, frozenset(hot))
        elif table == "entities/users":
            source = (
                "select user_id, username from entities_users"
                if version is not None
                else "select null::bigint as user_id, null::varchar as username where false"
            )
            con.execute(f"create or replace {self._kind} hot_usernames as {source}")
        elif table == "analytics/trends" and version is not None:
            con.execute(
                f"create or replace {self._kind} hot_trends as select * from analytics_trends "
                "order by day, scope, kind, bucket_start"
            )

    # -- what readers use ------------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        self._refresh()
        return self._con.cursor()

    def has(self, table: str) -> bool:
        self._refresh()
        return table in self._versions

    def versions(self) -> dict[str, int]:
        self._refresh()
        return dict(self._versions)

    def hot_tweets(self) -> HotTweets:
        """The newest tweet days in memory (call after ``has`` or ``query``, which refresh)."""
        return self._hot

    def ping(self) -> dict[str, int]:
        """Check the lake is readable now (for /readyz): list the tables, and every table this catalog serves
        must still open (a lake that lost its tables is not ready, an empty new lake is)."""
        try:
            versions = {t: self.lake.version(t) for t in self.lake.list_tables()}
            lost = sorted(t for t in self._versions if versions.get(t) is None)
        except Exception as exc:  # noqa: BLE001 - any storage error means not ready
            raise LakeUnavailable(f"cannot read the lake at {self.lake.uri}: {exc}") from exc
        if lost:
            raise LakeUnavailable(
                f"tables served before are gone from the lake at {self.lake.uri}: {', '.join(lost)}"
            )
        return versions

    def query(self, sql: str, params: list | None = None) -> pa.Table:
        try:
            return self.cursor().sql(sql, params=params or None).to_arrow_table()
        except duckdb.IOException as exc:  # a file vanished under a vacuum or compaction: re-read once
            self._checked = 0.0
            try:
                return self.cursor().sql(sql, params=params or None).to_arrow_table()
            except duckdb.IOException:
                raise LakeUnavailable(f"the lake changed under the query or cannot be read: {exc}") from exc

    def columns(self, view: str) -> list[str]:
        return self.query(f"select * from {view} limit 0").column_names

    def stream(self, sql: str, params: list | None = None, batch_rows: int = 50_000) -> pa.RecordBatchReader:
        """A query's result as Arrow batches (for exports of any size: never all in memory)."""
        try:
            return self.cursor().sql(sql, params=params or None).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise InvalidField(f"{exc}".splitlines()[0], "sql") from exc
