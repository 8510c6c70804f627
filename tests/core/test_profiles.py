"""User profiles, the mention graph and the co-hashtag network on a small hand-made lake."""

from __future__ import annotations

import datetime as dt

import networkx as nx
import pyarrow as pa
import pytest

from xget_pipelines.core.entities import TWEETS, TWEETS_SCHEMA, USERS, USERS_SCHEMA
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.profiles import (
    BOT_RULES,
    ProfileConfig,
    cotag_edges,
    graph_metrics,
    to_graph,
    user_profiles,
)
from xget_pipelines.core.x.clean import cleaned_schema

UTC = dt.UTC
DAY = dt.date(2026, 6, 1)
ANN, BOT, CAT = 1, 2, 3
CAT_TEXTS = [
    "my cat sleeps on the keyboard again",
    "kittens are the best pets",
    "the cat chased a laser dot",
    "adopted a second cat today",
    "cat videos all evening",
]


@pytest.fixture
def lake(lake):
    now = dt.datetime(2026, 6, 2, tzinfo=UTC)
    tweets, mentions, tags = [], [], []

    def tweet(tid, author, hour, text, *, retweet=False, mention=None, hashtags=()):
        created = dt.datetime.combine(DAY, dt.time(hour), UTC)
        tweets.append(
            {
                "tweet_id": tid,
                "author_id": author,
                "created_at": created,
                "text": text,
                "like_count": 4,
                "retweet_count": 1,
                "reply_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "is_quote": False,
                "is_retweet": retweet,
                "has_media": False,
                "visibility": "visible",
                "via": "timeline",
                "first_seen": now,
                "last_seen": now,
                "created_date": DAY,
            }
        )
        if mention:
            mentions.append(
                {
                    "tweet_id": tid,
                    "user_id": mention[0],
                    "username": mention[1],
                    "watch_key": "k",
                    "page_key": "p",
                    "fetched_at": now,
                    "day": DAY,
                }
            )
        for tag in hashtags:
            tags.append(
                {
                    "tweet_id": tid,
                    "tag": tag,
                    "tag_lower": tag.lower(),
                    "watch_key": "k",
                    "page_key": "p",
                    "fetched_at": now,
                    "day": DAY,
                }
            )

    for i, text in enumerate(CAT_TEXTS):  # ann: a few daytime tweets about cats, mentions cat lover
        tweet(
            100 + i,
            ANN,
            9 + i,
            text,
            mention=(CAT, "catlover") if i < 3 else None,
            hashtags=("Cats", "pets") if i < 2 else (),
        )
    for hour in range(24):  # bot: around the clock, the same text, mostly
        tweet(
            200 + hour,
            BOT,
            hour,
            "BUY $COIN NOW 1000x" if hour % 6 else "to the moon",
            mention=(CAT, "catlover") if hour == 0 else None,
        )
    for i, text in enumerate(CAT_TEXTS[::-1][:3]):  # cat lover: cats too, mentions ann once
        tweet(300 + i, CAT, 12 + i, text + "!", mention=(ANN, "ann") if i == 0 else None)
    users = [
        {
            "user_id": uid,
            "username": name,
            "followers_count": fol,
            "following_count": fwg,
            "description": desc,
            "profile_image_url": img,
            "first_seen": now,
            "last_seen": now,
            "bucket": uid % 16,
        }
        for uid, name, fol, fwg, desc, img in [
            (ANN, "ann", 120, 80, "I like cats", "https://pbs.twimg.com/ann.jpg"),
            (BOT, "coinbot", 3, 2000, "", "https://abs.twimg.com/default_profile_normal.png"),
            (CAT, "catlover", 400, 50, "cats cats cats", "https://pbs.twimg.com/cat.jpg"),
        ]
    ]
    from deltalake import write_deltalake

    write_deltalake(
        lake.path(TWEETS), pa.Table.from_pylist(tweets, schema=TWEETS_SCHEMA), partition_by=["created_date"]
    )
    write_deltalake(
        lake.path(USERS), pa.Table.from_pylist(users, schema=USERS_SCHEMA), partition_by=["bucket"]
    )
    for table, rows in (("cleaned/mentions", mentions), ("cleaned/hashtags", tags)):
        lake.replace_where(
            table,
            pa.Table.from_pylist(rows, schema=cleaned_schema(table)),
            {"day": DAY, "watch_key": "k"},
            ["day"],
        )
    return lake


