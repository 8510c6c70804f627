"""The synthetic world: determinism, ids, structure, bursts and ground truth."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from datetime import date

import pytest

from xget_pipelines.emulator import World, WorldConfig, vocab
from xget_pipelines.emulator.model import TWITTER_EPOCH_MS, snowflake_ms

from .conftest import WORLD_END, ordinary_users

DAY_MS = 86_400_000


def fingerprint(world: World) -> str:
    h = hashlib.sha256()
    for u in world.users:
        h.update(
            f"{u.id}|{u.screen_name}|{u.name}|{u.bio}|{u.following}|{u.pinned and u.pinned.id}\n".encode()
        )
    for t in world.tweets:
        h.update(
            f"{t.id}|{t.author.id}|{t.text}|{t.lang}|{t.sentiment}|{t.pop}|{t.flags}|"
            f"{t.reply_to and t.reply_to.id}|{t.quoted and t.quoted.id}|{t.retweeted and t.retweeted.id}|"
            f"{[(m.kind, m.id) for m in t.media]}\n".encode()
        )
    for b in world.bursts:
        h.update(f"{b.term}|{b.start_ms}|{b.end_ms}|{b.tweets}\n".encode())
    return h.hexdigest()


def test_generation_is_deterministic(world: World) -> None:
    again = World.generate(WorldConfig(seed=7, users=300, tweets=5000, days=30, end=WORLD_END))
    assert fingerprint(again) == fingerprint(world)
    other = World.generate(WorldConfig(seed=8, users=300, tweets=5000, days=30, end=WORLD_END))
    assert fingerprint(other) != fingerprint(world)


def test_config_defaults_and_end() -> None:
    cfg = WorldConfig()
    assert (cfg.seed, cfg.users, cfg.tweets, cfg.days, cfg.bursts) == (7, 300, 5000, 30, 6)
    assert cfg.end > date.today() or cfg.end == date.today()  # today UTC + 1 day
    assert WorldConfig(end="2026-08-01").end == date(2026, 8, 1)
    with pytest.raises(ValueError):
        WorldConfig(users=1)


def test_tweet_ids_are_snowflakes_of_created_at(world: World) -> None:
    ids = [t.id for t in world.tweets]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for t in world.tweets:
        assert snowflake_ms(t.id) == t.ms
        assert ((t.ms - TWITTER_EPOCH_MS) << 22) | (t.id & 0x3FFFFF) == t.id
        assert world.cfg.start_ms <= t.ms < world.cfg.end_ms


def test_structure_is_consistent(world: World) -> None:
    kinds = Counter()
    for t in world.tweets:
        if t.reply_to is not None:
            kinds["reply"] += 1
            assert t.reply_to.id < t.id and t.conversation_id == t.reply_to.conversation_id
            assert t.text.startswith("@" + t.reply_to.author.screen_name)
            assert t in t.reply_to.replies
        if t.retweeted is not None:
            kinds["retweet"] += 1
            assert t.retweeted.id < t.id and t.author in t.retweeted.retweeters
            assert t.text.startswith(f"RT @{t.retweeted.author.screen_name}: ")
        if t.quoted is not None:
            kinds["quote"] += 1
            assert t.quoted.id < t.id
        assert t in t.author.tweets
        assert t.sentiment in ("positive", "negative", "neutral")
    assert kinds["reply"] > 300 and kinds["retweet"] > 300 and kinds["quote"] > 100
    langs = Counter(t.lang for t in world.tweets)
    assert langs.most_common(1)[0][0] == "en" and len(langs) >= 4


def test_media_and_features_present(world: World) -> None:
    media = [m for t in world.tweets for m in t.media]
    assert {m.kind for m in media} == {"photo", "video", "animated_gif"}
    assert any(t.card for t in world.tweets) and any(t.place for t in world.tweets)
    assert any(t.hidden for t in world.tweets) and any(len(t.text) > 280 for t in world.tweets)
    assert all(m.duration_ms > 0 for m in media if m.kind == "video")


def test_follow_graph_is_heavy_tailed(world: World) -> None:
    followers = sorted((len(u.followers) for u in ordinary_users(world)), reverse=True)
    assert followers[0] > 5 * followers[len(followers) // 2]
    follower_sets = {u.idx: set(u.followers) for u in world.users}
    for u in world.users:
        for f in u.following:
            assert u.idx in follower_sets[f]


def test_sentiment_words_match_labels(world: World) -> None:
    pos, neg = set(vocab.POSITIVE["en"]), set(vocab.NEGATIVE["en"])
    for t in world.tweets:
        if t.lang != "en" or t.retweeted is not None or t.author.screen_name.startswith("xget_"):
            continue
        words = set(t.text.lower().replace(",", " ").replace("?", " ").split())
        if t.sentiment == "positive":
            assert words & pos and not words & neg, t.text
        elif t.sentiment == "negative":
            assert words & neg and not words & pos, t.text
        else:
            assert not words & (pos | neg), t.text


def test_bursts_are_recorded_and_spike(world: World) -> None:
    truth = world.ground_truth()
    assert len(truth["bursts"]) == 6
    for b in world.bursts:
        tagged = [
            t for t in world.tweets if t.burst >= 0 and world.bursts[t.burst] is b and t.retweeted is None
        ]
        in_window = [t for t in world.tweets if b.term[1:] in t.hashtags]
        assert in_window and all(b.start_ms <= t.ms < b.end_ms for t in in_window)
        assert len(tagged) >= b.tweets * 0.6
        # volume in the burst window is far above the same term's volume elsewhere (zero)
        outside = [
            t
            for t in world.tweets
            if b.term[1:] in t.text and not b.start_ms <= t.ms <= b.end_ms and t.retweeted is None
        ]
        assert len(outside) == 0
    assert truth["bursts"][0]["tweets_added"] == world.bursts[0].tweets


def test_watchlist_has_data_every_day(world: World) -> None:
    suggestions = world.watchlist_suggestions()
    assert suggestions["terms"] and len(suggestions["users"]) == 3 and suggestions["lists"]
    days = world.cfg.days
    for term in suggestions["terms"]:
        per_day = Counter(
            (t.ms - world.cfg.start_ms) // DAY_MS
            for t in world.tweets
            if term.lstrip("#") in t.text.lower() and t.retweeted is None
        )
        assert len(per_day) == days, (term, sorted(per_day))
    for name in suggestions["users"]:
        assert len(world.user_by_screen_name(name).tweets) >= 50


def test_ground_truth_counts(world: World) -> None:
    counts = world.ground_truth()["counts"]
    assert counts["tweets"] == len(world.tweets) == sum(counts["by_kind"].values())
    assert set(counts["by_sentiment"]) == {"positive", "negative", "neutral"}


@pytest.mark.slow
def test_demo_size_world_generates_quickly() -> None:
    started = time.perf_counter()
    demo = World.generate(WorldConfig(users=3000, tweets=100_000, end=WORLD_END))
    elapsed = time.perf_counter() - started
    assert len(demo.users) >= 3000 and len(demo.tweets) >= 100_000
    assert elapsed < 30, f"demo world took {elapsed:.1f}s"
    print(f"demo world: {len(demo.tweets)} tweets, {len(demo.users)} users in {elapsed:.2f}s")
