"""Sessions end when what they came from ends (issue 16, finding 4).

Found before: after a password change or an admin reset the old refresh token still refreshed for 14 days;
tokens minted from a revoked API key kept working up to 15 minutes; `/v1/auth/logout` accepted another
user's refresh token. Each is tried again here over real HTTP.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.serving.conftest import PASSWORD, start_api_server, username_of


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    # No principal cache: what is refused is refused on the next request, in any replica.
    with start_api_server(tmp_path_factory.mktemp("api"), api_auth_cache_s=0) as api:
        yield api


def login(api, role: str, password: str = PASSWORD) -> dict:
    rep = httpx.post(
        f"{api.base_url}/v1/auth/token",
        data={"grant_type": "password", "username": username_of(role), "password": password},
    )
    assert rep.status_code == 200, rep.text
    return rep.json()


def me(api, access: str) -> int:
    return httpx.get(f"{api.base_url}/v1/me", headers={"Authorization": f"Bearer {access}"}).status_code


def refresh(api, token: str) -> httpx.Response:
    return httpx.post(
        f"{api.base_url}/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


def test_a_password_change_ends_every_session_of_the_old_password(api):
    laptop, phone = login(api, "viewer"), login(api, "viewer")
    time.sleep(1.1)  # token times are in seconds: the change comes in a later one
    changed = httpx.post(
        f"{api.base_url}/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a-new-long-passphrase-2026"},
        headers={"Authorization": f"Bearer {laptop['access_token']}"},
    )
    assert changed.status_code == 204, changed.text
    for session in (laptop, phone):
        assert me(api, session["access_token"]) == 401
        assert refresh(api, session["refresh_token"]).status_code in (400, 401)
    fresh = login(api, "viewer", "a-new-long-passphrase-2026")
    assert me(api, fresh["access_token"]) == 200 and refresh(api, fresh["refresh_token"]).status_code == 200


def test_an_admin_reset_or_disable_ends_the_users_sessions(api):
    admin = {"Authorization": f"Bearer {login(api, 'admin')['access_token']}"}
    user_id = api.users["operator"].id
    session = login(api, "operator")
    time.sleep(1.1)
    reset = httpx.patch(
        f"{api.base_url}/v1/admin/users/{user_id}", json={"password": "reset-by-admin-2026!"}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert me(api, session["access_token"]) == 401
    assert refresh(api, session["refresh_token"]).status_code in (400, 401)

    session = login(api, "operator", "reset-by-admin-2026!")
    time.sleep(1.1)
    assert (
        httpx.patch(
            f"{api.base_url}/v1/admin/users/{user_id}", json={"status": "disabled"}, headers=admin
        ).status_code
        == 200
    )
    assert (
        httpx.patch(
            f"{api.base_url}/v1/admin/users/{user_id}", json={"status": "active"}, headers=admin
        ).status_code
        == 200
    )
    assert me(api, session["access_token"]) == 401  # re-enabling does not bring the old sessions back


def test_tokens_minted_from_a_revoked_key_stop_at_once(api):
    owner = {"Authorization": f"Bearer {login(api, 'analyst')['access_token']}"}
    made = httpx.post(f"{api.base_url}/v1/me/keys", json={"name": "ci"}, headers=owner).json()
    minted = httpx.post(
        f"{api.base_url}/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": made["key_id"],
            "client_secret": made["api_key"],
        },
    ).json()["access_token"]
    assert me(api, minted) == 200
    assert httpx.delete(f"{api.base_url}/v1/me/keys/{made['key_id']}", headers=owner).status_code == 204
    answer = httpx.get(f"{api.base_url}/v1/me", headers={"Authorization": f"Bearer {minted}"})
    assert answer.status_code == 401 and "revoked" in answer.json()["error"]["message"]


def test_logout_takes_only_the_callers_own_refresh_token(api):
    victim = login(api, "admin")  # the other tests changed the viewer's and the operator's passwords
    attacker = {"Authorization": f"Bearer {login(api, 'analyst')['access_token']}"}
    refused = httpx.post(
        f"{api.base_url}/v1/auth/logout", json={"refresh_token": victim["refresh_token"]}, headers=attacker
    )
    assert refused.status_code == 422 and "not yours" in refused.json()["error"]["message"]
    assert refresh(api, victim["refresh_token"]).status_code == 200  # the victim's login goes on
