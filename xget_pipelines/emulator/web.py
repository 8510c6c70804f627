"""X's web pages and bundles, served by the emulator in the shapes clients parse them in.

Evidence for the shapes (``build.py`` renders them):
- the 2026 web build is Vite's "x-web": the page links ``https://abs.twimg.com/x-web/x-web/assets/*.js``
  (``entry-client-*.js`` for a signed-in session, ``entry-client-logged-out-*.js`` otherwise) with
  modulepreload links; the signing script ``sign.o-*.js`` is not linked but imported from a chunk
  (``sentry-filter-*.js``): twscrape issue #312 and twscrape 0.20.1's ``xclid.py``;
- the page holds ``<meta name="twitter-site-verification">`` (48 bytes of base64), four
  ``loading-x-anim-0..3`` SVGs with two paths each, and ``"<switch>":{"value":…}`` feature switches;
  the bundles hold ``queryId:"…",operationName:"…",operationType:"query"`` records, some only in lazily
  imported chunks (public field notes of 2026-09-05, measured on x.com).

Routes: ``GET /home`` (signed in; signed out it redirects to the login flow), ``GET /<handle>`` (any
session), ``GET /x-web/x-web/assets/<file>``. X's hosts map onto the emulator by path: a client rewrites
``https://x.com/`` and ``https://abs.twimg.com/`` to the emulator's base URL (``xget_pipelines.core.x.web``).
"""

from __future__ import annotations

import html
import re

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .jsonio import json_body, json_response

ANONYMOUS_PAGE = "<anonymous>"
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")


def _state(request: Request):
    return request.app.state.emulator


def _signed_in(request: Request) -> str | None:
    account = _state(request).account_for_token(request.cookies.get("auth_token", ""))
    return account.username if account is not None else None


def _shell(request: Request, body: str = "") -> Response:
    st = _state(request)
    st.releases.tick(st.clock())
    user = _signed_in(request)
    page = st.releases.current.page(user or ANONYMOUS_PAGE, logged_in=user is not None, body=body)
    return HTMLResponse(page, headers={"cache-control": "no-cache, no-store, max-age=0"})


async def home(request: Request) -> Response:
    user = _signed_in(request)
    if user is None:
        return RedirectResponse("/i/flow/login", status_code=302)
    return _shell(request, f'<main><p data-testid="primaryColumn">Home of @{html.escape(user)}</p></main>')


async def profile(request: Request) -> Response:
    handle = request.path_params["handle"]
    if not _HANDLE.fullmatch(handle):
        return HTMLResponse("<!DOCTYPE html><title>Page not found / X</title>", status_code=404)
    return _shell(request, f'<main><h2 data-testid="UserName">@{html.escape(handle)}</h2></main>')


async def asset(request: Request) -> Response:
    """A bundle file of any release so far (X's CDN keeps old bundles); 404 for names no release had."""
    name = request.path_params["name"]
    releases = _state(request).releases
    for number in range(releases.current.number, -1, -1):
        build = releases.build(number)
        role = build.file_role(name)
        if role is None and name == build.files["entry-client"].replace(
            "entry-client", "entry-client-logged-out"
        ):
            role = "i18n-en"  # the logged-out app: nothing a signed-in client needs is in it
        if role is not None:
            return Response(
                build.script(role),
                media_type="application/javascript",
                headers={"cache-control": "public, max-age=31536000, immutable"},
            )
    return Response(b"", status_code=404, media_type="text/plain")


class _Rotation(BaseModel):
    add_features: dict[str, bool] = {}


async def releases(request: Request) -> Response:
    """``GET``: the releases so far; ``POST {"add_features": {...}}``: ship a new release now."""
    st = _state(request)
    if request.method == "POST":
        body = await json_body(request, _Rotation)
        if isinstance(body, Response):
            return body
        st.releases.rotate(st.clock(), add_features=body.add_features)
    return json_response({"current": st.releases.current.number, "releases": st.releases.snapshot()})
