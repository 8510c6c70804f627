"""X's web password login, as the emulator serves it.

The flow, as X's web client (and twscrape 0.20.1) drive it:

    POST /1.1/guest/activate.json                     -> {"guest_token": ...}
    POST /1.1/onboarding/task.json?flow_name=login    (header x-guest-token) -> first subtask
    POST /1.1/onboarding/task.json                    {"flow_token", "subtask_inputs": [...]} -> next subtask

Subtasks, in X's order: LoginJsInstrumentationSubtask, LoginEnterUserIdentifierSSO (username),
LoginEnterAlternateIdentifierSubtask (email; only when asked for, see below), LoginEnterPassword,
LoginTwoFactorAuthChallenge (TOTP; accounts with an MFA secret), LoginAcid (an emailed confirmation
code; accounts flagged ``acid``, mailed over LMTP when the
``mail_lmtp`` setting names a mail server), AccountDuplicationCheck, LoginSuccessSubtask. Every answer is
``{"flow_token", "status": "success", "subtasks": [{"subtask_id": ...}]}`` with a fresh flow token;
a rejected input answers 400 with X's error body and leaves the flow where it was (the user may retry).
On success the response sets the ``auth_token`` and ``ct0`` cookies: the same tokens the emulator's
cookie authentication accepts for that account (``EmulatorState.register``).

Admin routes:
    POST /_emulator/login_accounts      {"accounts": [{"username", "password", "email", "mfa_secret"?,
                                          "acid"?, "alternate_identifier"?, "login_method"?}]} registers
                                          accounts that can log in (GOOGLE ones through google.py's pages)
    GET  /_emulator/login_codes/{user}  the last LoginAcid code sent to the account (the mailbox's stand-in)
    GET/POST /_emulator/login_settings  {"alternate_identifier": bool}: ask every login for the email
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import smtplib
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

import orjson
import pyotp
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from .jsonio import json_body, json_response

SUBTASKS = (
    "LoginJsInstrumentationSubtask",
    "LoginEnterUserIdentifierSSO",
    "LoginEnterAlternateIdentifierSubtask",
    "LoginEnterPassword",
    "LoginTwoFactorAuthChallenge",
    "LoginAcid",
    "AccountDuplicationCheck",
    "LoginSuccessSubtask",
)
FLOW_TTL_S = 1800.0
log = logging.getLogger(__name__)

ERR_BAD_AUTH = (401, {"errors": [{"code": 215, "message": "Bad Authentication data."}]})
ERR_GUEST = (400, {"errors": [{"code": 239, "message": "Bad guest token."}]})
ERR_FLOW = (400, {"errors": [{"code": 366, "message": "The flow token is invalid or has expired."}]})
ERR_UNKNOWN_USER = (
    400,
    {"errors": [{"code": 399, "message": "Could not log you in now. Please try again later."}]},
)
ERR_PASSWORD = (400, {"errors": [{"code": 399, "message": "Wrong password!"}]})
ERR_ALTERNATE = (400, {"errors": [{"code": 399, "message": "Incorrect. Please try again."}]})
ERR_2FA = (400, {"errors": [{"code": 399, "message": "Your code was incorrect. Please try again."}]})
ERR_ACID = (400, {"errors": [{"code": 399, "message": "Incorrect code. Please try again."}]})


def _error(err: tuple[int, dict]) -> Response:
    return json_response(err[1], err[0])


@dataclass
class LoginAccount:
    username: str
    password: str
    email: str | None = None
    mfa_secret: str | None = None
    acid: bool = False
    alternate_identifier: bool = False
    login_method: str = "TWITTER"  # GOOGLE: signs in with Google (email + Google password), see google.py

    def public(self) -> dict:  # what the admin API echoes back: never the password or the secret
        return {
            "username": self.username,
            "email": self.email,
            "mfa": self.mfa_secret is not None,
            "acid": self.acid,
            "alternate_identifier": self.alternate_identifier,
            "login_method": self.login_method,
        }


@dataclass
class Flow:
    flow_id: str
    token: str
    expected: str  # the subtask the next input must answer
    created: float = field(default_factory=time.time)
    step: int = 0
    account: LoginAccount | None = None


class LoginState:
    """Accounts that can log in with a password, open guest tokens and login flows, emailed codes."""

    def __init__(self) -> None:
        self.accounts: dict[str, LoginAccount] = {}  # by lower-case username
        self.guest_tokens: set[str] = set()
        self.flows: dict[str, Flow] = {}  # by current flow token
        self.codes: dict[str, str] = {}  # lower-case username -> last LoginAcid code
        self.alternate_identifier = False

    def find(self, identifier: str) -> LoginAccount | None:
        ident = identifier.strip().lower().lstrip("@")
        account = self.accounts.get(ident)
        if account is None:
            account = next((a for a in self.accounts.values() if a.email and a.email.lower() == ident), None)
        return account

    def advance(self, flow: Flow, expected: str) -> str:
        """Move the flow to its next subtask under a fresh flow token; returns the token."""
        self.flows.pop(flow.token, None)
        flow.step += 1
        flow.expected = expected
        flow.token = f"g;{flow.flow_id}:-{int(time.time() * 1000)}:{secrets.token_hex(8)}:{flow.step}"
        self.flows[flow.token] = flow
        return flow.token

    def flow(self, token: object) -> Flow | None:
        now = time.time()
        for key in [k for k, f in self.flows.items() if now - f.created > FLOW_TTL_S]:
            del self.flows[key]
        return self.flows.get(token) if isinstance(token, str) else None


def app_state(request: Request, name: str, factory):
    """A piece of the app's state kept beside ``app.state.emulator``, created on first use."""
    state = getattr(request.app.state, name, None)
    if state is None:
        state = factory()
        setattr(request.app.state, name, state)
    return state


