"""GET /v1/accounts/{name}/status, PUT /v1/accounts/{name} and PUT /v1/proxies/{id} over real HTTP: the
status shows what account upkeep found (a tick driven against the emulator), PUT replaces every editable
field (those left out are cleared), and no secret is ever answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import register_accounts
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.account_cadence import AccountCadence
from xget_pipelines.core.pools.account_login import LoginSetup
from xget_pipelines.core.pools.account_upkeep import upkeep_tick

SECRETS = (
    "pw-Very-Secret-9",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "mail-Secret-8",
    "tok-secret",
    "ct0-secret",
)


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_status_shows_what_upkeep_found(api_server, emu):
    engine = get_engine(api_server.settings.resolved_database_url)
    pool = register_accounts(
        emu, engine, ["status_ok", "status_sus"], secrets=api_server.settings.secret_box()
    )
    httpx.post(
        f"{emu.url}/_emulator/faults", json={"accounts": {"status_sus": "suspended"}}
    ).raise_for_status()
    now = datetime.now(UTC)
    upkeep_tick(pool, emu.graphql_url, LoginSetup(emu.url), now, AccountCadence(recheck_refused_s=21600))

    with api_server.client("operator") as client:
        ok = client.get("/v1/accounts/status_ok/status").json()
        sus = client.get("/v1/accounts/status_sus/status").json()
        assert client.get("/v1/accounts/nobody/status").status_code == 404
    assert ok["state"] == "active" and ok["reason"] is None and "session works" in ok["last_check"]
    (window,) = ok["operations"]
    assert window["operation"] == "UserByScreenName" and window["limit"] and window["open"]
    assert window["remaining"] == window["limit"] - 1
    assert (
        sus["state"] == "out" and sus["reason"] == "suspended (X code 64)" and sus["out_cause"] == "suspended"
    )
    checked, due = (datetime.fromisoformat(sus[k]) for k in ("last_check_at", "next_check_at"))
    assert due - checked == timedelta(hours=6)  # suspended accounts are asked again rarely
    assert sus["last_login_at"] is None and sus["logins_today"] == 0


def test_put_account_replaces_every_field(api_server):
    full = {
        "username": "put_me",
        "password": SECRETS[0],
        "mfa_secret": SECRETS[1],
        "email": "old@example.org",
        "email_password": SECRETS[2],
        "cookies": {"auth_token": SECRETS[3], "ct0": SECRETS[4]},
        "user_agent": "Old/1.0",
    }
    with api_server.client("operator") as client:
        assert client.post("/v1/accounts", json=full).status_code == 201
        rep = client.put("/v1/accounts/put_me", json={"password": SECRETS[0], "email": "new@example.org"})
        assert rep.status_code == 200, rep.text
        body = rep.json()
        assert body["email"] == "new@example.org" and body["has_password"]
        assert not (body["has_mfa_secret"] or body["has_email_password"] or body["has_cookies"])  # cleared
        assert body["active"] and body["login_method"] == "TWITTER"
        _no_secret(rep.text)
        out = client.put(
            "/v1/accounts/put_me",
            json={"cookies": full["cookies"], "wanted_country": "de", "active": False, "reason": "resting"},
        )
        assert out.status_code == 200 and not out.json()["active"] and out.json()["error"] == "resting"
        assert out.json()["wanted_country"] == "DE" and not out.json()["has_password"]
        _no_secret(out.text)
        bare = client.put("/v1/accounts/put_me", json={"email": "x@example.org"})
        assert bare.status_code == 422 and "password" in bare.json()["error"]["message"]
        assert client.put("/v1/accounts/nobody", json={"password": "p"}).status_code == 404
        status = client.get("/v1/accounts/put_me/status")
        assert status.json()["state"] == "out" and status.json()["reason"] == "resting"
        _no_secret(status.text)


def test_put_proxy_replaces_endpoint_and_labels(api_server):
    with api_server.client("operator") as client:
        first = client.post(
            "/v1/proxies",
            json={"proxy": "http://u:pw-proxy-1@127.0.0.1:3101", "country": "DE", "city": "Berlin"},
        ).json()
        other = client.post("/v1/proxies", json={"proxy": "http://127.0.0.1:3102"}).json()
        rep = client.put(f"/v1/proxies/{first['id']}", json={"proxy": "http://v:pw-proxy-2@127.0.0.1:3103"})
        assert rep.status_code == 200, rep.text
        body = rep.json()
        assert body["id"] == first["id"] and body["proxy"] == "http://v:***@127.0.0.1:3103"
        assert body["country"] is None and body["city"] is None  # left out: cleared
        assert body["status"] == "CHECKING" and body["next_check_at"] is None  # due at the next upkeep tick
        assert "pw-proxy" not in rep.text
        clash = client.put(f"/v1/proxies/{first['id']}", json={"proxy": "http://127.0.0.1:3102"})
        assert clash.status_code == 409 and str(other["id"]) in clash.json()["error"]["message"]
        assert client.put("/v1/proxies/999999", json={"proxy": "http://127.0.0.1:3104"}).status_code == 404
        bad = client.put(
            f"/v1/proxies/{first['id']}", json={"proxy": "http://127.0.0.1:3105", "country": "D1"}
        )
        assert bad.status_code == 422
