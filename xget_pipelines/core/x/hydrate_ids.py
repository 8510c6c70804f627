"""The tweet ids of a research dataset, read from the file it was shared as.

Datasets of tweets are shared as ids (X's terms allow ids, not contents): a text file with one id a line,
or a CSV with the ids in one column. ``read_ids`` takes either. A CSV is recognised by its ``.csv`` suffix
or because a column was named; its id column is the one named, else ``id`` or ``tweet_id`` (any case).
Blank lines are skipped; a duplicate id counts once (the first occurrence keeps its place); anything else
that is not a tweet id (a positive integer below 2**63) fails the whole read, naming the lines, so a
dataset is never hydrated half-read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

ID_COLUMNS = ("id", "tweet_id")
MAX_ID = 2**63 - 1
_SHOWN = 10  # bad lines named in the error


class IdFileError(ValueError):
    """The file cannot be read as a list of tweet ids; the message says where and what to do."""


@dataclass
class IdList:
    """The dataset's distinct ids in file order, and what reading found."""

    ids: list[int] = field(default_factory=list)
    rows: int = 0  # non-blank data lines read
    duplicates: int = 0


def _parse(value: str) -> int | None:
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def _csv_values(path: Path, column: str | None) -> list[tuple[int, str]]:
    with path.open(newline="", encoding="utf-8-sig") as src:
        reader = csv.reader(src)
        header = next(reader, None)
        if header is None:
            return []
        names = [h.strip() for h in header]
        wanted = [column] if column else list(ID_COLUMNS)
        lower = [n.lower() for n in names]
        at = next((lower.index(w.lower()) for w in wanted if w.lower() in lower), None)
        if at is None:
            raise IdFileError(
                f"{path}: no column {' or '.join(repr(w) for w in wanted)} in its header {names}; "
                "name the id column with --column"
            )
        return [(n, row[at] if at < len(row) else "") for n, row in enumerate(reader, start=2) if any(row)]


def _lines(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8-sig") as src:
        return [(n, line) for n, line in enumerate(src, start=1) if line.strip()]


def read_ids(path: Path | str, column: str | None = None) -> IdList:
    """The ids in ``path`` (one a line, or a CSV column); raises ``IdFileError`` naming bad lines."""
    path = Path(path)
    if not path.is_file():
        raise IdFileError(f"{path}: no such file")
    try:
        values = _csv_values(path, column) if column or path.suffix.lower() == ".csv" else _lines(path)
    except UnicodeDecodeError as exc:
        raise IdFileError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from None
    out, seen, bad = IdList(), set(), []
    for line, value in values:
        number = _parse(value)
        if number is None:
            bad.append(f"line {line}: {value.strip()[:40]!r}")
            continue
        out.rows += 1
        if number in seen:
            out.duplicates += 1
            continue
        seen.add(number)
        out.ids.append(number)
    if bad:
        more = f" (and {len(bad) - _SHOWN} more)" if len(bad) > _SHOWN else ""
        raise IdFileError(
            f"{path}: {len(bad)} value(s) are not tweet ids (positive integers): "
            f"{'; '.join(bad[:_SHOWN])}{more}. Fix or remove those lines"
            + ("" if column or path.suffix.lower() == ".csv" else ", or give --column for a CSV file")
        )
    if not out.ids:
        raise IdFileError(f"{path}: no tweet ids in it")
    return out
