"""``xget watch``: the watchlist (add, list, remove) and how completely each key's days were collected.

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
