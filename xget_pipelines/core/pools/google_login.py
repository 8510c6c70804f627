"""Logging an X account in with "Sign in with Google": Playwright driving a real Chromium.

Google's sign-in runs scripts a plain HTTP client cannot (and refuses headless browsers by their user
agent), so XGet drives Debian's Chromium (``XGET_CHROMIUM_PATH``) headless through Playwright, with the
account's desktop user agent (``core/x/browser.py``) and its proxy. From X's login page
(``{XGET_X_WEB_URL}/i/flow/login``) it clicks "Sign in with Google" and answers whatever page shows
next: the email, the password, the 2-Step Verification code (TOTP from the account's MFA secret), the
consent screen. It follows a popup if X
opens one. When X's callback has set ``auth_token`` and ``ct0``, those cookies are returned.

A page showing an error (wrong password, unknown account, blocked browser) ends the login at once with
a ``LoginError`` naming the step and what to do; a page XGet does not recognise, or a step asked again
and again, ends it too, never an endless wait. A screenshot of the failing page is saved under
``$XGET_HOME/login-screens/`` (password fields are masked by the page) and its path is in the error.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from xget_pipelines.core.pools.login_common import LoginError, totp_code
from xget_pipelines.core.redact import scrub
from xget_pipelines.core.x.browser import user_agent_for

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
MAX_ANSWERS_PER_STEP = 2

# (step, selector that shows the page is this step, advice when the page shows an error there)
STEPS = (
    ("google_identifier", "#identifierId", "check the account's email (its Google account)"),
    ("google_password", "input[name=Passwd]", "update the account's password (its Google password)"),
    ("google_totp", "#totpPin", "check the MFA secret (Google 2-Step Verification key) and the clock"),
    ("google_consent", "#submit_approve_access", "approve X's access to the Google account by hand once"),
    ("x_login", "[data-testid=google_sign_in]", "X refused the sign-in: retry later or change proxy"),
)
BLOCKED_HINT = "may not be secure"


def _playwright_proxy(proxy_url: str | None, username: str) -> dict | None:
    if not proxy_url:
        return None
    parts = urlsplit(proxy_url)
    if parts.scheme.startswith("socks") and parts.username:
        raise LoginError(
            username,
            "browser",
            "Chromium cannot use a SOCKS5 proxy with credentials: bind the "
            "account to an HTTP(S) proxy for Google sign-in",
        )
    proxy = {"server": f"{parts.scheme}://{parts.hostname}:{parts.port}"}
    if parts.username:
        proxy.update(username=unquote(parts.username), password=unquote(parts.password or ""))
    return proxy


def login_with_google(
    web_url: str,
    username: str,
    email: str,
    password: str,
    mfa_secret: str | None = None,
    *,
    proxy_url: str | None = None,
    user_agent: str | None = None,
    timeout_s: float = 90.0,
    chromium_path: str = "/usr/bin/chromium",
    screenshot_dir: Path | None = None,
) -> dict[str, str]:
    """Sign the X account ``username`` in with its Google account; returns X's cookies (auth_token, ct0)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    secrets = [password, mfa_secret]
    web_url = web_url.rstrip("/")
    deadline = time.monotonic() + timeout_s
    answered: dict[str, int] = {}

    def fail(step: str, reason: str, page=None) -> LoginError:
        where = ""
        if page is not None and screenshot_dir is not None:
            try:
                screenshot_dir.mkdir(parents=True, exist_ok=True)
                shot = screenshot_dir / f"{username}-{step}-{int(time.time())}.png"
                page.screenshot(path=str(shot))
                where = f" (screenshot: {shot})"
            except PlaywrightError:
                pass
        return LoginError(username, step, scrub(reason, secrets) + where)

    proxy = _playwright_proxy(proxy_url, username)
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS, proxy=proxy, timeout=30_000
            )
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LoginError(
                username,
                "browser",
                f"cannot start Chromium at {chromium_path} ({first}): install "
                "Debian's chromium or set XGET_CHROMIUM_PATH",
            ) from None
        try:
            context = browser.new_context(user_agent=user_agent or user_agent_for(username), locale="en-US")
            page = context.new_page()
            page.set_default_timeout(15_000)
            try:
                page.goto(f"{web_url}/i/flow/login", wait_until="domcontentloaded")
            except PlaywrightError as exc:
                raise fail(
                    "x_login",
                    f"cannot open X's login page at {web_url}/i/flow/login ({str(exc).splitlines()[0]}):"
                    " check XGET_X_WEB_URL and the proxy",
                ) from None
            while True:
                cookies = {c["name"]: c["value"] for c in context.cookies(web_url)}
                if cookies.get("auth_token") and cookies.get("ct0"):
                    return {"auth_token": cookies["auth_token"], "ct0": cookies["ct0"]}
                if time.monotonic() > deadline:
                    raise fail(
                        _current_step(context) or "google",
                        f"the Google sign-in did not finish within "
                        f"{timeout_s:g}s (page {_newest(context).url}): log in by hand and import the "
                        f"cookies",
                        _newest(context),
                    )
                acted = False
                for current in reversed(context.pages):
                    if current.is_closed():
                        continue
                    try:
                        acted = _answer(current, context, fail, answered, email, password, mfa_secret)
                    except PlaywrightError:  # the page navigated away while we looked: look again
                        acted = True
                    if acted:
                        break
                if not acted:
                    time.sleep(0.2)
        finally:
            browser.close()


def _newest(context):
    pages = [p for p in context.pages if not p.is_closed()]
    return pages[-1] if pages else None


def _current_step(context) -> str | None:
    page = _newest(context)
    if page is None:
        return None
    for step, selector, _ in STEPS:
        try:
            if page.locator(selector).first.is_visible():
                return step
        except Exception:
            return None
    return None


def _answer(
    page, context, fail, answered: dict[str, int], email: str, password: str, mfa_secret: str | None
) -> bool:
    """Answer the step ``page`` shows, if any; True when something was done (or the page failed)."""
    step = next((s for s in STEPS if page.locator(s[1]).first.is_visible()), None)
    alert = page.locator("[role=alert]").first
    if alert.is_visible():
        text = " ".join(alert.inner_text().split())
        if BLOCKED_HINT in text:
            raise fail(
                step[0] if step else "google",
                f"Google refused the browser as automated ({text}): use a "
                "desktop user agent for the account (XGet's default is one) or log in by hand",
                page,
            )
        if step is not None:
            raise fail(step[0], f"{text}: {step[2]}", page)
        raise fail("google", f"the sign-in stopped with: {text}", page)
    if step is None:
        return False
    name, selector, _ = step
    answered[name] = answered.get(name, 0) + 1
    if answered[name] > MAX_ANSWERS_PER_STEP:
        raise fail(
            name,
            f"Google asked for {name} again after it was answered: log in by hand and import the cookies",
            page,
        )
    if name == "x_login":
        page.locator(selector).first.click()
        page.wait_for_timeout(300)  # X may open Google in a popup: the loop finds it among the pages
        return True
    if name == "google_identifier":
        page.fill(selector, email)
        button = "#identifierNext"
    elif name == "google_password":
        page.fill(selector, password)
        button = "#passwordNext"
    elif name == "google_totp":
        if not mfa_secret:
            raise fail(
                name,
                "Google asks for a 2-Step Verification code: add the account's MFA secret "
                "(its Google authenticator key)",
                page,
            )
        try:
            code = totp_code(mfa_secret)
        except ValueError as exc:
            raise fail(name, str(exc)) from None
        page.fill(selector, code)
        button = "#totpNext"
    else:  # google_consent
        button = selector
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click(button)
    return True
