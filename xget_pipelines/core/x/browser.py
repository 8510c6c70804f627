"""Who XGet looks like to X: one browser per account, and the headers X's web client sends.

X ties a session to the browser that made it, so an account keeps one user agent for as long as its
session lives (a stored one, e.g. from ``xget accounts login`` or an import file; otherwise one picked
from ``USER_AGENTS`` by the account's name and stored on first use). Chrome sends client hints that match
its user agent (``sec-ch-ua*``); a mismatch is a cheap bot signal, so they are derived from it.

The GraphQL header set is the web client's (X's own requests, and public notes of 2026-09-05 measured
on x.com): bearer, ``x-csrf-token`` (= the ``ct0`` cookie), ``x-twitter-auth-type: OAuth2Session``,
``x-twitter-active-user: yes``, ``x-twitter-client-language``, ``origin``/``referer`` of x.com, and
``x-client-transaction-id`` (``transaction.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from twscrape.account import TOKEN as WEB_BEARER  # X's web client bearer: public, the same for every user

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
)
DEFAULT_USER_AGENT = USER_AGENTS[0]
_CHROME = re.compile(r"Chrome/(\d+)")
_PLATFORMS = (
    ("Windows", '"Windows"'),
    ("Macintosh", '"macOS"'),
    ("Linux", '"Linux"'),
    ("Android", '"Android"'),
)


def user_agent_for(username: str) -> str:
    """The user agent an account without one gets: stable for the name, spread over ``USER_AGENTS``."""
    digest = hashlib.sha256(username.lower().encode()).digest()
    return USER_AGENTS[digest[0] % len(USER_AGENTS)]


def client_hints(user_agent: str) -> dict[str, str]:
    """Chrome's low-entropy client hints for ``user_agent``; none for browsers that do not send them."""
    match = _CHROME.search(user_agent)
    if match is None or "Edg/" in user_agent or "OPR/" in user_agent:
        return {}
    major = match.group(1)
    platform = next((p for token, p in _PLATFORMS if token in user_agent), '"Unknown"')
    return {
        "sec-ch-ua": f'"Chromium";v="{major}", "Google Chrome";v="{major}", "Not_A Brand";v="99"',
        "sec-ch-ua-mobile": "?1" if "Mobile" in user_agent else "?0",
        "sec-ch-ua-platform": platform,
    }


def page_headers(user_agent: str, language: str = "en") -> dict[str, str]:
    """A top-level page load (navigation) by that browser."""
    return {
        "user-agent": user_agent,
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        "accept-language": f"{language}-US,{language};q=0.9" if language == "en" else f"{language},en;q=0.8",
        "upgrade-insecure-requests": "1",
        **client_hints(user_agent),
    }


def api_headers(
    user_agent: str,
    cookies: Mapping[str, str],
    transaction_id: str | None,
    web_url: str = "https://x.com",
    language: str = "en",
) -> dict[str, str]:
    """The header set of one GraphQL request of X's web client, for a cookie session."""
    headers = {
        "authorization": WEB_BEARER,
        "user-agent": user_agent,
        "x-csrf-token": cookies.get("ct0", ""),
        "x-twitter-auth-type": "OAuth2Session",
        "x-twitter-active-user": "yes",
        "x-twitter-client-language": language,
        "origin": web_url,
        "referer": web_url + "/",
        "accept": "*/*",
        "accept-language": f"{language}-US,{language};q=0.9" if language == "en" else f"{language},en;q=0.8",
        "content-type": "application/json",
        "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        **client_hints(user_agent),
    }
    if transaction_id:
        headers["x-client-transaction-id"] = transaction_id
    return headers
