"""The GraphQL API (/v1/graphql) of ``create_app`` over a tiny real lake and a SQLite control-plane DB:
nested reads, cursor pages, the depth/cost/alias limits, authentication, task ownership, error codes and
masking, and the batched author loader."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.serving.lake_fixture import build_small_lake
from xget_pipelines.core.auth import permissions
from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import create_user
from xget_pipelines.core.lake.live import LakeUnavailable
from xget_pipelines.core.tasks import build_spec
from xget_pipelines.serving.app import create_app
from xget_pipelines.settings import Settings

PASSWORD = "correct-horse-battery-staple"
URL = "/v1/graphql"
USERS = {"viewer": "viewer", "analyst": "analyst", "analyst2": "analyst", "operator": "operator"}


def settings_for(root, **overrides) -> Settings:
    values = {"api_rate_limit_per_minute": 0, **overrides}
    return Settings(home=root, lake_uri=str(root / "lake"), database_url=f"sqlite:///{root}/x.db", **values)


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str], users: dict[str, dict], lake: dict, app):
        self.client, self.tokens, self.users, self.lake, self.app = client, tokens, users, lake, app

    def post(self, query: str, who: str | None = "viewer", variables: dict | None = None):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.post(URL, json={"query": query, "variables": variables or {}}, headers=headers)

    def gql(self, query: str, who: str = "viewer", variables: dict | None = None) -> dict:
        """The answer of a query that must succeed: its data."""
        rep = self.post(query, who, variables)
        assert rep.status_code == 200, rep.text
        body = rep.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def errors(self, query: str, who: str = "viewer", variables: dict | None = None) -> list[dict]:
        """The errors of a query that must fail."""
        rep = self.post(query, who, variables)
        assert rep.status_code in (200, 400), rep.text
        errors = rep.json().get("errors")
        assert errors, rep.json()
        return errors


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("graphql")
    lake = build_small_lake(root / "lake")
    app = create_app(settings_for(root))
    engine = app.state.xget.engine
    users = {name: create_user(engine, name, PASSWORD, role) for name, role in USERS.items()}
    tasks = app.state.xget.tasks
    today = dt.datetime.now(dt.UTC).date()
    for owner, target in (("analyst", "python"), ("analyst", "duckdb"), ("analyst2", "delta lake")):
        tasks.create(build_spec("SEARCH", target, today, today), users[owner].id, start=False)
    with TestClient(app) as client:
        tokens = {}
        for name in USERS:
            rep = client.post(
                "/v1/auth/token", data={"grant_type": "password", "username": name, "password": PASSWORD}
            )
            assert rep.status_code == 200, rep.text
            tokens[name] = rep.json()["access_token"]
        yield Api(client, tokens, users, lake, app)


# -- reads -------------------------------------------------------------------------------------------------


def test_user_with_nested_tweets_metrics_author_sentiment_profile_and_similar(api):
    data = api.gql("""{ user(ref: "@alice") {
        id username displayName followersCount
        tweets(first: 10) { edges { node { id text authorId
            metrics { likes retweets replies quotes bookmarks views }
            author { id username } sentiment { label score modelVersion } } }
          pageInfo { hasNextPage endCursor } }
        profile { userId tweets topHashtags activeHours }
        similar { userId username similarity } } }""")["user"]
    lake = api.lake
    alice = lake["users"]["alice"]
    assert (data["id"], data["username"], data["displayName"], data["followersCount"]) == (
        str(alice),
        "alice",
        "Alice A.",
        1200,
    )
    mine = sorted((t for t, a in lake["authors"].items() if a == alice), reverse=True)  # newest first
    nodes = [e["node"] for e in data["tweets"]["edges"]]
    assert [n["id"] for n in nodes] == [str(t) for t in mine]
    assert all(isinstance(n["id"], str) and int(n["id"]) > 2**53 for n in nodes)  # ids beyond JavaScript's
    for node in nodes:
        tweet_id = int(node["id"])
        i = lake["tweets"].index(tweet_id)
        assert node["metrics"] == {
            "likes": lake["likes"][tweet_id],
            "retweets": i,
            "replies": 1,
            "quotes": 0,
            "bookmarks": 0,
            "views": 100 + i,
        }
        assert node["author"] == {"id": str(alice), "username": "alice"} and node["authorId"] == str(alice)
        assert (node["sentiment"] or {}).get("label") == lake["sentiment"].get(tweet_id)
    first = lake["tweets"][0]  # scored twice: the newer score is served
    assert next(n for n in nodes if n["id"] == str(first))["sentiment"] == {
        "label": "positive",
        "score": 0.8,
        "modelVersion": "vader-2",
    }
    assert data["tweets"]["pageInfo"]["hasNextPage"] is False
    assert data["profile"] == {
        "userId": str(alice),
        "tweets": 2,
        "topHashtags": ["python", "data"],
        "activeHours": [8, 9],
    }
    assert data["similar"] == [{"userId": str(lake["users"]["bob"]), "username": "bob", "similarity": 0.91}]


def test_a_user_without_profile_has_null_profile_and_no_similar_users(api):
    data = api.gql('{ user(ref: "carol_x") { id profile { tweets } similar { userId } } }')["user"]
    assert data == {"id": str(api.lake["users"]["carol_x"]), "profile": None, "similar": []}


def test_cursor_pages_walk_every_tweet_once_newest_first(api):
    query = """query Page($after: String) { tweets(first: 2, after: $after) {
        edges { cursor node { id createdAt } } pageInfo { hasNextPage endCursor } } }"""
    seen, after, pages = [], None, 0
    while True:
        page = api.gql(query, variables={"after": after})["tweets"]
        pages += 1
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [str(t) for t in sorted(api.lake["tweets"], reverse=True)]  # snowflakes: newest is largest
    assert len(set(seen)) == len(seen)
    # any edge's cursor resumes right after that edge
    first_page = api.gql(query)["tweets"]
    rest = api.gql(
        "query($a: String) { tweets(first: 10, after: $a) { edges { node { id } } } }",
        variables={"a": first_page["edges"][0]["cursor"]},
    )["tweets"]["edges"]
    assert [e["node"]["id"] for e in rest] == seen[1:]


def test_filters_search_and_one_tweet(api):
    lake = api.lake
    bob = lake["users"]["bob"]
    data = api.gql("""{ byBob: tweets(filter: {user: "bob"}) { edges { node { author { username } } } }
        media: tweets(filter: {hasMedia: true}) { edges { node { hasMedia } } }
        search(q: "python") { backend edges { node { text } } } }""")
    assert [e["node"]["author"]["username"] for e in data["byBob"]["edges"]] == ["bob"] * sum(
        1 for a in lake["authors"].values() if a == bob
    )
    assert len(data["media"]["edges"]) == 3 and all(e["node"]["hasMedia"] for e in data["media"]["edges"])
    assert data["search"]["backend"] == "lake"
    assert sorted(e["node"]["text"] for e in data["search"]["edges"]) == [
        "hello #python world",
        "quarterly numbers #data #python",
        "ünïcödé 🐍 tweet #python",
    ]
    tweet_id = lake["tweets"][0]
    one = api.gql(
        "query($id: ID!) { tweet(id: $id) { id text sentiment { label } author { username } } }",
        variables={"id": str(tweet_id)},
    )["tweet"]
    assert one == {
        "id": str(tweet_id),
        "text": "hello #python world",
        "sentiment": {"label": "positive"},
        "author": {"username": "alice"},
    }


def test_trends_and_sentiment_days(api):
    base = api.lake["base"]
    trends = api.gql(
        "query($s: DateTime, $u: DateTime) { trends(since: $s, until: $u) { name count burst } }",
        variables={
            "s": (base - dt.timedelta(hours=6)).isoformat(),
            "u": (base + dt.timedelta(hours=1)).isoformat(),
        },
    )["trends"]
    assert trends == [
        {"name": "python", "count": sum(20 - h for h in range(6)), "burst": True},
        {"name": "data", "count": sum(5 + h for h in range(6)), "burst": False},
    ]
    days = api.gql('{ sentiment(watchKey: "#python") { watchKey day tweets meanScore } }')["sentiment"]
    assert [d["day"] for d in days] == sorted(d["day"] for d in days) and len(days) == 2
    assert {d["watchKey"] for d in days} == {"#python"} and days[-1]["tweets"] == 10


# -- limits ------------------------------------------------------------------------------------------------


def test_depth_limit(api):
    deep = (
        "{ tweets(first: 1) { edges { node { author { tweets(first: 1) { edges { node { author { "
        "tweets(first: 1) { edges { node { id } } } } } } } } } } } }"
    )
    errors = api.errors(deep)
    assert any("exceeds maximum operation depth of 8" in e["message"] for e in errors), errors
    # one level of re-nesting is within the limit
    api.gql(
        "{ tweets(first: 1) { edges { node { author { tweets(first: 1) { edges { node { id } } } } } } } }"
    )


def test_cost_limit_counts_first_along_nesting_with_variables_and_defaults(api):
    nested = (
        "query($n: Int!) { tweets(first: $n) { edges { node { author { tweets(first: $n) { "
        "edges { node { id } } } } } } } }"
    )
    rep = api.post(nested, variables={"n": 101})
    body = rep.json()
    assert body.get("data") is None
    (error,) = body["errors"]
    # tweets: 1 (it reads) + 101 items, and each item's author (1) and author's tweets (1 + 101)
    assert error["message"].startswith("query cost 10,505 exceeds the limit of 10,000")  # 1 + 101 + 101 * 103
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 10_505, "maxCost": 10_000}
    rep = api.post(nested, variables={"n": 97})  # 1 + 97 + 97 * 99 = 9,701: runs
    assert not rep.json().get("errors")
    assert rep.json()["extensions"]["cost"] == {"estimated": 9_701, "limit": 10_000}
    # defaults count (first: 50) and fragments too: 1 + 100 + 100 x (1 + 51 + 51)
    errors = api.errors("""{ tweets(first: 100) { edges { node { author { ...T } } } } }
        fragment T on XUser { a: tweets { edges { node { id } } } b: tweets { edges { node { id } } } }""")
    assert len(errors) == 1
    assert errors[0]["message"].startswith("query cost 10,401 exceeds the limit of 10,000")


def test_alias_limit(api):
    query = "{ " + " ".join(f'a{i}: tweet(id: "1") {{ id }}' for i in range(31)) + " }"
    errors = api.errors(query)
    assert any("31 aliases found. Allowed: 30" in e["message"] for e in errors), errors


def test_first_is_bounded(api):
    (error,) = api.errors("{ tweets(first: 501) { edges { node { id } } } }")
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    assert "between 1 and 500" in error["message"]


# -- authentication, permissions, ownership ----------------------------------------------------------------


def test_unauthenticated_and_bad_credentials_get_401_in_the_api_error_shape(api):
    rep = api.post("{ tweets { edges { node { id } } } }", who=None)
    assert rep.status_code == 401
    assert rep.headers["WWW-Authenticate"] == "Bearer"
    error = rep.json()["error"]
    assert error["code"] == "unauthorized" and "authentication required" in error["message"]
    assert error["request_id"] == rep.headers["X-Request-ID"]
    rep = api.client.post(
        URL,
        json={"query": "{ tweets { edges { node { id } } } }"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert rep.status_code == 401 and rep.json()["error"]["code"] == "unauthorized"
    assert api.client.get(URL, params={"query": "{ __typename }"}).status_code == 401  # GET queries too


def test_requests_that_are_not_graphql_get_400_in_the_api_error_shape(api):
    headers = {"Authorization": f"Bearer {api.tokens['viewer']}", "Content-Type": "application/json"}
    rep = api.client.post(URL, content=b"{not json", headers=headers)
    assert rep.status_code == 400
    assert rep.json()["error"] | {"request_id": None} == {
        "code": "bad_request",
        "field": None,
        "request_id": None,
        "message": "Unable to parse request body as JSON",
    }
    rep = api.client.post(URL, json={"variables": {}}, headers=headers)
    assert rep.status_code == 400 and "No GraphQL query" in rep.json()["error"]["message"]
    rep = api.client.post(URL, json=[{"query": "{ __typename }"}] * 2, headers=headers)
    assert rep.status_code == 400 and rep.json()["error"]["message"] == "Batching is not enabled"
    with pytest.raises(WebSocketDisconnect):  # no subscriptions: no websocket endpoint
        with api.client.websocket_connect(URL, subprotocols=["graphql-transport-ws"]):
            pass


def test_graphiql_page_needs_no_credentials_and_introspection_fits_the_limits(api):
    rep = api.client.get(URL, headers={"Accept": "text/html"})
    assert rep.status_code == 200 and "graphiql" in rep.text.lower()
    from graphql import get_introspection_query

    schema = api.gql(get_introspection_query(descriptions=True))["__schema"]  # what GraphiQL asks first
    assert {"Query", "Tweet", "XUser", "TweetConnection", "Long"} <= {t["name"] for t in schema["types"]}


def test_an_api_key_in_x_api_key_authenticates(api):
    from xget_pipelines.core.auth.keys import create_key

    _, key = create_key(api.app.state.xget.engine, api.users["viewer"].id, "graphql test", None, None)
    rep = api.client.post(
        URL, json={"query": "{ tweets(first: 1) { edges { node { id } } } }"}, headers={"X-API-Key": key}
    )
    assert rep.status_code == 200 and len(rep.json()["data"]["tweets"]["edges"]) == 1


def test_tasks_are_the_callers_own_unless_tasks_admin(api):
    query = "{ tasks { edges { node { id target status createdBy } } pageInfo { hasNextPage } } }"
    ids = {name: api.users[name].id for name in USERS}

    def targets(who):
        nodes = [e["node"] for e in api.gql(query, who)["tasks"]["edges"]]
        return {n["target"]: n["createdBy"] for n in nodes}

    assert targets("analyst") == {"python": ids["analyst"], "duckdb": ids["analyst"]}
    assert targets("analyst2") == {"delta lake": ids["analyst2"]}
    assert targets("viewer") == {}
    assert targets("operator") == {
        "python": ids["analyst"],
        "duckdb": ids["analyst"],
        "delta lake": ids["analyst2"],
    }
    others = api.gql("{ tasks { edges { node { id } } } }", "analyst2")["tasks"]["edges"][0]["node"]["id"]
    (error,) = api.errors("query($id: ID!) { task(id: $id) { id } }", "analyst", {"id": others})
    assert error["extensions"]["code"] == "NOT_FOUND"
    (error,) = api.errors("query($id: ID!) { task(id: $id) { id } }", "viewer", {"id": others})
    assert error["extensions"]["code"] == "NOT_FOUND"
    task = api.gql(
        "query($id: ID!) { task(id: $id) { id type status since runs { day } } }", "operator", {"id": others}
    )["task"]
    assert (task["id"], task["type"], task["status"], task["runs"]) == (others, "SEARCH", "CREATED", [])
    # pages of one
    page = api.gql(
        "{ tasks(first: 1, status: CREATED) { edges { cursor } pageInfo { hasNextPage endCursor } } }",
        "analyst",
    )["tasks"]
    rest = api.gql(
        "query($a: String) { tasks(first: 5, after: $a) { edges { node { id } } } }",
        "analyst",
        {"a": page["pageInfo"]["endCursor"]},
    )["tasks"]["edges"]
    assert page["pageInfo"]["hasNextPage"] and len(rest) == 1


def test_a_role_without_the_permission_gets_forbidden(api, monkeypatch):
    monkeypatch.setitem(permissions._GRANTS, "viewer", {Permission.DATA_READ, Permission.ANALYTICS_READ})
    rep = api.post("{ tasks { edges { node { id } } } tweets(first: 1) { edges { node { id } } } }")
    body = rep.json()
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"} and "tasks:read" in error["message"]
    assert error["path"] == ["tasks"]
    assert len(body["data"]["tweets"]["edges"]) == 1  # the fields it may read still answer


def test_rate_limit_is_per_principal_like_rest(tmp_path):
    build_small_lake(tmp_path / "lake", analytics=False)
    app = create_app(settings_for(tmp_path, api_rate_limit_per_minute=1, api_rate_limit_burst=1))
    create_user(app.state.xget.engine, "viewer", PASSWORD, "viewer")
    with TestClient(app) as client:
        token = client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": "viewer", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post(URL, json={"query": "{ __typename }"}, headers=headers).status_code == 200
        rep = client.post(URL, json={"query": "{ __typename }"}, headers=headers)
        assert rep.status_code == 429 and int(rep.headers["Retry-After"]) >= 1
        assert rep.json()["error"]["code"] == "rate_limited"


# -- errors ------------------------------------------------------------------------------------------------


def test_not_found_and_bad_input_codes(api):
    (error,) = api.errors('{ tweet(id: "1234567890123456789") { id } }')
    assert error["extensions"] == {"code": "NOT_FOUND"} and error["path"] == ["tweet"]
    assert "no tweet 1234567890123456789" in error["message"]
    (error,) = api.errors('{ tweet(id: "abc") { id } }')
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    (error,) = api.errors('{ user(ref: "nobody_here") { id } }')
    assert error["extensions"] == {"code": "NOT_FOUND"}
    (error,) = api.errors(
        '{ tweets(filter: {since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z"}) '
        "{ edges { node { id } } } }"
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.since"}
    (error,) = api.errors('{ tweets(after: "not-a-cursor") { edges { node { id } } } }')
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    (error,) = api.errors('{ tasks(after: "no-such-task") { edges { node { id } } } }', "analyst")
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


def test_lake_unavailable_is_unavailable_and_unexpected_errors_are_masked(api, monkeypatch, caplog):
    state = api.app.state.xget

    def down(*args, **kwargs):
        raise LakeUnavailable("cannot read the lake at s3://bucket: timed out")

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /srv/xget/lake")

    monkeypatch.setattr(state.tweets, "page", down)
    (error,) = api.errors("{ tweets { edges { node { id } } } }")
    assert error["extensions"] == {"code": "UNAVAILABLE"} and "cannot read the lake" in error["message"]
    monkeypatch.setattr(state.analytics, "trends", broken)
    rep = api.post("{ trends { name } }")
    (error,) = rep.json()["errors"]
    assert error["message"] == "unexpected error; quote the request id when reporting it"
    assert error["extensions"] == {"code": "INTERNAL", "request_id": rep.headers["X-Request-ID"]}
    assert "secret" not in rep.text and "Traceback" not in rep.text
    assert any(
        "unexpected error in GraphQL field trends" in r.getMessage() and r.exc_info for r in caplog.records
    )


# -- batching ------------------------------------------------------------------------------------------------


def test_authors_load_in_one_users_query_per_request(api, monkeypatch):
    reader = api.app.state.xget.tweets
    original = reader.users_by_ids
    calls: list[list[int]] = []

    def counting(ids):
        calls.append(sorted(ids))
        return original(ids)

    monkeypatch.setattr(reader, "users_by_ids", counting)
    data = api.gql("{ tweets(first: 5) { edges { node { authorId author { id username } } } } }")
    edges = data["tweets"]["edges"]
    assert len(edges) == 5
    assert len(calls) == 1 and calls[0] == sorted(set(api.lake["authors"].values()))
    names = {uid: name for name, uid in api.lake["users"].items()}
    for e in edges:
        author_id = e["node"]["authorId"]
        assert e["node"]["author"] == {"id": author_id, "username": names[int(author_id)]}
    calls.clear()
    api.gql("{ tweets(first: 5) { edges { node { author { username } } } } }")
    assert len(calls) == 1  # a new request, a new loader (no cache across requests)


# -- mutations (last in this module: the task listings above count the module's tasks) ----------------------

ENTRY = "id key kind active budget budgetIsDefault product expand"
ADD = (
    "mutation($k: String!, $b: String, $p: String, $e: [String!]) "
    "{ addWatchKey(key: $k, budget: $b, product: $p, expand: $e) { ENTRY } }"
)
UPDATE = "mutation($id: ID!, $b: String) { updateWatchKey(id: $id, budget: $b) { ENTRY } }"
REMOVE = "mutation($id: ID!) { removeWatchKey(id: $id) { active } }"


def test_watchlist_mutations_need_watchlist_write_and_say_what_is_wrong(api):
    (denied,) = api.errors(ADD.replace("ENTRY", ENTRY), "analyst", {"k": "graphql term"})
    assert denied["extensions"]["code"] == "FORBIDDEN" and "watchlist:write" in denied["message"]
    values = {"k": "graphql term", "b": "all", "p": "top", "e": ["retweeters:10", "conversations"]}
    made = api.gql(ADD.replace("ENTRY", ENTRY), "operator", values)["addWatchKey"]
    assert made["expand"] == ["conversations:1", "retweeters:10"]
    assert (made["key"], made["kind"], made["budget"], made["product"], made["active"]) == (
        "graphql term",
        "search",
        "all",
        "Top",
        True,
    )
    listed = api.gql("{ watchlist { key budget } }", "viewer")["watchlist"]  # every role reads it
    assert {"key": "graphql term", "budget": "all"} in listed
    rest = api.client.get("/v1/watchlist", headers={"Authorization": f"Bearer {api.tokens['viewer']}"})
    assert {e["key"]: e["budget"] for e in rest.json()["items"]}["graphql term"] == "all"  # one watchlist

    (again,) = api.errors(ADD.replace("ENTRY", "id"), "operator", {"k": "graphql term"})
    assert again["extensions"]["code"] == "CONFLICT" and "already on the watchlist" in again["message"]
    (bad,) = api.errors(ADD.replace("ENTRY", "id"), "operator", {"k": "other", "b": "lots"})
    assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": "budget"}
    (bad,) = api.errors(ADD.replace("ENTRY", "id"), "operator", {"k": "other", "e": ["quotes:2"]})
    assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": "expand"}
    assert "takes no number" in bad["message"]

    update = UPDATE.replace("ENTRY", ENTRY)
    changed = api.gql(update, "operator", {"id": made["id"], "b": "5 items"})["updateWatchKey"]
    assert (changed["budget"], changed["product"], changed["budgetIsDefault"]) == ("5 items", "Latest", False)
    assert changed["expand"] == []  # omitted parameters go back to their defaults
    (bad_id,) = api.errors(update, "operator", {"id": "abc", "b": "all"})
    assert bad_id["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    (missing,) = api.errors(update, "operator", {"id": "999999", "b": "all"})
    assert missing["extensions"]["code"] == "NOT_FOUND"
    removed = api.gql(REMOVE, "operator", {"id": made["id"]})
    assert removed["removeWatchKey"]["active"] is False
    assert "graphql term" not in {e["key"] for e in api.gql("{ watchlist { key } }", "viewer")["watchlist"]}


def test_task_mutations_create_start_stop_and_delete_with_rest_checks(api):
    create = "mutation($t: TaskInput!) { createTask(task: $t) { id status params priority schedule nextAt } }"
    task = {
        "type": "SEARCH",
        "target": "graphql tasks",
        "start": False,
        "params": {"budget": "all"},
        "priority": 5,
        "schedule": "0 6 * * *",
    }
    (denied,) = api.errors(create, "viewer", {"t": task})
    assert denied["extensions"]["code"] == "FORBIDDEN"
    made = api.gql(create, "analyst", {"t": task})["createTask"]
    assert (made["status"], made["params"], made["priority"], made["schedule"]) == (
        "CREATED",
        {"budget": "all"},
        5,
        "0 6 * * *",
    )
    assert made["nextAt"] is None  # set when it starts
    for change, field in (
        ({"params": {"label": 1}}, "params.label"),
        ({"params": ["all"]}, "params"),
        ({"schedule": "every day"}, "schedule"),
        ({"priority": 500}, "priority"),
        ({"target": "@someone"}, "target"),
    ):
        (bad,) = api.errors(create, "analyst", {"t": {**task, **change}})
        assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, bad
    ids = {"id": made["id"]}
    started = api.gql("mutation($id: ID!) { startTask(id: $id) { status nextAt } }", "analyst", ids)
    assert started["startTask"]["status"] == "PENDING" and started["startTask"]["nextAt"]
    (other,) = api.errors("mutation($id: ID!) { stopTask(id: $id) { status } }", "analyst2", ids)
    assert other["extensions"]["code"] == "NOT_FOUND"  # another analyst's task is not theirs to see
    stopped = api.gql("mutation($id: ID!) { stopTask(id: $id) { status } }", "analyst", ids)
    assert stopped["stopTask"]["status"] == "STOPPED"
    assert api.gql("mutation($id: ID!) { deleteTask(id: $id) }", "analyst", ids) == {"deleteTask": True}
    (gone,) = api.errors("query($id: ID!) { task(id: $id) { id } }", "analyst", ids)
    assert gone["extensions"]["code"] == "NOT_FOUND"
