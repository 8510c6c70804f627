"""Reading account files: twscrape's line format (or any column order), CSV, JSON, and cookies in the
forms browsers and tools export them (JSON object or list, ``name=value; ...`` header, Netscape file).

Parsing never stops at a bad line: each one is reported with its line number and the reason, and the
good ones are returned. Nothing here touches the database (see ``accounts.upsert_accounts``).

A reason names the line and the field and says what is wrong, never what the field holds: a line that
fails is often one whose columns are not where the file says (a password in the username column), so no
value of a line is echoed, and the secrets of the line (``SECRET_FIELDS``, a proxy URL's password) are
scrubbed from every reason besides (``redact.scrub``), whatever produced it. Reasons reach the API's
answer, the CLI's output and logs.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from dataclasses import dataclass, field

from xget_pipelines.core.pools.accounts import LOGIN_METHODS, AccountRecord
from xget_pipelines.core.redact import scrub, url_secrets

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
SECRET_FIELDS = ("password", "email_password", "mfa_secret", "cookies")
_USERNAME = re.compile(r"^@?[A-Za-z0-9_]{1,15}$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ -]{0,31}")


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


def _shown(name: object) -> str:
    """A column or field name as a reason may show it: quoted if it looks like a name, else not at all."""
    text = str(name)
    return repr(text) if _NAME.fullmatch(text) else f"a name of {len(text)} characters"


def parse_cookies(text: str) -> dict[str, str]:
    """Cookies from a JSON object, a JSON list of {name, value}, a Netscape cookie file or a header string.
    ValueError says which form and what is wrong with it, never a cookie's name or value."""
    text = text.strip()
    if not text:
        return {}
    if text[0] in "{[":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"cookies: not JSON ({exc.msg} at character {exc.pos})") from None
        except RecursionError:
            raise ValueError("cookies: JSON nested too deeply") from None
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
        if not isinstance(data, list):
            raise ValueError("cookies: JSON that is neither an object nor a list of {name, value}")
        jar = {}
        for number, cookie in enumerate(data, start=1):
            if not isinstance(cookie, dict) or "name" not in cookie:
                continue  # not a cookie (exports add other entries)
            if "value" not in cookie:
                raise ValueError(f"cookies: item {number} of the JSON list has a name but no value")
            jar[str(cookie["name"])] = str(cookie["value"])
        return jar
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if any("\t" in ln for ln in lines) or text.startswith("# Netscape"):
        jar = {}
        for number, ln in enumerate(lines, start=1):
            if ln.startswith("#") and not ln.startswith("#HttpOnly_"):
                continue
            parts = ln.split("\t")
            if len(parts) != 7:
                raise ValueError(
                    f"cookies: line {number} of the Netscape cookie file has {len(parts)} tab-separated "
                    "fields, not 7"
                )
            jar[parts[5]] = parts[6]
        return jar
    jar = {}
    for number, part in enumerate((p.strip() for p in text.split(";")), start=1):
        if part:
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"cookies: cookie {number} of the header is not name=value")
            jar[name.strip()] = value.strip()
    return jar


def _is_base32(secret: str) -> bool:
    """Whether ``secret`` is a TOTP key as authenticator apps show it: base32, spaces allowed."""
    compact = secret.replace(" ", "").upper()
    try:
        base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError):
        return False
    return True


def _line_secrets(values: dict) -> list[str]:
    """What a bad line's reason must not contain: its secret fields, each cookie of them, a proxy URL's
    password; from 6 characters (a shorter one would cut the words of the reason, which holds no value)."""
    found: list[str] = []
    for name in SECRET_FIELDS:
        value = values.get(name)
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, (int, float)):
            value = str(value)
        if isinstance(value, str):
            found += [value.strip(), *(p.strip() for p in re.split(r"[;=\t\n]", value))]
    proxy = values.get("proxy_url")
    if isinstance(proxy, str):
        found += url_secrets(proxy.strip())
    return sorted({f for f in found if len(f) >= 6}, key=len, reverse=True)  # a part never hides its whole


def _bad(number: int, exc: Exception, values: dict | None = None) -> BadLine:
    return BadLine(number, scrub(str(exc), _line_secrets(values or {})))


def _check_text(name: str, value: object) -> None:
    """A text the control plane can keep: no NUL, no lone surrogate (JSON's ``\\ud800`` decodes to one)."""
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise ValueError(f"{name} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode (it holds a lone surrogate)") from None


