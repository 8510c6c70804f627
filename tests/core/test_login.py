"""Password login against the emulator over real HTTP: the flow, its failures, and the pool side."""

from __future__ import annotations

import httpx
import pyotp
import pytest
import sqlalchemy as sa

from tests.conftest import emulator_tokens, installation_box
from xget_pipelines.core.db.models import Account
from xget_pipelines.core.pools.account_login import LoginSetup, login_account
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.pools.login import login_with_password
from xget_pipelines.core.pools.login_common import LoginError
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.browser import user_agent_for
from xget_pipelines.core.x.client import XClient

PASSWORD = "hunter2-Very-Secret"
MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def add_login_accounts(emu, *accounts: dict) -> list[dict]:
    rep = httpx.post(f"{emu.url}/_emulator/login_accounts", json={"accounts": list(accounts)}, timeout=10)
    rep.raise_for_status()
    return rep.json()


def mailbox(emu, username: str):
    def read() -> str:
        return (
            httpx.get(f"{emu.url}/_emulator/login_codes/{username}", timeout=5)
            .raise_for_status()
            .json()["code"]
        )

    return read


def assert_no_secret(message: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in message


def test_password_login_gives_cookies_that_serve_graphql_through_the_pool(emu, engine):
    admin = add_login_accounts(emu, {"username": "alice", "password": PASSWORD, "email": "alice@example.org"})
    assert "password" not in admin[0]
    upsert_accounts(
        engine,
        installation_box(),
        [AccountRecord(username="alice", password=PASSWORD, email="alice@example.org")],
    )
    pool = AccountPool(engine, secrets=installation_box())
    pool.set_active("alice", False, "cookies expired")

    cookies = login_account(pool, "alice", LoginSetup(emu.url))

    assert cookies == emulator_tokens(emu, "alice")
    state = next(a for a in pool.status() if a["username"] == "alice")
    assert state["active"] is True and state["error"] is None
    with engine.connect() as conn:  # the browser that logged in is kept: the one that scrapes
        stored = conn.execute(sa.select(Account.user_agent).where(Account.username == "alice")).scalar_one()
    assert stored == user_agent_for("alice")
    with XClient(emu.graphql_url, pool, lease_deadline_s=5, account="alice") as client:
        page = client.fetch("SearchTimeline", watch.search_variables("python", 20))
    assert page.status == 200 and page.account == "alice"


def test_wrong_password_names_the_step_and_deactivates_the_account(emu, engine):
    add_login_accounts(emu, {"username": "bob", "password": PASSWORD, "email": "bob@example.org"})
    upsert_accounts(
        engine,
        installation_box(),
        [
            AccountRecord(
                username="bob",
                password="not-the-password",
                email="bob@example.org",
                cookies={"auth_token": "old-token-value", "ct0": "old-ct0-value"},
            )
        ],
    )
    pool = AccountPool(engine, secrets=installation_box())
    with pytest.raises(LoginError) as err:
        login_account(pool, "bob", LoginSetup(emu.url))
    msg = str(err.value)
    assert err.value.step == "LoginEnterPassword" and "wrong password" in msg and "bob" in msg
    assert_no_secret(msg, PASSWORD, "not-the-password", "old-token-value", "old-ct0-value")
    state = next(a for a in pool.status() if a["username"] == "bob")
    assert (
        state["active"] is False
        and "LoginEnterPassword" in state["error"]
        and "wrong password" in state["error"]
    )
    assert_no_secret(state["error"], "not-the-password")


def test_unknown_user_fails_at_the_identifier_step(emu):
    with pytest.raises(LoginError) as err:
        login_with_password(emu.url, "nobody-here", PASSWORD)
    assert err.value.step == "LoginEnterUserIdentifierSSO"
    assert "399" in str(err.value) and "Could not log you in now" in str(err.value)


def test_totp_account_logs_in_with_its_secret_and_not_with_another(emu, engine):
    add_login_accounts(
        emu, {"username": "carol", "password": PASSWORD, "email": "c@example.org", "mfa_secret": MFA_SECRET}
    )
    cookies = login_with_password(emu.url, "carol", PASSWORD, mfa_secret=MFA_SECRET)
    assert cookies == emulator_tokens(emu, "carol")

    wrong = pyotp.random_base32()
    with pytest.raises(LoginError) as err:
        login_with_password(emu.url, "carol", PASSWORD, mfa_secret=wrong)
    assert err.value.step == "LoginTwoFactorAuthChallenge"
    assert "2FA code rejected: check the MFA secret" in str(err.value)
    assert_no_secret(str(err.value), PASSWORD, wrong, MFA_SECRET)

    with pytest.raises(LoginError, match="2FA code needed"):
        login_with_password(emu.url, "carol", PASSWORD)

    # Through the pool: the stored (encrypted) secret is used.
    upsert_accounts(
        engine,
        installation_box(),
        [AccountRecord(username="carol", password=PASSWORD, mfa_secret=MFA_SECRET)],
    )
    pool = AccountPool(engine, secrets=installation_box())
    assert login_account(pool, "carol", LoginSetup(emu.url)) == cookies


def test_email_code_account_needs_the_mailbox(emu, engine):
    add_login_accounts(
        emu, {"username": "dave", "password": PASSWORD, "email": "d@example.org", "acid": True}
    )
    upsert_accounts(
        engine,
        installation_box(),
        [AccountRecord(username="dave", password=PASSWORD, email="d@example.org")],
    )
    pool = AccountPool(engine, secrets=installation_box())

    with pytest.raises(LoginError) as err:
        login_account(pool, "dave", LoginSetup(emu.url))
    assert (
        err.value.step == "LoginAcid"
        and "email confirmation code needed: import the account with its email password" in str(err.value)
    )
    assert next(a for a in pool.status() if a["username"] == "dave")["active"] is False

    with pytest.raises(LoginError, match="email confirmation code rejected"):
        login_with_password(emu.url, "dave", PASSWORD, email_code=lambda: "00000000x")

    cookies = login_account(pool, "dave", LoginSetup(emu.url), email_code=mailbox(emu, "dave"))
    assert cookies == emulator_tokens(emu, "dave")
    assert next(a for a in pool.status() if a["username"] == "dave")["active"] is True


def test_alternate_identifier_step_asks_for_the_email(emu):
    add_login_accounts(emu, {"username": "erin", "password": PASSWORD, "email": "erin@example.org"})
    httpx.post(f"{emu.url}/_emulator/login_settings", json={"alternate_identifier": True}).raise_for_status()

    assert login_with_password(emu.url, "erin", PASSWORD, email="erin@example.org") == emulator_tokens(
        emu, "erin"
    )
    with pytest.raises(LoginError, match="add the email") as err:
        login_with_password(emu.url, "erin", PASSWORD)
    assert err.value.step == "LoginEnterAlternateIdentifierSubtask"
    with pytest.raises(LoginError) as err:
        login_with_password(emu.url, "erin", PASSWORD, email="someone-else@example.org")
    assert err.value.step == "LoginEnterAlternateIdentifierSubtask" and "check the account's email" in str(
        err.value
    )


def test_flow_shape_and_guards(emu):
    """The raw protocol: subtask order, fresh flow tokens, guest-token and flow-token checks."""
    from twscrape.account import TOKEN

    add_login_accounts(emu, {"username": "frank", "password": PASSWORD})
    http = httpx.Client(base_url=emu.url, headers={"authorization": TOKEN}, timeout=10)
    assert (
        http.post("/1.1/onboarding/task.json", params={"flow_name": "login"}, json={}).json()["errors"][0][
            "code"
        ]
        == 239
    )
    assert httpx.post(f"{emu.url}/1.1/guest/activate.json").status_code == 401
    http.headers["x-guest-token"] = http.post("/1.1/guest/activate.json").json()["guest_token"]
    rep = http.post("/1.1/onboarding/task.json", params={"flow_name": "login"}, json={}).json()
    assert rep["status"] == "success" and rep["subtasks"][0]["subtask_id"] == "LoginJsInstrumentationSubtask"
    stale = rep["flow_token"]
    step = {
        "flow_token": stale,
        "subtask_inputs": [
            {
                "subtask_id": "LoginJsInstrumentationSubtask",
                "js_instrumentation": {"response": "{}", "link": "next_link"},
            }
        ],
    }
    nxt = http.post("/1.1/onboarding/task.json", json=step).json()
    assert nxt["subtasks"][0]["subtask_id"] == "LoginEnterUserIdentifierSSO" and nxt["flow_token"] != stale
    again = http.post("/1.1/onboarding/task.json", json=step)  # a used flow token is gone
    assert again.status_code == 400
    http.close()
    assert httpx.get(f"{emu.url}/_emulator/login_codes/frank").status_code == 404


def test_twscrape_login_works_against_the_emulator(emu, monkeypatch):
    """twscrape 0.20.1's own login drives the emulator's flow to the same cookies."""
    import asyncio

    from twscrape import http as tws_http
    from twscrape import login as tws_login
    from twscrape.account import Account as TwsAccount

    add_login_accounts(
        emu, {"username": "gina", "password": PASSWORD, "email": "g@example.org", "mfa_secret": MFA_SECRET}
    )
    acc = TwsAccount(
        username="gina",
        password=PASSWORD,
        email="g@example.org",
        email_password="x",
        user_agent="test-agent",
        active=False,
        mfa_code=MFA_SECRET,
    )
    orig_post = tws_http.HttpClient.post

    async def post(self, url, **kwargs):
        return await orig_post(self, str(url).replace("https://api.x.com", emu.url), **kwargs)

    monkeypatch.setattr(tws_http.HttpClient, "post", post)
    asyncio.run(tws_login.login(acc))
    assert acc.active and {k: acc.cookies[k] for k in ("auth_token", "ct0")} == emulator_tokens(emu, "gina")
