"""Who may call what: every route of the app, and every GraphQL query and mutation, x (anonymous, a bad
token, viewer, analyst, operator, admin).

``NEEDS`` is the one table of this test: each (method, path) of the app and the permission it needs
(``PUBLIC``: anyone, ``AUTHENTICATED``: any role). A route missing from it fails
``test_every_route_is_in_the_table``, so a new endpoint cannot ship without someone deciding who may call
it. Expected answers:

- anonymous and a bad token: 401 (error shape, ``WWW-Authenticate: Bearer``) unless the route is public;
- a role without the permission: 403 (``forbidden``);
- a role with it: anything but 401/403, and never a 5xx.

GraphQL is one route (``/v1/graphql``) whose fields each check a permission: ``GRAPHQL_NEEDS`` is the same
table for them (a field of the schema missing from it fails ``test_every_graphql_field_is_in_the_table``).
There anonymous and a bad token get the 401 before GraphQL runs; a role without the field's permission gets
the error code FORBIDDEN on that field; a role with it gets anything but FORBIDDEN, and never INTERNAL.

Requests use harmless inputs: ids that do not exist (allowed roles get 404), valid minimal bodies (auth is
checked before the body is validated, but a valid body also exercises the handler), nothing that disables
a user or changes a password.
"""

from __future__ import annotations

import pytest

from xget_pipelines.core.auth.permissions import ROLES, Permission, allows

PUBLIC = "public"
AUTHENTICATED = "authenticated"
P = Permission

