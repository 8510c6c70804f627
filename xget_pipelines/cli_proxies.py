"""``xget proxies``: import, list, check and remove proxies (credentials are never shown).

Registered on the main app in ``cli.py``; the settings and the database come from ``cli_context``, the
consoles and output formats from ``cli_output``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from xget_pipelines import cli_context
from xget_pipelines.cli_output import OutputFormat, console, err, fail, print_rows

proxies_app = typer.Typer(help="The pool of proxies (HTTP, HTTPS, SOCKS5).", no_args_is_help=True)


class Status(str, Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    CHECKING = "CHECKING"


class Scheme(str, Enum):
    http = "http"
    https = "https"
    socks5 = "socks5"


def _pool():
    from xget_pipelines.core.pools.proxies import ProxyPool

    return ProxyPool(cli_context.engine(), cli_context.secret_box())


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _where(p) -> str:
    """Label, city and ISP, then the exit the last check saw with its looked-up country: ``DE Berlin (exit
    81.2.69.160 GB)``. The next check is in the JSON and CSV formats (``next_check_at``)."""
    label = " ".join(filter(None, (p.country, p.city, p.isp and f"({p.isp})")))
    exit_ = " ".join(filter(None, (p.exit_ip, p.exit_country)))
    return f"{label} (exit {exit_})".strip() if exit_ else label


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@proxies_app.command("import")
def proxies_import(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="One proxy a line (URL or host:port:user:pass)."
    ),
    scheme: Scheme = typer.Option(Scheme.http, help="Scheme of lines without one (host:port[:user:pass])."),
    country: str | None = typer.Option(None, help="Country (2-letter code) of lines without one."),
) -> None:
    """Import proxies, one a line: a URL (http://, https://, socks5://, with credentials) or
    host:port[:user:pass], optionally followed by '# country=DE; city=Berlin; isp=...'.

    Bad lines are reported with their number; the good ones are imported; re-importing updates a proxy
    instead of duplicating it. New proxies are CHECKING until `xget proxies check` verifies them."""
    from rich.progress import Progress

    from xget_pipelines.core.pools.proxies import parse_proxy_lines

    try:
        parsed = parse_proxy_lines(file.read_text(encoding="utf-8-sig"), scheme.value, country)
    except ValueError as exc:
        fail(str(exc))
    pool = _pool()
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"importing {len(parsed.records):,} proxies", total=len(parsed.records))
        result = pool.import_proxies(parsed.records, progress=lambda n: progress.advance(task, n))
    console.print(
        f"{result.created:,} proxies added, {result.updated:,} updated from {file.name}; "
        "run `xget proxies check` to verify them"
    )
    if parsed.errors:
        err.print(f"[yellow]{len(parsed.errors)} lines skipped:[/]")
        for bad in parsed.errors[:50]:
            err.print(f"  {bad}", highlight=False, markup=False)
        if len(parsed.errors) > 50:
            err.print(f"  … and {len(parsed.errors) - 50} more")
        if not parsed.records:
            raise typer.Exit(1)


@proxies_app.command("list")
def proxies_list(
    status: Status | None = typer.Option(None, help="Only proxies in this status."),
    available: bool = typer.Option(False, "--available", help="Only usable ones (ACTIVE), best first."),
    country: str | None = typer.Option(None, help="Only proxies in this country (2-letter code)."),
    max_latency: float | None = typer.Option(
        None, "--max-latency", help="Only proxies whose latency is at most this (ms)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Proxies with their geography and health; ACTIVE first, best (latency / success rate) first."""
    from xget_pipelines.core.pools.proxies import ACTIVE, ProxyError

    if available and status not in (None, Status.ACTIVE):
        fail("--available lists ACTIVE proxies; leave out --status")
    try:
        wanted = ACTIVE if available else (status.value if status else None)
        proxies = _pool().list(wanted, country, max_latency)
    except (ProxyError, ValueError) as exc:
        fail(str(exc))
    title = f"{len(proxies)} proxies" + (" available" if available else "")
    if fmt is OutputFormat.table:  # fewer, combined columns so the table fits a terminal
        rows = [
            (
                p.id,
                p.url,
                p.status,
                _where(p),
                _ms(p.latency_ms),
                "" if p.success_rate is None else f"{p.success_rate:.0%}",
                f"{p.checks - p.failures}/{p.checks}",
                p.last_check_at.strftime("%Y-%m-%d %H:%M:%S") if p.last_check_at else None,
                p.last_error,
            )
            for p in proxies
        ]
        print_rows(
            [
                "id",
                "proxy",
                "status",
                "where (exit)",
                "latency ms",
                "success",
                "ok/checks",
                "last check",
                "last error",
            ],
            rows,
            OutputFormat.table,
            title=title,
        )
        return
    columns = [
        "id",
        "proxy",
        "status",
        "country",
        "city",
        "isp",
        "latency_ms",
        "success_rate",
        "checks",
        "failures",
        "last_check_at",
        "last_error",
        "exit_ip",
        "exit_country",
        "failed_checks",
        "next_check_at",
    ]
    rows = [
        (
            p.id,
            p.url,
            p.status,
            p.country,
            p.city,
            p.isp,
            _ms(p.latency_ms),
            _rate(p.success_rate),
            p.checks,
            p.failures,
            p.last_check_at.isoformat(timespec="seconds") if p.last_check_at else None,
            p.last_error,
            p.exit_ip,
            p.exit_country,
            p.failed_checks,
            p.next_check_at.isoformat(timespec="seconds") if p.next_check_at else None,
        )
        for p in proxies
    ]
    print_rows(columns, rows, fmt, title=title)


@proxies_app.command("check")
def proxies_check(
    ids: list[int] | None = typer.Argument(None, help="Proxy ids (default: all, or those of --status)."),
    status: Status | None = typer.Option(None, help="Only proxies in this status (INACTIVE: revive)."),
    target: str | None = typer.Option(
        None,
        help="http(s) URL to fetch through each proxy (default: XGET_PROXY_CHECK_URL: X's robots.txt for "
        "real X, the emulator's /_emulator/whoami otherwise).",
    ),
    timeout: float = typer.Option(5.0, help="Seconds one attempt may take, all in."),
    attempts: int = typer.Option(3, min=1, help="Requests through each proxy."),
    concurrency: int = typer.Option(16, min=1, help="Proxies checked at once."),
    max_failures: int = typer.Option(3, min=1, help="Failed attempts in a row that take a proxy out."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Check proxies through each to a target: latency, success rate, exit address and its country, status
    (dead ones go INACTIVE). The target is fetched directly first: when it answers neither directly nor
    through any proxy, the command says so, exits 2 and marks no proxy."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xget_pipelines.core.pools.proxies import ProxyError, TargetUnreachable
    from xget_pipelines.core.pools.proxy_records import check_target_url
    from xget_pipelines.core.redact import redact_urls

    pool = _pool()
    settings = cli_context.settings()
    try:
        target = check_target_url(target) if target else settings.resolved_proxy_check_url
    except ValueError as exc:
        fail(f"--target: {exc}")
    wanted = status.value if status else None
    if ids and wanted is None:
        total = len(set(ids))  # an unknown id is reported by check()
    else:
        candidates = {p.id for p in pool.list(wanted)}
        total = len(candidates & set(ids)) if ids else len(candidates)
    if total == 0:
        fail("no proxies to check; import some with `xget proxies import FILE`")
    columns = (TextColumn("checking proxies"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("check", total=total)
            results = pool.check(
                ids or None,
                target_url=target,
                timeout_s=timeout,
                attempts=attempts,
                concurrency=concurrency,
                max_failures=max_failures,
                status=wanted,
                progress=lambda _r: progress.advance(task),
                cadence=settings.proxy_cadence(),
            )
    except TargetUnreachable as exc:
        fail(str(exc), code=2)
    except ProxyError as exc:
        fail(str(exc))
    rows = [
        (
            r.proxy_id,
            r.proxy,
            r.status,
            _ms(r.latency_ms),
            f"{r.successes}/{r.attempts}",
            _rate(r.success_rate),
            r.exit_ip,
            r.exit_country,
            r.error,
        )
        for r in results
    ]
    print_rows(
        ["id", "proxy", "status", "latency_ms", "ok", "success_rate", "exit_ip", "exit_country", "error"],
        rows,
        fmt,
        title=f"checked through {redact_urls(target)}",
    )
    counts = {s: sum(r.status == s for r in results) for s in ("ACTIVE", "INACTIVE", "CHECKING")}
    err.print(", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n), highlight=False)


@proxies_app.command("remove")
def proxies_remove(ids: list[int] = typer.Argument(..., help="Proxy ids.")) -> None:
    """Delete proxies from the pool."""
    removed = _pool().remove(ids)
    if not removed:
        fail("none of these ids is a proxy (see `xget proxies list`)")
    console.print(f"{removed} proxies removed")
