"""Engagement counts grow between fetches and never decrease."""

from __future__ import annotations

import time
from itertools import pairwise

from xget_pipelines.emulator import EmulatorServer, World
from xget_pipelines.emulator.engagement import Engagement

from .conftest import UNLIMITED, XClient, entries

COUNTS = ("favorite_count", "retweet_count", "reply_count", "quote_count", "bookmark_count")


def as_tuple(c) -> tuple[int, ...]:
    return (c.likes, c.retweets, c.replies, c.quotes, c.bookmarks, c.views)


def test_counts_are_monotone_in_fetch_time(world: World) -> None:
    engagement = Engagement(started_ms=world.cfg.start_ms, growth_per_hour=5.0)
    times = range(world.cfg.start_ms, world.cfg.end_ms + 10 * 86_400_000, 3_600_000 * 7)
    for tweet in world.tweets[::37]:
        history = [as_tuple(engagement.counts(tweet, now)) for now in times]
        for before, after in pairwise(history):
            assert all(a >= b for a, b in zip(after, before, strict=False)), tweet.id
        # never below what the world really holds
        assert history[-1][2] >= len(tweet.replies) and history[-1][1] >= len(tweet.retweeters)


def snapshot(client: XClient) -> dict[str, tuple[int, ...]]:
    body = client.gql("SearchTimeline", rawQuery="python", count=40, product="Latest")
    out = {}
    for e in entries(body):
        if e["entryId"].startswith("tweet-"):
            result = e["content"]["itemContent"]["tweet_results"]["result"]
            tweet = result.get("tweet", result)
            out[tweet["rest_id"]] = tuple(tweet["legacy"][k] for k in COUNTS) + (
                int(tweet["views"]["count"]),
            )
    return out


def test_counts_grow_between_fetches(world: World) -> None:
    settings = UNLIMITED.model_copy(update={"growth_per_hour": 3600.0 * 20})
    with EmulatorServer(world, settings) as emu:
        c = XClient(emu, "watcher")
        history = []
        for _ in range(4):
            history.append(snapshot(c))
            time.sleep(0.25)
        for before, after in pairwise(history):
            for tid, counts in after.items():
                assert all(a >= b for a, b in zip(counts, before[tid], strict=False)), tid
        grown = sum(history[-1][t][0] > history[0][t][0] for t in history[0])
        assert grown > len(history[0]) // 2
        c.close()
