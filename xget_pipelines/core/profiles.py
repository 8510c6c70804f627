"""User profiles, the mention graph's metrics and the co-hashtag / co-mention network, from the lake.

``user_profiles`` (one row per author of a merged tweet): activity (tweets, tweets per active day, the
three busiest UTC hours, the reply/retweet/quote/original mix), top hashtags and mentions, mean sentiment
(newest model version scored), engagement rate (mean of likes+retweets+replies+quotes over followers, on
original tweets), follower/following counts and their growth over the observed history, influence
(PageRank on the mention graph and on the follow graph of the collected follows), an embedding (mean
all-MiniLM-L6-v2 embedding of up to ``tweets_per_user`` of the user's tweets, for the
``embed_users`` most active users) and ``similar_users`` (the five nearest by cosine similarity), and
bot-likeness signals, each with its reason; ``coordination_cluster`` is the coordinated cluster the account
belongs to (``analytics/coordination_members``, core/coordination.py), null when none, and a bot signal
names it.

``graph_metrics``: per user of the mention graph (author -> mentioned user, weighted by mentions; all time,
or the tweets of a window of days) and of the follow graph (``entities/follows``, the current snapshot: follows
carry no date) in/out degree and weighted degree, PageRank and a Leiden community (seeded: the same lake
gives the same communities), computed with igraph (``edge_metrics``). ``cotag_edges``: per UTC day, pairs of hashtags used in
the same tweet and pairs of users mentioned in the same tweet, weighted by tweets; ``to_graph`` turns a day's
edges into a networkx graph for GEXF/GraphML export (Gephi)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from xget_pipelines.core.lake.catalog import has_view

BOT_RULES = {
    "no_sleep": "tweets in 20 or more distinct hours of the day",
    "high_volume": "more than 50 tweets per active day",
    "retweet_only": "more than 90% of its tweets are retweets (5+ tweets)",
    "repeats_itself": "more than half of its tweets repeat the same text (5+ tweets)",
    "follow_spam": "follows more than 10x as many accounts as follow it (following > 500)",
    "empty_profile": "no description and default profile image",
    "coordinated": "acts within seconds of the same accounts again and again (analytics_coordination cluster {})",
}


@dataclass
class ProfileConfig:
    embed_users: int = 300  # the most active users get an embedding (each costs a MiniLM pass per tweet)
    tweets_per_user: int = 10
    similar: int = 5
    top: int = 5


def mention_window(
    con, window_days: int | None, as_of: dt.date | None = None
) -> tuple[dt.date, dt.date] | None:
    """The first and last ``created_date`` of a window of ``window_days`` days ending on ``as_of`` (inclusive),
    or None for all time (``window_days`` None). ``as_of`` defaults to the newest tweet day of the lake, not
    today, so the same lake gives the same window; a lake without dated tweets gives None."""
    if window_days is None:
        return None
    if window_days < 1:
        raise ValueError(f"window_days must be 1 or more (got {window_days}); use None for all time")
    if as_of is None:
        if not has_view(con, "entities_tweets"):
            return None
        as_of = con.execute(
            "select max(created_date) from entities_tweets where created_at is not null"
        ).fetchall()[0][0]
        if as_of is None:
            return None
    return as_of - dt.timedelta(days=window_days - 1), as_of


def mention_edges(con, window: tuple[dt.date, dt.date] | None = None) -> pa.Table:
    """(src author, dst mentioned user, weight) over merged tweets, those created in ``window`` (first, last
    ``created_date``, inclusive; the table's partition column, so only those days are read) when given."""
    if not (has_view(con, "cleaned_mentions") and has_view(con, "entities_tweets")):
        return _empty_edges()
    collected, where, params = "", "", []
    if window is not None:  # a tweet is collected on or after the day it was created: older pages are skipped
        collected, where = "and day >= ?", "and t.created_date between ? and ?"
        params = [window[0], *window]
    return con.sql(
        f"""
        with m as (select distinct tweet_id, user_id from cleaned_mentions where user_id is not null {collected})
        select t.author_id as src, m.user_id as dst, count(*) as weight
        from m join entities_tweets t using (tweet_id)
        where t.author_id is not null and t.author_id <> m.user_id {where}
        group by 1, 2
    """,
        params=params,
    ).to_arrow_table()


def _empty_edges() -> pa.Table:
    return pa.table(
        {"src": pa.array([], pa.int64()), "dst": pa.array([], pa.int64()), "weight": pa.array([], pa.int64())}
    )


def follow_edges(con) -> pa.Table:
    """(src follower, dst followed, weight 1) from the merged follows."""
    if not has_view(con, "entities_follows"):
        return _empty_edges()
    return con.sql(
        "select follower_id as src, followed_id as dst, 1::bigint as weight from entities_follows "
        "where follower_id <> followed_id"
    ).to_arrow_table()


GRAPH_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("in_degree", pa.int64()),
        ("out_degree", pa.int64()),
        ("weighted_in", pa.int64()),
        ("weighted_out", pa.int64()),
        ("pagerank", pa.float64()),
        ("community", pa.int64()),
        ("graph", pa.string()),
    ]
)


