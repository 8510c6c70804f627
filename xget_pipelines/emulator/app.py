"""The emulator's HTTP application: X's GraphQL endpoint, its web pages, plus `/_emulator/*` admin routes.

A GraphQL request goes through the same gates as on X (``contract.py``), in this order: the query id
(404, empty body), the bearer, cookie + CSRF authentication, standing account state (suspended, locked,
soft-banned), the per-account per-operation rate limit, the transaction id (404, empty body, after the
rate limit counted the request: field notes of 2026-09-05 saw the gated 404 spend a request), the
required feature switches, then injected infrastructure faults, and only then the page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import (
    google,
    login,
    media_route,
    ops_community,
    ops_detail,
    ops_lookup,
    ops_media,
    ops_search,
    ops_trends,
    ops_tweets,
    ops_users,
    web,
)
from .contract import BAD_BEARER, BAD_SESSION, CSRF_MISMATCH, NO_BEARER, WEB_BEARER, Releases, features_error
from .engagement import Engagement
from .faults import ERRORS, SERVER_ERRORS, FaultInjector
from .jsonio import json_body, json_response
from .media_files import MediaFiles, MediaStats
from .model import About, User, snowflake
from .ratelimit import RateLimiter, Stats
from .render_tweet import TweetRenderer
from .render_user import UserRenderer
from .search import SearchIndex
from .settings import EmulatorSettings, Faults
from .timeline import Ctx
from .world import World

OPERATIONS: dict[str, Callable[[Ctx], dict]] = {
    "SearchTimeline": ops_search.search_timeline,
    "UserTweets": ops_tweets.user_tweets,
    "UserTweetsAndReplies": lambda ctx: ops_tweets.user_tweets(ctx, with_replies=True),
    "UserMedia": ops_media.user_media,
    "TweetDetail": ops_detail.tweet_detail,
    "ListLatestTweetsTimeline": ops_tweets.list_timeline,
    "ListMembers": ops_users.list_members,
    "UserByScreenName": ops_users.user_by_screen_name,
    "UserByRestId": ops_users.user_by_rest_id,
    "Followers": ops_users.followers,
    "Following": ops_users.following,
    "BlueVerifiedFollowers": ops_users.blue_verified_followers,
    "UserCreatorSubscriptions": ops_users.subscriptions,
    "Retweeters": ops_users.retweeters,
    "AboutAccountQuery": ops_users.about_account,
    "CommunityQuery": ops_community.community_query,
    "CommunityTweetsTimeline": ops_community.community_tweets,
    "membersSliceTimeline_Query": ops_community.members_slice,
    "moderatorsSliceTimeline_Query": ops_community.moderators_slice,
    "GenericTimelineById": ops_trends.generic_timeline,
    "TweetResultByRestId": ops_lookup.tweet_result_by_rest_id,
    "TweetResultsByRestIds": ops_lookup.tweet_results_by_rest_ids,
}
ANONYMOUS = "<anonymous>"


@dataclass
class Account:
    username: str
    auth_token: str
    ct0: str

    def public(self) -> dict:
        return {"username": self.username, "auth_token": self.auth_token, "ct0": self.ct0}


class EmulatorState:
    """Everything the routes share: the world, its renderers and the mutable server state."""

    def __init__(self, world: World, settings: EmulatorSettings):
        self.world = world
        self.settings = settings
        self.started_ms = int(time.time() * 1000)
        self.users = UserRenderer()
        self.engagement = Engagement(self.started_ms, settings.growth_per_hour)
        self.tweets = TweetRenderer(self.users, self.engagement)
        self.search = SearchIndex(world)
        self.limiter = RateLimiter(settings.window_seconds)
        self.stats = Stats()
        self.faults = FaultInjector(settings.faults, settings.fault_seed)
        self.media = MediaFiles(world, settings.media_size_cap)
        self.media_stats = MediaStats()
        self.cache: dict = {}
        self.accounts: dict[str, Account] = {}
        self.members: dict[str, User] = {}
        self.about: dict[int, About] = {}  # "About this account" facts changed since start (about_route)
        # (followed idx, follower idx) edges removed at run time: /_emulator/followers
        self.removed_follows: set[tuple[int, int]] = set()
        self._by_token: dict[str, Account] = {}
        self._pages: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._token_seed = world.cfg.seed if settings.token_seed is None else settings.token_seed
        web_seed = world.cfg.seed if settings.web_seed is None else settings.web_seed
        self.releases = Releases(web_seed, tuple(OPERATIONS), settings.contract)

    @staticmethod
    def clock() -> float:
        return time.time()

    def register(self, username: str) -> Account:
        account = self.accounts.get(username)
        if account is None:
            digest = hashlib.sha256(f"{self._token_seed}:{username}".encode()).hexdigest()
            account = Account(username, digest[:40], hashlib.sha256(digest.encode()).hexdigest())
            self.accounts[username] = account
            self._by_token[account.auth_token] = account
            self._add_member(username, digest)
        return account

    def _add_member(self, username: str, digest: str) -> None:
        """The account's own profile: on X every account that signs in is a user too (no posts, no
        follows)."""
        if self.world.user_by_screen_name(username) is not None or username.lower() in self.members:
            return
        created = self.world.cfg.end_ms - 400 * 86_400_000
        self.members[username.lower()] = User(
            idx=-1 - len(self.members),
            id=snowflake(created, int(digest[:6], 16) & 0x3FFFFF),
            screen_name=username,
            name=username,
            bio="",
            location="",
            created_ms=created,
            lang="en",
            topics=(),
            activity=0.0,
            popularity=0.0,
        )

    def account_for_token(self, auth_token: str) -> Account | None:
        return self._by_token.get(auth_token)

    def rotate_ct0(self, username: str) -> Account | None:
        """X rotates a session's csrf token: the stored ``ct0`` stops matching (403 code 353, with the new one
        in Set-Cookie)."""
        account = self.accounts.get(username)
        if account is not None:
            account.ct0 = hashlib.sha256(f"{account.ct0}:rotated".encode()).hexdigest()
        return account

    def expire_session(self, username: str) -> Account | None:
        """X forgets the account's session (it expired, or X signed it out): its ``auth_token`` is answered
        401 code 32 from now on, and the next login makes a new session (new ``auth_token`` and ``ct0``)."""
        account = self.accounts.get(username)
        if account is not None:
            self._by_token.pop(account.auth_token, None)
            account.auth_token = hashlib.sha256(f"{account.auth_token}:expired".encode()).hexdigest()[:40]
            account.ct0 = hashlib.sha256(account.auth_token.encode()).hexdigest()
            self._by_token[account.auth_token] = account
        return account

    def authenticate(self, request: Request) -> tuple[str | None, tuple[int, bytes] | None]:
        """(account, None) for a valid session, else (None, X's refusal): an unknown ``auth_token`` is
        401 code 32, a ``x-csrf-token`` that is not the ``ct0`` cookie 403 code 353."""
        token, ct0 = request.cookies.get("auth_token"), request.cookies.get("ct0")
        account = self._by_token.get(token) if token else None
        if account is None and token and ct0 and self.settings.auto_register:
            account = Account(f"auto-{token[:12]}", token, ct0)
            self.accounts.setdefault(account.username, account)
        if account is None:
            return None, BAD_SESSION
        if not ct0 or request.headers.get("x-csrf-token") != ct0 or ct0 != account.ct0:
            return None, CSRF_MISMATCH
        return account.username, None

    def remember_page(self, key: tuple[str, str, str], payload: bytes) -> None:
        self._pages[key] = payload
        if len(self._pages) > 256:
            self._pages.popitem(last=False)

    def last_page(self, key: tuple[str, str, str]) -> bytes | None:
        return self._pages.get(key)


def _refuse(
    st: EmulatorState,
    account: str,
    operation: str,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Response:
    st.stats.record(account, operation, "refused", time.time())
    return Response(
        body, status_code=status, headers=headers, media_type="application/json" if body else "text/plain"
    )


def _gate(request: Request, st: EmulatorState, operation: str, now: float) -> Response | str:
    """The contract checks that come before the account's rate limit; the account's name if all pass."""
    if not st.releases.query_id_ok(request.path_params["query_id"], operation, now):
        return _refuse(st, ANONYMOUS, operation, 404)  # X: 404 and an empty body (twscrape #306)
    if st.settings.contract.bearer:
        bearer = request.headers.get("authorization")
        if bearer != WEB_BEARER:
            return _refuse(st, ANONYMOUS, operation, *(NO_BEARER if not bearer else BAD_BEARER))
    account, refusal = st.authenticate(request)
    if account is None:
        status, body = refusal
        headers = None
        if (
            status == CSRF_MISMATCH[0]
        ):  # X hands out the session's ct0 with the refusal (field notes 2026-09-05)
            known = st.account_for_token(request.cookies.get("auth_token", ""))
            ct0 = known.ct0 if known is not None else hashlib.sha256(str(now).encode()).hexdigest()
            headers = {"set-cookie": f"ct0={ct0}; Max-Age=21600; Path=/; Domain=.x.com; Secure; SameSite=Lax"}
        return _refuse(st, ANONYMOUS, operation, status, body, headers)
    return account


def _after_limit(
    request: Request, st: EmulatorState, account: str, operation: str, now: float, headers: dict[str, str]
) -> Response | None:
    """The contract checks that come after the request was counted: transaction id, then features."""
    contract = st.settings.contract
    if contract.transaction_id and operation in contract.transaction_id_operations:
        value = request.headers.get("x-client-transaction-id")
        if not st.releases.transaction_id_ok(value, request.method, request.url.path, account, now):
            return _refuse(st, account, operation, 404, headers=headers)
    missing = st.releases.missing_features(operation, request.query_params.get("features"))
    if missing:
        return _refuse(st, account, operation, 400, features_error(missing), headers)
    return None


def _too_many_ids(request: Request, st: EmulatorState) -> bool:
    try:
        variables = orjson.loads(request.query_params.get("variables") or "{}")
    except ValueError:
        return False  # answered as bad variables further on
    return isinstance(variables, dict) and len(ops_lookup.lookup_ids(variables)) > st.settings.max_lookup_ids


async def graphql(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    operation = request.path_params["operation"]
    now = time.time()
    st.releases.tick(now)
    if operation == "TweetResultsByRestIds" and _too_many_ids(request, st):
        return _refuse(st, ANONYMOUS, operation, 431)  # X's front refuses the long request (ops_lookup.py)
    account = _gate(request, st, operation, now)
    if isinstance(account, Response):
        return account
    limit = st.settings.limit_for(operation)
    standing = st.faults.account_fault(account)
    if standing is not None:
        state = st.limiter.peek(account, operation, limit, now)
        headers = state.headers()
        if standing == "soft_ban":
            headers["x-rate-limit-remaining"] = str(max(1, state.remaining))
            st.stats.record(account, operation, "rate_limited", now)
            return json_response(ERRORS["rate_limited"][1], 429, headers)
        st.stats.record(account, operation, "errors", now)
        status, body = ERRORS[standing]
        return json_response(body, status, headers)
    decision = st.limiter.acquire(account, operation, limit, now)
    headers = decision.headers()
    if not decision.allowed:
        st.stats.record(account, operation, "rate_limited", now)
        return json_response(ERRORS["rate_limited"][1], 429, headers)
    refusal = _after_limit(request, st, account, operation, now, headers)
    if refusal is not None:
        return refusal
    triggered = st.faults.pick(account, operation)
    if triggered.delay:
        await asyncio.sleep(triggered.delay)
    if triggered.status is not None:
        st.stats.record(account, operation, "errors", time.time())
        text, media_type = SERVER_ERRORS[triggered.status]
        return Response(text, status_code=triggered.status, headers=headers, media_type=media_type)
    try:
        variables = orjson.loads(request.query_params.get("variables") or "{}")
        if not isinstance(variables, dict):
            raise TypeError("variables must be an object")
    except (TypeError, ValueError) as exc:
        st.stats.record(account, operation, "errors", time.time())
        return json_response(
            {"errors": [{"message": f"Invalid variables: {exc}", "code": 214}]}, 400, headers
        )
    return _page(st, account, operation, variables, triggered, headers)


def _page(
    st: EmulatorState, account: str, operation: str, variables: dict, triggered, headers: dict
) -> Response:
    ctx = Ctx(
        st.world,
        st.settings,
        st.users,
        st.tweets,
        st.search,
        int(time.time() * 1000),
        variables,
        st.cache,
        st.members,
        st.about,
        st.removed_follows,
    )
    payload = orjson.dumps(OPERATIONS[operation](ctx))
    cursor = variables.get("cursor")
    if ctx.ended and cursor and st.faults.consume_repeat(account, operation):
        payload = st.last_page((account, operation, str(cursor))) or payload
    elif ctx.bottom is not None and st.faults.repeats_cursors:
        st.remember_page((account, operation, ctx.bottom), payload)
    if triggered.drop:
        st.stats.record(account, operation, "errors", time.time())
        return media_route.CutOffResponse([payload], len(payload), 200, headers, "application/json")
    if triggered.malformed:
        st.stats.record(account, operation, "errors", time.time())
        return Response(
            payload[: len(payload) // 2], status_code=200, headers=headers, media_type="application/json"
        )
    st.stats.record(account, operation, "pages", time.time())
    return Response(payload, status_code=200, headers=headers, media_type="application/json")


class _Usernames(BaseModel):
    usernames: list[str]


class _Unfollow(BaseModel):
    remove: list[str]  # followers to take away: user ids or handles (with or without @)


async def followers_admin(request: Request) -> Response:
    """An account's followers at run time: GET lists the removed ones; POST ``{"remove": [ids or handles]}``
    makes those accounts unfollow it (Followers and their Following stop listing the edge, as X does once
    someone unfollows; the world itself is shared and stays as generated); DELETE puts every edge back.
    Unknown accounts, and accounts that do not follow it, are refused with 400 naming them (nothing is
    removed then)."""
    st: EmulatorState = request.app.state.emulator
    account = st.world.user_by_screen_name(request.path_params["handle"].lstrip("@"))
    if account is None:
        return json_response({"error": f"no account {request.path_params['handle']!r} in the world"}, 404)
    if request.method == "POST":
        body = await json_body(request, _Unfollow)
        if isinstance(body, Response):
            return body
        followers = set(account.followers)
        idxs, bad = [], []
        for ref in body.remove:
            text = ref.strip().lstrip("@")
            user = st.world.user_by_id(text) if text.isdigit() else st.world.user_by_screen_name(text)
            if user is None or user.idx not in followers:
                bad.append(ref)
            else:
                idxs.append(user.idx)
        if bad:
            return json_response({"error": f"not followers of @{account.screen_name}: {bad[:10]}"}, 400)
        st.removed_follows.update((account.idx, i) for i in idxs)
    elif request.method == "DELETE":
        st.removed_follows = {e for e in st.removed_follows if e[0] != account.idx}
    removed = sorted(i for a, i in st.removed_follows if a == account.idx)
    return json_response(
        {
            "account": account.screen_name,
            "followers": len(account.followers) - len(removed),
            "removed": [str(st.world.users[i].id) for i in removed],
        }
    )


async def health(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    return json_response({"ok": True, "world": st.world.summary(), "started_ms": st.started_ms})


async def accounts(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    if request.method == "POST":
        body = await json_body(request, _Usernames)
        if isinstance(body, Response):
            return body
        return json_response([st.register(name).public() for name in body.usernames])
    return json_response([a.public() for a in st.accounts.values()])


async def rotate_ct0(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    account = st.rotate_ct0(request.path_params["username"])
    if account is None:
        return json_response({"error": "no such account"}, 404)
    return json_response(account.public())


async def expire_session(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    account = st.expire_session(request.path_params["username"])
    if account is None:
        return json_response({"error": "no such account"}, 404)
    return json_response({"username": account.username, "expired": True})


async def faults(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    if request.method == "POST":
        body = await json_body(request, Faults)
        if isinstance(body, Response):
            return body
        st.faults.update(body)
    elif request.method == "DELETE":
        st.faults.clear()
    return json_response(st.faults.snapshot())


async def stats(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    return json_response(st.stats.snapshot())


async def stats_reset(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    st.stats.reset()
    if request.query_params.get("limits") in ("1", "true"):
        st.limiter.reset()
    return json_response({"ok": True})


async def ground_truth(request: Request) -> Response:
    st: EmulatorState = request.app.state.emulator
    return json_response({**st.world.ground_truth(), "watchlist": st.world.watchlist_suggestions()})


class _AboutChange(BaseModel):
    """Facts of "About this account" to change; unset ones stay."""

    model_config = {"extra": "forbid"}
    based_in: str | None = None
    location_accurate: bool | None = None
    created_country_accurate: bool | None = None
    source: str | None = None
    identity_verified: bool | None = None


def _about_json(user: User, facts: About) -> dict:
    return {
        "user_id": user.id,
        "screen_name": user.screen_name,
        "based_in": facts.based_in,
        "location_accurate": facts.location_accurate,
        "created_country_accurate": facts.created_country_accurate,
        "source": facts.source,
        "identity_verified": facts.identity_verified,
        "username_changes": facts.username_changes,
    }


async def about_route(request: Request) -> Response:
    """``GET``/``POST /_emulator/about/{handle}``: an account's "About this account" facts, and changing them
    from now on (an account X now places in another country, or no longer calls accurately placed), as X's
    answers change over time: the capture's account is "based in" a country X re-evaluates
    (raw_user_about.json: ``location_accurate``, ``created_country_accurate``). For this server only; the
    world is not touched."""
    st: EmulatorState = request.app.state.emulator
    handle = request.path_params["handle"]
    user = st.world.user_by_screen_name(handle) or st.members.get(handle.lstrip("@").lower())
    if user is None:
        return json_response({"error": f"no user @{handle.lstrip('@')} in the world"}, 404)
    facts = st.about.get(user.id) or st.world.about(user)
    if request.method == "POST":
        body = await json_body(request, _AboutChange)
        if isinstance(body, Response):
            return body
        facts = dataclasses.replace(facts, **body.model_dump(exclude_none=True))
        st.about[user.id] = facts
    return json_response(_about_json(user, facts))


async def whoami(request: Request) -> Response:
    """The client address as this server sees it: behind a proxy, the proxy's exit address (or the public
    address ``whoami_addresses`` maps it to: a test's stand-in for an exit somewhere on the Internet)."""
    client = request.client
    st: EmulatorState = request.app.state.emulator
    host = client.host if client else None
    return json_response(
        {"ip": st.settings.whoami_addresses.get(host, host), "port": client.port if client else None}
    )


def create_app(world: World, settings: EmulatorSettings | None = None) -> Starlette:
    """The emulator as an ASGI app; `app.state.emulator` exposes its `EmulatorState`."""
    app = Starlette(
        routes=[
            Route("/i/api/graphql/{query_id}/{operation}", graphql, methods=["GET"]),
            Route("/_emulator/health", health, methods=["GET"]),
            Route("/_emulator/accounts", accounts, methods=["GET", "POST"]),
            Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
            Route("/_emulator/stats", stats, methods=["GET"]),
            Route("/_emulator/stats/reset", stats_reset, methods=["POST"]),
            Route("/_emulator/ground_truth", ground_truth, methods=["GET"]),
            Route("/_emulator/whoami", whoami, methods=["GET"]),
            Route("/_emulator/about/{handle}", about_route, methods=["GET", "POST"]),
            Route("/_emulator/followers/{handle}", followers_admin, methods=["GET", "POST", "DELETE"]),
            Route("/_media/{host}/{path:path}", media_route.media, methods=["GET", "HEAD"]),
            Route("/_emulator/media_stats", media_route.media_stats, methods=["GET", "DELETE"]),
            Route("/1.1/guest/activate.json", login.guest_activate, methods=["POST"]),
            Route("/1.1/onboarding/task.json", login.onboarding_task, methods=["POST"]),
            Route("/_emulator/login_accounts", login.login_accounts, methods=["GET", "POST"]),
            Route("/_emulator/login_codes/{username}", login.login_codes, methods=["GET"]),
            Route("/_emulator/login_settings", login.login_settings, methods=["GET", "POST"]),
            Route("/i/flow/login", google.x_login_page, methods=["GET"]),
            Route("/i/sso/google/callback", google.x_callback, methods=["GET"]),
            Route("/home", web.home, methods=["GET"]),
            Route("/_google/o/oauth2/v2/auth", google.oauth_entry, methods=["GET"]),
            Route("/_google/v3/signin/identifier", google.identifier, methods=["GET", "POST"]),
            Route("/_google/v3/signin/challenge/pwd", google.password, methods=["GET", "POST"]),
            Route("/_google/v3/signin/challenge/totp", google.totp, methods=["GET", "POST"]),
            Route("/_google/signin/oauth/consent", google.consent, methods=["GET", "POST"]),
            Route("/_emulator/releases", web.releases, methods=["GET", "POST"]),
            Route("/_emulator/accounts/{username}/ct0", rotate_ct0, methods=["POST"]),
            Route("/_emulator/accounts/{username}/expire", expire_session, methods=["POST"]),
            Route("/x-web/x-web/assets/{name}", web.asset, methods=["GET"]),
            Route("/{handle}", web.profile, methods=["GET"]),  # last: any other one-segment path
        ]
    )
    app.state.emulator = EmulatorState(world, settings or EmulatorSettings())
    return app
