"""Proxy records: reading import lines and URLs, building proxy URLs (redacted unless asked otherwise).

The line formats and metadata are described in ``proxies.py``; nothing here touches the database.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.pools.importing import BadLine
from xget_pipelines.core.redact import REDACTED, install_socks_auth_filter, redact_urls

log = logging.getLogger(__name__)

SCHEMES = ("http", "https", "socks5")
ACTIVE, INACTIVE, CHECKING = "ACTIVE", "INACTIVE", "CHECKING"
STATUSES = (ACTIVE, INACTIVE, CHECKING)
EWMA_ALPHA = 0.2
DEFAULT_MAX_FAILURES = 3
META_KEYS = {"country": "country", "cc": "country", "country_code": "country", "city": "city", "isp": "isp"}
_LABEL = r"[A-Za-z0-9_][A-Za-z0-9_-]{0,62}"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


install_socks_auth_filter()  # whatever checks or hands out proxies never logs a SOCKS password


class ProxyError(XGetError):
    """A proxy operation failed (unknown proxy, bad arguments)."""


class TargetUnreachable(ProxyError):
    """The check target answered neither directly nor through any proxy checked: the target is down (or
    refuses everyone), so the check says nothing about the proxies and marks none of them."""

    def __init__(self, target: str, direct_error: str | None, proxies: int):
        self.target, self.direct_error, self.proxies = target, direct_error, proxies
        super().__init__(
            f"the check target {target} is unreachable: directly from here ({direct_error or 'failed'}) and "
            f"through every one of the {proxies} proxies checked; no proxy was marked. Check the target "
            "(XGET_PROXY_CHECK_URL, or the target you named) and try again"
        )


@dataclass(frozen=True)
class Cadence:
    """When a proxy is checked again (the upkeep sensor checks those that are due).

    A proxy whose last check succeeded: ``interval_s`` later. One with ``failed_checks`` checks in a row
    without a success (INACTIVE, or ACTIVE and failing): exponential backoff, ``recheck_base_s`` doubled per
    failed check, at most ``recheck_max_s`` (default: ``interval_s``). The cap at the interval is what
    brings a proxy that comes back to ACTIVE within two check periods, however long it was down; the
    backoff saves the checks of a proxy that failed moments ago.
    """

    interval_s: float = 900.0
    recheck_base_s: float = 60.0
    recheck_max_s: float | None = None

    def __post_init__(self):
        if not (self.interval_s > 0 and self.recheck_base_s > 0) or (
            self.recheck_max_s is not None and not self.recheck_max_s > 0
        ):
            raise ProxyError("proxy check intervals must be positive (seconds)")

    def delay_s(self, failed_checks: int) -> float:
        if failed_checks <= 0:
            return self.interval_s
        cap = self.interval_s if self.recheck_max_s is None else self.recheck_max_s
        return min(cap, self.recheck_base_s * 2 ** min(failed_checks - 1, 40))


# -- records and URLs ------------------------------------------------------------------------------------


def host_for_url(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def build_url(
    scheme: str,
    host: str,
    port: int,
    username: str | None = None,
    password: str | None = None,
    redact: bool = True,
) -> str:
    """The proxy URL; with ``redact`` (the default) the password is ``***``."""
    auth = ""
    if username:
        auth = quote(username, safe="")
        if password is not None:
            auth += ":" + (REDACTED if redact else quote(password, safe=""))
        auth += "@"
    return f"{scheme}://{auth}{host_for_url(host)}:{port}"


@dataclass
class ProxyRecord:
    """A proxy as an import file gives it (the password in clear: never print the record itself)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    country: str | None = None
    city: str | None = None
    isp: str | None = None

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.scheme, self.host, self.port, self.username or "")

    @property
    def url(self) -> str:
        """Redacted URL, for display."""
        return build_url(self.scheme, self.host, self.port, self.username, self.password)

    def __repr__(self) -> str:  # never show the password, even in a debugger or a traceback
        return f"ProxyRecord({self.url!r}, country={self.country!r}, city={self.city!r}, isp={self.isp!r})"


class ParsedProxies(NamedTuple):
    records: list[ProxyRecord]
    errors: list[BadLine]


def _check_host(host: str) -> str:
    host = host.strip().lower()
    if not host:
        raise ValueError("no host")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if not _HOSTNAME.match(host):
        raise ValueError(f"{host[:60]!r} is not a host name or IP address")
    return host.rstrip(".")


