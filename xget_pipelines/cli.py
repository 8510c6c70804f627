"""The ``xget`` command: the emulator, the demo, SQL over the lake, parsing saved X pages, the pool.

Heavy imports happen inside commands so ``xget --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer

from xget_pipelines import cli_context
from xget_pipelines.cli_api import api as api_command
from xget_pipelines.cli_api import users_app
from xget_pipelines.cli_hydrate import hydrate as hydrate_command
from xget_pipelines.cli_output import OutputFormat, console, err, fail, print_rows
from xget_pipelines.cli_proxies import proxies_app
from xget_pipelines.cli_watch import watch_app
from xget_pipelines.cli_x import x_app

app = typer.Typer(help="XGet: collect and analyse X data on Dagster and Delta Lake.", no_args_is_help=True)
lake_app = typer.Typer(help="The Delta lakehouse.", no_args_is_help=True)
accounts_app = typer.Typer(help="The pool of X accounts.", no_args_is_help=True)
sentiment_app = typer.Typer(help="Tweet sentiment models.", no_args_is_help=True)
graph_app = typer.Typer(help="Networks from the lake, for Gephi.", no_args_is_help=True)
app.add_typer(lake_app, name="lake")
app.add_typer(x_app, name="x")
app.add_typer(accounts_app, name="accounts")
app.add_typer(watch_app, name="watch")
app.add_typer(sentiment_app, name="sentiment")
app.add_typer(graph_app, name="graph")
app.add_typer(proxies_app, name="proxies")
app.add_typer(users_app, name="users")
app.command("api")(api_command)
app.command("hydrate")(hydrate_command)


@app.callback()
def _read_settings() -> None:
    cli_context.load_settings()


# -- emulator and demo ---------------------------------------------------------------------------------


@app.command()
def emulator(
    host: str = typer.Option(None, help="Address to bind (default XGET_EMULATOR_HOST)."),
    port: int = typer.Option(None, help="Port (default XGET_EMULATOR_PORT, 8765)."),
    users: int = typer.Option(None, help="Users in the synthetic world."),
    tweets: int = typer.Option(None, help="Tweets in the synthetic world."),
    days: int = typer.Option(None, help="Days the world covers, ending today."),
    seed: int = typer.Option(None, help="Seed of the world (same seed, same world)."),
    window: float = typer.Option(None, help="Rate-limit window in seconds (X: 900)."),
) -> None:
    """Serve the offline X (GraphQL API, rate limits, faults) until Ctrl-C."""
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import serve
    from xget_pipelines.emulator.world import WorldConfig

    s = cli_context.settings()
    cfg = WorldConfig(
        seed=seed if seed is not None else s.emulator_seed,
        users=users or s.emulator_users,
        tweets=tweets or s.emulator_tweets,
        days=days or s.emulator_days,
    )
    console.print(
        f"emulator: building a world of {cfg.users:,} users and {cfg.tweets:,} tweets over {cfg.days} days…"
    )
    serve(
        cfg,
        EmulatorSettings(window_seconds=window or s.emulator_window_s),
        host=host or s.emulator_host,
        port=port or s.emulator_port,
    )


@app.command()
def demo(
    serve_ui: bool = typer.Option(
        True, "--serve/--no-serve", help="Keep the Dagster UI and emulator running after the summary."
    ),
    days: int = typer.Option(None, help="Days of the watchlist to collect (default XGET_DEMO_DAYS)."),
) -> None:
    """Run XGet end to end offline: emulator, accounts, watchlist, every asset, a summary of the lake."""
    from xget_pipelines.demo import run_demo

    run_demo(console, cli_context.settings(), serve_ui=serve_ui, days=days)


# -- SQL and the lake ----------------------------------------------------------------------------------


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL over the lake; tables are views such as cleaned_tweets."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Time travel: a table version (12) or a time (2026-11-28T10:00:00Z) for every table.",
    ),
) -> None:
    """Run SQL (DuckDB) over the Delta tables (each a view named like cleaned_tweets) and the dbt marts
    (``marts.daily_volume_per_term`` ...). Queries only: nothing is written, and no file but the tables'
    is read."""
    import duckdb

    from xget_pipelines.core.errors import InvalidField
    from xget_pipelines.core.lake.catalog import connect, run_query
    from xget_pipelines.core.lake.maintenance import parse_as_of

    missing: list[str] = []
    try:
        when = parse_as_of(as_of) if as_of is not None else None
    except ValueError as exc:
        fail(str(exc))
    try:
        con = connect(
            cli_context.lake(),
            marts=cli_context.settings().resolved_marts_path,
            as_of=when,
            missing=missing,
            read_only=True,
        )
    except duckdb.IOException as exc:  # dbt is writing the marts right now
        fail(f"cannot open the marts database: {exc}; retry when the dbt run has finished")
    if missing:
        err.print(
            f"as of {as_of} these tables have no snapshot, so no view: {', '.join(missing)}. Time travel "
            "reaches back XGET_LAKE_VACUUM_RETENTION_HOURS."
        )
    try:
        rel = run_query(con, query)
    except InvalidField as exc:
        fail(str(exc))
    except duckdb.PermissionException as exc:
        fail(f"xget sql reads the lake's tables and the marts only: {exc}")
    except duckdb.Error as exc:
        views = [
            r[0]
            for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()
            if not r[0].startswith("__")  # the Arrow tables behind the views of empty tables
        ]
        fail(f"{exc}\nviews available: {', '.join(sorted(views)) or 'none (run `xget demo` first)'}")
    if rel is None:
        return
    print_rows(rel.columns, rel.fetchall(), fmt)


class ExportFormat(str, Enum):
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


@app.command()
def export(
    source: str = typer.Argument(
        ..., metavar="TABLE_OR_SQL", help="A table (entities_tweets, entities/tweets, marts.<name>) or SQL."
    ),
    fmt: ExportFormat | None = typer.Option(None, "--format", "-f", help="Default: --out's extension."),
    out: Path | None = typer.Option(None, "--out", "-o", dir_okay=False, help="File (default: stdout)."),
    where: str | None = typer.Option(None, help="SQL condition the rows must meet."),
    limit: int | None = typer.Option(None, min=0, help="At most this many rows."),
    ids_as_strings: bool = typer.Option(
        False, "--ids-as-strings", help="json/ndjson: int64 id columns as strings (JavaScript rounds them)."
    ),
) -> None:
    """Export a lake table or a query's result as json, ndjson, csv, parquet or xlsx, streamed batch by batch
    (any size; xlsx stops at Excel's 1,048,575 rows)."""
    import os
    import re

    import duckdb

    from xget_pipelines.core.lake.catalog import connect, has_view
    from xget_pipelines.core.lake.tables import view_name
    from xget_pipelines.serving.export import ExportTooLarge, write_export

    if fmt is None:
        suffix = out.suffix.lstrip(".").lower() if out else ""
        if suffix not in ExportFormat.__members__:
            fail("pass --format (json, ndjson, csv, parquet or xlsx)")
        fmt = ExportFormat(suffix)
    if out is None and fmt in (ExportFormat.parquet, ExportFormat.xlsx) and sys.stdout.isatty():
        fail(f"{fmt.value} is binary: write it to a file with --out, or redirect stdout")
    try:
        con = connect(cli_context.lake(), marts=cli_context.settings().resolved_marts_path)
    except duckdb.IOException as exc:  # dbt is writing the marts right now
        fail(f"cannot open the marts database: {exc}; retry when the dbt run has finished")

    def views() -> str:
        rows = con.execute("select view_name from duckdb_views() where not internal").fetchall()
        names = [r[0] for r in rows]
        return f"views available: {', '.join(sorted(names)) or 'none (run `xget demo` first)'}"

    name = source.strip()
    if re.fullmatch(r"\w+(/\w+)?", name):  # a table of the lake, not SQL
        if not has_view(con, view_name(name)):
            fail(f"no table {name!r} in the lake\n{views()}")
        query = f'select * from "{view_name(name)}"'
    elif re.fullmatch(r"marts\.\w+", name):  # a dbt mart
        query = f"select * from {name}"
    else:
        query = f"select * from ({name.rstrip(';')}\n) as q" if where or limit is not None else name
    if where:
        query += f" where {where}"
    if limit is not None:
        query += f" limit {limit}"
    try:
        rel = con.sql(query)
        if rel is None:
            fail("the SQL returns no rows to export (use a query: select ..., from ..., show ...)")
        reader = rel.to_arrow_reader(50_000)
    except duckdb.Error as exc:
        fail(f"{exc}\n{views()}")
    part = out.with_name(out.name + ".part") if out else None
    try:
        if out is None:
            rows = write_export(reader, fmt.value, sys.stdout.buffer, ids_as_strings)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(part, "wb") as fh:
                rows = write_export(reader, fmt.value, fh, ids_as_strings)
            os.replace(part, out)
    except (ExportTooLarge, duckdb.Error) as exc:
        fail(str(exc))
    finally:
        if part is not None and part.exists():
            part.unlink()
    if out is not None:
        err.print(f"{rows:,} rows written to {out}", highlight=False)


@lake_app.command("tables")
def lake_tables(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f")) -> None:
    """Every Delta table: name, version, rows, files, size."""
    infos = cli_context.lake().describe()
    rows = [(i.name, i.version, i.rows, i.files, _size(i.size_bytes)) for i in infos]
    print_rows(
        ["table", "version", "rows", "files", "size"],
        rows,
        fmt,
        title=f"lake {cli_context.settings().resolved_lake_uri}",
    )


@lake_app.command("backup")
def lake_backup(
    target: str = typer.Argument(
        ..., help="An empty (or new) folder, or s3://bucket/prefix, to write the backup to."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Back up each table as it was at this time."),
    control_plane: bool = typer.Option(True, help="Include the control-plane DB (SQLite copy or pg_dump)."),
) -> None:
    """Back up every Delta table (one consistent version each), the media objects and the control-plane DB,
    with a manifest of checksums. Safe while pipelines write."""
    from xget_pipelines.core.db.dump import DumpError
    from xget_pipelines.core.lake.backup import BackupError, backup_lake
    from xget_pipelines.core.lake.maintenance import parse_as_of

    settings = cli_context.settings()
    try:
        when = parse_as_of(as_of) if as_of else None
        if isinstance(when, int):
            raise ValueError("--as-of for a backup takes a time (versions differ between tables)")
        manifest = backup_lake(
            cli_context.lake(),
            target,
            settings.resolved_database_url if control_plane else None,
            as_of=when,
            target_options=settings.lake_storage_options,
            progress=err.print,
        )
    except (BackupError, DumpError, ValueError) as exc:
        fail(str(exc))
    files = sum(len(t["files"]) + len(t["log"]) for t in manifest["tables"]) + len(manifest["media"])
    console.print(
        f"backed up {len(manifest['tables'])} tables, {len(manifest['media'])} media objects"
        f"{' and the control-plane DB' if manifest['control_plane'] else ''} ({files} files) to {target}"
    )


@lake_app.command("restore")
def lake_restore(
    backup: str = typer.Argument(..., help="A folder (or s3://...) written by `xget lake backup`."),
    lake_uri: str | None = typer.Option(
        None, "--lake", help="Lake root to restore into (default XGET_LAKE_URI)."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Control-plane DB to restore into (default XGET_DATABASE_URL)."
    ),
    control_plane: bool = typer.Option(True, help="Restore the control-plane DB too."),
    replace: bool = typer.Option(
        False, "--replace", help="Restore over existing tables/DB (they are moved aside)."
    ),
) -> None:
    """Restore a backup and verify it: every file's checksum, every table's version and row count."""
    from xget_pipelines.core.db.dump import DumpError
    from xget_pipelines.core.lake.backup import BackupError
    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.core.lake.restore import restore_lake

    settings = cli_context.settings()
    lake = Lake(lake_uri, settings.lake_storage_options) if lake_uri else cli_context.lake()
    url = (database_url or settings.resolved_database_url) if control_plane else None
    try:
        report = restore_lake(
            backup,
            lake,
            url,
            replace=replace,
            backup_options=settings.lake_storage_options,
            progress=err.print,
        )
    except (BackupError, DumpError) as exc:
        fail(str(exc))
    rows = sum(r for _, r in report.tables.values())
    console.print(
        f"restored {len(report.tables)} tables ({rows} rows), {report.media} media objects"
        f"{' and the control-plane DB' if report.control_plane_rows is not None else ''} into {lake.uri}; "
        "checksums, versions and row counts verified"
    )
    for moved in report.moved_aside:
        console.print(f"the table that was there is kept at {moved}")


@lake_app.command("verify")
def lake_verify(backup: str = typer.Argument(..., help="A backup folder.")) -> None:
    """Check every file of a backup against its manifest's checksums."""
    from xget_pipelines.core.lake.backup import BackupError, verify_backup

    try:
        manifest = verify_backup(backup, cli_context.settings().lake_storage_options)
    except BackupError as exc:
        fail(str(exc))
    console.print(
        f"{backup}: {len(manifest['tables'])} tables, {len(manifest['media'])} media objects, "
        "all checksums match"
    )


@lake_app.command("maintain")
def lake_maintain(
    retention_hours: int | None = typer.Option(
        None, help="Vacuum files unused for this long (default XGET_LAKE_VACUUM_RETENTION_HOURS)."
    ),
    table: list[str] | None = typer.Option(None, "--table", help="Only these tables (repeatable)."),
) -> None:
    """Compact small files, checkpoint and vacuum every table (what the lake_maintenance job runs)."""
    from xget_pipelines.core.lake.maintenance import maintain

    hours = cli_context.settings().lake_vacuum_retention_hours if retention_hours is None else retention_hours
    done = maintain(cli_context.lake(), hours, table or None)
    print_rows(
        ["table", "version", "files before", "files after", "compacted", "vacuumed", "error"],
        [
            (
                d.table,
                d.version,
                d.files_before,
                d.files_after,
                d.files_compacted,
                d.files_vacuumed,
                d.error or d.skipped or "",
            )
            for d in done
        ],
        OutputFormat.table,
    )


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# -- accounts --------------------------------------------------------------------------------------


@accounts_app.command("add")
def accounts_add(
    username: str = typer.Argument(..., help="X username of the account."),
    cookies: str = typer.Option(..., help="Cookie header of a logged-in session: 'auth_token=...; ct0=...'."),
) -> None:
    """Add (or refresh) an account that authenticates with session cookies."""
    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.pools.cookies import parse_cookie_header

    try:
        jar = parse_cookie_header(cookies)
    except ValueError as exc:
        fail(str(exc))
    AccountPool(cli_context.engine(), secrets=cli_context.secret_box()).add_accounts([(username, jar)])
    console.print(f"account {username} added ({len(jar)} cookies; values not shown)")


class AccountFileFormat(str, Enum):
    auto = "auto"
    lines = "lines"
    csv = "csv"
    json = "json"


@accounts_app.command("import")
def accounts_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Account file."),
    fmt: AccountFileFormat = typer.Option(
        AccountFileFormat.auto, "--format", help="lines (twscrape's), csv or json; auto: by file extension."
    ),
    columns: str = typer.Option(
        "username:password:email:email_password:mfa_secret",
        help="Column order of a lines file (add cookies, user_agent, proxy, _ to skip).",
    ),
    delimiter: str = typer.Option(":", help="Field delimiter of a lines file."),
    login_method: str = typer.Option("TWITTER", help="TWITTER or GOOGLE, for rows that do not say."),
) -> None:
    """Import accounts (twscrape lines, CSV or JSON). Bad lines are reported; the good ones are imported;
    re-importing updates accounts instead of duplicating them."""
    from rich.progress import Progress

    from xget_pipelines.core.pools.accounts import upsert_accounts
    from xget_pipelines.core.pools.importing import parse_csv, parse_json, parse_lines

    kind = (
        fmt.value
        if fmt is not AccountFileFormat.auto
        else {".csv": "csv", ".json": "json"}.get(file.suffix.lower(), "lines")
    )
    text = file.read_text(encoding="utf-8-sig")
    try:
        if kind == "csv":
            parsed = parse_csv(text, login_method)
        elif kind == "json":
            parsed = parse_json(text, login_method)
        else:
            parsed = parse_lines(text, columns, delimiter, login_method)
    except ValueError as exc:
        fail(str(exc))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {len(parsed.records):,} accounts", total=len(parsed.records))
        result = upsert_accounts(
            cli_context.engine(),
            cli_context.secret_box(),
            parsed.records,
            progress=lambda n: progress.advance(task, n),
        )
    console.print(f"{result.created:,} accounts added, {result.updated:,} updated from {file.name} ({kind})")
    if parsed.errors:
        err.print(f"[yellow]{len(parsed.errors)} lines skipped:[/]")
        for bad in parsed.errors[:50]:
            err.print(f"  {bad}", highlight=False)
        if len(parsed.errors) > 50:
            err.print(f"  … and {len(parsed.errors) - 50} more")
        if not parsed.records:
            raise typer.Exit(1)


@accounts_app.command("list")
def accounts_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f")) -> None:
    """Accounts with their state and per-operation windows (secrets never shown)."""
    from xget_pipelines.core.pools.account_pool import AccountPool

    rows = []
    for acc in AccountPool(cli_context.engine(), secrets=cli_context.secret_box()).status():
        ops = ", ".join(
            f"{o['operation']}:{o['remaining']}/{o['limit']}" for o in acc["operations"] if o["limit"]
        )
        state = "active" if acc["active"] else "inactive"
        rows.append((acc["username"], state, acc["wanted_country"] or "", acc["error"] or "", ops))
    print_rows(["username", "state", "country", "last error", "windows (remaining/limit)"], rows, fmt)


@accounts_app.command("check")
def accounts_check(
    usernames: list[str] | None = typer.Argument(None, help="Accounts to check (default: every active one)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Verify accounts with one cheap request each; refused ones leave the pool with the reason."""
    from rich.progress import Progress

    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.pools.checks import check_account

    pool = AccountPool(cli_context.engine(), secrets=cli_context.secret_box())
    names = usernames or [a["username"] for a in pool.status() if a["active"]]
    if not names:
        fail("no accounts to check: import some with `xget accounts import`")
    results = []
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("checking accounts", total=len(names))
        for name in names:
            results.append(check_account(pool, cli_context.settings().x_graphql_url, name))
            progress.advance(task)
    print_rows(["username", "ok", "detail"], [(r.username, r.ok, r.detail) for r in results], fmt)
    if not any(r.ok for r in results):
        raise typer.Exit(1)


@accounts_app.command("login")
def accounts_login(
    usernames: list[str] | None = typer.Argument(
        None, help="Accounts to log in (default: those without cookies)."
    ),
    email_code: str | None = typer.Option(
        None, help="An email confirmation code X sent (default: read from the account's mailbox over IMAP)."
    ),
) -> None:
    """Log accounts in and store the new session cookies: X's password flow (2FA from the MFA secret, emailed
    code over IMAP) for TWITTER accounts, "Sign in with Google" in Chromium for GOOGLE accounts."""
    import sqlalchemy as sa

    from xget_pipelines.core.errors import XGetError
    from xget_pipelines.core.pools.account_login import login_account
    from xget_pipelines.core.pools.account_pool import AccountPool

    engine = cli_context.engine()
    pool = AccountPool(engine, secrets=cli_context.secret_box())
    setup = cli_context.settings().login_setup()
    if not usernames:
        with engine.connect() as conn:
            usernames = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "select username from accounts"
                        " where cookies_enc is null and password_enc is not null order by username"
                    )
                )
            ]
    if not usernames:
        fail("no account to log in: every account has cookies (name some to log them in again)")
    failed = 0
    for name in usernames:
        try:
            login_account(pool, name, setup, email_code=(lambda: email_code) if email_code else None)
            console.print(f"[green]{name}[/]: logged in, session stored")
        except XGetError as exc:
            failed += 1
            err.print(f"[red]{name}[/]: {exc}")
    if failed == len(usernames):
        raise typer.Exit(1)


@accounts_app.command("disable")
def accounts_disable(
    username: str, reason: str = typer.Option("disabled by hand", help="Why (shown in lists).")
) -> None:
    """Take an account out of the pool."""
    from xget_pipelines.core.pools.account_pool import AccountPool

    if not AccountPool(cli_context.engine(), secrets=cli_context.secret_box()).set_active(
        username, False, reason
    ):
        fail(f"no account {username!r} (see `xget accounts list`)")
    console.print(f"account {username} disabled: {reason}")


@accounts_app.command("country")
def accounts_country(
    username: str,
    country: str | None = typer.Argument(
        None, help="2-letter code (DE, US); leave out with --any to accept proxies of any country."
    ),
    any_country: bool = typer.Option(False, "--any", help="Clear the wanted country."),
) -> None:
    """Bind an account only to proxies of a country (its exit country when a check saw one, else the
    proxy's label). With none of that country ACTIVE, the account rests and says so."""
    from xget_pipelines.core.pools.account_pool import AccountPool

    if (country is None) == (not any_country):
        fail("give a country (e.g. DE) or --any, not both or neither")
    pool = AccountPool(cli_context.engine(), secrets=cli_context.secret_box())
    try:
        found = pool.set_wanted_country(username, None if any_country else country)
    except ValueError as exc:
        fail(str(exc))
    if not found:
        fail(f"no account {username!r} (see `xget accounts list`)")
    console.print(
        f"account {username} binds only to proxies in {country.upper()}"
        if country
        else f"account {username} binds to proxies of any country"
    )


@accounts_app.command("enable")
def accounts_enable(username: str) -> None:
    """Put an account back in the pool (clears its last error and any quarantine)."""
    from xget_pipelines.core.pools.account_pool import AccountPool

    if not AccountPool(cli_context.engine(), secrets=cli_context.secret_box()).set_active(username, True):
        fail(f"no account {username!r} (see `xget accounts list`)")
    console.print(f"account {username} enabled")


@sentiment_app.command("score")
def sentiment_score(
    model: str = typer.Option(
        "current", help="current (the trained model), vader, transformers:<path or id>, or a model folder."
    ),
    batch_size: int = typer.Option(64, min=1, help="Texts scored at once."),
) -> None:
    """Score texts read from standard input, one per line: one JSON line each with label and score
    (polarity in [-1, 1]) and confidence."""
    from xget_pipelines.core.errors import XGetError
    from xget_pipelines.core.sentiment.models import load_model, models_dir

    try:
        scorer = load_model(model, models_dir(cli_context.settings().home))
    except XGetError as exc:
        fail(str(exc))
    batch: list[str] = []

    def flush() -> None:
        for text, p in zip(batch, scorer.predict(batch), strict=False):
            sys.stdout.write(
                json.dumps(
                    {
                        "text": text,
                        "label": p.label,
                        "score": p.score,
                        "confidence": p.confidence,
                        "model": scorer.version,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        sys.stdout.flush()
        batch.clear()

    for line in sys.stdin:
        batch.append(line.rstrip("\n"))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()


class GraphFormat(str, Enum):
    gexf = "gexf"
    graphml = "graphml"


@graph_app.command("export")
def graph_export(
    out: Path = typer.Argument(..., dir_okay=False, help="File to write (.gexf or .graphml)."),
    kind: str = typer.Option("hashtag", help="hashtag (co-hashtags) or mention (co-mentions)."),
    since: str | None = typer.Option(None, help="First day (YYYY-MM-DD) of the window; default: all."),
    until: str | None = typer.Option(None, help="Last day (YYYY-MM-DD) of the window; default: all."),
    fmt: GraphFormat | None = typer.Option(
        None, "--format", "-f", help="Default: from the file's extension."
    ),
) -> None:
    """Export the co-hashtag or co-mention network of a time window (analytics_cotag_network) for Gephi."""
    import datetime as dt

    import networkx as nx

    from xget_pipelines.core.lake.catalog import connect, has_view
    from xget_pipelines.core.profiles import to_graph

    if kind not in ("hashtag", "mention"):
        fail(f"--kind {kind!r}: use hashtag or mention")
    chosen = fmt.value if fmt else out.suffix.lstrip(".").lower()
    if chosen not in ("gexf", "graphml"):
        fail(f"cannot tell the format of {out.name}: name it .gexf or .graphml, or pass --format")
    try:
        bounds = [dt.date.fromisoformat(d) if d else None for d in (since, until)]
    except ValueError as exc:
        fail(f"bad day: {exc}; use YYYY-MM-DD")
    con = connect(cli_context.lake())
    if not has_view(con, "analytics_cotag_network"):
        fail("no co-hashtag network yet: materialize analytics_cotag_network (the marts job does)")
    edges = con.sql(
        "select * from analytics_cotag_network where kind = ? and (?::date is null or day >= ?::date) "
        "and (?::date is null or day <= ?::date)",
        params=[kind, bounds[0], bounds[0], bounds[1], bounds[1]],
    ).to_arrow_table()
    graph = to_graph(edges)
    out.parent.mkdir(parents=True, exist_ok=True)
    (nx.write_gexf if chosen == "gexf" else nx.write_graphml)(graph, str(out))
    console.print(
        f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges ({kind}) written to {out}"
    )


if __name__ == "__main__":
    app()
