"""The tweet ids of a research dataset, read from the file it was shared as.

Datasets of tweets are shared as ids (X's terms allow ids, not contents): a text file with one id a line,
or a CSV with the ids in one column. ``read_ids`` takes either. A CSV is recognised by its ``.csv`` suffix
or because a column was named; its id column is the one named, else ``id`` or ``tweet_id`` (any case).
Blank lines are skipped; a duplicate id counts once (the first occurrence keeps its place); anything else
that is not a tweet id (a positive integer below 2**63) fails the whole read, naming the lines, so a
dataset is never hydrated half-read. The API's HYDRATE tasks read ids by the same rules: an uploaded file's
text (``parse_text``) or a JSON list (``parse_list``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
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


def _csv_values(rows: Iterable[list[str]], column: str | None, where: str) -> list[tuple[int, str]]:
    reader = iter(rows)
    header = next(reader, None)
    if header is None:
        return []
    names = [h.strip() for h in header]
    wanted = [column] if column else list(ID_COLUMNS)
    lower = [n.lower() for n in names]
    at = next((lower.index(w.lower()) for w in wanted if w.lower() in lower), None)
    if at is None:
        raise IdFileError(
            f"{where}: no column {' or '.join(repr(w) for w in wanted)} in its header {names}; "
            "name the id column (--column; over the API, column=)"
        )
    return [(n, row[at] if at < len(row) else "") for n, row in enumerate(reader, start=2) if any(row)]


def _lines(lines: Iterable[str]) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]


def read_ids(path: Path | str, column: str | None = None) -> IdList:
    """The ids in ``path`` (one a line, or a CSV column); raises ``IdFileError`` naming bad lines."""
    path = Path(path)
    if not path.is_file():
        raise IdFileError(f"{path}: no such file")
    as_csv = bool(column) or path.suffix.lower() == ".csv"
    try:
        with path.open(newline="" if as_csv else None, encoding="utf-8-sig") as src:
            values = _csv_values(csv.reader(src), column, str(path)) if as_csv else _lines(src)
    except UnicodeDecodeError as exc:
        raise IdFileError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from None
    return parse_values(values, str(path), "" if as_csv else ", or give --column for a CSV file")


def parse_text(text: str, as_csv: bool, column: str | None = None, where: str = "body") -> IdList:
    """The ids of a file's text (an upload), by ``read_ids``' rules: a CSV column if ``as_csv``, else one a
    line."""
    text = text.removeprefix("\ufeff")
    values = (
        _csv_values(csv.reader(io.StringIO(text)), column, where) if as_csv else _lines(text.splitlines())
    )
    return parse_values(values, where, "")


def parse_list(items: list, where: str = "ids") -> IdList:
    """A JSON list of ids (numbers or strings of digits: an id passes 2**53, where JSON numbers lose
    precision in most clients), by the same rules; items are counted from 1."""
    values = [
        (n, str(item) if isinstance(item, (int, str)) and not isinstance(item, bool) else repr(item))
        for n, item in enumerate(items, start=1)
    ]
    return parse_values(values, where, unit="item")


def parse_values(values: Iterable[tuple[int, str]], where: str, hint: str = "", unit: str = "line") -> IdList:
    """``(line, text)`` pairs (blank lines left out) as ids: duplicates counted once, anything else that is
    not a tweet id fails the whole list, naming the first lines at fault (``where`` says what was read)."""
    out, seen, bad = IdList(), set(), []
    for line, value in values:
        number = _parse(value)
        if number is None:
            bad.append(f"{unit} {line}: {value.strip()[:40]!r}")
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
            f"{where}: {len(bad)} value(s) are not tweet ids (positive integers): "
            f"{'; '.join(bad[:_SHOWN])}{more}. Fix or remove those {unit}s{hint}"
        )
    if not out.ids:
        raise IdFileError(f"{where}: no tweet ids in it")
    return out