def login_state(request: Request) -> LoginState:
    return app_state(request, "emulator_login", LoginState)


def _subtask(subtask_id: str) -> dict:
    sub: dict = {"subtask_id": subtask_id}
    if subtask_id == "LoginAcid":
        sub["enter_text"] = {
            "hint_text": "Confirmation code",
            "keyboard_type": "text",
            "primary_text": {"text": "Check your email"},
        }
    elif subtask_id == "LoginTwoFactorAuthChallenge":
        sub["enter_text"] = {"hint_text": "Enter code", "keyboard_type": "number"}
    elif subtask_id == "LoginEnterAlternateIdentifierSubtask":
        sub["enter_text"] = {"hint_text": "Phone or email", "keyboard_type": "email"}
    return sub


def _step(flow: Flow, state: LoginState, subtask_id: str, cookies: dict[str, str] | None = None) -> Response:
    token = state.advance(flow, subtask_id)
    subtasks = [] if subtask_id == "" else [_subtask(subtask_id)]
    rep = json_response({"flow_token": token, "status": "success", "subtasks": subtasks})
    for name, value in (cookies or {}).items():
        rep.set_cookie(
            name,
            value,
            path="/",
            max_age=5 * 365 * 86400,
            secure=False,
            httponly=name == "auth_token",
            samesite="lax",
        )
    return rep


def _has_bearer(request: Request) -> bool:
    return request.headers.get("authorization", "").startswith("Bearer ")


async def guest_activate(request: Request) -> Response:
    if not _has_bearer(request):
        return _error(ERR_BAD_AUTH)
    token = str(secrets.randbelow(9 * 10**18) + 10**18)
    login_state(request).guest_tokens.add(token)
    return json_response({"guest_token": token})


def _text(sub: dict, key: str) -> str:
    value = sub.get(key)
    return str(value.get("text") or "") if isinstance(value, dict) else ""


def _user_identifier(sub: dict) -> str:
    settings = (sub.get("settings_list") or {}).get("setting_responses") or []
    for item in settings:
        if isinstance(item, dict) and item.get("key") == "user_identifier":
            return str(((item.get("response_data") or {}).get("text_data") or {}).get("result") or "")
    return ""


def _mail_code(lmtp: str, account: LoginAccount, code: str) -> None:
    """Email the confirmation code to the account's address over LMTP, as X's mailer would."""

    host, _, port = lmtp.rpartition(":")
    msg = EmailMessage()
    msg["From"] = "X <verify@x.com>"
    msg["To"] = account.email or ""
    msg["Subject"] = f"Your X confirmation code is {code}"
    msg.set_content(
        f"Please enter this verification code to complete your login:\n\n{code}\n\n"
        f"Confirmation code for @{account.username}. If you did not request it, change your password."
    )
    with smtplib.LMTP(host, int(port), timeout=10) as conn:
        conn.send_message(msg)


async def _after_credentials(flow: Flow, state: LoginState, request: Request, done: str) -> Response:
    """Next subtask once `done` passed: 2FA, then the email code, then the duplication check."""
    account = flow.account
    assert account is not None
    order = ["LoginEnterPassword", "LoginTwoFactorAuthChallenge", "LoginAcid"]
    for subtask in order[order.index(done) + 1 :]:
        if subtask == "LoginTwoFactorAuthChallenge" and account.mfa_secret:
            return _step(flow, state, subtask)
        if subtask == "LoginAcid" and account.acid:
            code = secrets.token_hex(4)  # X's codes: 8 lower-case letters and digits
            state.codes[account.username.lower()] = code
            lmtp = request.app.state.emulator.settings.mail_lmtp
            if lmtp and account.email:
                try:
                    await asyncio.to_thread(_mail_code, lmtp, account, code)
                except (OSError, smtplib.SMTPException) as exc:  # X does not tell you its mail bounced
                    log.warning("emulator: mailing the code to %s failed: %s", account.email, exc)
            return _step(flow, state, subtask)
    return _step(flow, state, "AccountDuplicationCheck")


