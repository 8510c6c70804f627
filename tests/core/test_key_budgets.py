"""A watchlist key's parameters decide what is collected (issue 17): its budget per day (pages, items or
``all``) and its search product, over real HTTP from the emulator, counted against the emulator's ground
truth (the deep corner: 5,200 ``xgetflood`` tweets on one day)."""

import datetime as dt

import pyarrow.compute as pc
import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.db.watchlist import add_keys, entries, params_of
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.parse import parse_page
from xget_pipelines.core.x.raw_pages import RAW_TABLE
from xget_pipelines.core.x.scrape import scrape_partition
from xget_pipelines.core.x.watch import Budget, InvalidParams, KeyParams, parse_params

FLOOD = "xgetflood"


@pytest.fixture
def flood(small_world):
    truth = small_world.ground_truth()["deep"]
    return dt.date.fromisoformat(truth["day"]), {t.id for t in small_world.deep.flood}


@pytest.fixture
def collect(emulator_factory, engine, lake):
    emu = emulator_factory(rate_limits={"SearchTimeline": 10_000})
    pool = register_accounts(emu, engine, ["b1", "b2"])

    def run(key, day, params, page_size=100, run_id="r1"):
        with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
            return scrape_partition(
                client, lake, engine, key=key, day=day, run_id=run_id, page_size=page_size, params=params
            )

    return run


def landed(lake, key, day) -> list[int]:
    pages = lake.read(RAW_TABLE, {"watch_key": key, "day": day})
    ids = []
    for body, op in zip(pages["body"].to_pylist(), pages["operation"].to_pylist(), strict=True):
        t = parse_page(body, op).tweets
        ids += t.filter(pc.equal(t["via"], "timeline"))["tweet_id"].to_pylist()
    return ids


def test_budget_all_collects_every_tweet_x_holds_for_the_day(collect, lake, flood):
    day, truth = flood
    result = collect(FLOOD, day, KeyParams(budget=Budget()))
    ids = landed(lake, FLOOD, day)
    assert len(truth) == 5_200
    assert set(ids) - truth == set() and truth - set(ids) == set()  # 0 extra, 0 missing
    assert len(ids) == len(set(ids))  # and each once
    row = coverage.read(lake, [FLOOD])[0]
    assert (row.outcome, row.budget, row.items, row.max_pages) == ("complete", "all", 5_200, 0)
    assert result.pages == row.pages >= 52  # far past the deployment's default budget of 50 pages of 20


def test_a_budgeted_key_is_truncated_with_the_right_counts(collect, lake, flood):
    day, truth = flood
    collect(FLOOD, day, KeyParams(budget=Budget(pages=10)), page_size=20)
    ids = landed(lake, FLOOD, day)
    row = coverage.read(lake, [FLOOD])[0]
    assert (row.outcome, row.pages, row.max_pages, row.budget) == ("truncated", 10, 10, "10 pages")
    assert row.items == len(set(ids)) == 200 and set(ids) <= truth
    assert "10 pages" in row.reason and "more to fetch" in row.reason


def test_an_item_budget_stops_once_its_items_are_counted(collect, lake, flood):
    day, _ = flood
    collect(FLOOD, day, parse_params({"budget": "230 items"}), page_size=20)
    row = coverage.read(lake, [FLOOD])[0]
    assert row.outcome == "truncated" and row.budget == "230 items" and row.max_pages == 0
    assert 230 <= row.items < 230 + 20 and row.pages == 12  # 11 pages hold 220: one more page reaches 230


def test_an_item_budget_resumed_counts_what_the_first_run_spent(collect, lake, flood, engine):
    from sqlalchemy import update

    from xget_pipelines.core.db.models import ScrapeSession

    day, _ = flood
    params = parse_params({"budget": "100 items"})
    first = collect(FLOOD, day, KeyParams(budget=Budget(pages=3)), page_size=20)  # 60 items, then "crash"
    with engine.begin() as conn:
        conn.execute(update(ScrapeSession).values(status="failed"))
    second = collect(FLOOD, day, params, page_size=20, run_id="r2")
    assert second.resumed and second.session_id == first.session_id
    assert second.pages == 2  # 60 counted from the lake, 40 more
    row = coverage.read(lake, [FLOOD])[0]
    assert (row.outcome, row.items, row.pages) == ("truncated", 100, 5)


def test_the_top_product_asks_x_for_its_ranked_tab(collect, lake, flood, small_world):
    day, _ = flood
    collect(FLOOD, day, KeyParams(budget=Budget(pages=1), product="Top"), page_size=20)
    raw = lake.read(RAW_TABLE, {"watch_key": FLOOD})
    assert '"product":"Top"' in raw["variables"][0].as_py()
    got = landed(lake, FLOOD, day)
    by_id = {t.id: t for t in small_world.deep.flood}
    popular = sorted(by_id.values(), key=lambda t: (-t.pop, -t.id))[:20]
    assert got == [t.id for t in popular]  # X's ranking, not the newest 20


def test_parameters_are_validated_stored_and_read_back(engine):
    add_keys(engine, ["rust", "@alice"], parse_params({"budget": "2000 items", "product": "top"}))
    assert params_of(engine, "rust") == KeyParams(budget=Budget(items=2000), product="Top")
    add_keys(engine, ["rust"])  # a plain re-add keeps them
    assert params_of(engine, "rust").budget == Budget(items=2000)
    add_keys(engine, ["rust"], KeyParams())  # explicit defaults replace them
    assert params_of(engine, "rust") == KeyParams() == params_of(engine, "never-added")
    assert [e.key for e in entries(engine)] == ["rust", "@alice"]
    for values, field in (
        ({"budget": "-3"}, "budget"),
        ({"budget": True}, "budget"),
        ({"budget": "2000000 pages"}, "budget"),
        ({"product": "People"}, "product"),
        ({"expand": "conversations"}, "expand"),
    ):
        with pytest.raises(InvalidParams) as err:
            parse_params(values)
        assert err.value.field == field
