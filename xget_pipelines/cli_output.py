"""What every ``xget`` command prints with: the consoles, the output formats of listings, and failing with
a message. A module of its own so the command modules (``cli.py``, ``cli_x.py``...) share it without
importing one another."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def print_rows(columns: list[str], rows: list[tuple], fmt: OutputFormat, title: str | None = None) -> None:
    if fmt is OutputFormat.json:
        for row in rows:
            sys.stdout.write(
                json.dumps(dict(zip(columns, row, strict=False)), default=str, ensure_ascii=False) + "\n"
            )
    elif fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title)
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
