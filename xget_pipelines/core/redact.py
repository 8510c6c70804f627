"""What a secret looks like wherever XGet shows text: logs, errors, reprs, CLI and API output.

One module for every redaction, so a secret is hidden the same way everywhere (as ``***``):

- ``masked_url``: a URL with its password hidden, the user name kept (it helps to debug), for several
  hosts too (``kafka://u:p@a:1,b:2``); ``redact_urls`` does it for every URL inside a text.
- ``url_without_credentials``: a URL with no user and no password at all (search server messages).
- ``url_hosts`` and ``url_secrets``: the ``host:port`` part of a URL, and its password (to scrub it).
- ``scrub``: a text (an error message a library produced) with URL credentials and the given secrets
  removed, as they are and percent-encoded.
- ``mask``: a log line with the secrets XGet knows the shape of removed (cookies, bearer and basic
  tokens, URL passwords, API keys), for the JSON logs.
- ``RedactSocksAuth``: a logging filter that cuts the credentials httpcore prints while it opens a
  SOCKS connection; ``install_socks_auth_filter`` puts it on httpcore's logger once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

REDACTED = "***"

_URL_CREDENTIALS = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")
_MASKS = (
    (re.compile(r"(auth_token|ct0|kdt|twid|password|secret|api_key)=([^;&\s]+)", re.I), r"\1=***"),
    (re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 ***"),
    (re.compile(r"(\w+://[^:/@\s]+):[^@/\s]+@"), r"\1:***@"),
    (re.compile(r"\bxk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"), "xk_***"),
)


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, userinfo, rest after the userinfo). Works for several hosts (``kafka://a:1,b:2``), where
    ``urlsplit``'s port parsing would fail."""
    scheme, sep, remainder = url.partition("://")
    if not sep:
        return "", "", url
    netloc_end = len(remainder)
    for mark in "/?#":
        at = remainder.find(mark)
        if at != -1:
            netloc_end = min(netloc_end, at)
    netloc, tail = remainder[:netloc_end], remainder[netloc_end:]
    userinfo, at, hostpart = netloc.rpartition("@")
    return scheme, userinfo if at else "", hostpart + tail


def masked_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``; the user name stays (it helps to debug)."""
    scheme, userinfo, rest = _split(url)
    if not userinfo:
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':' + REDACTED if colon else ''}@{rest}"


def redact_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***`` (``http://user:***@host:port``)."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('pre')}:{REDACTED}@", text)


def url_without_credentials(url: str) -> str:
    """``url`` without user or password (and without a trailing slash), for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)).rstrip("/")


def url_hosts(url: str) -> str:
    """The ``host:port`` part of ``url`` (comma-separated when there are several), without credentials."""
    _, _, rest = _split(url)
    for mark in "/?#":
        rest = rest.split(mark, 1)[0]
    return rest or "(no host)"


def url_secrets(url: str) -> list[str]:
    """The password of ``url`` as written and percent-decoded (none without one): what ``scrub`` must
    remove from a text a driver produced about that URL."""
    _, userinfo, _ = _split(url)
    _, colon, secret = userinfo.partition(":")
    return [secret, unquote(secret)] if colon and secret else []


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with URL credentials and the given secrets (as they are and percent-encoded) redacted."""
    text = redact_urls(text)
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, REDACTED)
    return text


def mask(text: str) -> str:
    """A log line without the secrets XGet knows the shape of: cookie values (``auth_token=``, ``ct0=``...),
    ``Bearer``/``Basic`` tokens, URL passwords and XGet's API keys (``xk_...``)."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


class RedactSocksAuth(logging.Filter):
    """httpcore's DEBUG trace of a SOCKS handshake prints ``auth=(b'user', b'password')`` (its last field):
    cut it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "auth=" in record.msg:
            record.msg = re.sub(r"auth=\(.*", f"auth={REDACTED}", record.msg, flags=re.S)
        return True


def install_socks_auth_filter() -> None:
    """Put ``RedactSocksAuth`` on httpcore's SOCKS logger (once, however often it is called)."""
    logger = logging.getLogger("httpcore.socks")
    if not any(isinstance(f, RedactSocksAuth) for f in logger.filters):
        logger.addFilter(RedactSocksAuth())
