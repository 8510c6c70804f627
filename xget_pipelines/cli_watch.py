"""``xget watch``: the watchlist (add, list, remove), how completely each key's days were collected, and
backfills of a key over a range of days (estimated first).

Registered on the main app in ``cli.py``; the settings, the database and the lake come from ``cli_context``,
the consoles and output formats from ``cli_output``.
"""

from __future__ import annotations

import datetime as dt

import typer

from xget_pipelines import cli_context
from xget_pipelines.cli_output import OutputFormat, console, fail, print_rows

watch_app = typer.Typer(help="The watchlist: search terms and @accounts to collect.", no_args_is_help=True)

DAY_COLUMNS = ["key", "day", "outcome", "pages", "items", "budget", "collected at", "run", "why"]
TOTAL_COLUMNS = ["key", "days", "complete", "truncated", "failed", "missing", "pages", "items"]


@watch_app.command("add")
def watch_add(
    keys: list[str] = typer.Argument(..., help="Search terms or @handles."),
    budget: str | None = typer.Option(
        None,
        help="How much of each day to collect: 'all' (to X's end), pages ('50' or '50 pages') or items "
        "('2000 items'). Default: XGET_X_MAX_PAGES_PER_PARTITION pages.",
    ),
    product: str | None = typer.Option(None, help="Search tab: Latest (default, every tweet) or Top."),
    expand: list[str] | None = typer.Option(
        None,
        help="What else to collect around each day's tweets, repeatable: conversations:N (reply trees of "
        "tweets with N+ replies), quotes, retweeters:N (of tweets with N+ retweets), media (an @account's "
        "media tab). Each gets a budget equal to the key's.",
    ),
) -> None:
    """Add keys to the watchlist (or change the parameters of keys already on it); the watchlist sensor turns
    them into partitions and runs. Without --budget/--product/--expand a key already on it keeps its
    parameters; with any of them, the ones not given go back to their defaults."""
    from xget_pipelines.core.db.watchlist import add_keys
    from xget_pipelines.core.x.watch import parse_params

    given = {name: value for name, value in (("budget", budget), ("product", product)) if value is not None}
    if expand:
        given["expand"] = list(expand)
    try:
        params = parse_params(given) if given else None
        added = add_keys(cli_context.engine(), keys, params)
    except ValueError as exc:
        fail(str(exc))
    suffix = f" ({_describe(params)})" if params is not None else ""
    console.print(f"watching {', '.join(added)}{suffix}", highlight=False)


@watch_app.command("list")
def watch_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f")) -> None:
    """Active watchlist keys with their parameters."""
    from xget_pipelines.core.db.watchlist import entries

    settings = cli_context.settings()
    rows = [
        (
            e.key,
            str(e.params.budget_or(settings.x_max_pages_per_partition)),
            e.params.product,
            " ".join(str(x) for x in e.params.expand),
            e.added_at,
        )
        for e in entries(cli_context.engine())
    ]
    print_rows(["key", "budget", "product", "expand", "added"], rows, fmt)


def _describe(params) -> str:
    budget = "default budget" if params.budget is None else f"budget {params.budget}"
    expand = f", expand {' '.join(str(x) for x in params.expand)}" if params.expand else ""
    return f"{budget}, product {params.product}{expand}"


@watch_app.command("remove")
def watch_remove(key: str) -> None:
    """Stop collecting a key (its data stays in the lake)."""
    from xget_pipelines.core.db.watchlist import deactivate

    if not deactivate(cli_context.engine(), key):
        fail(f"{key!r} is not on the watchlist (see `xget watch list`)")
    console.print(f"stopped watching {key}")


