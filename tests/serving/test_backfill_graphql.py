"""GraphQL's ``startBackfill`` and ``cancelBackfill`` mutations and ``backfill`` query over real HTTP: REST's
permission, checks and answers (``routes/backfills.py``), the estimate sampling the emulator over HTTP."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.serving.conftest import api_over_emulator
from xget_pipelines.core.db import backfills
from xget_pipelines.core.db.engine import get_engine

TODAY = dt.datetime.now(dt.UTC).date()
YESTERDAY = TODAY - dt.timedelta(days=1)
SINCE = TODAY - dt.timedelta(days=9)  # the small world's first day
ESTIMATE = (
    "days sampled { day outcome pages items } daysToFetch pages pagesLow pagesHigh capacity { accounts }"
)
START = (
    "mutation($k: String!, $s: Date!, $u: Date, $n: Int, $d: Boolean! = false) "
    "{ startBackfill(key: $k, since: $s, until: $u, samples: $n, dryRun: $d) "
    "{ id status key since until estimate { ESTIMATE } progress { days daysDone pages estimatedPages } } }"
).replace("ESTIMATE", ESTIMATE)
READ = (
    "query($id: ID!) { backfill(id: $id) { id status key since until runs createdAt "
    "estimate { ESTIMATE } progress { days daysDone pages estimatedPages eta } } }"
).replace("ESTIMATE", ESTIMATE)

CANCEL = "mutation($id: ID!) { cancelBackfill(id: $id) { id status error finishedAt } }"


@pytest.fixture(scope="module")
def served(tmp_path_factory, small_world):
    with api_over_emulator(
        tmp_path_factory.mktemp("backfill-graphql"), small_world, ["gq1", "gq2"]
    ) as served:
        yield served


def gql(api, role: str, query: str, variables: dict) -> dict:
    rep = httpx.post(
        f"{api.base_url}/v1/graphql",
        json={"query": query, "variables": variables},
        headers=api.headers(role),
        timeout=120,
    )
    assert rep.status_code == 200, rep.text
    return rep.json()


def test_start_backfill_needs_watchlist_write(served):
    api, term = served
    for role in ("viewer", "analyst"):
        body = gql(api, role, START, {"k": term, "s": SINCE.isoformat(), "d": True})
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"} and "watchlist:write" in error["message"]
        assert body["data"] == {"startBackfill": None}
    assert backfills.latest(get_engine(api.settings.resolved_database_url)) is None


def test_a_bad_key_or_day_is_bad_user_input_naming_the_argument(served):
    api, term = served
    cases = [
        ({"k": "not watched", "s": SINCE.isoformat()}, "key", "not on the watchlist"),
        ({"k": "x" * 300, "s": SINCE.isoformat()}, "key", "at most 256"),
        ({"k": term, "s": "2020-01-01"}, "since", "XGET_PARTITIONS_START_DATE"),
        ({"k": term, "s": YESTERDAY.isoformat(), "u": SINCE.isoformat()}, "since", "after"),
        (
            {"k": term, "s": SINCE.isoformat(), "u": (TODAY + dt.timedelta(days=2)).isoformat()},
            "until",
            "future",
        ),
        ({"k": term, "s": SINCE.isoformat(), "n": 0}, "samples", "greater than or equal to 1"),
    ]
    for variables, field, words in cases:
        body = gql(api, "operator", START, {**variables, "d": True})
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, (variables, error)
        assert words in error["message"], error["message"]
    # A day that is no date is refused by GraphQL's own validation of the Date scalar, before the resolver
    # (no extensions.code, as for every argument of the schema), naming the variable and the value.
    (error,) = gql(api, "operator", START, {"k": term, "s": "2026-13-01", "d": True})["errors"]
    assert "Variable '$s' got invalid value '2026-13-01'" in error["message"]
    engine = get_engine(api.settings.resolved_database_url)
    assert backfills.latest(engine) is None  # nothing was launched


def test_start_backfill_returns_the_estimate_and_an_id_the_backfill_query_reads(served):
    api, term = served
    variables = {"k": term, "s": SINCE.isoformat(), "u": YESTERDAY.isoformat(), "n": 3}
    dry = gql(api, "operator", START, {**variables, "d": True})
    assert not dry.get("errors"), dry
    got = dry["data"]["startBackfill"]
    assert (got["id"], got["status"], got["progress"]) == (None, "DRY_RUN", None)
    est = got["estimate"]
    assert est["days"] == 9 and len(est["sampled"]) == 3 and est["daysToFetch"] == 6
    assert all(s["pages"] >= 1 and s["outcome"] == "complete" for s in est["sampled"])
    assert est["pagesLow"] <= est["pages"] <= est["pagesHigh"] and est["pages"] > 0
    assert est["capacity"]["accounts"] == 2

    made = gql(api, "operator", START, variables)
    assert not made.get("errors"), made
    created = made["data"]["startBackfill"]
    assert created["status"] == "RUNNING" and created["id"]
    assert (created["key"], created["since"], created["until"]) == (
        term,
        SINCE.isoformat(),
        YESTERDAY.isoformat(),
    )
    assert created["progress"]["estimatedPages"] == created["estimate"]["pages"]
    engine = get_engine(api.settings.resolved_database_url)
    stored = backfills.get(engine, int(created["id"]))
    assert stored.status == backfills.RUNNING and len(stored.days) == 9
    assert stored.created_by == api.users["operator"].id  # audited as the caller, as REST does

    # Every role reads it, with what REST's GET answers.
    seen = gql(api, "viewer", READ, {"id": created["id"]})
    assert not seen.get("errors"), seen
    backfill = seen["data"]["backfill"]
    assert backfill["estimate"] == created["estimate"] and backfill["runs"] == {}
    rest = httpx.get(
        f"{api.base_url}/v1/watchlist/backfills/{created['id']}", headers=api.headers("viewer"), timeout=30
    ).json()
    assert backfill["estimate"]["pages"] == rest["estimate"]["pages"] == rest["progress"]["estimated_pages"]
    assert backfill["progress"]["days"] == rest["progress"]["days"] == len(stored.fetch)

    (missing,) = gql(api, "viewer", READ, {"id": "999999"})["errors"]
    assert (
        missing["extensions"] == {"code": "NOT_FOUND", "field": "id"}
        and "no backfill 999999" in missing["message"]
    )
    (bad,) = gql(api, "viewer", READ, {"id": "abc"})["errors"]
    assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


def test_cancel_backfill_is_rests_cancel(served):
    api, term = served
    engine = get_engine(api.settings.resolved_database_url)
    variables = {"k": term, "s": (YESTERDAY - dt.timedelta(days=1)).isoformat(), "n": 1}
    made = gql(api, "operator", START, variables)
    assert not made.get("errors"), made
    backfill_id = made["data"]["startBackfill"]["id"]

    for role in ("viewer", "analyst"):
        body = gql(api, role, CANCEL, {"id": backfill_id})
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"} and "watchlist:write" in error["message"]
        assert body["data"] == {"cancelBackfill": None}
    assert backfills.get(engine, int(backfill_id)).status == backfills.RUNNING

    canceled = gql(api, "operator", CANCEL, {"id": backfill_id})
    assert not canceled.get("errors"), canceled
    got = canceled["data"]["cancelBackfill"]
    assert (got["id"], got["status"], got["finishedAt"]) == (backfill_id, "CANCELING", None)
    assert got["error"].startswith(f"canceled by {api.users['operator'].username} at ")

    backfills.record(engine, int(backfill_id), expect="CANCELING", status="CANCELED")  # as the sensor does
    (finished,) = gql(api, "operator", CANCEL, {"id": backfill_id})["errors"]
    assert finished["extensions"] == {"code": "CONFLICT", "field": "status"}, finished
    assert f"backfill {backfill_id} is CANCELED" in finished["message"]
    rest = httpx.post(
        f"{api.base_url}/v1/watchlist/backfills/{backfill_id}/cancel", headers=api.headers("operator")
    )
    assert rest.status_code == 409 and rest.json()["error"]["message"] == finished["message"]

    (missing,) = gql(api, "operator", CANCEL, {"id": "999999"})["errors"]
    assert missing["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    (bad,) = gql(api, "operator", CANCEL, {"id": "abc"})["errors"]
    assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
