"""AboutAccountQuery bodies parsed into "About this account" rows (the real capture and the emulator's answers
over HTTP), and their landing in entities/about_accounts and cleaned/about_account_history: a changed fact is
a new history row, landing the same observations again changes nothing."""

from __future__ import annotations

import copy
import datetime as dt
import json

import httpx
import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.about_accounts import ABOUT_ACCOUNTS, ABOUT_HISTORY, land_about
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.about import NotAnAboutBody, parse_about
from xget_pipelines.core.x.client import XClient

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def capture(captures_dir) -> dict:
    return json.loads((captures_dir / "raw_user_about.json").read_bytes())


def body(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def test_the_real_capture_gives_every_fact_a_researcher_uses(captures_dir):
    row = parse_about((captures_dir / "raw_user_about.json").read_bytes(), NOW, requested="xdevelopers")
    assert row["user_id"] == 2244994945 and row["username"] == "XDevelopers" and row["status"] == "available"
    assert row["account_based_in"] == "United States"
    assert row["location_accurate"] is True and row["created_country_accurate"] is True
    assert row["source"] == "Web" and row["affiliate_username"] == "X"
    assert row["username_changes"] == 1  # "1" on the wire
    assert row["last_username_change_at"] == dt.datetime(2023, 7, 26, 1, 33, 12, 280000, tzinfo=dt.UTC)
    assert row["is_identity_verified"] is False
    assert row["verified_since"] == dt.datetime.fromtimestamp(1395425700.472, dt.UTC)
    assert row["affiliate_label"] == "X" and row["affiliate_label_type"] == "BusinessLabel"
    assert row["blue_verified"] is True and row["verified_type"] == "Business" and row["protected"] is False
    assert row["created_at"] == dt.datetime(2013, 12, 14, 4, 35, 55, tzinfo=dt.UTC)
    assert row["display_name"] == "Developers" and row["observed_at"] == NOW


def test_fields_x_drops_are_null_and_odd_values_do_not_break_the_row(capture):
    doc = copy.deepcopy(capture)
    result = doc["data"]["user_result_by_screen_name"]["result"]
    del result["verification_info"], result["about_profile"]["username_changes"]["last_changed_at_msec"]
    del (
        result["about_profile"]["source"],
        result["affiliates_highlighted_label"],
        result["core"]["created_at"],
    )
    result["about_profile"]["location_accurate"] = "yes"  # not a boolean: unknown, not true
    row = parse_about(body(doc), NOW)
    assert row["status"] == "available" and row["account_based_in"] == "United States"
    assert row["username_changes"] == 1 and row["last_username_change_at"] is None
    assert row["source"] is row["is_identity_verified"] is row["verified_since"] is row["created_at"] is None
    assert row["location_accurate"] is None and row["affiliate_label"] is None
    del result["about_profile"]
    bare = parse_about(body(doc), NOW)
    assert bare["account_based_in"] is None and bare["username_changes"] is None
    assert bare["fact_hash"] != row["fact_hash"]


def test_bodies_that_are_no_about_answer_are_refused_with_what_they_hold():
    with pytest.raises(NotAnAboutBody, match="not JSON"):
        parse_about(b"<html>", NOW)
    with pytest.raises(NotAnAboutBody, match=r"X errors: \['Rate limit exceeded'\]"):
        parse_about(body({"errors": [{"message": "Rate limit exceeded", "code": 88}]}), NOW)
    with pytest.raises(NotAnAboutBody, match="names no account"):
        parse_about(body({"data": {"user_result_by_screen_name": {}}}), NOW, requested="ghost")


@pytest.fixture(scope="module")
def emulator_bodies(small_world, tmp_path_factory):
    """The emulator's answers over HTTP for a blue account, one never verified, a suspended one and a handle
    nobody has."""
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import EmulatorServer

    people = small_world.users.people
    picks = {
        "blue": next(u for u in people if u.blue and not u.unavailable),
        "plain": next(u for u in people if not u.blue and u.verified_type is None and not u.unavailable),
        "suspended": next(u for u in people if u.unavailable),
    }
    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('about') / 'xget.db'}")
    with EmulatorServer(small_world, EmulatorSettings(window_seconds=5)) as emu:
        pool = register_accounts(emu, engine, ["reader1"])
        with XClient(emu.graphql_url, pool) as client:
            fetch = lambda handle: client.fetch("AboutAccountQuery", watch.about_account_variables(handle))  # noqa: E731
            got = {name: (u, fetch(u.screen_name)) for name, u in picks.items()}
            got["missing"] = (None, fetch("nobody_has_this"))
            facts = {name: small_world.about(u) for name, u in picks.items()}
    return got, facts