NEEDS: dict[tuple[str, str], Permission | str] = {
    # auth: tokens and registration are public; your own profile and keys need a login, any role
    ("POST", "/v1/auth/token"): PUBLIC,
    ("POST", "/v1/auth/register"): PUBLIC,
    ("POST", "/v1/auth/logout"): AUTHENTICATED,
    ("GET", "/v1/me"): AUTHENTICATED,
    ("PATCH", "/v1/me/preferences"): AUTHENTICATED,
    ("POST", "/v1/me/password"): AUTHENTICATED,
    ("GET", "/v1/me/keys"): AUTHENTICATED,
    ("POST", "/v1/me/keys"): AUTHENTICATED,
    ("DELETE", "/v1/me/keys/{key_id}"): AUTHENTICATED,
    # users and the audit log: admin
    ("GET", "/v1/admin/users"): P.USERS_ADMIN,
    ("POST", "/v1/admin/users"): P.USERS_ADMIN,
    ("GET", "/v1/admin/users/{user_id}"): P.USERS_ADMIN,
    ("PATCH", "/v1/admin/users/{user_id}"): P.USERS_ADMIN,
    ("DELETE", "/v1/admin/users/{user_id}"): P.USERS_ADMIN,
    ("POST", "/v1/admin/users/{user_id}/unlock"): P.USERS_ADMIN,
    ("GET", "/v1/admin/users/{user_id}/keys"): P.USERS_ADMIN,
    ("DELETE", "/v1/admin/keys/{key_id}"): P.USERS_ADMIN,
    ("GET", "/v1/admin/audit"): P.USERS_ADMIN,
    # the account pool: operator
    ("GET", "/v1/accounts"): P.ACCOUNTS_READ,
    ("GET", "/v1/accounts/status"): P.ACCOUNTS_READ,
    ("POST", "/v1/accounts"): P.ACCOUNTS_WRITE,
    ("POST", "/v1/accounts/import"): P.ACCOUNTS_WRITE,
    ("GET", "/v1/accounts/{username}"): P.ACCOUNTS_READ,
    ("PATCH", "/v1/accounts/{username}"): P.ACCOUNTS_WRITE,
    ("PUT", "/v1/accounts/{username}"): P.ACCOUNTS_WRITE,
    ("GET", "/v1/accounts/{username}/status"): P.ACCOUNTS_READ,
    ("DELETE", "/v1/accounts/{username}"): P.ACCOUNTS_WRITE,
    ("POST", "/v1/accounts/{username}/login"): P.ACCOUNTS_WRITE,
    # the proxy pool: operator
    ("GET", "/v1/proxies"): P.PROXIES_READ,
    ("GET", "/v1/proxies/available"): P.PROXIES_READ,
    ("POST", "/v1/proxies"): P.PROXIES_WRITE,
    ("POST", "/v1/proxies/import"): P.PROXIES_WRITE,
    ("POST", "/v1/proxies/check"): P.PROXIES_WRITE,
    ("GET", "/v1/proxies/{proxy_id}"): P.PROXIES_READ,
    ("PUT", "/v1/proxies/{proxy_id}"): P.PROXIES_WRITE,
    ("DELETE", "/v1/proxies/{proxy_id}"): P.PROXIES_WRITE,
    # tasks: viewers read, analysts write (their own; operators everyone's)
    ("POST", "/v1/tasks"): P.TASKS_WRITE,
    ("POST", "/v1/tasks/hydrate"): P.TASKS_WRITE,
    ("GET", "/v1/tasks"): P.TASKS_READ,
    ("GET", "/v1/tasks/{task_id}"): P.TASKS_READ,
    ("PATCH", "/v1/tasks/{task_id}"): P.TASKS_WRITE,
    ("DELETE", "/v1/tasks/{task_id}"): P.TASKS_WRITE,
    ("POST", "/v1/tasks/{task_id}/start"): P.TASKS_WRITE,
    ("POST", "/v1/tasks/{task_id}/stop"): P.TASKS_WRITE,
    ("GET", "/v1/tasks/{task_id}/status"): P.TASKS_READ,
    ("GET", "/v1/tasks/{task_id}/results"): P.TASKS_READ,
    # data
    ("GET", "/v1/data"): P.DATA_READ,
    ("GET", "/v1/data/search"): P.DATA_READ,
    ("GET", "/v1/data/{tweet_id}"): P.DATA_READ,
    # records a user supplies, corrections, soft deletes: analysts write, viewers read the history
    ("POST", "/v1/data"): P.DATA_WRITE,
    ("POST", "/v1/data/batch"): P.DATA_WRITE,
    ("PUT", "/v1/data/{tweet_id}"): P.DATA_WRITE,
    ("DELETE", "/v1/data/{tweet_id}"): P.DATA_WRITE,
    ("POST", "/v1/data/{tweet_id}/restore"): P.DATA_WRITE,
    ("GET", "/v1/data/{tweet_id}/corrections"): P.DATA_READ,
    # the watchlist's coverage: part of reading the data (is a day complete?)
    ("GET", "/v1/watchlist/coverage"): P.DATA_READ,
    # the watchlist itself: everyone reads what is collected; operators change it (it spends the pool)
    ("GET", "/v1/watchlist"): P.DATA_READ,
    ("POST", "/v1/watchlist"): P.WATCHLIST_WRITE,
    ("GET", "/v1/watchlist/{entry_id}"): P.DATA_READ,
    ("PATCH", "/v1/watchlist/{entry_id}"): P.WATCHLIST_WRITE,
    ("DELETE", "/v1/watchlist/{entry_id}"): P.WATCHLIST_WRITE,
    # backfills: launching one spends the pool for days (operators); where one stands is data:read
    ("POST", "/v1/watchlist/backfills"): P.WATCHLIST_WRITE,
    ("GET", "/v1/watchlist/backfills/{backfill_id}"): P.DATA_READ,
    ("POST", "/v1/watchlist/backfills/{backfill_id}/cancel"): P.WATCHLIST_WRITE,  # as starting one
    # analytics
    ("GET", "/v1/trends"): P.ANALYTICS_READ,
    ("GET", "/v1/trends/{name}"): P.ANALYTICS_READ,
    ("GET", "/v1/sentiment"): P.ANALYTICS_READ,
    ("GET", "/v1/users/{user}"): P.ANALYTICS_READ,
    ("GET", "/v1/users/{user}/profile"): P.ANALYTICS_READ,
    ("GET", "/v1/users/{user}/similar"): P.ANALYTICS_READ,
    ("GET", "/v1/users/{user}/tweets"): P.ANALYTICS_READ,
    ("GET", "/v1/graph/top"): P.ANALYTICS_READ,
    ("GET", "/v1/graph/{user}/followers"): P.ANALYTICS_READ,
    ("GET", "/v1/graph/{user}/following"): P.ANALYTICS_READ,
    # operations: probes and scrapers, no authentication
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
}