def edge_metrics(edges: pa.Table, name: str, seed: int = 7, apart_from: int | None = None) -> pa.Table:
    """``GRAPH_SCHEMA`` rows (``graph`` = ``name``) for distinct weighted edges (``src``, ``dst``, ``weight``).

    Ids are mapped to 0..n-1 with Arrow and numpy (nodes sorted by user id), degrees are ``bincount``s: nothing
    loops per edge in Python. PageRank: weighted, directed, damping 0.85, dangling users' rank spread
    uniformly (as networkx's ``pagerank``), by power iteration (``pagerank``). Communities: Leiden maximising
    modularity (Traag, Waltman & van Eck 2019, "From Louvain to Leiden: guaranteeing well-connected
    communities", Sci. Rep. 9:5233; igraph ``community_leiden``, one iteration: at 10M edges it reached the
    modularity of igraph's Louvain (multilevel) in a third of its CPU time, bench/graph.py) on the undirected
    graph in which a pair of users weighs the sum of both directions; igraph's random numbers come from
    ``random.Random(seed)`` for the call, so the same edges give the same communities. Community 0 is the
    largest, ties by the smallest user id. From ``apart_from`` edges (``PAGERANK_APART_EDGES``) PageRank runs
    in a second process meanwhile. bench/graph.py measures it (10M edges) and its agreement with the
    networkx PageRank + Louvain it replaced."""
    edges = edges.drop_null()
    if edges.num_rows == 0:
        return GRAPH_SCHEMA.empty_table()
    users, s, d = _dense_ids(edges)
    n = len(users)
    weight = edges["weight"].to_numpy().astype(np.float64)
    del edges
    columns = {
        "user_id": users,
        "in_degree": np.bincount(d, minlength=n),
        "out_degree": np.bincount(s, minlength=n),
        "weighted_in": np.rint(np.bincount(d, weights=weight, minlength=n)).astype(np.int64),
        "weighted_out": np.rint(np.bincount(s, weights=weight, minlength=n)).astype(np.int64),
    }
    apart_from = PAGERANK_APART_EDGES if apart_from is None else apart_from
    if len(s) >= apart_from:  # PageRank on the second core while this one finds the communities
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as apart:
            ranked = apart.submit(pagerank, s, d, weight, n)
            columns["community"] = _communities(s, d, weight, n, seed)
            columns["pagerank"] = ranked.result()
    else:
        columns["pagerank"] = pagerank(s, d, weight, n)
        columns["community"] = _communities(s, d, weight, n, seed)
    columns["graph"] = pa.array([name]).take(pa.array(np.zeros(n, np.int64)))
    return pa.table({f.name: columns[f.name] for f in GRAPH_SCHEMA}, schema=GRAPH_SCHEMA)


# From this many edges PageRank runs in a process of its own beside the community detection (measured at 10M
# edges on 2 cores: bench/graph.py); below it the second interpreter costs more than it saves.
PAGERANK_APART_EDGES = 2_000_000


