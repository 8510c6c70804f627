"""Graph metrics with igraph (core/profiles.py ``edge_metrics``): agreement with the networkx PageRank and
Louvain they replaced, seeded communities, the schema, empty graphs and the mention window."""

from __future__ import annotations

import datetime as dt

import duckdb
import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import normalized_mutual_info_score

from xget_pipelines.core.profiles import GRAPH_SCHEMA, edge_metrics, graph_metrics, mention_window


def mention_graph(edges: int = 4000, seed: int = 3, topics: int = 8) -> pa.Table:
    """Heavy-tailed mentions (Zipf authors and targets) where 80% stay inside the author's topic."""
    rng = np.random.default_rng(seed)
    users = edges // 5
    popularity = 1.0 / np.arange(1, users + 1)
    src = rng.choice(users, edges * 2, p=popularity**0.8 / (popularity**0.8).sum())
    anywhere = rng.choice(users, edges * 2, p=popularity / popularity.sum())
    same_topic = (anywhere - anywhere % topics + src % topics) % users
    dst = np.where(rng.random(edges * 2) < 0.8, same_topic, anywhere)
    keep = src != dst
    pairs, weight = np.unique(src[keep] * users + dst[keep], return_counts=True)
    ids = 10**15 + 7919 * np.arange(users)  # snowflake-sized, not 0..n-1
    return pa.table({"src": ids[pairs // users], "dst": ids[pairs % users], "weight": weight})


def networkx_reference(edges: pa.Table):
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(zip(*(edges[c].to_pylist() for c in ("src", "dst", "weight")), strict=True))
    louvain = nx.community.louvain_communities(graph.to_undirected(), weight="weight", seed=7)
    return graph, nx.pagerank(graph, weight="weight"), {u: i for i, c in enumerate(louvain) for u in c}


def test_pagerank_degrees_and_communities_agree_with_networkx():
    edges = mention_graph()
    metrics = edge_metrics(edges, "mention", seed=7)
    graph, rank, louvain = networkx_reference(edges)
    users = metrics["user_id"].to_pylist()
    assert users == sorted(graph.nodes)
    assert metrics["in_degree"].to_pylist() == [graph.in_degree(u) for u in users]
    assert metrics["weighted_out"].to_pylist() == [graph.out_degree(u, weight="weight") for u in users]
    assert sum(metrics["pagerank"].to_pylist()) == pytest.approx(1.0)
    assert spearmanr(metrics["pagerank"].to_numpy(), [rank[u] for u in users]).statistic >= 0.99
    # Leiden and Louvain differ in detail, but find the same topics
    nmi = normalized_mutual_info_score([louvain[u] for u in users], metrics["community"].to_numpy())
    assert nmi >= 0.8


def test_communities_are_the_same_every_run_and_numbered_largest_first():
    edges = mention_graph(seed=5)
    first = edge_metrics(edges, "mention", seed=7)
    assert first.equals(edge_metrics(edges, "mention", seed=7))
    community = first["community"].to_numpy()
    sizes = np.bincount(community)
    assert (np.diff(sizes) <= 0).all() and sizes[-1] > 0


def test_pagerank_in_a_process_of_its_own_gives_the_same_table():
    """Large graphs rank in a second process while the communities are found: the same rows either way."""
    edges = mention_graph(seed=9)
    assert edge_metrics(edges, "mention", apart_from=0).equals(edge_metrics(edges, "mention"))


def test_two_groups_joined_by_one_mention_are_two_communities_ties_by_smallest_user():
    group_a, group_b = [11, 12, 13, 14], [21, 22, 23, 24]
    pairs = [(a, b) for g in (group_a, group_b) for a in g for b in g if a != b] + [(14, 21)]
    edges = pa.table({"src": [p[0] for p in pairs], "dst": [p[1] for p in pairs], "weight": [1] * len(pairs)})
    rows = {r["user_id"]: r for r in edge_metrics(edges, "follow").to_pylist()}
    assert {u: rows[u]["community"] for u in group_a + group_b} == {
        **dict.fromkeys(group_a, 0),
        **dict.fromkeys(group_b, 1),
    }
    assert rows[21]["in_degree"] == 4 and rows[14]["out_degree"] == 4 and rows[14]["graph"] == "follow"


def test_the_schema_holds_for_a_graph_and_for_no_graph():
    assert edge_metrics(mention_graph(400), "mention").schema == GRAPH_SCHEMA
    empty = pa.table({c: pa.array([], pa.int64()) for c in ("src", "dst", "weight")})
    assert edge_metrics(empty, "mention").equals(GRAPH_SCHEMA.empty_table())
    assert graph_metrics(duckdb.connect()).equals(GRAPH_SCHEMA.empty_table())  # an empty lake


@pytest.fixture
def con():
    """Views named as ``connect`` names them: mentions of tweets on three days (each collected on its day or
    later, in the ``day`` column), one follow."""
    con = duckdb.connect()
    con.execute("""
        create view entities_tweets as select * from (values
            (1, 100, timestamptz '2026-05-01 10:00+00', date '2026-05-01'),
            (2, 100, timestamptz '2026-05-30 10:00+00', date '2026-05-30'),
            (3, 200, timestamptz '2026-06-01 10:00+00', date '2026-06-01')
        ) t(tweet_id, author_id, created_at, created_date)""")
    con.execute("""
        create view cleaned_mentions as select * from (values
            (1, 300, date '2026-05-01'), (2, 300, date '2026-05-31'), (3, 300, date '2026-06-01'),
            (3, 100, date '2026-06-01')
        ) t(tweet_id, user_id, day)""")
    con.execute("create view entities_follows as select 400 as follower_id, 500 as followed_id")
    return con


def test_a_window_keeps_the_mentions_of_its_days_and_the_follow_graph_whole(con):
    def mentions(**window):
        rows = graph_metrics(con, **window).to_pylist()
        assert {r["user_id"] for r in rows if r["graph"] == "follow"} == {400, 500}
        return {r["user_id"]: r["weighted_in"] for r in rows if r["graph"] == "mention"}

    assert mentions() == {100: 1, 200: 0, 300: 3}  # all time
    assert mention_window(con, 3) == (dt.date(2026, 5, 30), dt.date(2026, 6, 1))  # ends on the newest day
    assert mentions(window_days=3) == {100: 1, 200: 0, 300: 2}
    assert mentions(window_days=1) == {100: 1, 200: 0, 300: 1}
    assert mentions(window_days=1, as_of=dt.date(2026, 5, 1)) == {100: 0, 300: 1}
    assert mentions(window_days=1, as_of=dt.date(2026, 4, 1)) == {}
    with pytest.raises(ValueError, match="window_days must be 1 or more"):
        mention_window(con, 0)
