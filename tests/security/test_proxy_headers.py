"""X-Forwarded-For is believed only from the proxies an operator lists (issue 16, finding 3).

Found before: once the per-address limit of `POST /v1/auth/token` answered 429, the same client got through
again by sending a new `X-Forwarded-For` with each request: `xget api` left uvicorn's defaults, which trust
the header from 127.0.0.1 (`forwarded_allow_ips`, or the `FORWARDED_ALLOW_IPS` variable), so any process on
the host, or a proxy there passing on what it was sent, could name any client address.

Here real uvicorn servers are built from `uvicorn_options` (what `xget api` runs): with no proxy listed,
distinct X-Forwarded-For values from 127.0.0.1 all count as 127.0.0.1 and are limited together, even with
`FORWARDED_ALLOW_IPS=*` in the environment; with 127.0.0.1 listed as the proxy, the header's address is the
one limited (a new address has its own budget, a repeated one is limited).
"""

from __future__ import annotations

import httpx

from tests.serving.conftest import start_api_server

BURST = 3  # requests an address may make at once (then one a minute)


def anonymous_calls(base_url: str, forwarded_for: list[str]) -> list[int]:
    """Statuses of token calls that fail without checking a password, one per X-Forwarded-For value."""
    return [
        httpx.post(
            f"{base_url}/v1/auth/token",
            data={"grant_type": "refresh_token"},  # no refresh_token: a 400, or the 429 of the limit
            headers={"X-Forwarded-For": address},
            timeout=30,
        ).status_code
        for address in forwarded_for
    ]


def test_uvicorn_options_trust_no_proxy_unless_one_is_listed():
    from xget_pipelines.serving.app import uvicorn_options
    from xget_pipelines.settings import Settings

    default = uvicorn_options(Settings(_env_file=None))
    assert default["proxy_headers"] is False and default["forwarded_allow_ips"] == ""
    listed = uvicorn_options(Settings(_env_file=None, api_forwarded_allow_ips="10.0.0.0/8, 192.0.2.7"))
    assert listed["proxy_headers"] is True and listed["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.7"
    # The command line's --forwarded-allow-ips wins over the setting.
    assert uvicorn_options(Settings(_env_file=None), forwarded_allow_ips="127.0.0.1")["proxy_headers"]


def test_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable: never consulted
    with start_api_server(tmp_path / "api", api_rate_limit_per_minute=1, api_rate_limit_burst=BURST) as api:
        codes = anonymous_calls(api.base_url, [f"198.51.100.{i}" for i in range(1, 9)])
    print(f"\n8 calls from 127.0.0.1, each with its own X-Forwarded-For, no proxy trusted: {codes}")
    assert codes[:BURST] == [400] * BURST and codes[BURST:] == [429] * (8 - BURST)


def test_forwarded_for_from_a_listed_proxy_is_the_address_limited(tmp_path):
    with start_api_server(
        tmp_path / "api",
        api_rate_limit_per_minute=1,
        api_rate_limit_burst=BURST,
        api_forwarded_allow_ips="127.0.0.1",
    ) as api:
        distinct = anonymous_calls(api.base_url, [f"198.51.100.{i}" for i in range(1, 9)])
        repeated = anonymous_calls(api.base_url, ["203.0.113.5"] * (BURST + 2))
        # A client that prepends its own value still counts as the address the proxy saw (the last one).
        spoofed = anonymous_calls(api.base_url, [f"192.0.2.{i}, 203.0.113.5" for i in range(1, 4)])
    print(f"\nbehind a trusted 127.0.0.1: distinct addresses {distinct}, one address {repeated}")
    assert distinct == [400] * 8
    assert repeated == [400] * BURST + [429] * 2
    assert spoofed == [429] * 3
