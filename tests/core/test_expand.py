"""A key's expansions (issue 17, ``expand`` in its parameters) over real HTTP from the emulator, counted
against the emulator's world: every reply of the deep corner's 540-reply conversation once, with its parent
and depth; the quote tweets, retweeters and media of an account's day; validation; resume without doubles."""

import datetime as dt
from collections import Counter

import pyarrow.compute as pc
import pytest
from sqlalchemy import update

from tests.conftest import register_accounts
from xget_pipelines.core.db.models import ScrapeSession
from xget_pipelines.core.db.watchlist import add_keys, params_of
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.tasks import InvalidTask, check_params
from xget_pipelines.core.x.clean import clean_partition
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.parse import parse_page
from xget_pipelines.core.x.raw_pages import RAW_TABLE
from xget_pipelines.core.x.scrape import scrape_partition
from xget_pipelines.core.x.watch import Expansion, InvalidParams, KeyParams, check_for_key, parse_params

FAMOUS = "@xget_famous"


def day_of(tweet) -> dt.date:
    return dt.datetime.fromtimestamp(tweet.ms / 1000, dt.UTC).date()


def depth_of(tweet) -> int:
    depth = 0
    while tweet.reply_to is not None:
        tweet, depth = tweet.reply_to, depth + 1
    return depth


@pytest.fixture
def collect(emulator_factory, engine, lake):
    limits = {op: 10_000 for op in ("SearchTimeline", "TweetDetail", "UserTweetsAndReplies", "UserMedia")}
    emu = emulator_factory(rate_limits=limits)
    pool = register_accounts(emu, engine, ["x1", "x2"])

    def run(key, day, params, run_id="r1", page_size=100):
        with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
            return scrape_partition(
                client, lake, engine, key=key, day=day, run_id=run_id, page_size=page_size, params=params
            )

    return run


def conversation(lake, engine, key, day, conversation_id) -> dict[int, dict]:
    table = clean_partition(lake, engine, key=key, day=day).tables["cleaned/conversations"]
    rows = table.filter(pc.equal(table["conversation_id"], conversation_id)).to_pylist()
    assert len(rows) == len({r["tweet_id"] for r in rows})
    return {r["tweet_id"]: r for r in rows}


def test_conversations_collect_every_reply_of_the_deep_conversation_once(collect, lake, engine, small_world):
    root = small_world.deep.root
    day = day_of(root)
    truth = {t.id: t for t in small_world.tweets if t.conversation_id == root.id}
    assert len(truth) == 595 and len(root.replies) == 540  # the root, 540 direct replies, 54 under them

    collect(FAMOUS, day, parse_params({"budget": "all", "expand": ["conversations:100"]}))
    got = conversation(lake, engine, FAMOUS, day, root.id)
    assert set(got) == set(truth)  # 0 missing, 0 extra
    for tid, row in got.items():
        tweet = truth[tid]
        assert row["parent_id"] == (tweet.reply_to.id if tweet.reply_to else None)
        assert row["depth"] == depth_of(tweet)
        assert row["author_id"] == tweet.author.id
    assert Counter(r["depth"] for r in got.values()) == {0: 1, 1: 540, 2: 54}

    pages = lake.read(RAW_TABLE, {"watch_key": FAMOUS, "day": day, "operation": "TweetDetail"})
    asked = list(zip(pages["target"].to_pylist(), pages["cursor_in"].to_pylist(), strict=True))
    assert len(asked) == len(set(asked))  # no page asked twice
    # the root's replies 20 a page, then the thread of each reply whose own replies a module did not show
    assert sum(1 for t, _ in asked if t == f"expand:conversations:{root.id}") == 27
    assert len(asked) < 27 + 54
    row = coverage.read(lake, [FAMOUS])[0]
    assert row.outcome == "complete" and "conversations:100" in row.reason
    assert row.items == sum(1 for t in small_world.deep.famous.tweets if day_of(t) == day)  # not the replies

    tweets = clean_partition(lake, engine, key=FAMOUS, day=day).tables["cleaned/tweets"]
    via = dict(zip(tweets["tweet_id"].to_pylist(), tweets["via"].to_pylist(), strict=True))
    assert via[root.id] == "timeline"  # still a hit of the key, though TweetDetail showed it too
    # the replies are not the key's hits, but for those its own timeline showed above its own replies to them
    on_timeline = {t.id for t in root.replies if any(r.author is root.author for r in t.replies)}
    assert {t.id for t in root.replies if via[t.id] == "timeline"} <= on_timeline
    assert sum(via[t.id] == "expanded" for t in root.replies) >= 540 - len(on_timeline)

    again = clean_partition(lake, engine, key=FAMOUS, day=day).tables["cleaned/conversations"]
    stored = lake.read("cleaned/conversations", {"watch_key": FAMOUS, "day": day})
    assert stored.num_rows == again.num_rows == len(again)  # a re-clean replaces, doubles nothing


