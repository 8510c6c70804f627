"""Small value conversions for the parser, written for speed on the hot path.

X's ``created_at`` is always ``"Wed Jul 08 21:59:10 +0000 2026"``; parsing it by position is about
20x faster than ``email.utils.parsedate_to_datetime`` (what twscrape uses) and yields the epoch
microseconds Arrow stores directly, without building ``datetime`` objects.
"""

from __future__ import annotations

import email.utils
from urllib.parse import parse_qs, urlsplit

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_US = 1_000_000
_DAY_US: dict[str, int] = {}  # "Jul 08 2026" -> epoch microseconds of that day


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def x_time_us(s: str | None) -> int | None:
    """Epoch microseconds (UTC) of an X ``created_at`` string; ``None`` passes through.

    The day part (``"Jul 08 ... 2026"``) is looked up in a small cache, so a typical call costs three
    ``int`` of two digits. Raises ``ValueError`` for a string that is not a date, so the caller can
    report the object.
    """
    if s is None:
        return None
    if len(s) == 30 and s[20:25] == "+0000":
        day = _DAY_US.get(s[4:11] + s[26:])
        if day is None:
            day = _day_us(s)
        if day is not None:
            return day + int(s[11:13]) * 3_600_000_000 + int(s[14:16]) * 60_000_000 + int(s[17:19]) * _US
    try:
        dt = email.utils.parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"bad created_at {s!r}") from exc
    if dt.tzinfo is None:
        raise ValueError(f"created_at without a zone {s!r}")
    return int(dt.timestamp()) * _US + dt.microsecond


def _day_us(s: str) -> int | None:
    """Epoch microseconds of the day in ``"Wed Jul 08 21:59:10 +0000 2026"``; cached; None if odd."""
    month = _MONTHS.get(s[4:7])
    if month is None or s[3] != " " or s[7] != " " or s[10] != " " or s[19] != " " or s[25] != " ":
        return None
    if not (s[8:10].isdigit() and s[26:30].isdigit()):
        return None
    day = _days_from_civil(int(s[26:30]), month, int(s[8:10])) * 86_400 * _US
    if len(_DAY_US) < 100_000:  # about 270 years of distinct days
        _DAY_US[s[4:11] + s[26:]] = day
    return day


def opt_int(s: str | int | None) -> int | None:
    """``int`` of an id or count that X may send as a string; ``None`` passes through."""
    return None if s is None else int(s)


def source_label(source: str | None) -> str | None:
    """The client name of ``<a href="...">Twitter Web App</a>``; a plain string is its own label."""
    if not source:
        return None
    i = source.find(">")
    if i < 0:
        return None if "<" in source else source
    j = source.find("<", i + 1)
    return source[i + 1 : j] if j >= 0 else None


def domain_of(url: str | None) -> str | None:
    """Lower-case host of a URL, without port or credentials; ``None`` when there is none."""
    if not url:
        return None
    parts = url.split("/", 3)  # "https:", "", "host[:port]", "path..."
    if len(parts) < 3 or parts[1] or not parts[0].endswith(":"):
        return None
    host = parts[2]
    if "@" in host or "?" in host or "#" in host or host.startswith("["):
        return (urlsplit(url).hostname or "").lower() or None
    return host.partition(":")[0].lower() or None


def trend_query(url: str | None, params: dict[str, str]) -> str | None:
    """The search query a trend opens: a ``query`` request parameter or ``?q=``/``?query=`` in its URL."""
    if "query" in params:
        return params["query"]
    if url and "?" in url:
        qs = parse_qs(url.split("?", 1)[1])
        for key in ("query", "q"):
            if qs.get(key):
                return qs[key][0]
    return None