def test_mention_graph_ranks_the_most_mentioned_user_first(lake):
    metrics = {r["user_id"]: r for r in graph_metrics(connect(lake)).to_pylist()}
    assert set(metrics) == {ANN, BOT, CAT}
    assert max(metrics, key=lambda u: metrics[u]["pagerank"]) == CAT
    assert (metrics[CAT]["in_degree"], metrics[CAT]["weighted_in"]) == (2, 4)  # ann x3, the bot x1
    assert metrics[BOT]["in_degree"] == 0 and metrics[BOT]["out_degree"] == 1


def test_profiles_describe_activity_influence_similarity_and_bot_signals(lake):
    con = connect(lake)
    profiles = {
        r["username"]: r for r in user_profiles(con, ProfileConfig(embed_users=10, similar=1)).to_pylist()
    }
    ann, bot, cat = profiles["ann"], profiles["coinbot"], profiles["catlover"]
    assert (ann["tweets"], ann["active_days"], ann["active_hours"]) == (5, 1, [9, 10, 11])
    assert ann["top_hashtags"] == ["cats", "pets"] and ann["top_mentions"] == ["catlover"]
    assert ann["engagement_rate"] == pytest.approx(5 / 120)
    assert cat["pagerank_mention"] > ann["pagerank_mention"]
    assert ann["bot_signals"] == [] and cat["bot_signals"] == []
    assert set(bot["bot_signals"]) == {
        BOT_RULES["no_sleep"],
        BOT_RULES["repeats_itself"],
        BOT_RULES["follow_spam"],
        BOT_RULES["empty_profile"],
    }
    assert bot["bot_score"] == pytest.approx(4 / len(BOT_RULES), abs=1e-3)
    # the two cat people are each other's nearest neighbour, not the coin bot
    assert ann["similar_users"][0]["user_id"] == CAT and cat["similar_users"][0]["user_id"] == ANN
    assert len(ann["embedding"]) == 384


def test_cotag_network_and_its_gephi_export(lake, tmp_path, monkeypatch):
    edges = cotag_edges(connect(lake))
    rows = [(r["kind"], r["a"], r["b"], r["weight"]) for r in edges.to_pylist()]
    assert ("hashtag", "cats", "pets", 2) in rows
    graph = to_graph(edges)
    assert graph["cats"]["pets"]["weight"] == 2

    from typer.testing import CliRunner

    from xget_pipelines.assets.profiles import COTAG
    from xget_pipelines.cli import app

    lake.overwrite(COTAG, edges)
    monkeypatch.setenv("XGET_LAKE_URI", lake.uri)
    out = tmp_path / "net.graphml"
    result = CliRunner().invoke(app, ["graph", "export", str(out), "--since", "2026-06-01"])
    assert result.exit_code == 0, result.output
    back = nx.read_graphml(out)
    assert back["cats"]["pets"]["weight"] == 2
    bad = CliRunner().invoke(app, ["graph", "export", str(tmp_path / "net.txt")])
    assert bad.exit_code == 1 and "name it .gexf or .graphml" in bad.output


def test_an_account_in_a_coordinated_cluster_carries_it_next_to_its_bot_signals(lake):
    from xget_pipelines.core.coordination import MEMBERS_SCHEMA, MEMBERS_TABLE

    before = {
        r["username"]: r for r in user_profiles(connect(lake), ProfileConfig(embed_users=0)).to_pylist()
    }
    assert before["coinbot"]["coordination_cluster"] is None
    members = pa.Table.from_pylist(
        [{"user_id": BOT, "cluster_id": "coord-2", "degree": 2, "co_actions": 9, "items": 4}],
        schema=MEMBERS_SCHEMA,
    )
    lake.overwrite(MEMBERS_TABLE, members)
    profiles = {
        r["username"]: r for r in user_profiles(connect(lake), ProfileConfig(embed_users=0)).to_pylist()
    }
    bot, ann = profiles["coinbot"], profiles["ann"]
    assert bot["coordination_cluster"] == "coord-2" and ann["coordination_cluster"] is None
    assert BOT_RULES["coordinated"].format("coord-2") in bot["bot_signals"] and ann["bot_signals"] == []
    assert bot["bot_score"] > before["coinbot"]["bot_score"]