def test_a_conversation_cut_at_its_budget_makes_the_day_truncated(collect, lake, engine, small_world):
    root = small_world.deep.root
    day = day_of(root)
    collect(FAMOUS, day, parse_params({"budget": "8 pages", "expand": ["conversations:100"]}))
    row = coverage.read(lake, [FAMOUS])[0]
    assert row.outcome == "truncated" and "conversations:100" in row.reason and "8 pages" in row.reason
    pages = lake.read(RAW_TABLE, {"watch_key": FAMOUS, "day": day, "operation": "TweetDetail"})
    assert pages.num_rows == 8  # the expansion's own budget, beside the day's timeline pages
    got = conversation(lake, engine, FAMOUS, day, root.id)
    assert 8 * 20 <= len(got) < 595


def test_resume_after_an_interruption_doubles_nothing(collect, lake, engine, small_world):
    root = small_world.deep.root
    day = day_of(root)
    first = collect(FAMOUS, day, parse_params({"budget": "12 pages", "expand": ["conversations:100"]}))
    with engine.begin() as conn:  # as if the run had died after its 12th TweetDetail page
        conn.execute(update(ScrapeSession).values(status="failed"))
    everything = parse_params({"budget": "all", "expand": ["conversations:100"]})
    second = collect(FAMOUS, day, everything, run_id="r2")
    assert second.resumed and second.session_id == first.session_id
    assert "UserTweetsAndReplies" not in second.operations  # the day's timeline had ended: not asked again
    pages = lake.read(RAW_TABLE, {"watch_key": FAMOUS, "day": day, "operation": "TweetDetail"})
    asked = list(zip(pages["target"].to_pylist(), pages["cursor_in"].to_pylist(), strict=True))
    assert len(asked) == len(set(asked))
    got = conversation(lake, engine, FAMOUS, day, root.id)
    assert len(got) == 595
    assert coverage.read(lake, [FAMOUS])[0].outcome == "complete"


def _busy_day(world):
    """An account's day with a tweet that has searchable quotes and retweeters, and media of the day."""
    for tweet in world.tweets:
        quoting = [q for q in world.tweets if q.quoted is tweet]
        author = tweet.author
        if (
            tweet.retweeted is None
            and not (author.protected or author.unavailable)
            and len(tweet.retweeters) >= 3
            and sum(1 for q in quoting if not (q.author.protected or q.author.unavailable)) >= 2
            and any(t.media and day_of(t) == day_of(tweet) for t in author.tweets)
        ):
            return tweet
    raise AssertionError("the world has no such day")