def _check_port(raw: str | int | None) -> int:
    if raw is None or raw == "":
        raise ValueError("no port")
    try:
        port = int(raw)
    except (TypeError, ValueError):
        raise ValueError("port is not a number") from None  # not shown: in user:pass:host:port it is the pass
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")
    return port


# The check target for real X (why this URL: ``Settings.resolved_proxy_check_url``).
X_PROXY_CHECK_URL = "https://x.com/robots.txt"


def check_target_url(value: str) -> str:
    """A proxy check target: an absolute http or https URL with a host; ValueError saying what is wrong."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"the check target must be an http:// or https:// URL (got {redact_urls(value.strip())[:80]!r})"
        )
    if not parts.hostname:
        raise ValueError("the check target URL has no host (e.g. https://x.com/robots.txt)")
    return value.strip()


def check_country(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper case (``de`` -> ``DE``); ValueError otherwise."""
    if value is None or not value.strip():
        return None
    if not _COUNTRY.match(value.strip()):
        raise ValueError(f"country {value.strip()[:20]!r} is not a 2-letter ISO code such as DE or US")
    return value.strip().upper()


def parse_proxy(spec: str, default_scheme: str = "http") -> ProxyRecord:
    """One proxy from a URL, ``user:pass@host:port`` or ``host:port[:user:pass]``.

    Raises ValueError with a reason that never contains the password.
    """
    spec = spec.strip()
    if "://" not in spec and "@" in spec:
        spec = f"{default_scheme}://{spec}"
    if "://" in spec:
        scheme = spec.split("://", 1)[0].lower()
        if scheme not in SCHEMES:
            shown = f"scheme {scheme!r}" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,11}", scheme) else "the scheme"
            raise ValueError(f"{shown} is not supported (use {', '.join(SCHEMES)})")
        parts = urlsplit(spec)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                "a proxy URL has no path, query or fragment (percent-encode / ? # in credentials)"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the port is not a number between 1 and 65535") from None
        host = _check_host(parts.hostname or "")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and not username:
            raise ValueError("a password without a user name")
        return ProxyRecord(scheme, host, _check_port(port), username, password)
    if default_scheme not in SCHEMES:
        raise ValueError(f"scheme {default_scheme!r} is not supported (use {', '.join(SCHEMES)})")
    fields = spec.split(":", 3)
    if len(fields) not in (2, 4):
        got = f"{len(fields)} field" + "s" * (len(fields) > 1)
        raise ValueError(f"expected host:port or host:port:user:pass (or a URL), got {got}")
    host, port = _check_host(fields[0]), _check_port(fields[1].strip())
    if len(fields) == 2:
        return ProxyRecord(default_scheme, host, port)
    username, password = fields[2].strip(), fields[3].strip()
    if not username:
        raise ValueError("empty user name")
    return ProxyRecord(default_scheme, host, port, username, password)


def _parse_metadata(text: str) -> dict[str, str]:
    text = text.strip().removeprefix("#").strip()
    values: dict[str, str] = {}
    for chunk in filter(None, (c.strip() for c in re.split(r"[;,]", text))):
        for pair in re.split(r"\s+(?=[A-Za-z_]+\s*=)", chunk):
            key, sep, value = pair.partition("=")
            key = key.strip().lower()
            if not sep:
                raise ValueError("metadata after the proxy is not key=value (keys: country, city, isp)")
            if key not in META_KEYS:
                shown = repr(key) if re.fullmatch(r"[a-z_]{1,20}", key) else "key"
                raise ValueError(f"unknown metadata {shown} (keys: country, city, isp)")
            values[META_KEYS[key]] = value.strip().strip("\"'")
    return values


def parse_proxy_lines(text: str, default_scheme: str = "http", country: str | None = None) -> ParsedProxies:
    """Proxies, one a line (see the module doc). ``country`` applies to lines that do not name one."""
    out = ParsedProxies([], [])
    default_country = check_country(country)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        spec, _, rest = line.strip().replace("\t", " ").partition(" ")
        try:
            if "\x00" in line:
                raise ValueError("the line holds a NUL character")
            record = parse_proxy(spec, default_scheme)
            meta = _parse_metadata(rest) if rest.strip() else {}
            record.country = check_country(meta.get("country")) or default_country
            record.city = meta.get("city") or None
            record.isp = meta.get("isp") or None
            if record.city and len(record.city) > 128 or record.isp and len(record.isp) > 128:
                raise ValueError("city and isp are at most 128 characters")
        except ValueError as exc:
            out.errors.append(BadLine(number, str(exc)))
            continue
        out.records.append(record)
    return out
