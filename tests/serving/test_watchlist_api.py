"""GET /v1/watchlist/coverage over real HTTP, on partitions collected from the emulator."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import register_accounts
from tests.serving.conftest import start_api_server
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.watchlist import add_keys, params_of
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.scrape import scrape_partition

TODAY = dt.datetime.now(dt.UTC).date()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def collected(tmp_path_factory, small_world):
    """The API over a lake where a key's yesterday was cut at a 2-page budget and another key's failed."""
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import EmulatorServer

    emu = EmulatorServer(small_world, EmulatorSettings(window_seconds=2))
    emu.start()
    try:
        with start_api_server(tmp_path_factory.mktemp("coverage-api")) as api:
            engine = get_engine(api.settings.resolved_database_url)
            lake = Lake(api.settings.resolved_lake_uri)
            term = small_world.watchlist_suggestions()["terms"][0]
            add_keys(engine, [term, "@nobody_here"])
            pool = register_accounts(emu, engine, ["api1"])
            with XClient(emu.graphql_url, pool) as client:
                scrape_partition(
                    client, lake, engine, key=term, day=YESTERDAY, run_id="r1", page_size=10, max_pages=2
                )
                with pytest.raises(LookupError):
                    scrape_partition(client, lake, engine, key="@nobody_here", day=TODAY, run_id="r2")
            yield api, term
    finally:
        emu.stop()


def test_coverage_per_key_and_day_with_totals(collected):
    api, term = collected
    with api.client("viewer") as http:  # every role reads it
        rep = http.get("/v1/watchlist/coverage")
    assert rep.status_code == 200, rep.text
    body = rep.json()
    assert body["until"] == TODAY.isoformat()
    days = {(d["watch_key"], d["day"]): d for d in body["days"]}
    # added today, so expected from two days ago (the watchlist sensor's 3-day backfill)
    assert len(days) == 6
    cut = days[(term, YESTERDAY.isoformat())]
    assert (cut["outcome"], cut["pages"], cut["items"], cut["max_pages"], cut["run_id"]) == (
        "truncated",
        2,
        20,
        2,
        "r1",
    )
    failed = days[("@nobody_here", TODAY.isoformat())]
    assert failed["outcome"] == "failed" and "X has no user @nobody_here" in failed["reason"]
    assert days[(term, TODAY.isoformat())]["outcome"] == "missing"
    assert days[(term, TODAY.isoformat())]["pages"] is None
    totals = {t["watch_key"]: t for t in body["totals"]}
    assert (totals[term]["truncated"], totals[term]["missing"], totals[term]["items"]) == (1, 2, 20)
    assert (totals["@nobody_here"]["failed"], totals["@nobody_here"]["missing"]) == (1, 2)
    assert body["total"] == {
        "watch_key": "*",
        "days": 6,
        "complete": 0,
        "truncated": 1,
        "failed": 1,
        "missing": 4,
        "pages": 3,
        "items": 20,
    }


def test_filters_by_key_and_days(collected):
    api, term = collected
    with api.client("viewer") as http:
        one = http.get(
            "/v1/watchlist/coverage",
            params={"key": term, "since": YESTERDAY.isoformat(), "until": YESTERDAY.isoformat()},
        ).json()
        assert [(d["watch_key"], d["outcome"]) for d in one["days"]] == [(term, "truncated")]
        older = http.get(
            "/v1/watchlist/coverage",
            params={"key": [term, "#never"], "since": "2026-01-01", "until": "2026-01-02"},
        ).json()
        assert [d["outcome"] for d in older["days"]] == ["missing"] * 4  # an explicit since: every day
        backwards = http.get(
            "/v1/watchlist/coverage", params={"since": TODAY.isoformat(), "until": YESTERDAY.isoformat()}
        )
        assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "since"
        bad_key = http.get("/v1/watchlist/coverage", params={"key": "a|b"})
        assert bad_key.status_code == 422 and bad_key.json()["error"]["field"] == "key"
        too_long = http.get("/v1/watchlist/coverage", params={"since": "2020-01-01", "until": "2026-01-01"})
        assert too_long.status_code == 422 and "366 days" in too_long.json()["error"]["message"]


def test_the_watchlist_is_read_by_everyone_and_changed_by_operators_with_its_parameters(collected):
    api, term = collected
    with api.client("operator") as op, api.client("viewer") as viewer, api.client("analyst") as analyst:
        made = op.post("/v1/watchlist", json={"key": " climate ", "budget": "all", "product": "top"})
        assert made.status_code == 201, made.text
        entry = made.json()
        got = (entry["key"], entry["kind"], entry["budget"], entry["product"])
        assert got == ("climate", "search", "all", "Top")
        assert entry["budget_is_default"] is False and entry["active"] is True
        # the scrape reads what the API stored
        engine = get_engine(api.settings.resolved_database_url)
        assert str(params_of(engine, "climate").budget) == "all"

        again = op.post("/v1/watchlist", json={"key": "climate"})
        assert again.status_code == 409
        assert f"PATCH /v1/watchlist/{entry['id']}" in again.json()["error"]["message"]
        for body, field in (
            ({"key": "climate", "budget": "lots"}, "budget"),
            ({"key": "climate", "product": "Media"}, "product"),
            ({"key": "a|b"}, "key"),
            ({"key": "climate2", "expand": ["threads"]}, "expand"),
            ({"key": "climate2", "expand": ["media"]}, "expand"),  # a search has no media tab
        ):
            bad = op.post("/v1/watchlist", json=body)
            assert bad.status_code == 422 and bad.json()["error"]["field"] == field, bad.text
        assert analyst.post("/v1/watchlist", json={"key": "rust"}).status_code == 403

        listed = viewer.get("/v1/watchlist").json()["items"]
        by_key = {e["key"]: e for e in listed}
        assert by_key[term]["budget"] == "50 pages" and by_key[term]["budget_is_default"] is True
        assert by_key["@nobody_here"]["kind"] == "account"

        new = {"budget": "2000 items", "expand": ["quotes", "conversations:5"]}
        changed = op.patch(f"/v1/watchlist/{entry['id']}", json=new)
        assert changed.status_code == 200
        assert (changed.json()["budget"], changed.json()["product"]) == ("2000 items", "Latest")
        assert changed.json()["expand"] == ["conversations:5", "quotes"]
        assert [str(e) for e in params_of(engine, "climate").expand] == ["conversations:5", "quotes"]
        assert viewer.get(f"/v1/watchlist/{entry['id']}").json()["budget"] == "2000 items"
        assert op.patch("/v1/watchlist/999999", json={}).status_code == 404

        gone = op.delete(f"/v1/watchlist/{entry['id']}")
        assert gone.status_code == 200 and gone.json()["active"] is False
        assert "climate" not in {e["key"] for e in viewer.get("/v1/watchlist").json()["items"]}
        inactive = viewer.get("/v1/watchlist", params={"include_inactive": True}).json()["items"]
        assert {e["key"]: e["active"] for e in inactive}["climate"] is False
        back = op.post("/v1/watchlist", json={"key": "climate"})  # re-added: active, default parameters
        assert back.status_code == 201 and back.json()["id"] == entry["id"]
        assert back.json()["budget_is_default"]
    with api.client("admin") as admin:
        log = admin.get("/v1/admin/audit", params={"subject": "watch:climate"}).json()
    actions = [a["action"] for a in log]
    assert "watchlist.update" in actions and "watchlist.remove" in actions
    assert actions.count("watchlist.add") == 2
