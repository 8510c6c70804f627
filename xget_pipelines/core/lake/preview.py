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


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """A line of values as block characters (a trend line that reads in a Markdown table); gaps as spaces."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return "".join(" " if v is None else _BARS[int((v - low) / span * (len(_BARS) - 1))] for v in values)


def sparkline_table(
    series: dict[str, list[float | None]],
    label: str,
    first: str,
    last: str,
    summary: dict[str, str] | None = None,
) -> str:
    """Markdown: one row per series with its sparkline from ``first`` to ``last`` (and a summary column)."""
    lines = [
        f"| {label} | {first} → {last} |" + (" |" if summary is None else " summary |"),
        "|---|---|" + ("" if summary is None else "---|"),
    ]
    for name, values in series.items():
        cells = [_cell(name, 40), f"`{sparkline(values)}`"] + (
            [] if summary is None else [summary.get(name, "")]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
