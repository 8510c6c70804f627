"""Authentication as clients use it, over real HTTP: the OAuth2 grants, refresh rotation, API keys,
external OpenID Connect tokens verified against a JWKS the test serves, and registration modes."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.serving.conftest import PASSWORD, start_api_server, username_of


def _password_grant(base, username, password=PASSWORD):
    return httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=30,
    )


def test_password_login_refresh_rotation_and_replay_ends_the_login(api_server):
    base = api_server.base_url
    first = _password_grant(base, username_of("analyst")).json()
    me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {first['access_token']}"}).json()
    assert me["username"] == username_of("analyst") and me["role"] == "analyst"
    assert "tasks:write" in me["permissions"] and "accounts:read" not in me["permissions"]
    assert "password_hash" not in json.dumps(me)

    rotated = httpx.post(
        f"{base}/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    ).json()
    assert rotated["refresh_token"] != first["refresh_token"]
    replay = httpx.post(
        f"{base}/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 400 and "already used" in replay.json()["error"]["message"]
    # The replay ended the whole family: the rotated token no longer works either.
    after = httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
    )
    assert after.status_code == 400

    wrong = _password_grant(base, username_of("analyst"), "not the password")
    assert wrong.status_code == 400 and wrong.json()["error"]["message"] == "wrong username or password"
    assert _password_grant(base, "nobody_at_all").json()["error"]["message"] == "wrong username or password"


def test_api_keys_shown_once_usable_as_header_and_client_credentials_and_revocable(api_server):
    base = api_server.base_url
    operator = api_server.headers("operator")
    created = httpx.post(
        f"{base}/v1/me/keys", headers=operator, json={"name": "nightly export", "role": "viewer"}
    )
    assert created.status_code == 201
    key, key_id = created.json()["api_key"], created.json()["key_id"]
    listed = httpx.get(f"{base}/v1/me/keys", headers=operator).json()
    assert [k["key_id"] for k in listed] == [key_id] and key not in json.dumps(listed)

    as_header = httpx.get(f"{base}/v1/me", headers={"X-API-Key": key}).json()
    assert (
        as_header["role"] == "viewer" and as_header["authenticated_via"] == "api_key"
    )  # the key's narrower role
    assert httpx.get(f"{base}/v1/accounts", headers={"X-API-Key": key}).status_code == 403
    assert httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    grant = httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": key_id, "client_secret": key},
    ).json()
    assert "refresh_token" not in grant or grant["refresh_token"] is None
    machine = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {grant['access_token']}"}).json()
    assert machine["role"] == "viewer" and machine["authenticated_via"] == "client_credentials"

    more = httpx.post(f"{base}/v1/me/keys", headers=operator, json={"name": "too strong", "role": "admin"})
    assert more.status_code == 403 and more.json()["error"]["field"] == "role"
    assert httpx.delete(f"{base}/v1/me/keys/{key_id}", headers=operator).status_code == 204
    revoked = httpx.get(f"{base}/v1/me", headers={"X-API-Key": key})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    bad = httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": key_id, "client_secret": key},
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_client"


def test_a_disabled_user_is_out_at_once(api_server):
    base = api_server.base_url
    viewer = {"Authorization": f"Bearer {api_server.token('viewer', fresh=True)}"}
    assert httpx.get(f"{base}/v1/me", headers=viewer).status_code == 200
    user_id = api_server.users["viewer"].id
    admin = api_server.headers("admin")
    assert (
        httpx.patch(
            f"{base}/v1/admin/users/{user_id}", headers=admin, json={"status": "disabled"}
        ).status_code
        == 200
    )
    try:
        assert httpx.get(f"{base}/v1/me", headers=viewer).status_code == 401
    finally:
        httpx.patch(f"{base}/v1/admin/users/{user_id}", headers=admin, json={"status": "active"})
    audit = httpx.get(f"{base}/v1/admin/audit", headers=admin, params={"subject": f"user:{user_id}"}).json()
    assert [a["detail"].get("status") for a in audit[:2]] == ["active", "disabled"]


class _Jwks:
    """An identity provider's JWKS endpoint over real HTTP, with a key the test made."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": "test-key", "use": "sig", "alg": "RS256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def token(self, key=None, kid="test-key", **claims):
        now = int(time.time())
        body = {
            "iss": "https://idp.example",
            "aud": "xget",
            "sub": "u-123",
            "iat": now,
            "exp": now + 300,
            "preferred_username": "dana",
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


def test_external_openid_connect_tokens_are_verified_against_the_jwks(tmp_path):
    idp = _Jwks()
    try:
        with start_api_server(tmp_path, oidc_issuer="https://idp.example", oidc_jwks_url=idp.url) as server:
            base = server.base_url

            def me(token):
                return httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})

            first = me(idp.token(xget_role=["viewer", "analyst"]))
            assert first.status_code == 200, first.text
            assert first.json()["role"] == "analyst" and first.json()["authenticated_via"] == "oidc"
            assert first.json()["username"] == "dana"
            again = me(idp.token())  # same subject, no role claim: the default role, the same user
            assert again.json()["id"] == first.json()["id"] and again.json()["role"] == "viewer"

            forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            assert me(idp.token(key=forged)).status_code == 401
            assert me(idp.token(aud="someone-else")).status_code == 401
            assert me(idp.token(exp=int(time.time()) - 60)).status_code == 401
            unknown = me(idp.token(iss="https://other.example"))
            assert unknown.status_code == 401 and "not accepted" in unknown.json()["error"]["message"]
    finally:
        idp.server.shutdown()