def _dense_ids(edges: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The users sorted by id and each edge's ends as positions in them. Arrow's hash encoding, then a sort
    of the distinct ids only: measured 5x cheaper than ``np.unique`` + ``searchsorted`` at 10M edges."""
    encoded = pa.chunked_array(edges["src"].chunks + edges["dst"].chunks).dictionary_encode()
    ids = encoded.chunks[-1].dictionary.to_numpy()  # one dictionary for every chunk
    codes = np.concatenate([chunk.indices.to_numpy() for chunk in encoded.chunks])
    order = np.argsort(ids)
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    codes = position[codes]
    return ids[order], codes[: edges.num_rows], codes[edges.num_rows :]


def pagerank(s: np.ndarray, d: np.ndarray, weight: np.ndarray, n: int, tol: float = 1e-10) -> np.ndarray:
    """Weighted PageRank (damping 0.85) of the directed graph ``s -> d``, a dangling node's rank spread
    uniformly, as networkx's ``pagerank`` defines it: power iteration on a scipy CSR matrix until the L1
    change is under ``tol`` (a fixed order of sums: the same edges give the same ranks). Against igraph's
    PRPACK solver on a 1M-edge mention graph: ranks within 6e-11 (2e-7 relative), Spearman 1.0, the same CPU
    time (0.45 s), and no igraph graph to build for it."""
    import scipy.sparse as sp

    out = np.bincount(s, weights=weight, minlength=n)
    matrix = sp.csr_matrix((weight, (d, s)), shape=(n, n))
    share = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    dangling = out == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(1000):
        previous = rank
        rank = 0.85 * (matrix @ (previous * share)) + (0.85 * previous[dangling].sum() + 0.15) / n
        if np.abs(rank - previous).sum() < tol:
            break
    return rank / rank.sum()


def _communities(s: np.ndarray, d: np.ndarray, weight: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Per node, its community number (0 = the largest; ties: the one holding the smallest node)."""
    import igraph as ig

    key = np.minimum(s, d) * n + np.maximum(s, d)
    order = np.argsort(key)
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    pair_weight = np.add.reduceat(weight[order], first)
    pairs = key[first]
    del key, order, first
    graph = ig.Graph(n=n, directed=False)
    graph.add_edges(np.column_stack([pairs // n, pairs % n]))
    del pairs
    # Mention counts are whole numbers: as Python ints (those under 257 are shared objects) the attribute
    # costs a pointer per edge, not a float object each (hundreds of MB at 10M edges).
    graph.es["weight"] = np.rint(pair_weight).astype(np.int64).tolist()
    del pair_weight
    ig.set_random_number_generator(random.Random(seed))
    try:
        found = graph.community_leiden(objective_function="modularity", weights="weight", n_iterations=1)
    finally:
        ig.set_random_number_generator(random)  # igraph's default: the random module
    labels = np.asarray(found.membership)
    _, first = np.unique(labels, return_index=True)  # nodes are sorted by user id: first = smallest
    sizes = np.bincount(labels)
    order = np.lexsort((first, -sizes))
    number = np.empty(len(order), np.int64)
    number[order] = np.arange(len(order))
    return number[labels]


def graph_metrics(
    con, seed: int = 7, window_days: int | None = None, as_of: dt.date | None = None
) -> pa.Table:
    """Metrics of the mention graph and of the follow graph (column ``graph``), one row per user of each.
    ``window_days``: only mentions of tweets created in the ``window_days`` days ending on ``as_of``
    (default: the newest tweet day; see ``mention_window``); None (default) is all time. The follow graph is
    always the current snapshot of ``entities/follows``."""
    window = mention_window(con, window_days, as_of)
    return pa.concat_tables(
        [
            edge_metrics(mention_edges(con, window), "mention", seed),
            edge_metrics(follow_edges(con), "follow", seed),
        ]
    )


def cotag_edges(con, day: dt.date | None = None) -> pa.Table:
    """Per UTC day (of the tweet), co-hashtag and co-mention pairs with the tweets that carry both; with
    ``day``, that day's rows only (the tweets of its ``created_date`` partition)."""
    schema = pa.schema(
        [
            ("day", pa.date32()),
            ("kind", pa.string()),
            ("a", pa.string()),
            ("b", pa.string()),
            ("weight", pa.int64()),
        ]
    )
    if not has_view(con, "entities_tweets"):
        return schema.empty_table()
    # created_date is the UTC day of created_at, the partition column of entities/tweets: a day reads its own
    # partition, and the tags and mentions of its tweets only
    where = "t.created_at is not null and not t.is_retweet"
    if day is not None:
        where += f" and t.created_date = DATE '{day.isoformat()}'"
    parts = []
    if has_view(con, "cleaned_hashtags"):
        parts.append(f"""
            with t as (select tweet_id, created_at from entities_tweets t where {where}),
            tags as (select distinct tweet_id, tag_lower as x from cleaned_hashtags semi join t using (tweet_id))
            select cast(t.created_at at time zone 'UTC' as date) as day, 'hashtag' as kind, a.x as a, b.x as b,
                   count(*) as weight
            from tags a join tags b on a.tweet_id = b.tweet_id and a.x < b.x
            join t on t.tweet_id = a.tweet_id
            group by all""")
    if has_view(con, "cleaned_mentions"):
        parts.append(f"""
            with t as (select tweet_id, created_at from entities_tweets t where {where}),
            men as (select distinct tweet_id, lower(username) as x from cleaned_mentions semi join t using (tweet_id)
                    where username is not null)
            select cast(t.created_at at time zone 'UTC' as date), 'mention', a.x, b.x, count(*)
            from men a join men b on a.tweet_id = b.tweet_id and a.x < b.x
            join t on t.tweet_id = a.tweet_id
            group by all""")
    if not parts:
        return schema.empty_table()
    union = " union all ".join(f"select * from ({part})" for part in parts)
    return con.sql(union + " order by 1, 2, 5 desc, 3, 4").to_arrow_table().cast(schema)


def to_graph(edges: pa.Table):
    """An undirected weighted networkx graph of some ``cotag_edges`` rows (node attribute ``kind``)."""
    import networkx as nx

    graph = nx.Graph()
    for row in edges.to_pylist():
        for node in (row["a"], row["b"]):
            graph.add_node(node, kind=row["kind"])
        weight = graph.get_edge_data(row["a"], row["b"], {}).get("weight", 0) + row["weight"]
        graph.add_edge(row["a"], row["b"], weight=weight)
    return graph


def latest_model(con) -> str | None:
    if not has_view(con, "analytics_tweet_sentiment"):
        return None
    row = con.execute(
        "select model_version from analytics_tweet_sentiment group by 1 order by max(scored_at) desc limit 1"
    ).fetchall()
    return row[0][0] if row else None


def user_profiles(con, cfg: ProfileConfig, metrics: pa.Table | None = None, encoder=None) -> pa.Table:
    """One row per author (see the module doc). ``metrics`` is ``graph_metrics``' output (PageRank)."""
    if not (has_view(con, "entities_tweets") and has_view(con, "entities_users")):
        return pa.table({})
    con.register("gm", metrics if metrics is not None else graph_metrics(con))
    model = latest_model(con)
    sentiment = (
        "(select tweet_id, score from analytics_tweet_sentiment where model_version = ?)"
        if model
        else "(select null::bigint as tweet_id, null::double as score where ? is null)"
    )
    hashtags = (
        "cleaned_hashtags"
        if has_view(con, "cleaned_hashtags")
        else "(select null::bigint as tweet_id, null::varchar as tag_lower where false)"
    )
    mentions = (
        "cleaned_mentions"
        if has_view(con, "cleaned_mentions")
        else "(select null::bigint as tweet_id, null::bigint as user_id, null::varchar as username where false)"
    )
    history = (
        "entities_user_metrics_history"
        if has_view(con, "entities_user_metrics_history")
        else "(select null::bigint as user_id, null::timestamptz as observed_at, null::bigint as followers_count, "
        "null::bigint as following_count where false)"
    )
    base = con.sql(
        f"""
        with t as (select * from entities_tweets where author_id is not null),
        act as (
            select author_id as user_id, count(*) as tweets,
                   count(distinct cast(created_at at time zone 'UTC' as date)) as active_days,
                   count(*) / greatest(count(distinct cast(created_at at time zone 'UTC' as date)), 1) as tweets_per_day,
                   avg(case when is_retweet then 1.0 else 0.0 end) as retweet_share,
                   avg(case when reply_to_tweet_id is not null and not is_retweet then 1.0 else 0.0 end) as reply_share,
                   avg(case when is_quote and not is_retweet then 1.0 else 0.0 end) as quote_share,
                   count(distinct hour(created_at at time zone 'UTC')) as distinct_hours,
                   max(text_repeats) as top_text_repeats
            from (select *, count(*) over (partition by author_id, text) as text_repeats from t)
            group by 1
        ),
        hours as (
            select user_id, list(h order by n desc, h)[1:3] as active_hours from (
                select author_id as user_id, hour(created_at at time zone 'UTC') as h, count(*) as n
                from t where created_at is not null group by 1, 2) group by 1
        ),
        tags as (
            select user_id, list(tag order by n desc, tag)[1:{cfg.top}] as top_hashtags from (
                select t.author_id as user_id, h.tag_lower as tag, count(distinct t.tweet_id) as n
                from t join {hashtags} h using (tweet_id) group by 1, 2) group by 1
        ),
        men as (
            select user_id, list(name order by n desc, name)[1:{cfg.top}] as top_mentions from (
                select t.author_id as user_id, lower(m.username) as name, count(distinct t.tweet_id) as n
                from t join {mentions} m using (tweet_id)
                where m.username is not null and m.user_id is distinct from t.author_id group by 1, 2) group by 1
        ),
        sent as (
            select t.author_id as user_id, avg(s.score) as mean_sentiment
            from t join {sentiment} s using (tweet_id) group by 1
        ),
        eng as (
            select t.author_id as user_id,
                   avg((like_count + retweet_count + reply_count + quote_count) / greatest(u.followers_count, 1))
                       as engagement_rate
            from t join entities_users u on u.user_id = t.author_id
            where not t.is_retweet group by 1
        ),
        growth as (
            select user_id,
                   arg_max(followers_count, observed_at) - arg_min(followers_count, observed_at) as followers_growth,
                   arg_max(following_count, observed_at) - arg_min(following_count, observed_at) as following_growth,
                   date_diff('second', min(observed_at), max(observed_at)) / 86400.0 as growth_days
            from {history} group by 1
        )
        select u.user_id, u.username, u.display_name, act.tweets, act.active_days, act.tweets_per_day,
               hours.active_hours, 1 - act.retweet_share - act.reply_share - act.quote_share as original_share,
               act.reply_share, act.retweet_share, act.quote_share,
               tags.top_hashtags, men.top_mentions, sent.mean_sentiment, eng.engagement_rate,
               u.followers_count, u.following_count, growth.followers_growth, growth.following_growth,
               growth.growth_days, gm.pagerank as pagerank_mention, gf.pagerank as pagerank_follow,
               gm.community as mention_community,
               act.distinct_hours, act.top_text_repeats, u.description, u.profile_image_url
        from act join entities_users u using (user_id)
        left join hours using (user_id) left join tags using (user_id) left join men using (user_id)
        left join sent using (user_id) left join eng using (user_id) left join growth using (user_id)
        left join (select * from gm where graph = 'mention') gm on gm.user_id = act.user_id
        left join (select user_id, pagerank from gm where graph = 'follow') gf on gf.user_id = act.user_id
        order by act.tweets desc, u.user_id
    """,
        params=[model] if model else [None],
    ).to_arrow_table()
    con.unregister("gm")
    rows = base.to_pylist()
    with_bot_signals(rows, coordination_clusters(con))
    embed(con, rows, cfg, encoder)
    row_schema = profile_schema()
    return pa.Table.from_pylist(rows, schema=row_schema)


def coordination_clusters(con) -> dict[int, str]:
    """user_id -> the coordinated cluster it belongs to (``analytics/coordination_members``)."""
    if not has_view(con, "analytics_coordination_members"):
        return {}
    return dict(con.sql("select user_id, cluster_id from analytics_coordination_members").fetchall())


def with_bot_signals(rows: list[dict], clusters: dict[int, str]) -> None:
    """Set each row's coordination cluster, bot signals and score, and drop the columns only the rules read
    (``distinct_hours``, ``top_text_repeats``, ``description``, ``profile_image_url``)."""
    for row in rows:
        row["coordination_cluster"] = clusters.get(row["user_id"])
        reasons = bot_reasons(row)
        row["bot_signals"] = reasons
        row["bot_score"] = round(len(reasons) / len(BOT_RULES), 3)
        for key in ("distinct_hours", "top_text_repeats", "description", "profile_image_url"):
            row.pop(key)


def bot_reasons(row: dict) -> list[str]:
    reasons = []
    tweets = row["tweets"] or 0
    if (row["distinct_hours"] or 0) >= 20:
        reasons.append(BOT_RULES["no_sleep"])
    if (row["tweets_per_day"] or 0) > 50:
        reasons.append(BOT_RULES["high_volume"])
    if tweets >= 5 and (row["retweet_share"] or 0) > 0.9:
        reasons.append(BOT_RULES["retweet_only"])
    if tweets >= 5 and (row["top_text_repeats"] or 0) > tweets / 2:
        reasons.append(BOT_RULES["repeats_itself"])
    following, followers = row["following_count"] or 0, row["followers_count"] or 0
    if following > 500 and following > 10 * max(followers, 1):
        reasons.append(BOT_RULES["follow_spam"])
    if not (row["description"] or "").strip() and "default_profile" in (
        row["profile_image_url"] or "default_profile"
    ):
        reasons.append(BOT_RULES["empty_profile"])
    if row["coordination_cluster"]:
        reasons.append(BOT_RULES["coordinated"].format(row["coordination_cluster"]))
    return reasons


def embed(con, rows: list[dict], cfg: ProfileConfig, encoder) -> None:
    """Mean MiniLM embedding for the most active users, and their nearest neighbours by cosine."""
    for row in rows:
        row["embedding"], row["similar_users"] = None, None
    chosen = [r for r in rows if (r["tweets"] or 0) - round((r["retweet_share"] or 0) * r["tweets"]) >= 2]
    chosen = chosen[: cfg.embed_users]
    if len(chosen) < 2:
        return
    import torch

    if encoder is None:
        from xget_pipelines.core.sentiment.models import Encoder

        encoder = Encoder()
    ids = [r["user_id"] for r in chosen]
    texts = con.sql(
        f"""
        select author_id, text from (
            select author_id, text, row_number() over (partition by author_id order by created_at desc, tweet_id) as k
            from entities_tweets
            where not is_retweet and text is not null and length(trim(text)) > 0
              and author_id in (select unnest(?::bigint[])))
        where k <= {int(cfg.tweets_per_user)}
    """,
        params=[ids],
    ).to_arrow_table()
    authors, bodies = texts["author_id"].to_pylist(), texts["text"].to_pylist()
    vectors = encoder.embed(bodies)
    index = {uid: i for i, uid in enumerate(ids)}
    sums = torch.zeros((len(ids), vectors.shape[1]))
    counts = torch.zeros(len(ids))
    for author, vector in zip(authors, vectors, strict=False):
        sums[index[author]] += vector
        counts[index[author]] += 1
    keep = counts > 0
    means = torch.nn.functional.normalize(sums[keep] / counts[keep].unsqueeze(1), dim=1)
    kept = [uid for uid, k in zip(ids, keep.tolist(), strict=False) if k]
    similarity = means @ means.T
    similarity.fill_diagonal_(-2.0)
    k = min(cfg.similar, len(kept) - 1)
    top = torch.topk(similarity, k, dim=1)
    by_id = {r["user_id"]: r for r in rows}
    for i, uid in enumerate(kept):
        by_id[uid]["embedding"] = [round(x, 5) for x in means[i].tolist()]
        by_id[uid]["similar_users"] = [
            {"user_id": kept[j], "similarity": round(s, 4)}
            for s, j in zip(top.values[i].tolist(), top.indices[i].tolist(), strict=False)
        ]


def profile_schema() -> pa.Schema:
    return pa.schema(
        [
            ("user_id", pa.int64()),
            ("username", pa.string()),
            ("display_name", pa.string()),
            ("tweets", pa.int64()),
            ("active_days", pa.int64()),
            ("tweets_per_day", pa.float64()),
            ("active_hours", pa.list_(pa.int64())),
            ("original_share", pa.float64()),
            ("reply_share", pa.float64()),
            ("retweet_share", pa.float64()),
            ("quote_share", pa.float64()),
            ("top_hashtags", pa.list_(pa.string())),
            ("top_mentions", pa.list_(pa.string())),
            ("mean_sentiment", pa.float64()),
            ("engagement_rate", pa.float64()),
            ("followers_count", pa.int64()),
            ("following_count", pa.int64()),
            ("followers_growth", pa.int64()),
            ("following_growth", pa.int64()),
            ("growth_days", pa.float64()),
            ("pagerank_mention", pa.float64()),
            ("pagerank_follow", pa.float64()),
            ("mention_community", pa.int64()),
            ("bot_signals", pa.list_(pa.string())),
            ("bot_score", pa.float64()),
            ("coordination_cluster", pa.string()),  # analytics/coordination_members' cluster_id, or null
            ("embedding", pa.list_(pa.float32())),
            ("similar_users", pa.list_(pa.struct([("user_id", pa.int64()), ("similarity", pa.float64())]))),
        ]
    )
