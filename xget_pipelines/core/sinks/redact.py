"""Sink URLs as they may be shown: in logs, errors and the Dagster UI a URL never carries its password.

The sink settings (``XGET_ARCHIVE_URL``, ``XGET_EVENTS_URL``) are secrets because a URL may hold
``user:password@``. Everything XGet prints about a sink goes through ``masked_url`` (the URL with the
password replaced by ``***``) or ``hosts`` (just the ``host:port`` list), and ``scrub`` removes the
password from a text a driver produced, in case a driver ever echoes it.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


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
    return f"{scheme}://{user}{':***' if colon else ''}@{rest}"


def hosts(url: str) -> str:
    """The ``host:port`` part of ``url`` (comma-separated when there are several), without credentials."""
    _, _, rest = _split(url)
    for mark in "/?#":
        rest = rest.split(mark, 1)[0]
    return rest or "(no host)"


def password(url: str) -> str | None:
    _, userinfo, _ = _split(url)
    user, colon, secret = userinfo.partition(":")
    return unquote(secret) if colon and secret else None


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password removed (raw and percent-decoded forms)."""
    secret = password(url)
    if not secret:
        return text
    raw = _split(url)[1].partition(":")[2]
    for form in {secret, raw}:
        text = text.replace(form, "***")
    return text


def scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()