async def onboarding_task(request: Request) -> Response:
    state = login_state(request)
    if not _has_bearer(request):
        return _error(ERR_BAD_AUTH)
    try:
        body = orjson.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return json_response({"errors": [{"code": 214, "message": "Body must be a JSON object."}]}, 400)

    if request.query_params.get("flow_name") == "login":
        if request.headers.get("x-guest-token") not in state.guest_tokens:
            return _error(ERR_GUEST)
        flow = Flow(flow_id=secrets.token_hex(8), token="", expected="")
        return _step(flow, state, "LoginJsInstrumentationSubtask")
    if request.query_params.get("flow_name"):
        return json_response({"errors": [{"code": 366, "message": "flow name is not supported here."}]}, 400)

    flow = state.flow(body.get("flow_token"))
    if flow is None:
        return _error(ERR_FLOW)
    inputs = body.get("subtask_inputs")
    if not isinstance(inputs, list):
        return _error(ERR_FLOW)
    if flow.expected == "LoginSuccessSubtask":  # the client acknowledges; the flow is over
        state.flows.pop(flow.token, None)
        return json_response({"flow_token": flow.token, "status": "success", "subtasks": []})
    sub = next((s for s in inputs if isinstance(s, dict) and s.get("subtask_id") == flow.expected), None)
    if sub is None:
        return _error(ERR_FLOW)

    expected = flow.expected
    if expected == "LoginJsInstrumentationSubtask":
        return _step(flow, state, "LoginEnterUserIdentifierSSO")
    if expected == "LoginEnterUserIdentifierSSO":
        account = state.find(_user_identifier(sub))
        if account is None:
            return _error(ERR_UNKNOWN_USER)
        flow.account = account
        ask = (
            state.alternate_identifier
            or account.alternate_identifier
            or getattr(request.app.state.emulator.settings, "login_alternate_identifier", False)
        )
        return _step(flow, state, "LoginEnterAlternateIdentifierSubtask" if ask else "LoginEnterPassword")
    account = flow.account
    assert account is not None
    if expected == "LoginEnterAlternateIdentifierSubtask":
        given = _text(sub, "enter_text").strip().lower().lstrip("@")
        if given not in {account.username.lower(), (account.email or "").lower()} - {""}:
            return _error(ERR_ALTERNATE)
        return _step(flow, state, "LoginEnterPassword")
    if expected == "LoginEnterPassword":
        given = str((sub.get("enter_password") or {}).get("password") or "")
        if not secrets.compare_digest(given.encode(), account.password.encode()):
            return _error(ERR_PASSWORD)
        return await _after_credentials(flow, state, request, expected)
    if expected == "LoginTwoFactorAuthChallenge":
        code = _text(sub, "enter_text").strip().replace(" ", "")
        try:
            ok = bool(code) and pyotp.TOTP(account.mfa_secret or "").verify(code, valid_window=1)
        except Exception:  # a malformed secret on the emulator's side: reject like a wrong code
            ok = False
        if not ok:
            return _error(ERR_2FA)
        return await _after_credentials(flow, state, request, expected)
    if expected == "LoginAcid":
        code = _text(sub, "enter_text").strip()
        sent = state.codes.get(account.username.lower())
        if not sent or not secrets.compare_digest(code.encode(), sent.encode()):
            return _error(ERR_ACID)
        state.codes.pop(account.username.lower(), None)
        return await _after_credentials(flow, state, request, expected)
    if expected == "AccountDuplicationCheck":
        session = request.app.state.emulator.register(account.username)
        return _step(
            flow, state, "LoginSuccessSubtask", cookies={"auth_token": session.auth_token, "ct0": session.ct0}
        )
    return _error(ERR_FLOW)


# -- admin -------------------------------------------------------------------------------------------


class _LoginAccountIn(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    email: str | None = None
    mfa_secret: str | None = None
    acid: bool = False
    alternate_identifier: bool = False
    login_method: Literal["TWITTER", "GOOGLE"] = "TWITTER"


class _LoginAccountsIn(BaseModel):
    accounts: list[_LoginAccountIn]


class _LoginSettingsIn(BaseModel):
    alternate_identifier: bool = False


async def login_accounts(request: Request) -> Response:
    state = login_state(request)
    if request.method == "POST":
        body = await json_body(request, _LoginAccountsIn)
        if isinstance(body, Response):
            return body
        out = []
        for item in body.accounts:
            if item.mfa_secret:
                try:
                    pyotp.TOTP(item.mfa_secret).now()
                except Exception:
                    return json_response({"error": f"mfa_secret of {item.username} is not valid base32"}, 400)
            account = LoginAccount(**item.model_dump())
            state.accounts[account.username.lower()] = account
            request.app.state.emulator.register(account.username)  # cookie auth knows it from now on
            out.append(account.public())
        return json_response(out)
    return json_response([a.public() for a in state.accounts.values()])


async def login_codes(request: Request) -> Response:
    username = request.path_params["username"].lower()
    code = login_state(request).codes.get(username)
    if code is None:
        return json_response({"error": f"no confirmation code was sent to {username}"}, 404)
    return json_response({"username": username, "code": code})


async def login_settings(request: Request) -> Response:
    state = login_state(request)
    if request.method == "POST":
        body = await json_body(request, _LoginSettingsIn)
        if isinstance(body, Response):
            return body
        state.alternate_identifier = body.alternate_identifier
    return json_response({"alternate_identifier": state.alternate_identifier})
