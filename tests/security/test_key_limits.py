"""A user's rate limit is one, however many API keys they hold, and the keys they hold are bounded
(issue 16, finding 7).

Found before: each API key had its own rate-limit bucket (``Principal.name`` is ``key:<id>``) and a user
could create keys without end, so a user's limit multiplied with their keys. Now every request takes from
its user's bucket (``Principal.rate_key``), whichever key or session it comes through, and a user holds at
most ``XGET_API_MAX_KEYS_PER_USER`` active (unrevoked, unexpired) keys: one more is a 409 over the API and
a refusal in the CLI, until one is revoked.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.serving.conftest import start_api_server, username_of
from xget_pipelines.core.auth.keys import create_key
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.models import ApiKey

BURST = 4


def me(api, headers: dict) -> int:
    return httpx.get(f"{api.base_url}/v1/me", headers=headers).status_code


def test_two_keys_of_one_user_share_one_limit(tmp_path):
    # One request a minute refills a bucket: within the test the burst is all a bucket gives.
    with start_api_server(tmp_path, api_rate_limit_per_minute=1, api_rate_limit_burst=BURST) as api:
        engine = get_engine(api.settings.resolved_database_url)
        user_id = api.users["analyst"].id
        keys = [{"X-API-Key": create_key(engine, user_id, f"job {i}")[1]} for i in range(2)]
        codes = [me(api, keys[i % 2]) for i in range(2 * BURST)]  # the two keys take turns
        assert codes == [200] * BURST + [429] * BURST, codes  # the limit once, not once per key

        limited = httpx.get(f"{api.base_url}/v1/me", headers=keys[0])
        assert "all their API keys and sessions together" in limited.json()["error"]["message"]
        assert me(api, api.headers("analyst")) == 429  # the user's own session shares the bucket
        assert me(api, api.headers("viewer")) == 200  # another user has their own


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with start_api_server(tmp_path_factory.mktemp("api"), api_max_keys_per_user=3) as api:
        yield api


def new_key(api, role: str, name: str) -> httpx.Response:
    return httpx.post(f"{api.base_url}/v1/me/keys", json={"name": name}, headers=api.headers(role))


def test_a_user_holds_at_most_the_cap_of_active_keys(api):
    made = [new_key(api, "operator", f"key {i}") for i in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    refused = new_key(api, "operator", "one too many")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "3 active API keys, the most allowed (3)" in error["message"]
    assert "DELETE /v1/me/keys/{key_id}" in error["message"]
    assert new_key(api, "admin", "another user's key").status_code == 201  # the cap is per user

    revoked = httpx.delete(
        f"{api.base_url}/v1/me/keys/{made[0].json()['key_id']}", headers=api.headers("operator")
    )
    assert revoked.status_code == 204
    assert new_key(api, "operator", "after a revoke").status_code == 201  # a revoked key does not count


def test_an_expired_key_does_not_count(api):
    made = [new_key(api, "viewer", f"key {i}").json() for i in range(3)]
    assert new_key(api, "viewer", "one too many").status_code == 409
    engine = get_engine(api.settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(
            update(ApiKey)
            .where(ApiKey.key_id == made[0]["key_id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert new_key(api, "viewer", "after an expiry").status_code == 201


def test_the_cli_keeps_the_cap_too(api, monkeypatch):
    from xget_pipelines.cli import app

    monkeypatch.setenv("XGET_HOME", str(api.settings.home))
    monkeypatch.setenv("XGET_DATABASE_URL", api.settings.resolved_database_url)
    monkeypatch.setenv("XGET_API_MAX_KEYS_PER_USER", "2")
    runner = CliRunner()
    user = username_of("analyst")
    first = runner.invoke(app, ["users", "create-key", user, "--name", "cli 1"])
    second = runner.invoke(app, ["users", "create-key", user, "--name", "cli 2"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    third = runner.invoke(app, ["users", "create-key", user, "--name", "cli 3"])
    assert third.exit_code != 0
    assert "2 active API keys, the most allowed (2)" in third.output
