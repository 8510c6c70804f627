"""Coordinated behaviour detection (core/coordination.py) on hand-made cases and on emulated worlds, scored
against the campaigns the emulator injects (gen_campaigns.py)."""

import datetime as dt
import random

import duckdb
import networkx as nx
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pytest

from xget_pipelines.core.coordination import (
    CoordinationConfig,
    actions,
    clusters_from,
    co_actions,
    day_co_actions,
    detect,
    evaluate,
    tweet_tables,
    world_tables,
    write_gexf,
)
from xget_pipelines.emulator.world import World, WorldConfig

T0 = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


def tables(posts: list[tuple]) -> tuple[pa.Table, pa.Table]:
    """(tweets, urls) from (tweet_id, user_id, seconds after T0, text, url or None, retweeted id or None)."""
    tweets = pa.table(
        {
            "tweet_id": pa.array([p[0] for p in posts], pa.int64()),
            "author_id": pa.array([p[1] for p in posts], pa.int64()),
            "created_at": pa.array(
                [T0 + dt.timedelta(seconds=p[2]) for p in posts], pa.timestamp("us", tz="UTC")
            ),
            "text": pa.array([p[3] for p in posts], pa.string()),
            "retweeted_tweet_id": pa.array([p[5] if len(p) > 5 else None for p in posts], pa.int64()),
        }
    )
    links = [(p[0], p[4]) for p in posts if p[4]]
    urls = pa.table(
        {
            "tweet_id": pa.array([x[0] for x in links], pa.int64()),
            "expanded_url": pa.array([x[1] for x in links], pa.string()),
        }
    )
    return tweets, urls


def rounds(users: list[int], starts: list[int], first_id: int = 1000) -> list[tuple]:
    """Each user posts round r's link and message a few seconds after ``starts[r]``."""
    posts = []
    for r, start in enumerate(starts):
        for i, user in enumerate(users):
            text = f"Round {r} message about the election you must read {'!' * i}"
            posts.append(
                (first_id + len(posts), user, start + 3 * i, text, f"https://news.example/r{r}?utm=x{i}")
            )
    return posts


def test_accounts_posting_the_same_links_and_texts_within_seconds_again_and_again_form_a_cluster():
    posts = rounds([11, 12, 13, 14], [0, 3600, 7200])
    tweets, urls = tables(posts)
    result = detect(tweets, urls)
    assert result.clusters.num_rows == 1
    cluster = result.clusters.to_pylist()[0]
    assert cluster["cluster_id"] == "coord-11" and cluster["members"] == 4 and cluster["pairs"] == 6
    assert cluster["kinds"] == ["text", "url"]  # "?utm=…" and "!" differ, the link and the text are one
    assert cluster["items"] == 6  # three links, three texts
    assert sorted(result.members["user_id"].to_pylist()) == [11, 12, 13, 14]
    assert set(result.evidence["tweet_id"].to_pylist()) == {p[0] for p in posts}
    # the same accounts in another order give the same cluster id
    shuffled = posts[:]
    random.Random(3).shuffle(shuffled)
    assert detect(*tables(shuffled)).clusters["cluster_id"].to_pylist() == ["coord-11"]


def test_acting_together_once_or_twice_is_not_coordination():
    once = rounds([21, 22, 23], [0])
    assert detect(*tables(once)).clusters.num_rows == 0  # two items (a link, a text): under the threshold
    assert detect(*tables(once), cfg=CoordinationConfig(min_items=2)).clusters.num_rows == 1


def test_a_pair_is_not_a_cluster():
    pair = rounds([31, 32], [0, 3600, 7200])
    assert detect(*tables(pair)).clusters.num_rows == 0
    assert detect(*tables(pair), cfg=CoordinationConfig(min_cluster=2)).clusters.num_rows == 1


def test_accounts_sharing_the_same_links_at_random_times_are_not_clustered():
    rng = random.Random(5)
    links = [f"https://viral.example/story-{n}" for n in range(4)]
    posts = [
        (5000 + i, 40 + i % 8, rng.randrange(0, 5 * 86_400), f"my own words on story {i}", rng.choice(links))
        for i in range(60)
    ]
    posts += rounds([11, 12, 13], [100_000, 200_000, 300_000])
    result = detect(*tables(posts))
    assert result.clusters.num_rows == 1 and set(result.members["user_id"].to_pylist()) == {11, 12, 13}


def test_co_retweets_count_and_the_window_is_a_setting():
    posts = []
    for r, start in enumerate((0, 5000, 9000)):
        posts.append((100 + r, 90, start, f"original post number {r} with enough words", None))
        for i, user in enumerate((51, 52, 53)):
            posts.append(
                (200 + 10 * r + i, user, start + 90 * (i + 1), f"RT @x: original post {r}", None, 100 + r)
            )
    result = detect(*tables(posts))
    assert result.clusters.num_rows == 0  # 90 s apart: outside the default 60 s coordination interval
    wide = detect(*tables(posts), cfg=CoordinationConfig(window_seconds=300))
    assert wide.clusters["kinds"].to_pylist() == [["retweet"]]
    assert set(wide.members["user_id"].to_pylist()) == {51, 52, 53}


