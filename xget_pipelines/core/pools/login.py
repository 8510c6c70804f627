"""Logging an X account in with its password: X's web login flow, step by step, over httpx.

``login_with_password`` drives ``/1.1/guest/activate.json`` and ``/1.1/onboarding/task.json`` through
the subtasks X asks for (username, optionally the email as alternate identifier, password, TOTP,
emailed confirmation code, duplication check) and returns the session cookies (``auth_token``,
``ct0``), sent by the account's browser (``core/x/browser.py``). ``account_login.py`` logs a pool's
account in with this flow or with Google's (``google_login.py``), by the account's login method.

Every failure is a ``LoginError`` naming the step and what to do. Its message never carries the
password, the MFA secret or a cookie value.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.pools.login_common import LoginError, totp_code
from xget_pipelines.core.redact import scrub
from xget_pipelines.core.x.browser import WEB_BEARER, user_agent_for

GUEST_PATH = "/1.1/guest/activate.json"
TASK_PATH = "/1.1/onboarding/task.json"
MAX_STEPS = 20

# What to do when X rejects a subtask's input (X answers 400 with code 399 for all of them).
REJECTED = {
    "start": "X refused to start a login flow: the guest token may be stale or the IP blocked; retry or "
    "change proxy",
    "LoginEnterUserIdentifierSSO": "X does not know this username (or refuses it now): check the username",
    "LoginEnterAlternateIdentifierSubtask": "X did not accept the account's email as alternate identifier: "
    "check the account's email",
    "LoginEnterPassword": "wrong password: update the account's password",
    "LoginTwoFactorAuthChallenge": "2FA code rejected: check the MFA secret (and the machine's clock)",
    "LoginAcid": "email confirmation code rejected: check the mailbox the code is read from",
}


def _x_errors(rep: httpx.Response) -> str:
    try:
        body = rep.json()
    except ValueError:
        return f"HTTP {rep.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return f"HTTP {rep.status_code}"
    parts = [f"X code {e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
    return f"HTTP {rep.status_code}, " + "; ".join(parts)


class _Flow:
    def __init__(self, http: httpx.Client, username: str, secrets: list[str | None]):
        self.http, self.username, self.secrets = http, username, secrets

    def fail(self, step: str, reason: str) -> LoginError:
        return LoginError(self.username, step, scrub(reason, self.secrets))

    def post(self, step: str, path: str, **kwargs) -> dict:
        try:
            rep = self.http.post(path, **kwargs)
        except httpx.HTTPError as exc:
            raise self.fail(
                step, f"network error ({type(exc).__name__}: {exc}): check the proxy/network and retry"
            ) from None
        ct0 = self.http.cookies.get("ct0")
        if ct0:  # X expects the CSRF header as soon as it has set ct0
            self.http.headers["x-csrf-token"] = ct0
        if rep.status_code == 429:
            raise self.fail(step, f"rate limited by X ({_x_errors(rep)}): wait before logging in again")
        if rep.status_code in (401, 403):
            raise self.fail(
                step, f"X refused the request ({_x_errors(rep)}): the IP may be blocked; change proxy"
            )
        if rep.status_code >= 500:
            raise self.fail(step, f"X failed ({_x_errors(rep)}): retry later")
        if rep.status_code >= 400:
            advice = REJECTED.get(step, "X rejected this step")
            raise self.fail(step, f"{advice} ({_x_errors(rep)})")
        try:
            body = rep.json()
        except ValueError:
            raise self.fail(
                step, f"X answered HTTP {rep.status_code} with a body that is not JSON: retry later"
            ) from None
        if not isinstance(body, dict):
            raise self.fail(step, "X answered with an unexpected body: retry later")
        return body


def login_with_password(
    base_url: str,
    username: str,
    password: str,
    email: str | None = None,
    mfa_secret: str | None = None,
    email_code: Callable[[], str] | None = None,
    timeout_s: float = 20,
    *,
    proxy_url: str | None = None,
    user_agent: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, str]:
    """Log in with X's web password flow at ``base_url``; returns the session cookies (auth_token, ct0).

    ``email_code`` is called (without arguments) when X emails a confirmation code (LoginAcid) and
    must return it. ``user_agent`` is the account's browser (default: the one ``user_agent_for`` gives
    the name). Raises ``LoginError`` on any failure.
    """
    headers = {
        "authorization": WEB_BEARER,
        "content-type": "application/json",
        "user-agent": user_agent or user_agent_for(username),
        "x-twitter-active-user": "yes",
        "x-twitter-client-language": "en",
    }
    secrets = [password, mfa_secret]
    with httpx.Client(
        base_url=base_url.rstrip("/"),
        headers=headers,
        timeout=timeout_s,
        proxy=proxy_url,
        transport=transport,
        follow_redirects=False,
    ) as http:
        flow = _Flow(http, username, secrets)
        guest = flow.post("guest_token", GUEST_PATH).get("guest_token")
        if not guest:
            raise flow.fail("guest_token", "X gave no guest token: the IP may be blocked; change proxy")
        http.headers["x-guest-token"] = str(guest)
        start = {
            "input_flow_data": {
                "flow_context": {"debug_overrides": {}, "start_location": {"location": "unknown"}}
            },
            "subtask_versions": {},
        }
        body = flow.post("start", TASK_PATH, params={"flow_name": "login"}, json=start)
        for _ in range(MAX_STEPS):
            token = body.get("flow_token")
            subtasks = [s for s in body.get("subtasks") or [] if isinstance(s, dict)]
            if not subtasks:
                break
            if not token:
                raise flow.fail("flow", "X answered without a flow token: retry later")
            sub = subtasks[0]
            step = str(sub.get("subtask_id"))
            if step == "LoginSuccessSubtask":
                secrets.extend(http.cookies.get(n) for n in ("auth_token", "ct0"))
                flow.post(step, TASK_PATH, json={"flow_token": token, "subtask_inputs": []})
                break
            value = _answer(flow, sub, step, username, password, email, mfa_secret, email_code)
            body = flow.post(step, TASK_PATH, json={"flow_token": token, "subtask_inputs": [value]})
        else:
            raise flow.fail("flow", f"the login did not finish within {MAX_STEPS} steps")
        cookies = {name: http.cookies.get(name) for name in ("auth_token", "ct0")}
    if not cookies["auth_token"] or not cookies["ct0"]:
        raise LoginError(
            username,
            "LoginSuccessSubtask",
            "X ended the flow without session cookies (auth_token/ct0): the IP may be blocked; "
            "change proxy and retry",
        )
    return {k: v for k, v in cookies.items() if v}


def _answer(
    flow: _Flow,
    sub: dict,
    step: str,
    username: str,
    password: str,
    email: str | None,
    mfa_secret: str | None,
    email_code: Callable[[], str] | None,
) -> dict:
    """The subtask input answering ``sub``."""

    def text(value: str) -> dict:
        return {"subtask_id": step, "enter_text": {"text": value, "link": "next_link"}}

    if step == "LoginJsInstrumentationSubtask":
        return {"subtask_id": step, "js_instrumentation": {"response": "{}", "link": "next_link"}}
    if step == "LoginEnterUserIdentifierSSO":
        return {
            "subtask_id": step,
            "settings_list": {
                "setting_responses": [
                    {"key": "user_identifier", "response_data": {"text_data": {"result": username}}}
                ],
                "link": "next_link",
            },
        }
    if step == "LoginEnterAlternateIdentifierSubtask":
        if not email:
            raise flow.fail(step, "X asks for the account's email: add the email to the account")
        return text(email)
    if step == "LoginEnterPassword":
        return {"subtask_id": step, "enter_password": {"password": password, "link": "next_link"}}
    if step == "LoginTwoFactorAuthChallenge":
        if not mfa_secret:
            raise flow.fail(step, "2FA code needed: add the account's MFA secret (base32 TOTP key)")
        try:
            return text(totp_code(mfa_secret))
        except ValueError as exc:
            raise flow.fail(step, str(exc)) from None
    if step == "LoginAcid":
        hint = str(((sub.get("enter_text") or {}).get("hint_text")) or "").lower()
        if hint and hint != "confirmation code":  # X asks to confirm the email address itself
            if not email:
                raise flow.fail(step, "X asks to confirm the account's email: add the email to the account")
            return text(email)
        if email_code is None:
            raise flow.fail(
                step,
                "email confirmation code needed: import the account with its email password "
                "so XGet reads the code over IMAP (or pass --email-code)",
            )
        try:
            code = str(email_code() or "").strip()
        except XGetError as exc:  # MailboxError: says what is wrong and what to do
            raise flow.fail(step, f"reading the email confirmation code failed: {exc}") from None
        except Exception as exc:
            raise flow.fail(
                step,
                f"reading the email confirmation code failed ({type(exc).__name__}: {exc}): "
                "check the mailbox/IMAP settings",
            ) from None
        if not code:
            raise flow.fail(step, "no email confirmation code arrived: check the mailbox/IMAP settings")
        return text(code)
    if step == "AccountDuplicationCheck":
        return {"subtask_id": step, "check_logged_in_account": {"link": "AccountDuplicationCheck_false"}}
    raise flow.fail(
        step,
        f"X asks for {step}, which XGet cannot answer automatically (e.g. a captcha or "
        "unusual-activity check): log in by hand in a browser and import the cookies",
    )