# Not in this table: the documentation pages, and GraphQL (one route: ``GRAPHQL_NEEDS`` below, per field).
SKIPPED_PATHS = {"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}
SKIPPED_PREFIXES = ("/v1/graphql", "/docs-static")

PATH_VALUES = {  # valid-looking values that name nothing
    "user_id": "999999",
    "proxy_id": "999999",
    "tweet_id": "999999",
    "key_id": "xk_nokey0000",
    "username": "nobody",
    "user": "nobody",
    "name": "python",
    "task_id": "00000000-0000-4000-8000-000000000000",
    "entry_id": "999999",
    "backfill_id": "999999",
}

# Minimal valid bodies (JSON unless given as ("text", ...) or ("form", ...)). None of them changes a password,
# disables a user or takes a real proxy/account out of service.
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/v1/auth/token"): (
        "form",
        {"grant_type": "password", "username": "nobody", "password": "not-the-password"},
    ),
    ("POST", "/v1/auth/register"): {"username": "matrix_registrant", "password": "a-long-enough-password"},
    ("POST", "/v1/auth/logout"): {"refresh_token": "not-a-refresh-token"},
    ("PATCH", "/v1/me/preferences"): {"matrix": True},
    ("POST", "/v1/me/password"): {
        "current_password": "not-the-password",
        "new_password": "another-long-password",
    },
    ("POST", "/v1/me/keys"): {"name": "matrix key"},
    ("POST", "/v1/watchlist"): {"key": "matrix term", "budget": "3 pages"},
    ("PATCH", "/v1/watchlist/{entry_id}"): {"budget": "all"},
    # a key not on the watchlist: refused (422) before any request to X
    ("POST", "/v1/watchlist/backfills"): {"key": "matrix backfill", "since": "2026-06-01", "dry_run": True},
    ("POST", "/v1/admin/users"): {"username": "matrix_created", "password": "a-long-enough-password"},
    ("PATCH", "/v1/admin/users/{user_id}"): {"email": "nobody@example.com"},
    ("POST", "/v1/accounts"): {"username": "matrix_account", "cookies": {"auth_token": "a", "ct0": "b"}},
    ("POST", "/v1/accounts/import"): ("text", "matrix_import:a-password:m@example.com:mail-password"),
    ("PATCH", "/v1/accounts/{username}"): {"active": False, "reason": "matrix"},
    ("PUT", "/v1/accounts/{username}"): {"cookies": {"auth_token": "a", "ct0": "b"}},
    ("POST", "/v1/accounts/{username}/login"): {},
    ("POST", "/v1/proxies"): {"proxy": "http://127.0.0.1:9"},
    ("POST", "/v1/proxies/import"): ("text", "127.0.0.1:10"),
    ("PUT", "/v1/proxies/{proxy_id}"): {"proxy": "http://127.0.0.1:11"},
    ("POST", "/v1/proxies/check"): {"ids": [999999], "timeout_s": 0.5, "attempts": 1},
    ("POST", "/v1/tasks"): {"type": "SEARCH", "target": "python", "start": False},
    ("POST", "/v1/tasks/hydrate"): ("text", "1234567890\n1234567891"),
    ("PATCH", "/v1/tasks/{task_id}"): {"params": {"budget": "all"}, "priority": 1},
    # a supplied tweet lands in the test's own lake; its id is not PATH_VALUES' (PUT/DELETE there stay 404s)
    ("POST", "/v1/data"): {"tweet_id": 123456789, "text": "matrix", "created_at": "2026-01-02T00:00:00Z"},
    ("POST", "/v1/data/batch"): [
        {"tweet_id": 123456790, "text": "matrix", "created_at": "2026-01-02T00:00:00Z"}
    ],
    ("PUT", "/v1/data/{tweet_id}"): {"fields": {"text": "matrix"}, "reason": "matrix"},
}
QUERIES: dict[tuple[str, str], dict] = {  # required query parameters
    ("GET", "/v1/data/search"): {"q": "python"},
    ("POST", "/v1/tasks/hydrate"): {"dataset": "matrix", "start": "false"},
}

