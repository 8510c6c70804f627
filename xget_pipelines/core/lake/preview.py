"""Small Markdown previews of Arrow tables for asset metadata (no pandas needed)."""

from __future__ import annotations

import pyarrow as pa


def _cell(value: object, width: int) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown_preview(table: pa.Table, rows: int = 5, columns: int = 8, width: int = 60) -> str:
    cols = table.column_names[:columns]
    head = table.select(cols).slice(0, rows).to_pylist()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r[c], width) for c in cols) + " |" for r in head]
    return "\n".join(lines)