@watch_app.command("status")
def watch_status(
    keys: list[str] | None = typer.Option(
        None,
        "--key",
        "-k",
        help="Only this key (repeatable; any collected key); default: the active watchlist.",
    ),
    since: str | None = typer.Option(
        None,
        help="First day (YYYY-MM-DD), every day from it listed; default: the last 14 days, from when each "
        "key was added.",
    ),
    until: str | None = typer.Option(None, help="Last day (YYYY-MM-DD); default: today (UTC)."),
    totals: bool = typer.Option(False, "--totals", help="Only the totals per key (and of every key)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Coverage per key and day: complete (X's end reached), truncated (stopped at the page budget with more
    to fetch), failed (stopped on errors) or missing (never collected), with pages and items, and totals.
    The rows are the lake's `ops/coverage` table (`xget sql "select * from ops_coverage"`)."""
    from xget_pipelines.core.db.watchlist import expected_from
    from xget_pipelines.core.errors import XGetError
    from xget_pipelines.core.lake.coverage import coverage_report

    settings = cli_context.settings()
    try:
        first, last = (dt.date.fromisoformat(d) if d else None for d in (since, until))
    except ValueError as exc:
        fail(f"bad day: {exc}; use YYYY-MM-DD")
    try:
        expected = expected_from(cli_context.engine(), keys, settings.watch_backfill_days)
        if not expected:
            fail("the watchlist is empty: add keys with `xget watch add`, or name collected ones with --key")
        report = coverage_report(
            cli_context.lake(),
            expected,
            until=last or dt.datetime.now(dt.UTC).date(),
            since=first,
            earliest=dt.date.fromisoformat(settings.partitions_start_date),
        )
    except XGetError as exc:
        fail(str(exc))
    sums = [
        (t.watch_key if t.watch_key != "*" else "every key", t.days, t.complete, t.truncated, t.failed)
        + (t.missing, t.pages, t.items)
        for t in [*report.totals, report.total]
    ]
    if totals:
        print_rows(TOTAL_COLUMNS, sums, fmt)
        return
    days = [
        (
            d.watch_key,
            d.day,
            d.outcome,
            d.pages,
            d.items,
            d.budget,
            d.finished_at.isoformat(timespec="seconds") if d.finished_at else None,
            d.run_id,
            d.reason,
        )
        for d in report.days
    ]
    print_rows(DAY_COLUMNS, days, fmt, title=f"coverage up to {report.until}")
    if fmt is OutputFormat.table:
        print_rows(TOTAL_COLUMNS, sums, fmt, title="totals")


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--{name} {value!r} is not a day: use YYYY-MM-DD")


def _hours(hours: float | None) -> str:
    if hours is None:
        return "never (no usable account)"
    return (
        f"{hours * 60:.1f} min" if hours < 1 else f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
    )


def print_estimate(e) -> None:
    """An estimate (``core/x/backfill.py``) as a user reads it."""
    cap = e.capacity
    sampled = ", ".join(f"{s.day} {s.pages} pages/{s.items} items ({s.outcome})" for s in e.sampled) or "none"
    lines = [
        f"backfill of {e.key} from {e.since} to {e.until}: {e.days} days (budget {e.budget}, {e.product})",
        f"  already collected, skipped: {e.collected_days} days ({e.collected_pages:,} pages)",
        f"  sampled now (real partitions): {len(e.sampled)} days, {e.sampled_pages:,} pages: {sampled}",
        f"  to fetch: {e.days_to_fetch} days, about {e.pages:,} pages "
        f"(range {e.pages_low:,}-{e.pages_high:,}), {e.items:,} items",
        f"  cost: {e.account_hours:.2f} account-hours of {cap.operation} ({cap.limit} requests per "
        f"{cap.window_s:g} s per account{'' if cap.learned else ', X observed figures'})",
        f"  with {cap.accounts} usable accounts at {e.utilisation:.0%} utilisation: {_hours(e.hours)}, ETA "
        f"{e.eta.isoformat(timespec='minutes') if e.eta else 'none'}",
    ]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    for note in e.advice:
        console.print(f"  - {note}", highlight=False, soft_wrap=True)


@watch_app.command("backfill")
def watch_backfill(
    key: str = typer.Argument(..., help="A key on the watchlist."),
    since: str = typer.Option(..., help="First day (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, help="Last day (YYYY-MM-DD); default: yesterday (UTC)."),
    samples: int | None = typer.Option(
        None, help="Days sampled for the estimate (default XGET_BACKFILL_SAMPLE_DAYS, 5)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Launch without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only the estimate: launch nothing."),
) -> None:
    """Estimate a backfill of KEY over --since..--until, then launch it. The estimate collects a few days
    spread over the range (real partitions: nothing is wasted) and prices the rest in pages, account-hours
    and an ETA with the account pool as it is. The backfill is then one x_ingest run per day, launched a few
    at a time by the watch_backfill_sensor (Dagster's daemon), in the x_api pool; days already collected
    are skipped. Follow it with `xget watch backfill-status`."""
    from xget_pipelines import watch_backfill
    from xget_pipelines.core.db import backfills
    from xget_pipelines.core.errors import XGetError

    first, last = _day(since, "since"), _day(until, "until")
    engine = cli_context.engine()
    try:
        found = watch_backfill.estimate(
            cli_context.settings(), engine, cli_context.lake(), key, first, last, samples
        )
    except (XGetError, LookupError) as exc:  # LookupError: X has no such account, list or community
        fail(str(exc))
    print_estimate(found)
    if dry_run:
        console.print("dry run: nothing launched (the sampled days stay collected)")
        return
    if not (found.fetch or found.parse):
        console.print("nothing to launch: every day of the range is collected")
        return
    if not yes and not typer.confirm(f"launch the backfill of {len(found.fetch) + len(found.parse)} days?"):
        console.print("not launched (the sampled days stay collected)")
        raise typer.Exit(1)
    created = backfills.create(engine, found, actor=None)
    console.print(
        f"backfill {created.id} created: the watch_backfill_sensor launches its runs (tag xget/backfill="
        f"{created.id}); follow it with `xget watch backfill-status {created.id}`",
        highlight=False,
    )


@watch_app.command("backfill-cancel")
def watch_backfill_cancel(
    backfill_id: int = typer.Argument(..., help="The backfill's id (see `xget watch backfill-status`)."),
) -> None:
    """Cancel a running backfill: the watch_backfill_sensor launches no more of its runs, cancels the
    unfinished ones (queued ones never start, started ones are terminated), then marks it CANCELED. The days
    already collected stay; a new backfill of the range later fetches only the others."""
    from xget_pipelines.core.db import backfills
    from xget_pipelines.core.errors import XGetError

    try:
        canceled = backfills.cancel(cli_context.engine(), backfill_id, actor=None)
    except XGetError as exc:
        fail(str(exc))
    console.print(
        f"backfill {canceled.id} of {canceled.watch_key} is {canceled.status}: the watch_backfill_sensor "
        f"cancels its runs at its next tick; follow it with `xget watch backfill-status {canceled.id}`",
        highlight=False,
    )


@watch_app.command("backfill-status")
def watch_backfill_status(
    backfill_id: int | None = typer.Argument(None, help="The backfill's id; default: the newest."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Where a backfill stands: its runs, the days and pages fetched so far against the estimate, the
    throughput and utilisation measured so far, and the ETA from them."""
    from xget_pipelines.core.db import backfills
    from xget_pipelines.core.errors import XGetError
    from xget_pipelines.core.x.backfill_progress import backfill_progress

    engine = cli_context.engine()
    try:
        found = backfills.get(engine, backfill_id) if backfill_id is not None else backfills.latest(engine)
    except XGetError as exc:
        fail(str(exc))
    if found is None:
        fail("no backfill yet: start one with `xget watch backfill KEY --since DAY`")
    p = backfill_progress(cli_context.lake(), found.watch_key, found.fetch, found.estimate, found.created_at)
    runs = ", ".join(f"{state.lower()} {n}" for state, n in sorted(found.runs.items()) if n) or "none yet"
    rows = [
        ("backfill", f"{found.id}: {found.watch_key} {found.since}..{found.until}"),
        ("status", found.status + (f" ({found.error})" if found.error else "")),
        ("runs", runs),
        ("days fetched", f"{p.days_done}/{p.days} ({p.days_failed} failed)"),
        (
            "pages",
            f"{p.pages:,} of {p.estimated_pages:,} estimated"
            + (f" ({p.share_of_estimate:.0%})" if p.share_of_estimate is not None else ""),
        ),
        ("pages per hour", "not measured yet" if p.pages_per_hour is None else f"{p.pages_per_hour:,.0f}"),
        ("utilisation", "not measured yet" if p.utilisation is None else f"{p.utilisation:.0%}"),
        ("pages left", f"{p.pages_left:,}"),
        ("ETA", "done" if found.finished_at else p.eta.isoformat(timespec="minutes") if p.eta else "unknown"),
    ]
    print_rows(["", "value"], rows, fmt)