CALLERS = ("anonymous", "bad_token", *ROLES)


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, routers' prefixes included."""
    try:  # FastAPI >= 0.16x keeps included routers as branches; this walks them with their prefixes
        from fastapi.routing import iter_route_contexts

        contexts = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI: app.routes is flat
        contexts = list(app.routes)
    found = set()
    for route in contexts:
        path = getattr(route, "path_format", None) or route.path  # "{proxy_id:int}" is "{proxy_id}" here
        if path is None or path in SKIPPED_PATHS or path.startswith(SKIPPED_PREFIXES):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, path))
    return found


def expected(need: Permission | str, caller: str) -> str:
    if need == PUBLIC:
        return "allowed"
    if caller in ("anonymous", "bad_token"):
        return "401"
    if need == AUTHENTICATED or allows(caller, need):
        return "allowed"
    return "403"


def test_every_route_is_in_the_table(api_server):
    served = app_routes(api_server.app)
    missing = sorted(served - set(NEEDS))
    stale = sorted(set(NEEDS) - served)
    assert not missing, (
        f"routes without a decision on who may call them: add them to NEEDS in {__file__}: {missing}"
    )
    assert not stale, f"NEEDS names routes the app does not serve (renamed or removed?): {stale}"


def _request(api_server, client, method: str, path: str, caller: str):
    url = path.format(**{k: v for k, v in PATH_VALUES.items() if "{" + k + "}" in path})
    headers = {}
    if caller == "bad_token":
        headers["Authorization"] = "Bearer not.a.valid-token"
    elif caller != "anonymous":
        headers.update(api_server.headers(caller))
    body = BODIES.get((method, path))
    kwargs: dict = {}
    if isinstance(body, tuple) and body[0] == "form":
        kwargs["data"] = body[1]
    elif isinstance(body, tuple) and body[0] == "text":
        kwargs["content"] = body[1].encode()
        headers["Content-Type"] = "text/plain"
    elif body is not None:
        kwargs["json"] = body
    if (method, path) in QUERIES:
        kwargs["params"] = QUERIES[(method, path)]
    return client.request(method, url, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def http(api_server):
    import httpx

    with httpx.Client(base_url=api_server.base_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), sorted(NEEDS), ids=[f"{m} {p}" for m, p in sorted(NEEDS)])
def test_permission_matrix(api_server, http, method, path, caller):
    need = NEEDS[(method, path)]
    want = expected(need, caller)
    rep = _request(api_server, http, method, path, caller)
    detail = f"{caller} {method} {path} -> {rep.status_code} {rep.text[:300]}"
    assert rep.status_code < 500, detail
    if want == "401":
        assert rep.status_code == 401, detail
        assert rep.json()["error"]["code"] == "unauthorized", detail
        assert rep.headers.get("WWW-Authenticate") == "Bearer", detail
    elif want == "403":
        assert rep.status_code == 403, detail
        assert rep.json()["error"]["code"] == "forbidden", detail
    else:
        assert rep.status_code not in (401, 403), detail
    assert rep.headers.get("X-Request-ID"), detail


def test_the_matrix_follows_the_role_hierarchy():
    """Sanity of the table itself: each role may do everything the role below it may."""
    for need in set(NEEDS.values()):
        if isinstance(need, Permission):
            granted = [allows(role, need) for role in ROLES]
            assert granted == sorted(granted), (
                f"{need} is granted out of order: {dict(zip(ROLES, granted, strict=False))}"
            )
            assert granted[-1], f"not even admin has {need}"


# -- GraphQL -----------------------------------------------------------------------------------------------

