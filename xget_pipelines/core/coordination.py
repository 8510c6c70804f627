"""Coordinated behaviour: accounts that act together, again and again, within seconds.

The method follows the published co-action network approach:

- Pacheco, Hui, Torres-Lugo, Truong, Flammini and Menczer, "Uncovering Coordinated Networks on Social
  Media: Methods and Case Studies" (ICWSM 2021): a bipartite graph of accounts and the *items* they act on
  (links, texts, retweeted posts, hashtags), projected onto accounts, weighted, thresholded, clusters read
  off the projection;
- Giglietto, Righetti, Rossi and Marino, "It takes a village to manipulate the media: coordinated link
  sharing behavior during 2018 and 2019 Italian elections" (Information, Communication & Society 2020;
  the CooRnet R package): a *coordination interval* (two shares of the same URL count together only when
  they are that close in time) and a *repetition threshold* (a pair must do it repeatedly);
- Weber and Neumann, "Amplifying influence through coordinated behaviour in social networks" (Social
  Network Analysis and Mining 2021): time-windowed co-retweet, co-hashtag and co-URL networks.

Definitions, and the decisions behind them:

- an *action* is (account, kind, item, tweet, time). Kinds: ``url`` (the expanded URL, lower-cased,
  query string and trailing slash dropped: tracking parameters make the same link look different),
  ``text`` (the text lower-cased with URLs, @mentions and punctuation/emoji removed and spaces collapsed,
  so "🚨 Read THIS!" and "read this" are one item; texts shorter than ``min_text_chars`` after that are
  left out, since short stock phrases are written by strangers by chance), ``retweet`` (the retweeted
  post's id) and, when asked for, ``hashtag``. Retweets give only ``retweet`` actions: their text and
  links are the original's;
- co-hashtag actions are off by default: on the demo's world (3,000 users, 100,000 tweets; seeds 7 and 11)
  they turn a trend burst into a cluster of busy organic accounts that used the trending tag in the same
  minutes: precision 0.47 and 0.39 and one trend burst reported as coordination each, against 1.0 and 0
  without them (bench/coordination.py measures the default);
- a *co-action* is two different accounts acting on the same item within ``window_seconds`` (default
  60 s, CooRnet's coordination interval is estimated per data set and is typically tens of seconds);
- a pair's *weight* is the number of DISTINCT items it co-acted on: one viral link shared twice in a
  minute by the same two accounts is one coincidence, not three. A pair is kept at ``min_items`` (3)
  or more: the repetition threshold;
- clusters are the connected components of the kept pairs with ``min_cluster`` (3) or more accounts.
  A component, not a community algorithm: with the repetition threshold applied the projection is sparse
  and campaigns fall apart into components; a component is also stable (no seed, no resolution);
- ``cluster_id`` is ``coord-<smallest member id>``: the same accounts give the same id on every run.

Every function takes tables, so the tweets examined can be any subset (what a watchlist collected, one
campaign's days); ``detect`` wants the columns of ``entities_tweets`` (``tweet_id``, ``author_id``,
``created_at``, ``text``, ``retweeted_tweet_id``) and of ``cleaned_urls`` (``tweet_id``,
``expanded_url``). ``evaluate`` scores the clustered accounts against the emulator's ground truth
(``World.ground_truth()``: injected ``campaigns`` and trend ``bursts``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

KINDS = ("url", "text", "retweet")
CLUSTERS_TABLE = "analytics/coordination_clusters"
MEMBERS_TABLE = "analytics/coordination_members"
EVIDENCE_TABLE = "analytics/coordination_evidence"
COACTIONS_TABLE = "analytics/coordination_coactions"  # per day (partition column ``day``)

_TS = pa.timestamp("us", tz="UTC")
CLUSTERS_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("members", pa.int64()),
        ("pairs", pa.int64()),
        ("items", pa.int64()),
        ("co_actions", pa.int64()),
        ("kinds", pa.list_(pa.string())),
        ("first_at", _TS),
        ("last_at", _TS),
    ]
)
MEMBERS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("cluster_id", pa.string()),
        ("degree", pa.int64()),
        ("co_actions", pa.int64()),
        ("items", pa.int64()),
    ]
)
EVIDENCE_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("kind", pa.string()),
        ("item", pa.string()),
        ("user_id", pa.int64()),
        ("tweet_id", pa.int64()),
        ("created_at", _TS),
    ]
)


CO_ACTION_COLUMNS = ["kind", "item", "user_a", "tweet_a", "at_a", "user_b", "tweet_b", "at_b"]
COACTIONS_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),  # the UTC day of the later of the two actions
        ("kind", pa.string()),
        ("item", pa.string()),
        ("user_a", pa.int64()),
        ("tweet_a", pa.int64()),
        ("at_a", _TS),
        ("user_b", pa.int64()),
        ("tweet_b", pa.int64()),
        ("at_b", _TS),
    ]
)


@dataclass(frozen=True)
class CoordinationConfig:
    window_seconds: float = 60.0  # coordination interval
    min_items: int = 3  # repetition threshold: distinct items a pair co-acted on
    min_cluster: int = 3  # accounts a cluster needs
    min_text_chars: int = 20  # normalised texts shorter than this are not items
    kinds: tuple[str, ...] = KINDS  # add "hashtag" for co-hashtag actions

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - {*KINDS, "hashtag"}
        if unknown:
            raise ValueError(f"unknown co-action kinds {sorted(unknown)}: use url, text, retweet, hashtag")
        if self.window_seconds <= 0 or self.min_items < 1 or self.min_cluster < 2:
            raise ValueError(f"invalid coordination settings: {self}")


@dataclass
class Coordination:
    """What ``detect`` found: one row per cluster, per member, per piece of evidence (a member's tweet in a
    co-action with another member of its cluster), and the kept pairs (user_a, user_b, weight)."""

    clusters: pa.Table
    members: pa.Table
    evidence: pa.Table
    pairs: pa.Table

    def cluster_of(self) -> dict[int, str]:
        return dict(
            zip(self.members["user_id"].to_pylist(), self.members["cluster_id"].to_pylist(), strict=True)
        )


def _empty_urls() -> pa.Table:
    return pa.table({"tweet_id": pa.array([], pa.int64()), "expanded_url": pa.array([], pa.string())})


def _empty_hashtags() -> pa.Table:
    return pa.table({"tweet_id": pa.array([], pa.int64()), "tag_lower": pa.array([], pa.string())})


def actions(
    con: duckdb.DuckDBPyConnection,
    tweets: pa.Table,
    urls: pa.Table | None = None,
    hashtags: pa.Table | None = None,
    cfg: CoordinationConfig | None = None,
) -> pa.Table:
    """One row per action (user_id, tweet_id, created_at, ms, kind, item); see the module doc."""
    cfg = cfg or CoordinationConfig()
    con.register("coord_tweets", tweets)
    con.register("coord_urls", urls if urls is not None else _empty_urls())
    con.register("coord_tags", hashtags if hashtags is not None else _empty_hashtags())
    parts = []
    if "url" in cfg.kinds:
        parts.append("""
            select t.author_id as user_id, t.tweet_id, t.created_at, 'url' as kind,
                   regexp_replace(regexp_replace(lower(u.expanded_url), '[?#].*$', ''), '/+$', '') as item
            from t join (select distinct tweet_id, expanded_url from coord_urls
                         where expanded_url is not null) u using (tweet_id)
            where t.retweeted_tweet_id is null""")
    if "text" in cfg.kinds:
        parts.append(f"""
            select user_id, tweet_id, created_at, 'text' as kind, item from (
                select t.author_id as user_id, t.tweet_id, t.created_at,
                       trim(regexp_replace(regexp_replace(regexp_replace(lower(t.text),
                           '(https?://\\S+|@\\w+)', ' ', 'g'), '[^\\pL\\pN\\s]+', ' ', 'g'),
                           '\\s+', ' ', 'g')) as item
                from t where t.retweeted_tweet_id is null and t.text is not null)
            where length(item) >= {int(cfg.min_text_chars)}""")
    if "retweet" in cfg.kinds:
        parts.append("""
            select t.author_id as user_id, t.tweet_id, t.created_at, 'retweet' as kind,
                   cast(t.retweeted_tweet_id as varchar) as item
            from t where t.retweeted_tweet_id is not null""")
    if "hashtag" in cfg.kinds:
        parts.append("""
            select t.author_id as user_id, t.tweet_id, t.created_at, 'hashtag' as kind, h.tag_lower as item
            from t join (select distinct tweet_id, tag_lower from coord_tags) h using (tweet_id)
            where t.retweeted_tweet_id is null""")
    try:
        return con.sql(
            "with t as (select distinct on (tweet_id) tweet_id, author_id, created_at, text, "
            "retweeted_tweet_id from coord_tweets where author_id is not null and created_at is not null) "
            "select *, epoch_ms(created_at) as ms from (" + " union all ".join(parts) + ")"
        ).to_arrow_table()
    finally:
        for name in ("coord_tweets", "coord_urls", "coord_tags"):
            con.unregister(name)


def co_actions(con: duckdb.DuckDBPyConnection, acts: pa.Table, cfg: CoordinationConfig) -> pa.Table:
    """Pairs of actions on the same item by two different accounts at most ``window_seconds`` apart:
    (kind, item, user_a, tweet_a, at_a, user_b, tweet_b, at_b) with user_a < user_b."""
    con.register("coord_actions", acts)
    try:
        return con.sql(f"""
            select a.kind, a.item, a.user_id as user_a, a.tweet_id as tweet_a, a.created_at as at_a,
                   b.user_id as user_b, b.tweet_id as tweet_b, b.created_at as at_b
            from coord_actions a join coord_actions b
              on a.kind = b.kind and a.item = b.item and a.user_id < b.user_id
             and abs(a.ms - b.ms) <= {float(cfg.window_seconds) * 1000}
        """).to_arrow_table()
    finally:
        con.unregister("coord_actions")


def detect(
    tweets: pa.Table,
    urls: pa.Table | None = None,
    hashtags: pa.Table | None = None,
    cfg: CoordinationConfig | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Coordination:
    """Clusters of coordinated accounts in ``tweets`` (with their ``urls`` and, for co-hashtags,
    ``hashtags``): co-actions, pairs weighted by distinct items, the repetition threshold, components."""
    cfg = cfg or CoordinationConfig()
    con = con or duckdb.connect()
    return clusters_from(co_actions(con, actions(con, tweets, urls, hashtags, cfg), cfg), cfg, con)


def day_co_actions(
    tweets: pa.Table,
    day: dt.date,
    urls: pa.Table | None = None,
    hashtags: pa.Table | None = None,
    cfg: CoordinationConfig | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """The co-actions of one UTC day (``COACTIONS_SCHEMA``): those whose later action falls on ``day``.
    ``tweets`` must hold every tweet from ``window_seconds`` before the day's start to its end (more does no
    harm), so a pair across midnight is found, and belongs to exactly one day: the days' co-actions together
    are the co-actions of all their tweets, which is what lets ``clusters_from`` run over a window of stored
    days instead of every tweet."""
    cfg = cfg or CoordinationConfig()
    con = con or duckdb.connect()
    co = co_actions(con, actions(con, tweets, urls, hashtags, cfg), cfg)
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    later = pc.if_else(pc.greater(co["at_a"], co["at_b"]), co["at_a"], co["at_b"])
    inside = pc.and_(
        pc.greater_equal(later, pa.scalar(start, _TS)),
        pc.less(later, pa.scalar(start + dt.timedelta(days=1), _TS)),
    )
    kept = co.filter(inside)
    return (
        kept.append_column("day", pa.array([day] * kept.num_rows, pa.date32()))
        .select(COACTIONS_SCHEMA.names)
        .cast(COACTIONS_SCHEMA)
    )


def clusters_from(
    co: pa.Table, cfg: CoordinationConfig | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> Coordination:
    """Clusters from co-actions (``co_actions``' columns; any extra column such as ``day`` is ignored):
    pairs weighted by distinct items, the repetition threshold, connected components."""
    import networkx as nx

    cfg = cfg or CoordinationConfig()
    con = con or duckdb.connect()
    co = co.select(CO_ACTION_COLUMNS)
    con.register("coord_co", co)
    try:
        pairs = con.sql(f"""
            select user_a, user_b, count(distinct (kind, item)) as weight, count(*) as co_actions
            from coord_co group by 1, 2 having count(distinct (kind, item)) >= {int(cfg.min_items)}
            order by 1, 2
        """).to_arrow_table()
        graph = nx.Graph()
        for a, b, w in zip(*(pairs[c].to_pylist() for c in ("user_a", "user_b", "weight")), strict=True):
            graph.add_edge(a, b, weight=w)
        cluster_of: dict[int, str] = {}
        for component in nx.connected_components(graph):
            if len(component) >= cfg.min_cluster:
                cid = f"coord-{min(component)}"
                cluster_of.update(dict.fromkeys(component, cid))
        assignment = pa.table(
            {
                "user_id": pa.array(list(cluster_of), pa.int64()),
                "cluster_id": pa.array(list(cluster_of.values())),
            }
        )
        con.register("coord_assign", assignment)
        con.register("coord_pairs", pairs)
        # Evidence: co-actions between two members of the same cluster, each side a row.
        evidence = con.sql("""
            with inside as (
                select c.* , ca.cluster_id from coord_co c
                join coord_assign ca on ca.user_id = c.user_a
                join coord_assign cb on cb.user_id = c.user_b and cb.cluster_id = ca.cluster_id)
            select distinct cluster_id, kind, item, user_id, tweet_id, created_at from (
                select cluster_id, kind, item, user_a as user_id, tweet_a as tweet_id, at_a as created_at
                from inside
                union all
                select cluster_id, kind, item, user_b, tweet_b, at_b from inside)
            order by cluster_id, created_at, user_id, kind
        """).to_arrow_table()
        con.register("coord_evidence", evidence)
        members = con.sql("""
            with kept as (select p.user_a, p.user_b, p.co_actions from coord_pairs p
                          join coord_assign ca on ca.user_id = p.user_a
                          join coord_assign cb on cb.user_id = p.user_b and cb.cluster_id = ca.cluster_id),
            ends as (select user_a as user_id, co_actions from kept
                     union all select user_b, co_actions from kept)
            select a.user_id, a.cluster_id, count(*) as degree, sum(e.co_actions)::bigint as co_actions,
                   (select count(distinct (kind, item)) from coord_evidence v
                    where v.user_id = a.user_id) as items
            from coord_assign a join ends e using (user_id) group by 1, 2 order by 2, 1
        """).to_arrow_table()
        con.register("coord_members", members)
        clusters = con.sql("""
            with m as (select cluster_id, count(*) as members, sum(degree) // 2 as pairs,
                              sum(co_actions) // 2 as co_actions from coord_members group by 1),
            e as (select cluster_id, count(distinct (kind, item)) as items,
                         list(distinct kind order by kind) as kinds, min(created_at) as first_at,
                         max(created_at) as last_at from coord_evidence group by 1)
            select m.cluster_id, m.members, m.pairs, e.items, m.co_actions, e.kinds, e.first_at, e.last_at
            from m join e using (cluster_id) order by m.members desc, m.cluster_id
        """).to_arrow_table()
    finally:
        for name in ("coord_co", "coord_assign", "coord_pairs", "coord_evidence", "coord_members"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
    return Coordination(
        clusters=clusters.cast(CLUSTERS_SCHEMA),
        members=members.cast(MEMBERS_SCHEMA),
        evidence=evidence.cast(EVIDENCE_SCHEMA),
        pairs=pairs,
    )


def to_graph(result: Coordination):
    """The clustered accounts as a networkx graph: a node per member (``cluster``, ``co_actions``,
    ``label`` = the username when ``usernames`` were attached), an edge per kept pair (``weight`` =
    distinct items co-acted on, ``co_actions``)."""
    import networkx as nx

    graph = nx.Graph()
    cluster_of = result.cluster_of()
    for row in result.members.to_pylist():
        graph.add_node(
            str(row["user_id"]),
            cluster=row["cluster_id"],
            co_actions=row["co_actions"],
            label=str(row["user_id"]),
        )
    for row in result.pairs.to_pylist():
        a, b = row["user_a"], row["user_b"]
        if a in cluster_of and cluster_of.get(b) == cluster_of[a]:
            graph.add_edge(str(a), str(b), weight=int(row["weight"]), co_actions=int(row["co_actions"]))
    return graph


def gexf_bytes(result: Coordination, usernames: dict[int, str] | None = None) -> bytes:
    """The clusters' graph as a GEXF document (Gephi); ``usernames`` label the nodes."""
    import networkx as nx

    graph = to_graph(result)
    for uid, name in (usernames or {}).items():
        if str(uid) in graph:
            graph.nodes[str(uid)]["label"] = name
    return "\n".join(nx.generate_gexf(graph)).encode()


def write_gexf(result: Coordination, path: str | Path, usernames: dict[int, str] | None = None) -> Path:
    """Writes ``gexf_bytes`` to a local ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gexf_bytes(result, usernames))
    return path


# -- ground truth ----------------------------------------------------------------------------------------


@dataclass
class CoordinationEvaluation:
    """Clustered accounts against the injected campaigns' members (only those present in the tweets
    examined, when ``present`` was given), and clusters made of trend-burst tweets."""

    campaigns: int
    campaign_accounts: int
    detected_accounts: int
    true_positives: int
    precision: float
    recall: float
    bursts_as_coordination: int
    false_accounts: list[str] = field(default_factory=list)
    missed_accounts: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {
            "campaigns": self.campaigns,
            "campaign_accounts": self.campaign_accounts,
            "precision": self.precision,
            "recall": self.recall,
            "bursts_as_coordination": self.bursts_as_coordination,
        }


def _parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def evaluate(
    result: Coordination, ground_truth: dict, present: set[int] | None = None, burst_share: float = 0.5
) -> CoordinationEvaluation:
    """Precision and recall of the clustered accounts against the members of ``ground_truth["campaigns"]``
    (restricted to ``present`` account ids, the ones the tweets examined hold, when given). A cluster is a
    *burst reported as coordination* when at least ``burst_share`` of its evidence tweets were posted inside
    an injected trend burst (``ground_truth["bursts"]``: start, end)."""
    campaigns = ground_truth.get("campaigns") or []
    truth = {int(m["id"]) for c in campaigns for m in c["members"]}
    if present is not None:
        truth &= present
    detected = set(result.members["user_id"].to_pylist())
    tp = len(detected & truth)
    precision = tp / len(detected) if detected else (1.0 if not truth else 0.0)
    recall = tp / len(truth) if truth else 1.0
    windows = [(_parse_ts(b["start"]), _parse_ts(b["end"])) for b in ground_truth.get("bursts") or []]
    in_burst: dict[str, list[bool]] = {}
    for row in result.evidence.select(["cluster_id", "created_at"]).to_pylist():
        at = row["created_at"]
        in_burst.setdefault(row["cluster_id"], []).append(any(s <= at <= e for s, e in windows))
    bursty = sum(1 for flags in in_burst.values() if flags and sum(flags) / len(flags) >= burst_share)
    return CoordinationEvaluation(
        campaigns=len(campaigns),
        campaign_accounts=len(truth),
        detected_accounts=len(detected),
        true_positives=tp,
        precision=round(precision, 3),
        recall=round(recall, 3),
        bursts_as_coordination=bursty,
        false_accounts=sorted(str(u) for u in detected - truth)[:20],
        missed_accounts=sorted(str(u) for u in truth - detected)[:20],
    )


def world_tables(world) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(tweets, urls, hashtags) of an emulator world's posts, in the columns ``detect`` reads: what a
    collector that saw every visible post would have in ``entities_tweets`` and ``cleaned_urls``."""
    return tweet_tables(world.tweets)


def tweet_tables(posts) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(tweets, urls, hashtags) tables of emulator ``Tweet`` records (hidden posts left out)."""
    rows, links, tags = [], [], []
    for t in posts:
        if t.hidden:
            continue
        rows.append(
            (t.id, t.author.id, t.ms * 1000, t.text, t.retweeted.id if t.retweeted is not None else None)
        )
        links += [(t.id, u) for u in t.urls]
        tags += [(t.id, h.lower()) for h in t.hashtags]
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 5
    tweets = pa.table(
        {
            "tweet_id": pa.array(cols[0], pa.int64()),
            "author_id": pa.array(cols[1], pa.int64()),
            "created_at": pa.array(cols[2], pa.int64()).cast(_TS),
            "text": pa.array(cols[3], pa.string()),
            "retweeted_tweet_id": pa.array(cols[4], pa.int64()),
        }
    )
    urls = pa.table(
        {
            "tweet_id": pa.array([x[0] for x in links], pa.int64()),
            "expanded_url": pa.array([x[1] for x in links], pa.string()),
        }
    )
    hashtags = pa.table(
        {
            "tweet_id": pa.array([x[0] for x in tags], pa.int64()),
            "tag_lower": pa.array([x[1] for x in tags], pa.string()),
        }
    )
    return tweets, urls, hashtags