def test_co_hashtags_only_when_asked_for():
    posts = rounds([61, 62, 63], [0, 3600, 7200])
    tweets, urls = tables([(p[0], p[1], p[2], f"short {p[0]}", None) for p in posts])
    tags = pa.table(
        {
            "tweet_id": pa.array([p[0] for p in posts], pa.int64()),
            "tag_lower": pa.array([f"tag{p[2] // 3600}" for p in posts], pa.string()),
        }
    )
    assert detect(tweets, urls, tags).clusters.num_rows == 0
    with_tags = detect(tweets, urls, tags, CoordinationConfig(kinds=("url", "text", "retweet", "hashtag")))
    assert with_tags.clusters["kinds"].to_pylist() == [["hashtag"]]
    with pytest.raises(ValueError, match="unknown co-action kinds"):
        CoordinationConfig(kinds=("emoji",))


def test_gexf_export_is_read_back_by_networkx(tmp_path):
    result = detect(*tables(rounds([11, 12, 13, 14], [0, 3600, 7200])))
    path = write_gexf(result, tmp_path / "out" / "coordination.gexf", {11: "alice"})
    graph = nx.read_gexf(path)
    assert sorted(graph.nodes) == ["11", "12", "13", "14"] and graph.number_of_edges() == 6
    assert graph.nodes["11"]["label"] == "alice" and graph.nodes["12"]["cluster"] == "coord-11"
    assert all(data["weight"] == 6 for _, _, data in graph.edges(data=True))


def test_a_cluster_made_of_burst_tweets_is_counted_as_a_burst():
    result = detect(*tables(rounds([11, 12, 13], [0, 600, 1200])))
    truth = {
        "campaigns": [{"members": [{"id": "11"}, {"id": "12"}, {"id": "13"}]}],
        "bursts": [{"term": "#x", "start": "2026-05-04T11:00:00Z", "end": "2026-05-04T14:00:00Z"}],
    }
    scored = evaluate(result, truth)
    assert (scored.precision, scored.recall, scored.bursts_as_coordination) == (1.0, 1.0, 1)
    truth["bursts"] = [{"term": "#x", "start": "2026-05-05T11:00:00Z", "end": "2026-05-05T14:00:00Z"}]
    assert evaluate(result, truth).bursts_as_coordination == 0
    truth["campaigns"][0]["members"].append({"id": "99"})
    assert (
        evaluate(result, truth).recall == 0.75 and evaluate(result, truth, present={11, 12, 13}).recall == 1.0
    )


@pytest.mark.parametrize("seed", [7, 23])
def test_the_emulators_campaigns_are_found_and_its_trend_bursts_are_not(seed):
    world = World.generate(WorldConfig(seed=seed, users=300, tweets=5000, days=30))
    truth = world.ground_truth()
    assert len(truth["campaigns"]) == 3 and truth["bursts"]
    scored = evaluate(detect(*world_tables(world)), truth)
    assert scored.precision >= 0.9 and scored.recall >= 0.9, scored
    assert scored.bursts_as_coordination == 0
    # what a watchlist of the campaigns' terms sees: search hits (no retweets), so text and link co-actions
    terms = {c["term"] for c in truth["campaigns"]}
    seen = [t for t in world.tweets if t.retweeted is None and any(term in t.text.lower() for term in terms)]
    tweets, urls, _ = tweet_tables(seen)
    observed = evaluate(detect(tweets, urls), truth, present=set(tweets["author_id"].to_pylist()))
    assert observed.precision >= 0.9 and observed.recall >= 0.9, observed
    assert observed.bursts_as_coordination == 0


def test_co_actions_stored_per_day_give_the_clusters_of_all_the_tweets():
    """Each co-action belongs to the day of its later action, a pair across midnight included, so the days'
    co-actions together are those of all the tweets and the clusters read from them are the same."""
    midnight = dt.datetime.combine(T0.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    across = int((midnight - T0).total_seconds()) - 4  # the round starts 4 s before midnight
    posts = rounds([11, 12, 13, 14], [0, 3600, across, across + 86400]) + rounds([21, 22], [60], 5000)
    tweets, urls = tables(posts)
    whole = detect(tweets, urls)
    days = [T0.date() + dt.timedelta(days=k) for k in range(3)]
    per_day = [day_co_actions(tweets, day, urls) for day in days]
    con = duckdb.connect()
    everything = co_actions(con, actions(con, tweets, urls), CoordinationConfig())
    assert sum(t.num_rows for t in per_day) == everything.num_rows
    crossing = per_day[1].filter(pa.compute.less(per_day[1]["at_a"], pa.scalar(midnight)))
    assert crossing.num_rows > 0, "the round across midnight is found on the day its later post is"
    stored = clusters_from(pa.concat_tables(per_day))
    assert stored.members.to_pylist() == whole.members.to_pylist()
    assert stored.pairs.to_pylist() == whole.pairs.to_pylist()
    assert clusters_from(per_day[2]).members.num_rows == 0  # one day alone repeats nothing 3 times
