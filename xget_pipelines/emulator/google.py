"""X's "Sign in with Google", as the emulator serves it: X's login page, a Google-style sign-in, X's callback.

    GET  /i/flow/login                          X's login page with a "Sign in with Google" button (opens
                                                Google in a popup, as x.com does, with setting google_popup)
    GET  /_google/o/oauth2/v2/auth              Google's entry point (client_id, redirect_uri, state)
    GET|POST /_google/v3/signin/identifier      "Sign in": the email (#identifierId, #identifierNext)
    GET|POST /_google/v3/signin/challenge/pwd   "Welcome": the password (input[name=Passwd], #passwordNext)
    GET|POST /_google/v3/signin/challenge/totp  "2-Step Verification" with a TOTP secret (#totpPin)
    GET|POST /_google/signin/oauth/consent      "X wants to access your Google Account" (first sign-in only)
    GET  /i/sso/google/callback                 X's callback: sets auth_token and ct0, redirects to /home

Like Google, the pages need a real browser: each form carries a ``bgRequest`` token that a script on the
page computes, and a request without it (a plain HTTP client) is refused with "This browser or app may
not be secure". Headless Chromium's default user agent (``HeadlessChrome``) is refused the same way, as
Google does. The accounts are those registered with ``login_method: GOOGLE`` on
``/_emulator/login_accounts``: ``email`` is the Google account, ``password`` its Google password,
``mfa_secret`` its 2-Step Verification key.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import pyotp
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .login import LoginAccount, app_state, login_state

SESSION_TTL_S = 900.0
CLIENT_ID = "x-web.apps.googleusercontent.com"
CALLBACK = "/i/sso/google/callback"


@dataclass
class GoogleSession:
    tl: str  # Google's "TL" transaction id, carried in the URL of every step
    redirect_uri: str
    state: str
    expected: str = "identifier"  # identifier | pwd | totp | consent
    account: LoginAccount | None = None
    created: float = field(default_factory=time.time)


class GoogleState:
    def __init__(self) -> None:
        self.sessions: dict[str, GoogleSession] = {}
        self.codes: dict[str, str] = {}  # authorization code -> Google email
        self.consented: set[str] = set()  # emails that already let X access their account

    def session(self, tl: str | None) -> GoogleSession | None:
        now = time.time()
        for key in [k for k, s in self.sessions.items() if now - s.created > SESSION_TTL_S]:
            del self.sessions[key]
        return self.sessions.get(tl or "")


def google_state(request: Request) -> GoogleState:
    return app_state(request, "emulator_google", GoogleState)


def _bg_token(tl: str) -> str:
    """What the page's script computes; a client that runs no script cannot send it."""
    return hashlib.sha256(f"bg:{tl}".encode()).hexdigest()[:24]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:Roboto,Arial,sans-serif;background:#f0f4f9}}main{{background:#fff;max-width:420px;