@pytest.mark.parametrize("mode", ["approval", "open", "closed"])
def test_registration_modes(tmp_path, mode):
    with start_api_server(tmp_path, api_registration=mode) as server:
        base = server.base_url
        rep = httpx.post(
            f"{base}/v1/auth/register", json={"username": "newcomer", "password": "a long password"}
        )
        if mode == "closed":
            assert rep.status_code == 403 and rep.json()["error"]["code"] == "registration_closed"
            return
        assert rep.status_code == 201 and rep.json()["role"] == "viewer"
        login = _password_grant(base, "newcomer", "a long password")
        if mode == "open":
            assert rep.json()["status"] == "active" and login.status_code == 200
            return
        assert rep.json()["status"] == "pending"
        assert login.status_code == 400 and "admin must activate" in login.json()["error"]["message"]
        activated = httpx.patch(
            f"{base}/v1/admin/users/{rep.json()['id']}",
            headers=server.headers("admin"),
            json={"status": "active"},
        )
        assert activated.status_code == 200
        assert _password_grant(base, "newcomer", "a long password").status_code == 200
        taken = httpx.post(
            f"{base}/v1/auth/register", json={"username": "NEWCOMER", "password": "a long password"}
        )
        assert taken.status_code == 409
        short = httpx.post(f"{base}/v1/auth/register", json={"username": "other", "password": "short"})
        assert short.status_code == 422 and short.json()["error"]["field"] == "password"


def test_a_burst_with_one_key_reads_it_once_and_a_change_elsewhere_counts_within_the_cache_time(tmp_path):
    """Principals are cached per credential (XGET_API_AUTH_CACHE_S): twenty requests with one API key read
    the key from the control plane once; a key revoked outside this API process (the CLI, another replica)
    is refused within the cache time."""
    from sqlalchemy import event

    from xget_pipelines.core.auth.keys import revoke_key
    from xget_pipelines.core.db.engine import get_engine

    with start_api_server(tmp_path / "cache", api_auth_cache_s=1.5) as server:
        base = server.base_url
        made = httpx.post(
            f"{base}/v1/me/keys", headers=server.headers("analyst"), json={"name": "burst"}
        ).json()
        key = {"X-API-Key": made["api_key"]}
        engine = get_engine(server.settings.resolved_database_url)
        reads = []

        def count(conn, cursor, statement, *args):
            if "FROM api_keys" in statement:
                reads.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        started = time.monotonic()
        try:
            assert [httpx.get(f"{base}/v1/me", headers=key).status_code for _ in range(20)] == [200] * 20
        finally:
            event.remove(engine, "before_cursor_execute", count)
        # Once per cache time: one read when the burst fits in 1.5 s (it takes ~0.3 s on an idle machine);
        # on a loaded one (the suite's parallel workers) each further 1.5 s may read the key once more.
        assert 1 <= len(reads) <= 1 + int((time.monotonic() - started) / 1.5)

        assert revoke_key(engine, made["key_id"], server.users["admin"].id)  # as `xget keys revoke` does
        deadline = time.monotonic() + 1.5 + 2.0
        while (answer := httpx.get(f"{base}/v1/me", headers=key)).status_code == 200:
            assert time.monotonic() < deadline, "a revoked key was still accepted after the cache time"
            time.sleep(0.1)
        assert answer.status_code == 401 and "revoked" in answer.json()["error"]["message"]


def test_the_principal_cache_never_outlives_the_credential():
    from xget_pipelines.core.auth.cache import PrincipalCache
    from xget_pipelines.core.auth.users import Principal

    cache = PrincipalCache(ttl_s=60)
    cache.put("token-a", Principal(1, "a", "viewer", "password", valid_until=time.time() + 0.3))
    cache.put("token-b", Principal(2, "b", "viewer", "password"))
    assert cache.get("token-a").username == "a" and cache.get("token-b").username == "b"
    time.sleep(0.4)
    assert cache.get("token-a") is None  # its token expired: verified again (and refused) on the next request
    assert cache.get("token-b").username == "b"
    assert PrincipalCache(ttl_s=0).get("token-b") is None
