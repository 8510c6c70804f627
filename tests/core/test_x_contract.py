"""XGet's client against the strict emulator: it sends what X's web client sends and keeps working when X
rotates query ids, feature switches, transaction-id material or a session's csrf token."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import installation_box, register_accounts
from xget_pipelines.core.db.models import Account, XOperation
from xget_pipelines.core.errors import XRequestError
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.browser import USER_AGENTS
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.transaction import TransactionIds
from xget_pipelines.core.x.web import XWeb
from xget_pipelines.emulator.settings import Contract


def strict(emulator_factory, **contract):
    return emulator_factory(window_seconds=30, contract=Contract(**contract))


def rotate(emu, **body) -> dict:
    return httpx.post(f"{emu.url}/_emulator/releases", json=body, timeout=10).raise_for_status().json()


def search(client: XClient, pages: int = 1, query: str = "the"):
    return list(client.paginate("SearchTimeline", watch.search_variables(query, 20), max_pages=pages))


class Recorder(httpx.BaseTransport):
    """Forwards to the emulator and keeps each request's headers (what XGet put on the wire)."""

    def __init__(self):
        self.inner, self.seen = httpx.HTTPTransport(), []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(dict(request.headers))
        return self.inner.handle_request(request)


def test_requests_carry_the_web_clients_headers_and_one_browser_per_account(emulator_factory, engine):
    emu = strict(emulator_factory)
    pool = register_accounts(emu, engine, ["hdr1"])
    recorder = Recorder()
    with XClient(emu.graphql_url, pool, transport=recorder) as client:
        search(client, pages=2)
        client.fetch("UserByScreenName", watch.user_by_screen_name_variables("hdr1"))
    cookies = {c.split("=", 1)[0]: c.split("=", 1)[1] for c in recorder.seen[0]["cookie"].split("; ")}
    for headers in recorder.seen:
        assert headers["authorization"].startswith("Bearer AAAA")
        assert headers["x-csrf-token"] == cookies["ct0"]
        assert headers["x-twitter-auth-type"] == "OAuth2Session" and headers["x-twitter-active-user"] == "yes"
        assert headers["x-twitter-client-language"] == "en"
        assert headers["origin"] == "https://x.com" and headers["referer"] == "https://x.com/"
        assert headers["x-client-transaction-id"]
        assert headers["user-agent"] in USER_AGENTS
        major = headers["user-agent"].split("Chrome/")[1].split(".")[0]
        assert f'"Google Chrome";v="{major}"' in headers["sec-ch-ua"]
    assert len({h["user-agent"] for h in recorder.seen}) == 1
    # made per request: it signs the path (and the second), so two operations never share one
    assert recorder.seen[0]["x-client-transaction-id"] != recorder.seen[-1]["x-client-transaction-id"]
    with engine.connect() as conn:  # the browser is the account's from now on
        stored = conn.execute(sa.select(Account.user_agent).where(Account.username == "hdr1")).scalar()
    assert stored == recorder.seen[0]["user-agent"]


def test_a_query_id_rotation_mid_pagination_loses_and_repeats_no_page(emulator_factory, engine):
    emu = strict(emulator_factory, query_id_grace_s=0.0)
    pool = register_accounts(emu, engine, ["rot1"])
    with XClient(emu.graphql_url, pool) as client:
        reference = [(p.cursor_in, p.cursor_out) for p in search(client, pages=6)]
    assert len(reference) == 6
    pages = []
    with XClient(emu.graphql_url, pool) as client:
        for page in client.paginate("SearchTimeline", watch.search_variables("the", 20), max_pages=6):
            pages.append(page)
            if len(pages) == 2:
                new_id = rotate(emu)["releases"][-1]["query_ids"]["SearchTimeline"]
        stats = client.stats
    assert [(p.cursor_in, p.cursor_out) for p in pages] == reference  # every page once, in order
    # the refused request: first with a new transaction id (404 again), then after a look at X's bundles
    assert stats["refused_404"] == 2 and stats["operation_refreshes"] == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(XOperation).where(XOperation.operation == "SearchTimeline")).one()
    release = httpx.get(f"{emu.url}/_emulator/releases").json()["releases"][-1]
    assert row.query_id == new_id and release["files"]["entry-client"] in row.source


def test_another_workers_find_is_used_without_looking_again(emulator_factory, engine):
    emu = strict(emulator_factory, query_id_grace_s=0.0)
    pool = register_accounts(emu, engine, ["w1", "w2"])
    with (
        XClient(emu.graphql_url, pool, account="w1") as first,
        XClient(emu.graphql_url, pool, account="w2") as second,
    ):
        search(first), search(second)  # both know the old ids
        rotate(emu)
        search(first)  # the first worker meets the 404 and looks
        search(second)  # the second takes its find from the control plane
    assert first.stats["operation_refreshes"] == 1 and second.stats["operation_refreshes"] == 0
    assert second.stats["refused_404"] == 1


