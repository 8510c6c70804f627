"""``xget x``: X's side of XGet. Parse saved pages, see the query ids XGet sends, and diagnose an account
against X (``xget x doctor``, the first thing to run against real X)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from xget_pipelines import cli_context
from xget_pipelines.cli_output import OutputFormat, console, fail, print_rows

x_app = typer.Typer(help="X pages, requests and the request contract.", no_args_is_help=True)


def _pool():
    from xget_pipelines.core.pools.account_pool import AccountPool

    return AccountPool(cli_context.engine(), secrets=cli_context.secret_box())


def _client(pool, account: str | None = None):
    from xget_pipelines.core.x.client import XClient
    from xget_pipelines.core.x.web import XWeb

    settings = cli_context.settings()
    return XClient(
        settings.x_graphql_url,
        pool,
        account=account,
        lease_deadline_s=30.0,
        web=XWeb.for_graphql_url(settings.x_graphql_url, settings.x_hosts),
    )


@x_app.command("parse")
def x_parse(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="Saved X response bodies (JSON)."
    ),
    operation: str | None = typer.Option(None, help="GraphQL operation; detected from the body if omitted."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Parse saved X response bodies the way the pipeline does and show what it extracts (a root the
    parser does not know is walked generically: its tweets and users still come out, flagged)."""
    from xget_pipelines.core.x.inspect import inspect_file

    reports = [inspect_file(path, operation) for path in files]
    if fmt is OutputFormat.json:
        for report in reports:
            sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        rows = [
            (
                r["file"],
                r["operation"] + (" (generic)" if r.get("generic") else "") if r["operation"] else None,
                len(r["tweet_ids"]),
                len(r["user_ids"]),
                r["cursor_bottom"] or "",
                "; ".join(r["errors"])[:120],
            )
            for r in reports
        ]
        print_rows(
            ["file", "operation", "tweets", "users", "next cursor", "errors"], rows, OutputFormat(fmt.value)
        )
    if any(r["errors"] and r["operation"] is None for r in reports):
        raise typer.Exit(1)


@x_app.command("ops")
def x_ops(
    refresh: bool = typer.Option(
        False, "--refresh", help="Read X's web bundles now (through a pool account)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """The query id XGet sends for each GraphQL operation, where it was found and how old it is.

    Ids come from X's web bundles (found on a refresh: the x_operations_refresh schedule, a 404 with an
    empty body, or --refresh), else from twscrape's constants."""
    import datetime as dt

    from xget_pipelines.core.errors import XGetError
    from xget_pipelines.core.x.doctor import OPERATIONS

    pool = _pool()
    with _client(pool) as client:
        if refresh:
            try:
                report = client.refresh_operations(OPERATIONS)
            except XGetError as exc:
                fail(f"cannot read X's web bundles: {exc}")
            changed = "; ".join(f"{op} {old} -> {new}" for op, old, new in report.changed) or "none"
            console.print(
                f"read {report.scripts} bundles ({report.failed} failed) from {report.page_url}: "
                f"{report.found} operations; changed: {changed}"
            )
            if report.missing:
                console.print(f"[yellow]X's bundles no longer name: {', '.join(report.missing)}[/]")
        now = dt.datetime.now(dt.UTC)
        rows = []
        for op in client.catalog.listing():
            age = f"{(now - op.found_at).total_seconds() / 3600:.1f} h" if op.found_at else ""
            checked = op.checked_at.isoformat(timespec="seconds") if op.checked_at else ""
            rows.append((op.name, op.query_id, op.source, age, checked, len(op.features)))
    print_rows(["operation", "query id", "source", "age", "last confirmed", "features"], rows, fmt)


@x_app.command("doctor")
def x_doctor(
    account: str | None = typer.Argument(
        None, help="The account to diagnose (default: the first usable one)."
    ),
    proxy_target: str | None = typer.Option(
        None, help="URL proxy checks fetch through the proxy (default: XGET_PROXY_CHECK_URL)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Check one account against X, link by link: cookies, proxy and exit address, transaction id, query ids,
    one cheap request per operation XGet collects with and the rate-limit windows X reports. Exits 1 when a
    check fails; each failing line says what to do. Refusals have their usual effect (a suspended account
    leaves the pool)."""
    from xget_pipelines.core.x.doctor import diagnose

    settings = cli_context.settings()
    proxy_target = proxy_target or settings.resolved_proxy_check_url
    findings = diagnose(
        _pool(), settings.x_graphql_url, account, proxy_check_url=proxy_target, hosts=settings.x_hosts
    )
    print_rows(
        ["check", "status", "detail", "what to do"],
        [(f.check, f.status, f.detail, f.fix) for f in findings],
        fmt,
    )
    if not all(f.ok for f in findings):
        raise typer.Exit(1)