def test_quotes_retweeters_and_media_of_an_account_day(collect, lake, engine, small_world):
    tweet = _busy_day(small_world)
    author, day = tweet.author, day_of(tweet)
    key = f"@{author.screen_name}"
    params = parse_params({"budget": "all", "expand": ["quotes", "retweeters:3", "media"]})
    collect(key, day, params, page_size=40)
    tables = clean_partition(lake, engine, key=key, day=day).tables
    own = [t for t in author.tweets if day_of(t) == day and t.retweeted is None]

    tweets = tables["cleaned/tweets"]
    quotes = set(tweets.filter(pc.is_valid(tweets["quoted_tweet_id"]))["tweet_id"].to_pylist())
    quoted_ids = {t.id for t in own}
    expected = {
        q.id
        for q in small_world.tweets
        if q.quoted is not None
        and q.quoted.id in quoted_ids
        and q.retweeted is None
        and not (q.author.protected or q.author.unavailable or q.hidden)
    }
    assert expected and expected <= quotes  # every quote of the day's tweets (and the day's own quotes)
    searched = lake.read(RAW_TABLE, {"watch_key": key, "day": day, "operation": "SearchTimeline"})
    for target, body in zip(searched["target"].to_pylist(), searched["body"].to_pylist(), strict=True):
        if target.startswith("expand:quotes:"):  # X's answer to quoted_tweet_id: the quotes of that post only
            hits = parse_page(body, "SearchTimeline").tweets
            hits = hits.filter(pc.equal(hits["via"], "timeline"))
            assert set(hits["quoted_tweet_id"].to_pylist()) <= {int(target.rsplit(":", 1)[1])}

    edges = tables["cleaned/retweeters"]
    got = Counter(edges["tweet_id"].to_pylist())
    for t in own:
        # newest first as X lists them, each user once (the world lets a user retweet a post again)
        people = list(dict.fromkeys(u.id for u in reversed(t.retweeters) if not u.unavailable))
        if len(t.retweeters) >= 3:  # counts at least the world's retweeters: every such tweet is expanded
            mine = edges.filter(pc.equal(edges["tweet_id"], t.id)).sort_by("position")["user_id"].to_pylist()
            assert mine == people
        elif not t.retweeters:
            assert t.id not in got
    assert tweet.id in got

    media = lake.read(RAW_TABLE, {"watch_key": key, "day": day, "operation": "UserMedia"})
    on_pages = set()
    for body in media["body"].to_pylist():
        on_pages |= set(parse_page(body, "UserMedia").tweets["tweet_id"].to_pylist())
    day_media = {t.id for t in own if t.media and not t.hidden}
    assert day_media and day_media <= on_pages
    row = coverage.read(lake, [key])[0]
    assert row.outcome == "complete"
    assert all(name in row.reason for name in ("quotes", "retweeters:3", "media"))


def test_expand_is_validated_stored_and_read_back(engine):
    params = parse_params({"expand": ["media", "Conversations:5", "retweeters", "quotes"]})
    assert params.expand == (
        Expansion("conversations", 5),
        Expansion("quotes"),
        Expansion("retweeters", 1),
        Expansion("media"),
    )
    assert params.to_json() == {"expand": ["conversations:5", "quotes", "retweeters:1", "media"]}
    add_keys(engine, ["@alice"], params)
    assert params_of(engine, "@alice") == params
    for value, words in (
        ("conversations", "not a list"),
        (["conversations:0"], "from 1 to"),
        (["conversations:x"], "whole number"),
        (["quotes:3"], "takes no number"),
        (["threads"], "names no expansion"),
        (["media", "media"], "more than once"),
        ([5], "not an expansion"),
    ):
        with pytest.raises(InvalidParams) as err:
            parse_params({"expand": value})
        assert err.value.field == "expand" and words in str(err.value)
    check_for_key("@alice", params)
    with pytest.raises(InvalidParams, match="needs an @handle key"):
        check_for_key("python", parse_params({"expand": ["media"]}))
    with pytest.raises(InvalidParams, match="collects none"):
        check_for_key("followers:@alice", parse_params({"expand": ["quotes"]}))
    assert KeyParams().to_json() == {}
    assert check_params({"expand": ["Media"]}, "@alice") == {"expand": ["media"]}  # a task's, normalised
    with pytest.raises(InvalidTask) as err:
        check_params({"expand": ["media"]}, "python")
    assert err.value.field == "params.expand"
