"""about_accounts materialized by Dagster against the emulator over HTTP, after a real scrape and merge: every
collected author gets its facts (a suspended one and a vanished handle their status, without failing the
run), a second run within the refresh period asks X nothing, a fact X changes is one new history row, a
re-run doubles nothing, and a budget asks for the biggest accounts first."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import httpx
import pyarrow as pa
import pytest

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.assets import about_accounts, entity_assets, ingest_assets
from xget_pipelines.core.about_accounts import ABOUT_ACCOUNTS, ABOUT_HISTORY
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.entities import USERS, USERS_SCHEMA
from xget_pipelines.core.x.raw_pages import RAW_TABLE
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource

ACCOUNTS, HISTORY = dg.AssetKey("entities_about_accounts"), dg.AssetKey("cleaned_about_account_history")
DAY = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
GHOST_ID = 999_000_001  # an author collected once whose handle X no longer knows


@pytest.fixture
def collected(emulator_factory, sqlite_url, tmp_path, small_world):
    """One search partition scraped and merged into entities/users, plus a suspended author and a vanished
    handle among them (as a collection of months would hold)."""
    emu = emulator_factory(window_seconds=2)
    register_accounts(emu, get_engine(sqlite_url), ["ab1", "ab2"])
    control_plane = control_plane_resource(sqlite_url)
    resources = {
        "lake": LakeResource(uri=str(tmp_path / "lake")),
        "control_plane": control_plane,
        "account_pool": AccountPoolResource(control_plane=control_plane),
        "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10, max_pages_per_partition=2),
    }
    instance = dg.DagsterInstance.ephemeral()
    key = small_world.watchlist_suggestions()["terms"][0]
    instance.add_dynamic_partitions("watchlist", [key])
    partition = dg.MultiPartitionKey({"date": DAY, "watch": key})
    for assets, key in ((ingest_assets, partition), (entity_assets, DAY)):
        assert dg.materialize(assets, resources=resources, instance=instance, partition_key=key).success
    suspended = next(u for u in small_world.users.people if u.unavailable)
    now = dt.datetime.now(dt.UTC)
    extra = [
        {"user_id": suspended.id, "username": suspended.screen_name, "followers_count": 5},
        {"user_id": GHOST_ID, "username": "gone_handle_01", "followers_count": 3},
    ]
    rows = [{**r, "first_seen": now, "last_seen": now, "bucket": r["user_id"] % 16} for r in extra]
    lake = resources["lake"].lake()
    lake.append(USERS, pa.Table.from_pylist(rows, schema=USERS_SCHEMA), partition_by=["bucket"])
    return emu, resources, instance, suspended


def materialize(collected, **about):
    _, resources, instance, _ = collected
    x_api = resources["x_api"]
    settings = {"graphql_url": x_api.graphql_url, "lease_deadline_s": 10, "about_max_per_run": 1000, **about}
    result = dg.materialize(
        [about_accounts], resources={**resources, "x_api": XApiResource(**settings)}, instance=instance
    )
    assert result.success
    mats = result.asset_materializations_for_node("about_accounts")
    (history,) = [m for m in mats if m.asset_key == HISTORY]
    (mat,) = [m for m in mats if m.asset_key == ACCOUNTS]
    assert history.metadata["rows_added"].value == mat.metadata["history_rows_added"].value
    return {k: v.value for k, v in mat.metadata.items()}


def table(resources, name: str) -> list[dict]:
    found = resources["lake"].lake().read(name)
    return [] if found is None else found.to_pylist()


def test_facts_land_for_every_author_then_only_changes_add_history(collected, small_world):
    emu, resources, _, suspended = collected
    users = table(resources, USERS)
    assert len(users) > 20

    first = materialize(collected)
    assert first["fetched"] == first["new"] == first["due"] == len(users) and first["failed"] == 0
    assert first["statuses"] == {"available": len(users) - 2, "suspended": 1, "not_found": 1}
    assert first["changes_seen"] == 0 and first["history_rows_added"] == len(users)
    current = {r["user_id"]: r for r in table(resources, ABOUT_ACCOUNTS)}
    assert set(current) == {u["user_id"] for u in users}  # every collected author, once
    assert current[suspended.id]["status"] == "suspended" and current[GHOST_ID]["status"] == "not_found"
    sample = next(u for u in small_world.users.people if u.id in current and not u.unavailable)
    truth = small_world.about(sample)
    assert current[sample.id]["account_based_in"] == truth.based_in
    assert current[sample.id]["username_changes"] == truth.username_changes
    raw = resources["lake"].lake().read(RAW_TABLE, {"watch_key": "about"}, columns=["operation", "target"])
    assert raw.num_rows == len(users) and set(raw["operation"].to_pylist()) == {"AboutAccountQuery"}

    again = materialize(collected)  # within the refresh period: X is not asked
    assert again["fetched"] == again["due"] == 0 and again["skipped_fresh"] == len(users)
    assert "preview" not in again

    moved_to = "Peru" if truth.based_in != "Peru" else "Ghana"
    changed = httpx.post(f"{emu.url}/_emulator/about/{sample.screen_name}", json={"based_in": moved_to})
    assert changed.raise_for_status().json()["based_in"] == moved_to
    refreshed = materialize(collected, about_refresh_days=0)
    assert refreshed["fetched"] == refreshed["refreshed"] == len(users) and refreshed["new"] == 0
    assert refreshed["changes_seen"] == refreshed["history_rows_added"] == 1
    assert refreshed["changes"] == [
        {"user_id": sample.id, "username": sample.screen_name, "account_based_in": [truth.based_in, moved_to]}
    ]
    history = [r for r in table(resources, ABOUT_HISTORY) if r["user_id"] == sample.id]
    assert [r["account_based_in"] for r in sorted(history, key=lambda r: r["observed_at"])] == [
        truth.based_in,
        moved_to,
    ]
    row = {r["user_id"]: r for r in table(resources, ABOUT_ACCOUNTS)}[sample.id]
    assert row["account_based_in"] == moved_to and row["changes_seen"] == 1

    rerun = materialize(collected, about_refresh_days=0)  # the same facts once more: nothing doubles
    assert rerun["fetched"] == len(users) and rerun["changes_seen"] == rerun["history_rows_added"] == 0
    assert len(table(resources, ABOUT_HISTORY)) == len(users) + 1
    assert len(table(resources, ABOUT_ACCOUNTS)) == len(users)


def test_a_budget_asks_for_the_biggest_accounts_first(collected):
    _, resources, _, _ = collected
    users = table(resources, USERS)
    md = materialize(collected, about_max_per_run=3)
    assert md["fetched"] == 3 and md["beyond_budget"] == len(users) - 3
    biggest = sorted(users, key=lambda u: (-(u["followers_count"] or -1), u["user_id"]))[:3]
    assert {r["user_id"] for r in table(resources, ABOUT_ACCOUNTS)} == {u["user_id"] for u in biggest}
    md = materialize(collected, about_max_per_run=3)  # the next three; the first stay fresh
    assert md["fetched"] == 3 and md["skipped_fresh"] == 3 and len(table(resources, ABOUT_ACCOUNTS)) == 6


def test_without_an_account_to_ask_with_the_run_fails_saying_so(collected, tmp_path):
    _, resources, instance, _ = collected
    empty = control_plane_resource(f"sqlite:///{tmp_path / 'no-accounts.db'}")
    pool = AccountPoolResource(control_plane=empty)
    result = dg.materialize(
        [about_accounts],
        resources={**resources, "control_plane": empty, "account_pool": pool},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("about_accounts").error.message
    assert "no AboutAccountQuery answered" in failure and "xget accounts add" in failure
    assert table(resources, ABOUT_ACCOUNTS) == []  # nothing half-written
