"""SearchTimeline: every operator filters as X does, and pagination is exact and terminates."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest

from xget_pipelines.emulator import EmulatorServer, World, WorldConfig
from xget_pipelines.emulator.model import Tweet

from .conftest import UNLIMITED, XClient, entries, paginate, tweet_ids

_TOKEN = re.compile(r"[#@]?\w+")


def words(t: Tweet) -> set[str]:
    toks = set(_TOKEN.findall(re.sub(r"https?://\S+", " ", t.text.lower())))
    return toks | {w[1:] for w in toks if w[0] in "#@"}


def searchable(world: World) -> list[Tweet]:
    return [
        t
        for t in world.tweets
        if t.retweeted is None and not t.hidden and not t.author.protected and not t.author.unavailable
    ]


def search_ids(client: XClient, query: str, product: str = "Latest", count: int = 20) -> list[int]:
    pages = paginate(client, "SearchTimeline", rawQuery=query, count=count, product=product)
    return [i for page in pages for i in tweet_ids(page)]


def day_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


CASES = {
    "python": lambda t: "python" in words(t),
    "python great": lambda t: {"python", "great"} <= words(t),
    "#climate": lambda t: "#climate" in words(t),
    '"spent the morning"': lambda t: "spent the morning" in t.text.lower(),
    "dagster OR rust": lambda t: bool({"dagster", "rust"} & words(t)),
    "python -great": lambda t: "python" in words(t) and "great" not in words(t),
    "lang:es": lambda t: t.lang == "es",
    "coffee lang:en": lambda t: t.lang == "en" and "coffee" in words(t),
    "python since:2026-07-10 until:2026-07-12": lambda t: (
        "python" in words(t) and day_ms("2026-07-10") <= t.ms < day_ms("2026-07-12")
    ),
    "ai filter:media": lambda t: "ai" in words(t) and bool(t.media),
    "ai -filter:replies": lambda t: "ai" in words(t) and t.reply_to is None,
}


@pytest.mark.parametrize("query", list(CASES))
def test_operator_filters_and_pagination_is_exact(query: str, world: World, client: XClient) -> None:
    expected = [t.id for t in searchable(world) if CASES[query](t)]
    got = search_ids(client, query)
    assert len(got) == len(set(got)), "a tweet was served twice"
    assert got == sorted(expected, reverse=True), f"{query}: {len(got)} vs {len(expected)} expected"
    assert expected, "test query matches nothing"


def test_from_and_to(world: World, client: XClient) -> None:
    user = world.user_by_screen_name(world.watchlist_suggestions()["users"][0])
    expected_from = {t.id for t in searchable(world) if t.author is user}
    assert set(search_ids(client, f"from:{user.screen_name}", count=50)) == expected_from
    expected_to = {t.id for t in searchable(world) if t.reply_to is not None and t.reply_to.author is user}
    assert expected_to and set(search_ids(client, f"to:{user.screen_name}")) == expected_to


def test_quoted_tweet_id_finds_the_quotes_of_one_post(world: World, client: XClient) -> None:
    quoted = max((t for t in world.tweets if t.n_quotes), key=lambda t: (t.n_quotes, t.id))
    expected = {t.id for t in searchable(world) if t.quoted is quoted}
    assert len(expected) > 1 and set(search_ids(client, f"quoted_tweet_id:{quoted.id}")) == expected
    others = {t.id for t in searchable(world) if t.quoted is quoted and "python" not in words(t)}
    assert set(search_ids(client, f"quoted_tweet_id:{quoted.id} -python")) == others


def test_min_faves_uses_counts_at_fetch_time(client: XClient) -> None:
    body = client.gql("SearchTimeline", rawQuery="python min_faves:20", count=50, product="Latest")
    likes = [
        e["content"]["itemContent"]["tweet_results"]["result"]
        for e in entries(body)
        if e["entryId"].startswith("tweet-")
    ]
    likes = [(r.get("tweet") or r)["legacy"]["favorite_count"] for r in likes]
    assert likes and min(likes) >= 20


def test_top_product_ranks_by_popularity_and_pages_exactly(world: World, client: XClient) -> None:
    expected = {t.id: t.pop for t in searchable(world) if "climate" in words(t)}
    got = search_ids(client, "climate", product="Top", count=25)
    assert len(got) == len(set(got)) and set(got) == set(expected)
    pops = [expected[i] for i in got]
    assert pops == sorted(pops, reverse=True)


def test_no_retweets_or_hidden_posts_in_search(world: World, client: XClient) -> None:
    got = set(search_ids(client, "python OR climate OR ai", count=100))
    by_id = {t.id: t for t in world.tweets}
    assert all(by_id[i].retweeted is None and not by_id[i].hidden for i in got)


def test_later_pages_replace_cursor_entries(client: XClient) -> None:
    first = client.gql("SearchTimeline", rawQuery="python", count=5, product="Latest")
    types = [
        i["type"] for i in first["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"]
    ]
    assert types == ["TimelineAddEntries"]
    cursor = next(e["content"]["value"] for e in entries(first) if e["entryId"].startswith("cursor-bottom"))
    second = client.gql("SearchTimeline", rawQuery="python", count=5, product="Latest", cursor=cursor)
    instructions = second["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"]
    assert [i["type"] for i in instructions] == [
        "TimelineAddEntries",
        "TimelineReplaceEntry",
        "TimelineReplaceEntry",
    ]
    assert instructions[2]["entry"]["content"]["cursorType"] == "Bottom"


def test_end_of_results_repeats_the_cursor(client: XClient) -> None:
    pages = paginate(client, "SearchTimeline", rawQuery="#xgetshowcase", count=50, product="Latest")
    last = pages[-1]
    assert not tweet_ids(last)
    assert [e for e in entries(last) if e["entryId"].startswith("tweet-")] == []


def test_highlights_mark_the_query_terms(client: XClient) -> None:
    body = client.gql("SearchTimeline", rawQuery="python", count=10, product="Latest")
    for e in entries(body):
        if e["entryId"].startswith("tweet-"):
            item = e["content"]["itemContent"]
            text = (item["tweet_results"]["result"].get("tweet") or item["tweet_results"]["result"])[
                "legacy"
            ]["full_text"]
            spans = item["highlights"]["textHighlights"]
            assert any(text[s["startIndex"] : s["endIndex"]].lower() == "python" for s in spans)


def test_people_search(world: World, client: XClient) -> None:
    target = world.users[5]
    pages = paginate(client, "SearchTimeline", rawQuery=target.screen_name, product="People")
    ids = [
        int(e["entryId"].split("-", 1)[1])
        for p in pages
        for e in entries(p)
        if e["entryId"].startswith("user-")
    ]
    assert target.id in ids


def test_posts_dated_after_now_are_not_served_yet() -> None:
    live = World.generate(WorldConfig(users=60, tweets=3000, days=2, bursts=1))  # ends tomorrow (UTC)
    future = [t for t in live.tweets if t.ms > time.time() * 1000 + 60_000 and t.retweeted is None]
    assert future, "the default world should reach past now"
    with EmulatorServer(live, UNLIMITED) as emu:
        c = XClient(emu, "clock")
        served = search_ids(c, "python OR ai OR climate OR football OR music", count=100)
        by_id = {t.id: t for t in live.tweets}
        assert served and max(by_id[i].ms for i in served) <= time.time() * 1000
        assert c.gql("TweetDetail", focalTweetId=str(future[0].id))["data"] == {}
        c.close()
    shown = UNLIMITED.model_copy(update={"hide_future_tweets": False})
    with EmulatorServer(live, shown) as emu:
        c = XClient(emu, "no-clock")
        detail = c.gql("TweetDetail", focalTweetId=str(future[0].id))
        assert str(future[0].id) in json.dumps(detail)
        c.close()
