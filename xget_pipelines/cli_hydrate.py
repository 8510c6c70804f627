"""``xget hydrate``: look up a dataset of tweet ids on X and report, per id, what became of the tweet.

Registered on the main app in ``cli.py``; the settings, the database and the lake come from ``cli_context``.
The work is ``core/x/hydrate.py``'s; this module reads the file, prints progress and the counts, exports.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import typer

from xget_pipelines import cli_context
from xget_pipelines.cli_output import OutputFormat, err, fail, print_rows


def _client(pool):
    from xget_pipelines.core.x.client import XClient
    from xget_pipelines.core.x.web import XWeb

    settings = cli_context.settings()
    return XClient(
        settings.x_graphql_url,
        pool,
        lease_deadline_s=120.0,
        web=XWeb.for_graphql_url(settings.x_graphql_url, settings.x_hosts),
    )


def hydrate(
    file: Path = typer.Argument(..., help="Tweet ids: one a line, or a CSV file with an id column."),
    dataset: str | None = typer.Option(
        None, "--dataset", "-d", help="Name of the dataset (default: the file's name without suffix)."
    ),
    column: str | None = typer.Option(
        None, "--column", "-c", help="CSV column holding the ids (default: id or tweet_id)."
    ),
    export: str | None = typer.Option(
        None, "--export", "-o", help="Write the per-id statuses to this .csv or .parquet file."
    ),
    batch_size: int = typer.Option(100, "--batch-size", help="Ids per request (X takes up to about 220)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Look up every tweet id of FILE through the account pool: the pages land raw in the lake, the found
    tweets in the cleaned and entity tables, and each id gets a status (found, deleted, suspended,
    protected, withheld) in `ops/hydration`. Run it again to resume: ids with a status are skipped."""
    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.x import hydrate as core
    from xget_pipelines.core.x.hydrate_ids import IdFileError, read_ids

    name = dataset or file.stem
    try:
        core.check_dataset(name)
    except ValueError as exc:
        fail(f"{exc} (--dataset NAME)")
    try:
        ids = read_ids(file, column)
    except IdFileError as exc:
        fail(str(exc))
    if not 1 <= batch_size <= core.MAX_BATCH_SIZE:
        fail(f"--batch-size {batch_size}: X takes 1 to {core.MAX_BATCH_SIZE} ids a request")
    extra = f", {ids.duplicates} duplicate(s) counted once" if ids.duplicates else ""
    err.print(f"{file}: {len(ids.ids)} ids{extra}; dataset {name!r}")

    def progress(p: core.Progress) -> None:
        seen = ", ".join(f"{s} {n}" for s, n in sorted(p.counts.items()))
        err.print(
            f"  {p.skipped + p.done}/{p.total} ids decided ({p.skipped} before this run), "
            f"{p.pages} pages: {seen}",
            highlight=False,
            soft_wrap=True,
        )

    lake = cli_context.lake()
    pool = AccountPool(cli_context.engine(), secrets=cli_context.secret_box())
    run_id = f"hydrate-{uuid.uuid4().hex[:12]}"
    try:
        with _client(pool) as client:
            result = core.hydrate(
                client,
                lake,
                dataset=name,
                ids=ids.ids,
                run_id=run_id,
                batch_size=batch_size,
                on_progress=progress,
            )
    except Exception as exc:  # noqa: BLE001 - what was fetched is stored; say how to go on
        fail(f"{type(exc).__name__}: {exc}. What was fetched is kept: run the same command again to resume.")
    if result.undecided:
        err.print(f"{len(result.undecided)} ids got no readable answer; run again to ask them again")
    rows = [(status, n) for status, n in result.counts.items()]
    print_rows(["status", "ids"], rows, OutputFormat(fmt.value), title=f"dataset {name}")
    if export:
        try:
            written = core.export(lake, name, export)
        except ValueError as exc:
            fail(str(exc))
        err.print(f"wrote {written} rows to {export}", highlight=False, soft_wrap=True)
