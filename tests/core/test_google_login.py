""" "Sign in with Google": Playwright drives Debian's Chromium through the emulator's X login page and
Google-style sign-in pages; the harvested X cookies must serve GraphQL through the pool."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from cryptography.fernet import Fernet

from tests.conftest import emulator_tokens
from xget_pipelines.core.pools.account_login import LoginSetup, login_account
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.pools.google_login import login_with_google
from xget_pipelines.core.pools.login_common import LoginError
from xget_pipelines.core.secrets import SecretBox
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.browser import DEFAULT_USER_AGENT, user_agent_for
from xget_pipelines.core.x.client import XClient

GOOGLE_PASSWORD = "g00gle-Very-Secret"
MFA_SECRET = "KRSXG5CTMVRXEZLUKN2XAZLSKRSXG5CT"


def add_google_account(emu, username: str, email: str, mfa_secret: str | None = None) -> None:
    rep = httpx.post(
        f"{emu.url}/_emulator/login_accounts",
        timeout=10,
        json={
            "accounts": [
                {
                    "username": username,
                    "password": GOOGLE_PASSWORD,
                    "email": email,
                    "mfa_secret": mfa_secret,
                    "login_method": "GOOGLE",
                }
            ]
        },
    )
    rep.raise_for_status()


def test_google_account_logs_in_through_chromium_and_its_cookies_serve_graphql(emu, engine, tmp_path):
    add_google_account(emu, "gina", "gina@gmail.test", mfa_secret=MFA_SECRET)
    pool = AccountPool(engine, secrets=SecretBox(Fernet.generate_key()))
    upsert_accounts(
        engine,
        pool.secrets,
        [
            AccountRecord(
                username="gina",
                email="gina@gmail.test",
                password=GOOGLE_PASSWORD,
                mfa_secret=MFA_SECRET,
                login_method="GOOGLE",
            )
        ],
    )

    cookies = login_account(pool, "gina", LoginSetup(emu.url, screenshot_dir=tmp_path / "login-screens"))

    assert cookies == emulator_tokens(emu, "gina")
    state = next(a for a in pool.status() if a["username"] == "gina")
    assert state["active"] is True and state["error"] is None
    with engine.connect() as conn:  # still a GOOGLE account, now with the browser's user agent
        row = conn.exec_driver_sql(
            "select login_method, user_agent from accounts where username='gina'"
        ).one()
    assert tuple(row) == ("GOOGLE", user_agent_for("gina"))
    with XClient(emu.graphql_url, pool, lease_deadline_s=5, account="gina") as client:
        page = client.fetch("SearchTimeline", watch.search_variables("python", 20))
    assert page.status == 200 and page.account == "gina"

    # A second sign-in skips the consent screen (already granted) and gives the same session.
    assert (
        login_with_google(emu.url, "gina", "gina@gmail.test", GOOGLE_PASSWORD, MFA_SECRET, timeout_s=60)
        == cookies
    )


def test_wrong_google_password_names_the_step_saves_a_screenshot_and_never_the_password(
    emu, engine, tmp_path
):
    add_google_account(emu, "hank", "hank@gmail.test")
    pool = AccountPool(engine, secrets=SecretBox(Fernet.generate_key()))
    upsert_accounts(
        engine,
        pool.secrets,
        [
            AccountRecord(
                username="hank", email="hank@gmail.test", password="wrong-google-pw", login_method="GOOGLE"
            )
        ],
    )

    with pytest.raises(LoginError) as err:
        login_account(pool, "hank", LoginSetup(emu.url, screenshot_dir=tmp_path / "login-screens"))

    msg = str(err.value)
    assert err.value.step == "google_password"
    assert "Wrong password" in msg and "update the account's password" in msg
    assert "wrong-google-pw" not in msg and GOOGLE_PASSWORD not in msg
    shots = list((tmp_path / "login-screens").glob("hank-google_password-*.png"))
    assert len(shots) == 1 and shots[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(shots[0]) in msg
    state = next(a for a in pool.status() if a["username"] == "hank")
    assert state["active"] is False and "google_password" in state["error"]


def test_google_sign_in_in_a_popup_window_like_x_com(emulator_factory):
    popup = emulator_factory(window_seconds=5, google_popup=True)
    add_google_account(popup, "mona", "mona@gmail.test")
    assert "window.open(" in httpx.get(f"{popup.url}/i/flow/login", timeout=10).text
    cookies = login_with_google(popup.url, "mona", "mona@gmail.test", GOOGLE_PASSWORD, timeout_s=60)
    assert cookies == emulator_tokens(popup, "mona")


def test_unknown_google_account_and_missing_2fa_secret(emu):
    with pytest.raises(LoginError) as err:
        login_with_google(emu.url, "ivy", "nobody@gmail.test", GOOGLE_PASSWORD, timeout_s=60)
    assert err.value.step == "google_identifier" and "Couldn't find your Google Account" in str(err.value)

    add_google_account(emu, "jack", "jack@gmail.test", mfa_secret=MFA_SECRET)
    with pytest.raises(LoginError) as err:
        login_with_google(emu.url, "jack", "jack@gmail.test", GOOGLE_PASSWORD, timeout_s=60)
    assert err.value.step == "google_totp" and "add the account's MFA secret" in str(err.value)

    with pytest.raises(LoginError) as err:
        login_with_google(
            emu.url, "jack", "jack@gmail.test", GOOGLE_PASSWORD, pyotp.random_base32(), timeout_s=60
        )
    assert err.value.step == "google_totp" and "Wrong code" in str(err.value)


def test_headless_user_agent_is_refused_like_google_does(emu):
    add_google_account(emu, "kate", "kate@gmail.test")
    headless = DEFAULT_USER_AGENT.replace("Chrome/", "HeadlessChrome/")
    with pytest.raises(LoginError) as err:
        login_with_google(
            emu.url, "kate", "kate@gmail.test", GOOGLE_PASSWORD, user_agent=headless, timeout_s=60
        )
    assert "Google refused the browser as automated" in str(err.value)


def test_google_pages_need_a_browser(emu):
    """A plain HTTP client cannot post the sign-in forms (no script ran to compute bgRequest)."""
    add_google_account(emu, "liam", "liam@gmail.test")
    with httpx.Client(base_url=emu.url, follow_redirects=True, timeout=10) as http:
        login_page = http.get("/i/flow/login").text
        href = login_page.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        form = http.get(href)
        tl = str(form.url).split("TL=", 1)[1]
        rep = http.post(f"/_google/v3/signin/identifier?TL={tl}", data={"identifier": "liam@gmail.test"})
    assert rep.status_code == 400 and "may not be secure" in rep.text


def test_chromium_missing_is_a_clear_error(emu):
    with pytest.raises(
        LoginError, match="cannot start Chromium at /nonexistent/chromium.*XGET_CHROMIUM_PATH"
    ):
        login_with_google(
            emu.url, "x", "x@gmail.test", "pw", chromium_path="/nonexistent/chromium", timeout_s=20
        )


def test_socks_proxy_with_credentials_is_refused_before_starting_a_browser():
    with pytest.raises(LoginError, match="SOCKS5 proxy with credentials"):
        login_with_google(
            "http://127.0.0.1:9", "x", "x@gmail.test", "pw", proxy_url="socks5://u:p@127.0.0.1:1080"
        )