margin:64px auto;padding:36px;border-radius:28px}}h1{{font-weight:400}}input{{width:100%;padding:12px;
font-size:16px;margin:12px 0}}
button{{background:#0b57d0;color:#fff;border:0;border-radius:20px;padding:10px 24px}}
.err{{color:#b3261e}}</style></head>
<body><main><div aria-label="Google">Google</div><h1>{title}</h1>{body}</main></body></html>"""

_FORM = """<form id="f" method="post" action="{action}?TL={tl}">
{error}{fields}<input type="hidden" name="bgRequest" id="bgRequest" value="">
<button type="button" id="{button_id}">{button}</button></form>
<script>
  async function bg() {{
    const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('bg:{tl}'));
    return Array.from(new Uint8Array(d)).map(b => b.toString(16).padStart(2, '0')).join('').slice(0, 24);
  }}
  document.getElementById('{button_id}').addEventListener('click', async () => {{
    document.getElementById('bgRequest').value = await bg();
    document.getElementById('f').submit();
  }});
  document.getElementById('f').addEventListener('keydown', e => {{
    if (e.key === 'Enter') {{ e.preventDefault(); document.getElementById('{button_id}').click(); }}
  }});
</script>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def _form(
    session: GoogleSession, action: str, fields: str, button_id: str, button: str, error: str = ""
) -> str:
    err = f'<div class="err" role="alert" aria-live="assertive">{html.escape(error)}</div>' if error else ""
    return _FORM.format(
        action=action, tl=session.tl, error=err, fields=fields, button_id=button_id, button=button
    )


def _blocked() -> HTMLResponse:
    return _page(
        "Couldn't sign you in",
        '<div class="err" role="alert">This browser or app may not be secure. '
        "Try using a different browser.</div>",
        400,
    )


def _automation(request: Request) -> bool:
    return "headlesschrome" in request.headers.get("user-agent", "").lower()


# -- X's side --------------------------------------------------------------------------------------------


async def x_login_page(request: Request) -> Response:
    popup = request.app.state.emulator.settings.google_popup
    query = urlencode(
        {
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid email profile",
            "state": ("popup:" if popup else "") + secrets.token_urlsafe(12),
        }
    )
    href = f"/_google/o/oauth2/v2/auth?{query}"
    opener = (
        f" onclick=\"window.open('{href}', 'google', 'width=500,height=600'); return false;\""
        if popup
        else ""
    )
    body = (
        f'<p>Sign in to X</p><a role="button" data-testid="google_sign_in" id="google-sign-in" '
        f'href="{html.escape(href)}"{opener}>Sign in with Google</a>'
        '<p><input name="text" autocomplete="username" placeholder="Phone, email, or username"></p>'
    )
    return _page("Log in to X / X", body)


async def x_callback(request: Request) -> Response:
    code = request.query_params.get("code", "")
    email = google_state(request).codes.pop(code, None)
    login = login_state(request)
    account = next(
        (
            a
            for a in login.accounts.values()
            if a.login_method == "GOOGLE" and (a.email or "").lower() == (email or "").lower()
        ),
        None,
    )
    if email is None or account is None:
        return _page(
            "Something went wrong",
            '<div class="err" role="alert">Something went wrong, but don\'t '
            "fret — let's give it another shot.</div>",
            400,
        )
    session = request.app.state.emulator.register(account.username)
    if request.query_params.get("state", "").startswith("popup:"):  # the popup hands over to X's window
        rep: Response = HTMLResponse(
            "<!doctype html><script>if (window.opener) { window.opener.location = '/home'; "
            "window.close(); } else { location = '/home'; }</script>"
        )
    else:
        rep = RedirectResponse("/home", status_code=302)
    for name, value in (("auth_token", session.auth_token), ("ct0", session.ct0)):
        rep.set_cookie(
            name, value, path="/", max_age=5 * 365 * 86400, httponly=name == "auth_token", samesite="lax"
        )
    return rep


# -- Google's side ---------------------------------------------------------------------------------------


async def oauth_entry(request: Request) -> Response:
    params = request.query_params
    if params.get("client_id") != CLIENT_ID or not params.get("redirect_uri", "").startswith("/"):
        return _page(
            "Error 400: invalid_request",
            '<div class="err" role="alert">Access blocked: '
            "the request is invalid (client_id / redirect_uri).</div>",
            400,
        )
    state = google_state(request)
    session = GoogleSession(
        tl=secrets.token_urlsafe(18), redirect_uri=params["redirect_uri"], state=params.get("state", "")
    )
    state.sessions[session.tl] = session
    return RedirectResponse(f"/_google/v3/signin/identifier?TL={session.tl}", status_code=302)


async def _posted(request: Request, session: GoogleSession) -> dict[str, str] | Response:
    values = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    if not secrets.compare_digest(values.get("bgRequest", ""), _bg_token(session.tl)):
        return _blocked()
    return values


def _next(session: GoogleSession, state: GoogleState) -> Response:
    """After a passed step: 2-Step Verification, consent, or back to X with an authorization code."""
    account = session.account
    assert account is not None
    order = ["identifier", "pwd", "totp", "consent"]
    for step in order[order.index(session.expected) + 1 :]:
        if step == "totp" and account.mfa_secret:
            session.expected = step
            return RedirectResponse(f"/_google/v3/signin/challenge/totp?TL={session.tl}", status_code=303)
        if step == "consent" and (account.email or "").lower() not in state.consented:
            session.expected = step
            return RedirectResponse(f"/_google/signin/oauth/consent?TL={session.tl}", status_code=303)
    code = secrets.token_urlsafe(24)
    state.codes[code] = account.email or ""
    state.sessions.pop(session.tl, None)
    return RedirectResponse(
        f"{session.redirect_uri}?{urlencode({'code': code, 'state': session.state})}", status_code=303
    )


async def identifier(request: Request) -> Response:
    state = google_state(request)
    session = state.session(request.query_params.get("TL"))
    if session is None or session.expected != "identifier":
        return _page(
            "Sign in", '<div class="err" role="alert">Your sign-in session expired. Start again.</div>', 400
        )
    if _automation(request):
        return _blocked()
    fields = (
        '<input type="email" id="identifierId" name="identifier" autocomplete="username" '
        'aria-label="Email or phone">'
    )
    if request.method == "GET":
        return _page(
            "Sign in", _form(session, "/_google/v3/signin/identifier", fields, "identifierNext", "Next")
        )
    values = await _posted(request, session)
    if isinstance(values, Response):
        return values
    email = values.get("identifier", "").strip().lower()
    account = next(
        (
            a
            for a in login_state(request).accounts.values()
            if a.login_method == "GOOGLE" and (a.email or "").lower() == email
        ),
        None,
    )
    if account is None:
        return _page(
            "Sign in",
            _form(
                session,
                "/_google/v3/signin/identifier",
                fields,
                "identifierNext",
                "Next",
                "Couldn't find your Google Account",
            ),
        )
    session.account = account
    session.expected = "pwd"
    return RedirectResponse(f"/_google/v3/signin/challenge/pwd?TL={session.tl}", status_code=303)


def _challenge(kind: str, title: str, fields: str, button_id: str, error_text: str, check):
    async def route(request: Request) -> Response:
        state = google_state(request)
        session = state.session(request.query_params.get("TL"))
        if session is None or session.expected != kind or session.account is None:
            return _page(
                title, '<div class="err" role="alert">Your sign-in session expired. Start again.</div>', 400
            )
        action = request.url.path
        if request.method == "GET":
            return _page(title, _form(session, action, fields, button_id, "Next"))
        values = await _posted(request, session)
        if isinstance(values, Response):
            return values
        if not check(session.account, values):
            return _page(title, _form(session, action, fields, button_id, "Next", error_text))
        return _next(session, state)

    return route


def _password_ok(account: LoginAccount, values: dict[str, str]) -> bool:
    return secrets.compare_digest(values.get("Passwd", "").encode(), account.password.encode())


def _totp_ok(account: LoginAccount, values: dict[str, str]) -> bool:
    try:
        return pyotp.TOTP(account.mfa_secret or "").verify(values.get("totpPin", "").strip(), valid_window=1)
    except Exception:
        return False


password = _challenge(
    "pwd",
    "Welcome",
    '<input type="password" name="Passwd" autocomplete="current-password" aria-label="Enter your password">',
    "passwordNext",
    "Wrong password. Try again or click Forgot password to reset it.",
    _password_ok,
)
totp = _challenge(
    "totp",
    "2-Step Verification",
    "<p>Get a verification code from the Google Authenticator app</p>"
    '<input type="tel" id="totpPin" name="totpPin" autocomplete="one-time-code" aria-label="Enter code">',
    "totpNext",
    "Wrong code. Try again.",
    _totp_ok,
)


async def consent(request: Request) -> Response:
    state = google_state(request)
    session = state.session(request.query_params.get("TL"))
    if session is None or session.expected != "consent" or session.account is None:
        return _page(
            "Sign in", '<div class="err" role="alert">Your sign-in session expired. Start again.</div>', 400
        )
    if request.method == "GET":
        body = _form(
            session,
            request.url.path,
            f"<p>X wants to access your Google Account</p><p>{html.escape(session.account.email or '')}</p>",
            "submit_approve_access",
            "Continue",
        )
        return _page("Sign in to X", body)
    values = await _posted(request, session)
    if isinstance(values, Response):
        return values
    state.consented.add((session.account.email or "").lower())
    return _next(session, state)