def _record(values: dict[str, str | None], login_method: str) -> AccountRecord:
    for name, value in values.items():
        _check_text(name, value)
    username = (values.get("username") or "").strip()
    if not username:
        raise ValueError("username is empty")
    if not _USERNAME.match(username):
        raise ValueError(
            f"username is not an X username (1-15 letters, digits or _; this one has {len(username)} "
            "characters): check the columns and the delimiter"
        )
    method = (values.get("login_method") or login_method).strip().upper()
    if method not in LOGIN_METHODS:
        raise ValueError(f"login_method is not one of {', '.join(LOGIN_METHODS)}")
    cookies = values.get("cookies")
    clean = {k: (v.strip() if isinstance(v, str) and v.strip() else None) for k, v in values.items()}
    if clean.get("mfa_secret") and not _is_base32(clean["mfa_secret"]):
        raise ValueError("mfa_secret is not a base32 TOTP key (letters A-Z and digits 2-7, spaces allowed)")
    jar = parse_cookies(cookies) if cookies and cookies.strip() else None
    if jar == {}:
        raise ValueError("cookies: no cookie in them (auth_token and ct0 at least)")
    for name, value in (jar or {}).items():
        _check_text("cookies", name)
        _check_text("cookies", value)
    return AccountRecord(
        username=username.lstrip("@"),
        password=clean.get("password"),
        email=clean.get("email"),
        email_password=clean.get("email_password"),
        mfa_secret=clean.get("mfa_secret"),
        cookies=jar,
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
        values = {n: p for n, p in zip(names, parts, strict=False) if n != "_"}
        try:
            out.records.append(_record(values, login_method))
        except ValueError as exc:
            out.errors.append(_bad(number, exc, values))
    return out


def parse_csv(text: str, login_method: str = "TWITTER") -> ParsedAccounts:
    """CSV with a header row naming the columns (the names of ``FIELDS`` or their aliases)."""
    out = ParsedAccounts()
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
    except csv.Error as exc:
        return ParsedAccounts(errors=[BadLine(1, f"not CSV: {exc}")])
    unknown = [i for i, h in enumerate(header, start=1) if h not in FIELDS and h != "_"]
    if "username" not in header or unknown:
        # Not the names: a file without a header row has its first account's secrets there.
        problem = (
            f"column{'s' * (len(unknown) > 1)} {', '.join(map(str, unknown))} "
            f"{'are' if len(unknown) > 1 else 'is'} not a known name (is the first line a header?)"
            if unknown
            else "no username column"
        )
        return ParsedAccounts(errors=[BadLine(1, f"header: {problem}; known: {', '.join(FIELDS)}")])
    reader.fieldnames = header
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return out
        except csv.Error as exc:  # a field over csv's limit, a NUL: the rest of the file cannot be read
            out.errors.append(BadLine(reader.line_num, f"not CSV from here on: {exc}"))
            return out
        try:
            if None in row:
                raise ValueError(f"{len(header) + len(row[None])} fields, the header has {len(header)}")
            out.records.append(_record(row, login_method))
        except ValueError as exc:
            out.errors.append(_bad(reader.line_num, exc, row))


def parse_json(text: str, login_method: str = "TWITTER") -> ParsedAccounts:
    """A JSON list of account objects (or ``{"accounts": [...]}``); line numbers are list positions."""
    out = ParsedAccounts()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParsedAccounts(errors=[BadLine(exc.lineno, f"not JSON: {exc.msg}")])
    except RecursionError:
        return ParsedAccounts(errors=[BadLine(1, "not JSON this reads: nested too deeply")])
    items = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return ParsedAccounts(errors=[BadLine(1, 'expected a list of accounts or {"accounts": [...]}')])
    for number, item in enumerate(items, start=1):
        values = {}
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            values = {ALIASES.get(k.lower(), k.lower()): v for k, v in item.items()}
            unknown = [k for k in values if k not in FIELDS]
            if unknown:
                raise ValueError(f"unknown fields {', '.join(map(_shown, unknown))}")
            if isinstance(values.get("cookies"), (dict, list)):
                values["cookies"] = json.dumps(values["cookies"])
            for name, value in values.items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
                    raise ValueError(f"{name} is a JSON {type(value).__name__}, not a string")
            out.records.append(
                _record({k: None if v is None else str(v) for k, v in values.items()}, login_method)
            )
        except ValueError as exc:
            out.errors.append(_bad(number, exc, values))
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
