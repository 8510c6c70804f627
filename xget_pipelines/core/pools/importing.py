"""Reading account files: twscrape's line format (or any column order), CSV, JSON, and cookies in the
forms browsers and tools export them (JSON object or list, ``name=value; ...`` header, Netscape file).

Parsing never stops at a bad line: each one is reported with its line number and the reason, and the
good ones are returned. Nothing here touches the database (see ``accounts.upsert_accounts``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from xget_pipelines.core.pools.accounts import LOGIN_METHODS, AccountRecord

TWSCRAPE_COLUMNS = "username:password:email:email_password:mfa_secret"
FIELDS = (
    "username",
    "password",
    "email",
    "email_password",
    "mfa_secret",
    "cookies",
    "user_agent",
    "proxy_url",
    "login_method",
)
ALIASES = {
    "mfa": "mfa_secret",
    "mfa_code": "mfa_secret",
    "totp": "mfa_secret",
    "proxy": "proxy_url",
    "email_pass": "email_password",
    "login": "username",
    "_": "_",
}
_USERNAME = re.compile(r"^@?[A-Za-z0-9_]{1,15}$")


@dataclass
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParsedAccounts:
    records: list[AccountRecord] = field(default_factory=list)
    errors: list[BadLine] = field(default_factory=list)


def normalise_columns(spec: str) -> list[str]:
    """``username:password:email:email_password[:mfa]`` -> field names; raises ValueError naming a bad one."""
    columns = []
    for raw in spec.split(":"):
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name != "_" and name not in FIELDS:
            raise ValueError(f"unknown column {raw!r} in {spec!r}; known: {', '.join(FIELDS)} (or _ to skip)")
        columns.append(name)
    if "username" not in columns:
        raise ValueError(f"the columns {spec!r} must include username")
    return columns


def parse_cookies(text: str) -> dict[str, str]:
    """Cookies from a JSON object, a JSON list of {name, value}, a Netscape cookie file or a header string."""
    text = text.strip()
    if not text:
        return {}
    if text[0] in "{[":
        data = json.loads(text)
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
        return {str(c["name"]): str(c["value"]) for c in data if isinstance(c, dict) and "name" in c}
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if any("\t" in ln for ln in lines) or text.startswith("# Netscape"):
        jar = {}
        for ln in lines:
            if ln.startswith("#") and not ln.startswith("#HttpOnly_"):
                continue
            parts = ln.split("\t")
            if len(parts) != 7:
                raise ValueError(f"Netscape cookie line has {len(parts)} fields, not 7: {parts[0][:30]!r}")
            jar[parts[5]] = parts[6]
        return jar
    jar = {}
    for part in (p.strip() for p in text.split(";")):
        if part:
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"cookie {part[:20]!r} is not name=value")
            jar[name.strip()] = value.strip()
    return jar


def _record(values: dict[str, str | None], login_method: str) -> AccountRecord:
    username = (values.get("username") or "").strip()
    if not username:
        raise ValueError("username is empty")
    if not _USERNAME.match(username):
        raise ValueError(f"{username[:20]!r} is not an X username (1-15 letters, digits or _)")
    method = (values.get("login_method") or login_method).upper()
    if method not in LOGIN_METHODS:
        raise ValueError(f"login method {method!r} is not one of {', '.join(LOGIN_METHODS)}")
    cookies = values.get("cookies")
    clean = {k: (v.strip() if isinstance(v, str) and v.strip() else None) for k, v in values.items()}
    return AccountRecord(
        username=username.lstrip("@"),
        password=clean.get("password"),
        email=clean.get("email"),
        email_password=clean.get("email_password"),
        mfa_secret=clean.get("mfa_secret"),
        cookies=parse_cookies(cookies) if cookies and cookies.strip() else None,
        login_method=method,
        user_agent=clean.get("user_agent"),
        proxy_url=clean.get("proxy_url"),
    )


def parse_lines(
    text: str, columns: str = TWSCRAPE_COLUMNS, delimiter: str = ":", login_method: str = "TWITTER"
) -> ParsedAccounts:
    """twscrape's ``username:password:email:email_password[:mfa]`` lines, or any column order.

    Trailing optional columns may be left out; a last ``cookies`` column takes the rest of the line
    (cookies contain the delimiter). Blank lines and ``#`` comments are skipped.
    """
    names = normalise_columns(columns)
    out = ParsedAccounts()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(delimiter, len(names) - 1) if names[-1] == "cookies" else line.split(delimiter)
        required = len([n for n in names if n not in ("mfa_secret", "cookies", "user_agent", "proxy_url")])
        if not required <= len(parts) <= len(names):
            out.errors.append(
                BadLine(
                    number,
                    f"expected {required} to {len(names)} fields ({delimiter.join(names)}), got {len(parts)}",
                )
            )
            continue
        try:
            out.records.append(
                _record({n: p for n, p in zip(names, parts, strict=False) if n != "_"}, login_method)
            )
        except (ValueError, KeyError) as exc:
            out.errors.append(BadLine(number, str(exc)))
    return out


def parse_csv(text: str, login_method: str = "TWITTER") -> ParsedAccounts:
    """CSV with a header row naming the columns (the names of ``FIELDS`` or their aliases)."""
    out = ParsedAccounts()
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
    except csv.Error as exc:
        return ParsedAccounts(errors=[BadLine(1, f"not CSV: {exc}")])
    unknown = [h for h in header if h not in FIELDS and h != "_"]
    if "username" not in header or unknown:
        problem = f"unknown columns {unknown}" if unknown else "no username column"
        return ParsedAccounts(errors=[BadLine(1, f"header: {problem}; known: {', '.join(FIELDS)}")])
    reader.fieldnames = header
    for row in reader:
        try:
            if None in row:
                raise ValueError(f"{len(header) + len(row[None])} fields, the header has {len(header)}")
            out.records.append(_record(row, login_method))
        except (ValueError, KeyError) as exc:
            out.errors.append(BadLine(reader.line_num, str(exc)))
    return out


def parse_json(text: str, login_method: str = "TWITTER") -> ParsedAccounts:
    """A JSON list of account objects (or ``{"accounts": [...]}``); line numbers are list positions."""
    out = ParsedAccounts()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParsedAccounts(errors=[BadLine(exc.lineno, f"not JSON: {exc.msg}")])
    items = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return ParsedAccounts(errors=[BadLine(1, 'expected a list of accounts or {"accounts": [...]}')])
    for number, item in enumerate(items, start=1):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            values = {ALIASES.get(k.lower(), k.lower()): v for k, v in item.items()}
            unknown = [k for k in values if k not in FIELDS]
            if unknown:
                raise ValueError(f"unknown fields {unknown}")
            if isinstance(values.get("cookies"), (dict, list)):
                values["cookies"] = json.dumps(values["cookies"])
            out.records.append(
                _record({k: None if v is None else str(v) for k, v in values.items()}, login_method)
            )
        except (ValueError, KeyError) as exc:
            out.errors.append(BadLine(number, str(exc)))
    return out


def parse_account_file(text: str, fmt: str, columns: str = TWSCRAPE_COLUMNS, login_method: str = "TWITTER"):
    """Dispatch on ``fmt`` (lines, csv, json)."""
    if fmt == "csv":
        return parse_csv(text, login_method)
    if fmt == "json":
        return parse_json(text, login_method)
    if fmt == "lines":
        return parse_lines(text, columns, login_method=login_method)
    raise ValueError(f"unknown account file format {fmt!r}: use lines, csv or json")
