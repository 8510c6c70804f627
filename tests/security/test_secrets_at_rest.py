"""No credential at rest in clear in the control plane (issue 16, finding 2).

Found before: with an ``Idempotency-Key``, ``POST /v1/me/keys`` kept the new API key ("shown once") in
``idempotency_keys.body`` and ``POST /v1/auth/token`` kept the access and 14-day refresh tokens there, rows
were never deleted. Here the same requests are made over real HTTP, retried, and then every table of the
database and every file under the installation's home is scanned for every credential the test obtained.
"""

from __future__ import annotations

import datetime as dt

import httpx
import sqlalchemy as sa

from tests.serving.conftest import PASSWORD, start_api_server, username_of
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.models import IdempotencyRecord
from xget_pipelines.serving import idempotency


def every_text(engine, root) -> list[tuple[str, str]]:
    """(where, text) of every cell of every table, and of every file under ``root`` (as bytes decoded)."""
    found = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'select * from "{table}"')):
                found += [(table, str(value)) for value in row]
    found += [(str(p), p.read_bytes().decode("latin-1")) for p in root.rglob("*") if p.is_file()]
    return found


def test_credentials_are_not_kept_for_replay_and_a_retry_says_so(tmp_path):
    with start_api_server(tmp_path / "api") as api:
        login = {"grant_type": "password", "username": username_of("analyst"), "password": PASSWORD}
        token = httpx.post(
            f"{api.base_url}/v1/auth/token", data=login, headers={"Idempotency-Key": "login-1"}
        )
        assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
        access, refresh = token.json()["access_token"], token.json()["refresh_token"]
        headers = {"Authorization": f"Bearer {access}", "Idempotency-Key": "key-1"}
        made = httpx.post(f"{api.base_url}/v1/me/keys", json={"name": "laptop"}, headers=headers)
        assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
        api_key = made.json()["api_key"]

        again = httpx.post(f"{api.base_url}/v1/me/keys", json={"name": "laptop"}, headers=headers)
        assert again.status_code == 409 and "cannot be replayed" in again.json()["error"]["message"]
        assert again.headers["idempotent-replayed"] == "true" and api_key not in again.text
        relogin = httpx.post(
            f"{api.base_url}/v1/auth/token", data=login, headers={"Idempotency-Key": "login-1"}
        )
        assert relogin.status_code == 409 and access not in relogin.text and refresh not in relogin.text
        keys = httpx.get(f"{api.base_url}/v1/me/keys", headers={"Authorization": f"Bearer {access}"}).json()
        assert [k["name"] for k in keys] == ["laptop"]  # the retry created no second key

        engine = get_engine(api.settings.resolved_database_url)
        secrets = {"api key": api_key, "access token": access, "refresh token": refresh, "password": PASSWORD}
        leaks = [
            f"{what} in {where}"
            for where, text in every_text(engine, tmp_path / "api")
            for what, secret in secrets.items()
            if secret in text
        ]
        assert leaks == []


def test_expired_idempotency_rows_are_purged(tmp_path):
    with start_api_server(tmp_path / "api") as api:
        engine = get_engine(api.settings.resolved_database_url)
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=idempotency.IDEMPOTENCY_TTL_S + 60)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(IdempotencyRecord).values(
                    principal="p" * 32,
                    key="old",
                    request_hash="h",
                    status_code=201,
                    body="{}",
                    created_at=old,
                )
            )
        body = {"type": "SEARCH", "target": "purge", "since": "2026-11-01", "until": "2026-11-01"}
        rep = httpx.post(
            f"{api.base_url}/v1/tasks",
            json=body,
            headers={**api.headers("analyst"), "Idempotency-Key": "new"},
        )
        assert rep.status_code < 500, rep.text
        with engine.connect() as conn:
            keys = [r[0] for r in conn.execute(sa.select(IdempotencyRecord.key))]
        assert "old" not in keys and "new" in keys