def test_a_feature_switch_x_starts_requiring_is_learnt_from_the_page(emulator_factory, engine):
    emu = strict(emulator_factory, query_id_grace_s=3600.0)  # old ids stay valid: only the switch is missing
    pool = register_accounts(emu, engine, ["ft1"])
    with XClient(emu.graphql_url, pool) as client:
        search(client)
        rotate(emu, add_features={"responsive_web_brand_new_thing_enabled": True})
        page = search(client)[0]
    assert page.status == 200 and client.stats["operation_refreshes"] == 1
    with engine.connect() as conn:
        features = conn.execute(
            sa.select(XOperation.features).where(XOperation.operation == "SearchTimeline")
        ).scalar()
    assert features["responsive_web_brand_new_thing_enabled"] is True


def test_x_rotating_a_sessions_csrf_token_is_followed_and_stored_encrypted(emulator_factory, engine):
    emu = strict(emulator_factory)
    pool = register_accounts(emu, engine, ["csrf1"])
    new = httpx.post(f"{emu.url}/_emulator/accounts/csrf1/ct0").raise_for_status().json()["ct0"]
    with XClient(emu.graphql_url, pool) as client:
        assert search(client)[0].status == 200
    assert client.stats["cookies_rotated"] == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.select(Account.cookies_enc).where(Account.username == "csrf1")).scalar()
    assert new not in stored  # encrypted at rest
    assert json.loads(pool.secrets.decrypt(stored))["ct0"] == new
    assert {a["username"]: a for a in pool.status()}["csrf1"]["active"] is True


def test_an_account_shown_the_signed_out_app_leaves_the_pool_and_others_serve(emulator_factory, engine):
    emu = strict(emulator_factory)
    AccountPool(engine, secrets=installation_box()).add_accounts(
        [("expired1", {"auth_token": "no-longer-valid", "ct0": "abc"})]
    )  # first in line
    pool = register_accounts(emu, engine, ["fine1"])
    with XClient(emu.graphql_url, pool) as client:
        pages = [client.fetch("SearchTimeline", watch.search_variables("the", 20)) for _ in range(2)]
    assert {p.account for p in pages} == {"fine1"}
    expired = {a["username"]: a for a in pool.status()}["expired1"]
    assert expired["active"] is False and "signed-out web app" in expired["error"]
    assert "xget accounts login expired1" in expired["error"]


def test_without_a_transaction_id_x_refuses_and_the_error_says_what_was_tried(emulator_factory, engine):
    emu = strict(emulator_factory)
    pool = register_accounts(emu, engine, ["notx"])
    with XClient(emu.graphql_url, pool, send_transaction_id=False) as client:
        assert (
            client.fetch("UserByScreenName", watch.user_by_screen_name_variables("notx")).status == 200
        )  # not gated
        with pytest.raises(XRequestError) as info:
            client.fetch("SearchTimeline", watch.search_variables("the", 20))
    message = str(info.value)
    assert message.startswith("SearchTimeline failed after 2 attempts: X answered 404 with an empty body")
    assert "a transaction id from a fresh page load, then a fresh look at X's web bundles" in message
    assert "xget x doctor" in message
    assert {a["username"]: a for a in pool.status()}["notx"]["active"] is True  # not the account's fault


def test_sessions_prepared_ahead_cost_the_requests_no_page_load(emulator_factory, engine):
    emu = strict(emulator_factory)
    pool = register_accounts(emu, engine, ["pre1", "pre2", "pre3"])
    transactions = TransactionIds(XWeb.for_graphql_url(emu.graphql_url))
    with XClient(emu.graphql_url, pool, transactions=transactions) as client:
        assert client.prepare_sessions("SearchTimeline", ["pre1", "pre2", "pre3"]) == 3
        loads = transactions.page_loads
        pages = [client.fetch("SearchTimeline", watch.search_variables("the", 20)) for _ in range(6)]
    assert {p.status for p in pages} == {200} and transactions.page_loads == loads


def test_about_account_query_is_found_in_its_relay_record_after_x_rotates_its_id(emulator_factory, engine):
    """X compiles AboutAccountQuery Relay-style in a lazy chunk (emulator/build.py RELAY): XGet reads that
    record too, so when X retires the id the request follows it, and it goes out with ``variables`` only, as
    X's own clients send it."""
    emu = strict(emulator_factory, query_id_grace_s=0.0)
    pool = register_accounts(emu, engine, ["about1"])
    user = emu.world.users[3]
    with XClient(emu.graphql_url, pool) as client:
        first = client.fetch("AboutAccountQuery", watch.about_account_variables(user.screen_name))
        new_id = rotate(emu)["releases"][-1]["query_ids"]["AboutAccountQuery"]
        page = client.fetch("AboutAccountQuery", watch.about_account_variables(f"@{user.screen_name}"))
        sent = client.catalog.get("AboutAccountQuery")
    for answer in (first, page):
        result = json.loads(answer.body)["data"]["user_result_by_screen_name"]["result"]
        assert answer.status == 200 and result["rest_id"] == str(user.id) and result["about_profile"]
    assert client.stats["operation_refreshes"] == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(XOperation).where(XOperation.operation == "AboutAccountQuery")).one()
    release = httpx.get(f"{emu.url}/_emulator/releases").json()["releases"][-1]
    assert row.query_id == new_id and sent.query_id == new_id and row.features == {}
    assert release["files"]["timelines"] in row.source  # the lazy chunk, not the entry script
    assert set(sent.params({"screenName": "x"})) == {"variables"}