def test_emulator_answers_parse_as_their_world_holds_them(emulator_bodies):
    got, facts = emulator_bodies
    for name in ("blue", "plain"):
        user, page = got[name]
        row = parse_about(page.body, page.fetched_at, user_id=user.id, requested=user.screen_name)
        truth = facts[name]
        assert (
            row["status"] == "available" and row["user_id"] == user.id and row["username"] == user.screen_name
        )
        assert row["account_based_in"] == truth.based_in and row["source"] == truth.source
        assert row["location_accurate"] == truth.location_accurate
        assert row["created_country_accurate"] == truth.created_country_accurate
        assert row["username_changes"] == truth.username_changes
        changed = truth.last_changed_ms
        assert row["last_username_change_at"] == (
            None if changed is None else dt.datetime.fromtimestamp(changed / 1000, dt.UTC)
        )
    blue = parse_about(got["blue"][1].body, NOW, user_id=got["blue"][0].id)
    assert (
        blue["is_identity_verified"] == facts["blue"].identity_verified and blue["verified_since"] is not None
    )
    plain = parse_about(got["plain"][1].body, NOW, user_id=got["plain"][0].id)
    assert plain["is_identity_verified"] is None  # no verification_info for an account never verified
    suspended_user, page = got["suspended"]
    suspended = parse_about(page.body, NOW, user_id=suspended_user.id, requested=suspended_user.screen_name)
    assert suspended["status"] == "suspended" and suspended["unavailable_reason"] == "Suspended"
    assert suspended["account_based_in"] is None and suspended["user_id"] == suspended_user.id
    missing = parse_about(got["missing"][1].body, NOW, user_id=42, requested="nobody_has_this")
    assert missing["status"] == "not_found" and missing["user_id"] == 42
    # the handle asked for now names another account: ours moved away from it
    reused = parse_about(got["blue"][1].body, NOW, user_id=got["blue"][0].id + 1, requested="someone")
    assert reused["status"] == "handle_reused" and reused["account_based_in"] is None


def test_a_changed_fact_is_a_new_history_row_and_landing_again_doubles_nothing(lake, capture):
    first = parse_about(body(capture), NOW, requested="xdevelopers")
    landed = land_about(lake, [first])
    assert (landed.history_rows, landed.changes) == (1, 0)
    same_later = parse_about(body(capture), NOW + dt.timedelta(days=8), requested="xdevelopers")
    assert land_about(lake, [same_later]).history_rows == 0  # a refresh that says the same adds nothing
    moved = copy.deepcopy(capture)
    profile = moved["data"]["user_result_by_screen_name"]["result"]["about_profile"]
    profile |= {"account_based_in": "Ireland", "location_accurate": False}
    profile["username_changes"] = {"count": "2", "last_changed_at_msec": "1764000000000"}
    later = NOW + dt.timedelta(days=9)
    changed = parse_about(body(moved), later, requested="xdevelopers")
    landed = land_about(lake, [changed])
    assert (landed.history_rows, landed.changes) == (1, 1)
    assert landed.changed_users[0]["account_based_in"] == ["United States", "Ireland"]
    assert landed.changed_users[0]["username_changes"] == [1, 2]
    for rows in ([first], [same_later], [changed], [changed, first]):  # again, in any order: nothing new
        assert land_about(lake, rows).history_rows == 0
    history = lake.read(ABOUT_HISTORY).sort_by("observed_at").to_pylist()
    assert [(r["account_based_in"], r["observed_at"]) for r in history] == [
        ("United States", NOW),
        ("Ireland", later),
    ]
    (current,) = lake.read(ABOUT_ACCOUNTS).to_pylist()
    assert current["account_based_in"] == "Ireland" and current["location_accurate"] is False
    assert current["observed_at"] == later and current["facts_since"] == later
    assert current["first_observed_at"] == NOW and current["changes_seen"] == 1
    # suspended later: the status is current, the last known facts stay (history has the suspension)
    gone = {
        "data": {
            "user_result_by_screen_name": {"result": {"__typename": "UserUnavailable", "reason": "Suspended"}}
        }
    }
    land_about(lake, [parse_about(body(gone), later + dt.timedelta(days=1), user_id=2244994945)])
    (current,) = lake.read(ABOUT_ACCOUNTS).to_pylist()
    assert current["status"] == "suspended" and current["account_based_in"] == "Ireland"
    assert current["changes_seen"] == 2 and lake.read(ABOUT_HISTORY).num_rows == 3


def test_the_emulator_changes_an_accounts_facts_on_request(emu):
    user = emu.world.users[5]
    before = httpx.get(f"{emu.url}/_emulator/about/{user.screen_name}").json()
    target = "Peru" if before["based_in"] != "Peru" else "Ghana"
    after = httpx.post(f"{emu.url}/_emulator/about/{user.screen_name}", json={"based_in": target}).json()
    assert after["based_in"] == target and after["source"] == before["source"]
    assert (
        httpx.post(f"{emu.url}/_emulator/about/{user.screen_name}", json={"country": "x"}).status_code == 400
    )
    assert httpx.get(f"{emu.url}/_emulator/about/nobody_has_this").status_code == 404
