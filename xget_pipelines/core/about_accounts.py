""" "About this account" facts of the collected authors: fetched, stored raw, kept current and with history.

Researchers of coordinated campaigns compare where X says an account is based with what its profile claims,
whether X calls that location accurate, where the account signed up from and how often its handle changed.
``collect_about`` asks X's AboutAccountQuery for every account of ``entities/users`` whose facts are missing
or older than the refresh period, at most ``max_per_run`` a run:

- **biggest accounts first** (``followers_count``, then ``user_id`` for a stable order): with a budget per
  run, the accounts that reach the most people are the ones a campaign study looks at first, and their
  facts stay fresh even when the collection holds more authors than one run may ask for; smaller accounts
  get theirs in the runs after, as the budget allows. Accounts never asked and accounts due a refresh
  share the one order.
- every answer is stored in ``raw/x_pages`` first (``watch_key = 'about'``, the run's session), before it
  is parsed (``core/x/about.py``), as every page XGet fetches;
- ``cleaned/about_account_history``: one row per account and fact set, added when an observation's facts
  (``about.FACTS``: status, handle, country, the accuracy flags, source, handle changes, identity check)
  differ from the account's latest row, with the time it was observed; an unchanged refresh adds nothing.
  Inserted once per (user_id, observed_at): a re-run or a retried batch never doubles a row.
- ``entities/about_accounts``: one row per account, the newest observation's facts (merged on user_id,
  newest ``observed_at`` wins), with ``first_observed_at``, ``facts_since`` (when the current facts were
  first seen) and ``changes_seen`` (changes XGet has observed). An account X answers as not found,
  suspended or unavailable keeps its last known facts with that ``status``; the run goes on.

Both tables are partitioned by ``bucket = user_id % 16``, as ``entities/users``: an account has no
immutable date, and a run's accounts touch most buckets. A request that fails after the client's own
retries is counted (``failed``, with the error) and asked again by the next run; a pool with no account
free before the lease deadline ends the run early (``deferred``), keeping what was fetched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from xget_pipelines.core.errors import NoAccountAvailable, XRequestError
from xget_pipelines.core.lake.delta import Lake, sql_literal
from xget_pipelines.core.x.about import ABOUT_SCHEMA, NotAnAboutBody, parse_about
from xget_pipelines.core.x.breaker import CircuitOpen
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.raw_pages import RawWriter
from xget_pipelines.core.x.watch import about_account_variables

log = logging.getLogger(__name__)

ABOUT_ACCOUNTS = "entities/about_accounts"
ABOUT_HISTORY = "cleaned/about_account_history"
USERS = "entities/users"
OPERATION = "AboutAccountQuery"
WATCH_KEY = "about"  # raw/x_pages.watch_key of these pages (they belong to no watchlist key)
BUCKETS = 16
BATCH = 100  # answers landed together (an interrupted run keeps every finished batch)

_TS = pa.timestamp("us", tz="UTC")
HISTORY_SCHEMA = pa.schema([*ABOUT_SCHEMA, pa.field("bucket", pa.int32(), False)])
ACCOUNTS_SCHEMA = pa.schema(
    [
        *ABOUT_SCHEMA,
        pa.field("first_observed_at", _TS, False),
        pa.field("facts_since", _TS, False),
        pa.field("changes_seen", pa.int64(), False),
        pa.field("bucket", pa.int32(), False),
    ]
)
# What X answered for the account, always taken from the newest observation; every other column is a fact
# about the account, kept from the last available answer while X answers not found / suspended.
_ALWAYS = (
    "requested_username",
    "status",
    "unavailable_reason",
    "fact_hash",
    "observed_at",
    "facts_since",
    "changes_seen",
)


@dataclass
class Due:
    """Accounts whose facts are to be fetched, biggest first, and how many were fresh enough."""

    accounts: list[dict]  # user_id, username, followers_count, last_observed_at (None: never asked)
    skipped_fresh: int
    beyond_budget: int


@dataclass
class Landed:
    rows: int = 0
    history_rows: int = 0
    changes: int = 0  # observations whose facts differ from the account's previous ones
    changed_users: list[dict] = field(default_factory=list)  # user_id, username, what changed


@dataclass
class AboutRun:
    due: int = 0
    skipped_fresh: int = 0
    beyond_budget: int = 0  # due, left for the next runs by max_per_run
    fetched: int = 0
    new: int = 0  # accounts asked for the first time
    refreshed: int = 0  # accounts asked again after the refresh period
    failed: int = 0
    deferred: int = 0  # due this run, not asked: no account of the pool was free
    stopped: str | None = None  # why the run ended before its last account (the pool's error)
    statuses: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)
    landed: Landed = field(default_factory=Landed)


def due_accounts(lake: Lake, now: dt.datetime, refresh_days: float, max_per_run: int) -> Due:
    """The collected accounts (``entities/users``) without facts or with facts older than ``refresh_days``,
    biggest first, at most ``max_per_run``."""
    if max_per_run < 0 or refresh_days < 0:
        raise ValueError(
            f"max_per_run ({max_per_run}) and refresh_days ({refresh_days}) cannot be negative: "
            "set XGET_ABOUT_MAX_PER_RUN and XGET_ABOUT_REFRESH_DAYS to 0 or more"
        )
    users = lake.read(USERS, columns=["user_id", "username", "followers_count"])
    if users is None or users.num_rows == 0:
        return Due([], 0, 0)
    known = lake.read(ABOUT_ACCOUNTS, columns=["user_id", "observed_at"])
    if known is None:
        known = pa.table({"user_id": pa.array([], pa.int64()), "observed_at": pa.array([], _TS)})
    con = duckdb.connect()
    con.register("users", users)
    con.register("known", known)
    cutoff = now - dt.timedelta(days=refresh_days)
    rows = con.sql(
        """
        select u.user_id, u.username, u.followers_count, k.observed_at as last_observed_at,
               k.observed_at is not null and k.observed_at >= ? as fresh
        from users u left join known k using (user_id)
        order by coalesce(u.followers_count, -1) desc, u.user_id
        """,
        params=[cutoff],
    ).to_arrow_table()
    con.close()
    due = [r for r in rows.to_pylist() if not r.pop("fresh")]
    return Due(due[:max_per_run], rows.num_rows - len(due), max(0, len(due) - max_per_run))


def collect_about(
    client: XClient,
    lake: Lake,
    *,
    run_id: str,
    now: dt.datetime | None = None,
    refresh_days: float = 7,
    max_per_run: int = 500,
) -> AboutRun:
    """Fetch, store raw and land the facts of the accounts due (see the module docstring)."""
    now = now or dt.datetime.now(dt.UTC)
    due = due_accounts(lake, now, refresh_days, max_per_run)
    run = AboutRun(due=len(due.accounts), skipped_fresh=due.skipped_fresh, beyond_budget=due.beyond_budget)
    raw = RawWriter(lake, f"about-{run_id}", run_id, WATCH_KEY, now.date(), flush_every=BATCH, seq=0)
    batch: list[dict] = []
    for position, account in enumerate(due.accounts):
        handle = account["username"]
        try:
            page = client.fetch(OPERATION, about_account_variables(handle))
        except NoAccountAvailable as exc:
            run.deferred, run.stopped = len(due.accounts) - position, str(exc)
            log.warning("about-account facts: %s; %d account(s) left for the next run", exc, run.deferred)
            break
        except (XRequestError, CircuitOpen) as exc:
            run.failed += 1
            run.failures.append({"user_id": account["user_id"], "username": handle, "error": str(exc)})
            continue
        raw.add(page, handle)
        try:
            row = parse_about(page.body, page.fetched_at, user_id=account["user_id"], requested=handle)
        except NotAnAboutBody as exc:
            run.failed += 1
            run.failures.append({"user_id": account["user_id"], "username": handle, "error": str(exc)})
            continue
        run.fetched += 1
        run.new += account["last_observed_at"] is None
        run.refreshed += account["last_observed_at"] is not None
        run.statuses[row["status"]] += 1
        batch.append(row)
        if len(batch) >= BATCH:
            raw.flush()  # stored raw before anything parsed from it lands
            _add(run.landed, land_about(lake, batch))
            batch = []
    raw.flush()
    if batch:
        _add(run.landed, land_about(lake, batch))
    return run


def ensure_about_tables(lake: Lake) -> None:
    """Create both tables empty unless they exist (what reads them, the dbt marts, needs them to)."""
    lake.ensure(ABOUT_HISTORY, HISTORY_SCHEMA, ["bucket"])
    lake.ensure(ABOUT_ACCOUNTS, ACCOUNTS_SCHEMA, ["bucket"])


def _add(total: Landed, part: Landed) -> None:
    total.rows += part.rows
    total.history_rows += part.history_rows
    total.changes += part.changes
    total.changed_users += part.changed_users


def _previous(lake: Lake, user_ids: list[int]) -> dict[int, dict]:
    """Per account of ``user_ids``: its latest history row (facts) and how many rows it has."""
    buckets = sorted({u % BUCKETS for u in user_ids})
    history = lake.read(ABOUT_HISTORY, {"bucket": buckets, "user_id": sorted(set(user_ids))})
    if history is None:
        return {}
    wanted, out = set(user_ids), {}
    for row in history.to_pylist():
        uid = row["user_id"]
        if uid not in wanted:
            continue
        seen = out.get(uid)
        if seen is None:
            out[uid] = {"latest": row, "rows": 1, "first": row["observed_at"]}
            continue
        seen["rows"] += 1
        seen["first"] = min(seen["first"], row["observed_at"])
        if row["observed_at"] > seen["latest"]["observed_at"]:
            seen["latest"] = row
    return out


def _what_changed(before: dict, after: dict) -> dict:
    from xget_pipelines.core.x.about import FACTS

    return {
        name: [before.get(name), after.get(name)] for name in FACTS if before.get(name) != after.get(name)
    }


def land_about(lake: Lake, rows: list[dict]) -> Landed:
    """Land parsed observations (``about.parse_about`` rows, one per account) in the history and the entity
    table. Idempotent: landing the same observations again adds and changes nothing."""
    if not rows:
        return Landed()
    previous = _previous(lake, [r["user_id"] for r in rows])
    history, accounts, landed = [], [], Landed(rows=len(rows))
    for row in rows:
        bucket = row["user_id"] % BUCKETS
        before = previous.get(row["user_id"])
        latest = before["latest"] if before else None
        seen_at = row["observed_at"]
        same = latest is not None and latest["fact_hash"] == row["fact_hash"]
        newer = latest is None or row["observed_at"] > latest["observed_at"]
        if not same and newer:
            history.append({**row, "bucket": bucket})
            if latest is not None:
                landed.changes += 1
                landed.changed_users.append(
                    {"user_id": row["user_id"], "username": row["username"], **_what_changed(latest, row)}
                )
        rows_after = (before["rows"] if before else 0) + (not same and newer)
        accounts.append(
            {
                **row,
                "first_observed_at": min(before["first"], row["observed_at"]) if before else seen_at,
                "facts_since": latest["observed_at"] if same else row["observed_at"],
                "changes_seen": max(0, rows_after - 1),
                "bucket": bucket,
            }
        )
    if history:
        source = pa.Table.from_pylist(history, schema=HISTORY_SCHEMA)
        landed.history_rows = _insert_new(lake, source)
    _merge_accounts(lake, pa.Table.from_pylist(accounts, schema=ACCOUNTS_SCHEMA))
    return landed


def _buckets(source: pa.Table) -> str:
    values = sorted(set(source["bucket"].to_pylist()))
    return f"t.bucket IN ({', '.join(sql_literal(v) for v in values)})"


def _insert_new(lake: Lake, source: pa.Table) -> int:
    metrics = lake.merge(
        ABOUT_HISTORY,
        source,
        f"{_buckets(source)} AND t.user_id = s.user_id AND t.observed_at = s.observed_at",
        lambda merger: merger.when_not_matched_insert_all(),
        schema=HISTORY_SCHEMA,
        partition_by=["bucket"],
    )
    return int(metrics.get("num_target_rows_inserted", 0))


def _merge_accounts(lake: Lake, source: pa.Table) -> dict:
    updates = {}
    for name in ACCOUNTS_SCHEMA.names:
        if name in ("user_id", "bucket"):
            continue
        if name == "first_observed_at":
            updates[name] = f"CASE WHEN s.{name} < t.{name} THEN s.{name} ELSE t.{name} END"
        elif name in _ALWAYS:
            updates[name] = f"s.{name}"
        else:
            updates[name] = f"CASE WHEN s.status = 'available' THEN s.{name} ELSE t.{name} END"
    return lake.merge(
        ABOUT_ACCOUNTS,
        source,
        f"{_buckets(source)} AND t.user_id = s.user_id",
        lambda merger: merger.when_matched_update(
            updates=updates, predicate="s.observed_at > t.observed_at"
        ).when_not_matched_insert_all(),
        schema=ACCOUNTS_SCHEMA,
        partition_by=["bucket"],
    )