# Each field of Query and Mutation: the permission it needs and a harmless request of it (ids that name
# nothing, a watchlist key that is not watched, a task that is not started).
GRAPHQL_NEEDS: dict[str, tuple[Permission, str]] = {
    "tweets": (P.DATA_READ, "{ tweets(first: 1) { edges { cursor } } }"),
    "tweet": (P.DATA_READ, '{ tweet(id: "999999") { id } }'),
    "search": (P.DATA_READ, '{ search(q: "python", first: 1) { edges { cursor } } }'),
    "user": (P.DATA_READ, '{ user(ref: "nobody") { id } }'),
    "watchlist": (P.DATA_READ, "{ watchlist { key } }"),
    "backfill": (P.DATA_READ, '{ backfill(id: "999999") { id status } }'),
    "trends": (P.ANALYTICS_READ, "{ trends(first: 1) { name } }"),
    "sentiment": (P.ANALYTICS_READ, "{ sentiment { day } }"),
    "tasks": (P.TASKS_READ, "{ tasks(first: 1) { edges { cursor } } }"),
    "task": (P.TASKS_READ, '{ task(id: "00000000-0000-4000-8000-000000000000") { id } }'),
    "addWatchKey": (
        P.WATCHLIST_WRITE,
        'mutation { addWatchKey(key: "matrix graphql", budget: "3 pages") { id } }',
    ),
    "updateWatchKey": (P.WATCHLIST_WRITE, 'mutation { updateWatchKey(id: "999999", budget: "all") { id } }'),
    "removeWatchKey": (P.WATCHLIST_WRITE, 'mutation { removeWatchKey(id: "999999") { id } }'),
    # a key not on the watchlist: refused (BAD_USER_INPUT) before any request to X
    "startBackfill": (
        P.WATCHLIST_WRITE,
        'mutation { startBackfill(key: "matrix backfill", since: "2026-06-01", dryRun: true) { id } }',
    ),
    "cancelBackfill": (P.WATCHLIST_WRITE, 'mutation { cancelBackfill(id: "999999") { id status } }'),
    "createTask": (
        P.TASKS_WRITE,
        'mutation { createTask(task: {type: SEARCH, target: "python", start: false}) { id } }',
    ),
    "startTask": (P.TASKS_WRITE, 'mutation { startTask(id: "00000000-0000-4000-8000-000000000000") { id } }'),
    "stopTask": (P.TASKS_WRITE, 'mutation { stopTask(id: "00000000-0000-4000-8000-000000000000") { id } }'),
    "deleteTask": (P.TASKS_WRITE, 'mutation { deleteTask(id: "00000000-0000-4000-8000-000000000000") }'),
}


def test_every_graphql_field_is_in_the_table():
    import graphql

    from xget_pipelines.serving.graphql import build_schema

    schema = graphql.build_schema(build_schema().as_str())
    served = {*schema.query_type.fields, *schema.mutation_type.fields}
    missing, stale = sorted(served - set(GRAPHQL_NEEDS)), sorted(set(GRAPHQL_NEEDS) - served)
    assert not missing, (
        f"GraphQL fields without a decision on who may call them: add them to GRAPHQL_NEEDS: {missing}"
    )
    assert not stale, f"GRAPHQL_NEEDS names fields the schema does not have (renamed or removed?): {stale}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("field", sorted(GRAPHQL_NEEDS))
def test_graphql_permission_matrix(api_server, http, field, caller):
    need, query = GRAPHQL_NEEDS[field]
    want = expected(need, caller)
    headers = {}
    if caller == "bad_token":
        headers["Authorization"] = "Bearer not.a.valid-token"
    elif caller != "anonymous":
        headers.update(api_server.headers(caller))
    rep = http.post("/v1/graphql", json={"query": query}, headers=headers)
    detail = f"{caller} {field} -> {rep.status_code} {rep.text[:300]}"
    if want == "401":
        assert rep.status_code == 401 and rep.json()["error"]["code"] == "unauthorized", detail
        return
    assert rep.status_code == 200, detail
    codes = {(e.get("extensions") or {}).get("code") for e in rep.json().get("errors") or []}
    assert "INTERNAL" not in codes, detail
    if want == "403":
        assert codes == {"FORBIDDEN"} and rep.json()["data"] == {field: None}, detail
    else:
        assert "FORBIDDEN" not in codes, detail
