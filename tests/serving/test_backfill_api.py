"""POST /v1/watchlist/backfills (estimate, dry run, launch) and GET /v1/watchlist/backfills/{id} over real
HTTP, the estimate sampling the emulator over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.serving.conftest import api_over_emulator
from xget_pipelines.core.db import backfills
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.lake.delta import Lake

TODAY = dt.datetime.now(dt.UTC).date()
YESTERDAY = TODAY - dt.timedelta(days=1)
SINCE = TODAY - dt.timedelta(days=9)  # the small world's first day


@pytest.fixture(scope="module")
def served(tmp_path_factory, small_world):
    with api_over_emulator(tmp_path_factory.mktemp("backfill-api"), small_world, ["bf1", "bf2"]) as served:
        yield served


def test_a_dry_run_estimates_and_a_launch_creates_the_backfill(served):
    api, term = served
    body = {"key": term, "since": SINCE.isoformat(), "until": YESTERDAY.isoformat(), "samples": 3}
    with api.client("operator") as op, api.client("viewer") as viewer:
        dry = op.post("/v1/watchlist/backfills", json={**body, "dry_run": True}, timeout=120)
        assert dry.status_code == 200, dry.text
        got = dry.json()
        assert (got["id"], got["status"], got["progress"]) == (None, "DRY_RUN", None)
        est = got["estimate"]
        assert est["days"] == 9 and len(est["sampled"]) == 3 and est["days_to_fetch"] == 6
        assert all(s["pages"] >= 1 and s["outcome"] == "complete" for s in est["sampled"])
        assert est["pages_low"] <= est["pages"] <= est["pages_high"] and est["pages"] > 0
        assert est["capacity"]["operation"] == "SearchTimeline" and est["capacity"]["accounts"] == 2
        assert est["account_hours"] > 0 and est["eta"] is not None and est["advice"]
        lake = Lake(api.settings.resolved_lake_uri)
        sampled = {dt.date.fromisoformat(s["day"]) for s in est["sampled"]}
        assert {r.day for r in coverage.read(lake, [term])} == sampled  # real partitions, nothing launched
        engine = get_engine(api.settings.resolved_database_url)
        assert backfills.latest(engine) is None

        made = op.post("/v1/watchlist/backfills", json=body, timeout=120)
        assert made.status_code == 201, made.text
        created = made.json()
        # the dry run's days are collected: skipped, and parsed by the backfill without asking X again
        assert created["status"] == "RUNNING" and created["estimate"]["collected_days"] == 3
        assert len(created["estimate"]["sampled"]) == 3 and created["estimate"]["days_to_fetch"] == 3
        stored = backfills.get(engine, created["id"])
        assert (
            len(stored.parse) == 6
            and len(stored.fetch) == 3
            and set(stored.days) == {SINCE + dt.timedelta(days=i) for i in range(9)}
        )
        progress = created["progress"]
        assert (progress["days"], progress["days_done"], progress["pages"]) == (3, 0, 0)
        assert progress["estimated_pages"] == created["estimate"]["pages"] and progress["eta"] is not None

        seen = viewer.get(f"/v1/watchlist/backfills/{created['id']}")  # every role reads it
        assert seen.status_code == 200 and seen.json()["estimate"] == created["estimate"]
        assert viewer.get("/v1/watchlist/backfills/999999").status_code == 404


def test_backfills_are_refused_with_the_field_at_fault(served):
    api, term = served
    with api.client("operator") as op, api.client("analyst") as analyst:
        cases = [
            ({"key": "not watched", "since": SINCE.isoformat()}, "key", "not on the watchlist"),
            ({"key": "followers:@nasa", "since": SINCE.isoformat()}, "key", "not on the watchlist"),
            ({"key": term, "since": "2020-01-01"}, "since", "XGET_PARTITIONS_START_DATE"),
            ({"key": term, "since": YESTERDAY.isoformat(), "until": SINCE.isoformat()}, "since", "after"),
            (
                {
                    "key": term,
                    "since": SINCE.isoformat(),
                    "until": (TODAY + dt.timedelta(days=2)).isoformat(),
                },
                "until",
                "future",
            ),
        ]
        for body, field, words in cases:
            rep = op.post("/v1/watchlist/backfills", json={**body, "dry_run": True})
            assert rep.status_code == 422, rep.text
            assert rep.json()["error"]["field"] == field and words in rep.json()["error"]["message"]
        forbidden = analyst.post("/v1/watchlist/backfills", json={"key": term, "since": SINCE.isoformat()})
        assert forbidden.status_code == 403


def test_canceling_a_backfill_needs_watchlist_write_and_a_running_one(served):
    from xget_pipelines.core.auth.users import audit_log

    api, term = served
    engine = get_engine(api.settings.resolved_database_url)
    body = {"key": term, "since": (YESTERDAY - dt.timedelta(days=1)).isoformat(), "samples": 1}
    with api.client("operator") as op, api.client("analyst") as analyst, api.client("viewer") as viewer:
        made = op.post("/v1/watchlist/backfills", json=body, timeout=120)
        assert made.status_code == 201, made.text
        backfill_id = made.json()["id"]
        path = f"/v1/watchlist/backfills/{backfill_id}/cancel"
        for refused in (viewer.post(path), analyst.post(path)):
            assert refused.status_code == 403 and "watchlist:write" in refused.json()["error"]["message"]
        assert backfills.get(engine, backfill_id).status == backfills.RUNNING

        canceled = op.post(path)
        assert canceled.status_code == 200, canceled.text
        got = canceled.json()
        assert (got["id"], got["status"], got["finished_at"]) == (backfill_id, "CANCELING", None)
        assert got["error"].startswith(f"canceled by {api.users['operator'].username} at ")
        assert got["estimate"] == made.json()["estimate"]
        (entry,) = [a for a in audit_log(engine, f"watch:{term}") if a.action == "watchlist.backfill_cancel"]
        assert entry.user_id == api.users["operator"].id and entry.detail["id"] == backfill_id
        assert op.post(path).json()["status"] == "CANCELING"  # again: nothing changes

        backfills.record(engine, backfill_id, expect="CANCELING", status="CANCELED")  # as the sensor does
        finished = op.post(path)
        assert finished.status_code == 409, finished.text
        error = finished.json()["error"]
        assert error["field"] == "status" and f"backfill {backfill_id} is CANCELED" in error["message"]
        assert "only a RUNNING backfill can be canceled" in error["message"]
        missing = op.post("/v1/watchlist/backfills/999999/cancel")
        assert missing.status_code == 404 and "no backfill 999999" in missing.json()["error"]["message"]
