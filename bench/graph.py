"""Benchmark: the mention graph's metrics (core/profiles.py ``edge_metrics``: degrees, weighted degrees,
PageRank, communities) with igraph against the networkx implementation it replaced and the other graph
libraries issue 20 named (networkit, rustworkx), on generated mention graphs of 100k, 1M and 10M edges.

Run: ``.venv/bin/python bench/graph.py`` (about 12 minutes on 2 idle cores, 5 of them networkx timing out
at 1M edges; ~2.5 GB peak for the 10M generator in the parent) or ``--quick`` (100k and 1M edges, no
networkx at 1M), ``--sizes 100000 1000000``, ``--libs igraph networkit``, ``--timeout`` (seconds, 300),
``--no-demo``. Prints per graph a line describing it, one line per library, one line of agreement, then a
headline JSON line (the last line). Work happens in a temporary directory, removed afterwards.

The demo's graph (first, unless ``--no-demo``): the mention graph of the world ``xget demo`` builds by
default (seed 7, 3,000 users, 100k tweets, 30 days; ~35 s to generate): every visible post's distinct
mentions of another user (a retweet mentions the retweeted author), counted per (author, mentioned user) as
``mention_edges`` counts them. Issue 20 asks for the agreement with today's results on the demo.

Graphs: heavy-tailed directed weighted mention graphs with planted topics
-----------------------------------------------------------------------
- ``users = edges * --users-per-edge`` (0.2: 20k users per 100k edges, the ratio issue 20 measured on).
- Mentions are drawn, then counted into distinct (author, mentioned) edges weighted by their number: an
  author by a Zipf law of exponent 0.8 over users (activity), the mentioned user by a Zipf law of
  exponent 1.0 over a second random order of users (popularity: few hubs mentioned by many; in-degree
  tails of exponent about 2, as measured on Twitter by Kwak et al. 2010, "What is Twitter, a social
  network or a news media?", WWW, and Java et al. 2007, "Why we twitter", WebKDD). Self-mentions are dropped.
- Topics: users are split into ``users / 500`` topics by popularity rank (rank mod topics, so each topic
  has its own hubs); 70% of mentions go to a user of the author's topic (Zipf within it), 30% anywhere.
  The planted topic is a ground truth the found communities are scored against (``nmi_planted``).
- 1.3 draws per wanted edge, counted, then a seeded sample of exactly ``edges`` distinct edges.

Measurement: each (library, size) runs in a child process (``--child``) that loads the edges (int64 numpy
arrays, as DuckDB's Arrow result would give them) and times ``time.perf_counter()`` around the whole
metrics function: graph built from the arrays, degrees, weighted degrees, PageRank, communities, the Arrow
table. ``wall_s``, ``cpu_s`` (user + system of the child during the call: the machine is shared, CPU time
is the steadier figure), ``peak_mb`` (the child's ``VmHWM``, the whole process including ~``base_mb`` of
interpreter, libraries and the input arrays, read before the call). A child past ``--timeout`` is killed
and reported ``"timeout"``; networkx is not tried on a larger size once it timed out.

Contenders:
- ``networkx``: the implementation replaced (a ``DiGraph`` from Python lists, ``pagerank``, Louvain seeded).
- ``igraph``: XGet's ``edge_metrics``: Leiden on modularity (igraph, one iteration, seeded) and PageRank by
  power iteration on a scipy CSR matrix, from 2M edges in a second process meanwhile (its CPU and peak are
  ``second_process_cpu_s`` / ``second_process_peak_mb``); until 2026-12-08 02:10 UTC PRPACK in the same
  process, which the first measurements below used.
- ``igraph-louvain``: the same with igraph's multilevel (Louvain) instead of Leiden.
- ``networkit``: ``PageRank`` (sinks distributed, as networkx) and ``PLM`` (parallel Louvain, refined).
- ``rustworkx``: has no community detection (0.18: no Louvain, Leiden or label propagation in its API), and
  its weighted ``pagerank`` takes a Python callable per edge; measured for what it can do (build + degrees
  + PageRank), ``communities: "unsupported"``.

Agreement (per size, against networkx where it finished): Spearman rank correlation of PageRank over the
users (issue 20 asks >= 0.99), NMI and ARI of the communities (sklearn), and every contender's modularity
on the undirected graph whose pair weight is the sum of both directions, plus NMI with the planted topics.

Headline: igraph's ``wall_s``, ``cpu_s`` and ``peak_mb`` at the largest size against issue 20's goal
(30 s, 2048 MB for 10M edges on 2 cores), ``meets_goal``.

Measured (2026-12-08, 2 cores shared with other jobs, load average 6-11, so wall ~3-4x CPU; run as
``--sizes 100000 1000000`` and ``--no-demo --sizes 10000000 --libs igraph networkit``):
- CPU seconds (wall), peak MB: demo 32k edges networkx 1.12 (6.9), igraph 0.10 (0.42); 100k networkx
  4.32 (17.3) 302 MB, igraph 0.25 (1.0) 198 MB; 1M networkx timeout (300 s), igraph 4.53 (13.9) 476 MB,
  networkit 6.59 (17.0) 480 MB, igraph-louvain 6.88 (21.0); 10M igraph 73.2 (314) 3197 MB, networkit 102.7
  (279) 2516 MB: the goal (30 s, 2 GB) is not met at 10M on this machine.
- Where igraph's 10M CPU goes (a separate step-by-step run): ids 2-3 s (Arrow hash encoding; np.unique took
  13-16 s), directed graph build 8 s, PRPACK 5-6 s, undirected pairs 3 s and build 7.5 s, Leiden (one
  iteration) 27.5 s; igraph's Louvain (multilevel) took 82 s there for the same modularity (0.7041).
- Agreement: PageRank Spearman 1.0 (demo), 0.99994 (100k); communities vs networkx Louvain NMI 0.25 on the
  demo (modularity 0.21: weak structure; networkx Louvain with seed 7 vs seed 8 gives NMI 0.29 there) and
  0.98 at 100k (networkx seed 7 vs 8: 0.98); NMI with the planted topics equal for every contender.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xget_pipelines.core.profiles import GRAPH_SCHEMA, edge_metrics  # noqa: E402

GOAL_S, GOAL_MB = 30.0, 2048.0
LIBS = ("networkx", "igraph", "igraph-louvain", "networkit", "rustworkx")


def emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n >= 1_000_000 else f"{n // 1000}k"


def vm_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def mention_graph(edges: int, seed: int, users_per_edge: float) -> dict[str, np.ndarray]:
    """Distinct weighted mention edges (int64 ``src``, ``dst``, ``weight``) and each user's planted topic."""
    rng = np.random.default_rng(seed)
    n = max(int(edges * users_per_edge), 50)
    topics = max(n // 500, 2)
    draws = int(edges * 1.3)

    def zipf(k: int, size: int, exponent: float) -> np.ndarray:
        cdf = np.cumsum(1.0 / np.arange(1, size + 1) ** exponent)
        return np.searchsorted(cdf, rng.random(k) * cdf[-1])

    by_popularity = rng.permutation(n)  # by_popularity[r]: the user of popularity rank r
    rank = np.empty(n, np.int64)
    rank[by_popularity] = np.arange(n)
    src = rng.permutation(n)[zipf(draws, n, 0.8)]
    anywhere = by_popularity[zipf(draws, n, 1.0)]
    topic = rank[src] % topics
    within = topic + topics * zipf(draws, n // topics, 1.0)
    dst = np.where(rng.random(draws) < 0.7, by_popularity[np.minimum(within, n - 1)], anywhere)
    keep = src != dst
    pairs, weight = np.unique(src[keep] * n + dst[keep], return_counts=True)
    if len(pairs) > edges:
        pick = np.sort(rng.choice(len(pairs), edges, replace=False))
        pairs, weight = pairs[pick], weight[pick]
    ids = np.sort(rng.choice(2**62, n, replace=False)).astype(np.int64)  # snowflake-sized user ids
    return {
        "src": ids[pairs // n],
        "dst": ids[pairs % n],
        "weight": weight.astype(np.int64),
        "user_id": ids,
        "topic": rank % topics,
    }


def demo_graph(seed: int) -> dict[str, np.ndarray]:
    """The mention graph of the demo's world (``xget demo``'s defaults: 3,000 users, 100k tweets, 30 days):
    every visible post's mentions (a retweet mentions the retweeted author), as ``mention_edges`` counts."""
    from xget_pipelines.emulator.world import World, WorldConfig

    world = World.generate(WorldConfig(seed=seed, users=3000, tweets=100_000, days=30))
    pairs = np.array(
        [
            (t.author.id, m.id)
            for t in world.tweets
            if not t.hidden
            for m in set(t.mentions)
            if m.id != t.author.id
        ],
        np.int64,
    )
    edges, weight = np.unique(pairs, axis=0, return_counts=True)
    return {"src": edges[:, 0].copy(), "dst": edges[:, 1].copy(), "weight": weight.astype(np.int64)}


def ordered_table(users, s, d, weight, rank, labels, name: str) -> pa.Table:
    """GRAPH_SCHEMA rows for a contender that is not XGet's (communities numbered largest first)."""
    n = len(users)
    out = np.full(n, -1, np.int64)
    if labels is not None:
        _, first = np.unique(labels, return_index=True)
        order = np.lexsort((first, -np.bincount(labels)))
        out[order] = np.arange(len(order))
        out = out[labels]
    return pa.table(
        {
            "user_id": users,
            "in_degree": np.bincount(d, minlength=n),
            "out_degree": np.bincount(s, minlength=n),
            "weighted_in": np.bincount(d, weights=weight, minlength=n).astype(np.int64),
            "weighted_out": np.bincount(s, weights=weight, minlength=n).astype(np.int64),
            "pagerank": np.asarray(rank, np.float64),
            "community": out,
            "graph": pa.array([name] * n, pa.string()),
        },
        schema=GRAPH_SCHEMA,
    )


def dense_ids(edges: pa.Table):
    src, dst = edges["src"].to_numpy(), edges["dst"].to_numpy()
    users = np.unique(np.concatenate([src, dst]))
    return users, np.searchsorted(users, src), np.searchsorted(users, dst), edges["weight"].to_numpy()


def undirected(s, d, weight, n):
    low, high = np.minimum(s, d), np.maximum(s, d)
    pairs, where = np.unique(low * n + high, return_inverse=True)
    return pairs // n, pairs % n, np.bincount(where, weights=weight)


def with_networkx(edges: pa.Table, seed: int) -> pa.Table:
    """The implementation issue 20 measured (core/profiles.py ``_metrics`` before igraph), unchanged."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_weighted_edges_from(
        zip(edges["src"].to_pylist(), edges["dst"].to_pylist(), edges["weight"].to_pylist(), strict=False)
    )
    rank = nx.pagerank(graph, weight="weight")
    communities = nx.community.louvain_communities(graph.to_undirected(), weight="weight", seed=seed)
    ordered = sorted(communities, key=lambda c: (-len(c), min(c)))
    member = {node: i for i, nodes in enumerate(ordered) for node in nodes}
    nodes = sorted(graph.nodes)
    return pa.table(
        {
            "user_id": nodes,
            "in_degree": [graph.in_degree(n) for n in nodes],
            "out_degree": [graph.out_degree(n) for n in nodes],
            "weighted_in": [int(graph.in_degree(n, weight="weight")) for n in nodes],
            "weighted_out": [int(graph.out_degree(n, weight="weight")) for n in nodes],
            "pagerank": [rank[n] for n in nodes],
            "community": [member[n] for n in nodes],
            "graph": ["mention"] * len(nodes),
        },
        schema=GRAPH_SCHEMA,
    )


def with_igraph_louvain(edges: pa.Table, seed: int) -> pa.Table:
    import random

    import igraph as ig
    from threadpoolctl import threadpool_limits

    users, s, d, weight = dense_ids(edges)
    n = len(users)
    graph = ig.Graph(n=n, edges=np.column_stack([s, d]), directed=True)
    graph.es["weight"] = weight.astype(np.float64)
    with threadpool_limits(1, user_api="openmp"):
        rank = graph.pagerank(weights="weight", damping=0.85)
    a, b, w = undirected(s, d, weight, n)
    plain = ig.Graph(n=n, edges=np.column_stack([a, b]), directed=False)
    plain.es["weight"] = w
    ig.set_random_number_generator(random.Random(seed))
    labels = np.asarray(plain.community_multilevel(weights="weight").membership)
    ig.set_random_number_generator(random)
    return ordered_table(users, s, d, weight, rank, labels, "mention")


def with_networkit(edges: pa.Table, seed: int) -> pa.Table:
    import networkit as nk

    nk.engineering.setNumberOfThreads(2)
    nk.setSeed(seed, False)
    users, s, d, weight = dense_ids(edges)
    n = len(users)
    graph = nk.GraphFromCoo(
        (weight.astype(np.float64), (s.astype(np.uint64), d.astype(np.uint64))),
        n,
        directed=True,
        weighted=True,
    )
    pagerank = nk.centrality.PageRank(
        graph, damp=0.85, tol=1e-9, distributeSinks=nk.centrality.SinkHandling.DistributeSinks
    )
    pagerank.run()
    rank = np.asarray(pagerank.scores())
    rank = rank / rank.sum()
    del graph
    a, b, w = undirected(s, d, weight, n)
    plain = nk.GraphFromCoo((w, (a.astype(np.uint64), b.astype(np.uint64))), n, directed=False, weighted=True)
    plm = nk.community.PLM(plain, refine=True)
    plm.run()
    labels = np.unique(np.asarray(plm.getPartition().getVector()), return_inverse=True)[1]
    return ordered_table(users, s, d, weight, rank, labels, "mention")


def with_rustworkx(edges: pa.Table, seed: int) -> pa.Table:
    import rustworkx as rx

    users, s, d, weight = dense_ids(edges)
    graph = rx.PyDiGraph()
    graph.add_nodes_from(range(len(users)))
    graph.add_edges_from(list(zip(s.tolist(), d.tolist(), weight.astype(np.float64).tolist(), strict=True)))
    scores = rx.pagerank(graph, alpha=0.85, weight_fn=float)
    rank = np.array([scores[i] for i in range(len(users))])
    return ordered_table(users, s, d, weight, rank, None, "mention")


CONTENDERS = {
    "networkx": with_networkx,
    "igraph": lambda edges, seed: edge_metrics(edges, "mention", seed),
    "igraph-louvain": with_igraph_louvain,
    "networkit": with_networkit,
    "rustworkx": with_rustworkx,
}


def child(lib: str, folder: Path, seed: int) -> None:
    edges = pa.table({k: np.load(folder / f"{k}.npy") for k in ("src", "dst", "weight")})
    for module in {"igraph-louvain": "igraph"}.get(lib, lib.split("-")[0]), "threadpoolctl":
        __import__(module)  # imports are start-up, not the call
    base = vm_mb("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    table = CONTENDERS[lib](edges, seed)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    helper = resource.getrusage(resource.RUSAGE_CHILDREN)  # edge_metrics' PageRank process, on large graphs
    np.savez(folder / f"{lib}.npz", **{c: table[c].to_numpy() for c in ("user_id", "pagerank", "community")})
    line = {"wall_s": round(wall, 2), "cpu_s": round(cpu_s, 2), "peak_mb": vm_mb("VmHWM"), "base_mb": base}
    if helper.ru_maxrss:
        line |= {
            "second_process_cpu_s": round(helper.ru_utime + helper.ru_stime, 2),
            "second_process_peak_mb": round(helper.ru_maxrss / 1024, 1),
        }
    emit(line)


def measure(lib: str, folder: Path, seed: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", lib, "--folder", str(folder), "--seed", str(seed)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"wall_s": "timeout", "timeout_s": timeout}
    if done.returncode:
        return {"wall_s": "failed", "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def agreement(folder: Path, graph: dict, libs: list[str]) -> dict:
    """Each finished contender against networkx (if it finished) and the planted topics; modularity."""
    import igraph as ig
    from scipy.stats import spearmanr
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    found = {lib: np.load(folder / f"{lib}.npz") for lib in libs if (folder / f"{lib}.npz").exists()}
    users = np.unique(np.concatenate([graph["src"], graph["dst"]]))
    s, d = np.searchsorted(users, graph["src"]), np.searchsorted(users, graph["dst"])
    a, b, w = undirected(s, d, graph["weight"], len(users))
    plain = ig.Graph(n=len(users), edges=np.column_stack([a, b]), directed=False)
    planted = graph["topic"][np.searchsorted(graph["user_id"], users)] if "topic" in graph else None
    out = {}
    for lib, got in found.items():
        assert (got["user_id"] == users).all(), lib
        row = {}
        if "networkx" in found and lib != "networkx":
            ref = found["networkx"]
            row["pagerank_spearman"] = round(float(spearmanr(got["pagerank"], ref["pagerank"]).statistic), 5)
        if (got["community"] >= 0).all():
            if "networkx" in found and lib != "networkx":
                ref = found["networkx"]["community"]
                row["nmi"] = round(normalized_mutual_info_score(ref, got["community"]), 4)
                row["ari"] = round(adjusted_rand_score(ref, got["community"]), 4)
            if planted is not None:
                row["nmi_planted"] = round(normalized_mutual_info_score(planted, got["community"]), 4)
            row["modularity"] = round(plain.modularity(got["community"].tolist(), weights=w.tolist()), 4)
            row["communities"] = int(got["community"].max()) + 1
        out[lib] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS)
    parser.add_argument("--quick", action="store_true", help="100k and 1M edges, networkx at 100k only")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--users-per-edge", type=float, default=0.2)
    parser.add_argument("--no-demo", dest="demo", action="store_false", help="skip the demo world's graph")
    parser.add_argument("--child", choices=LIBS)
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.folder, args.seed)
    sizes = [100_000, 1_000_000] if args.quick else args.sizes
    nx_max = 100_000 if args.quick else max(sizes)
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="xget-bench-graph-") as tmp:
        graphs = [("demo", 0, lambda: demo_graph(args.seed))] if args.demo else []
        graphs += [(label(n), n, lambda n=n: mention_graph(n, args.seed, args.users_per_edge)) for n in sizes]
        for name, size, build in graphs:
            folder = Path(tmp, name)
            folder.mkdir()
            start = time.perf_counter()
            graph = build()
            for key in ("src", "dst", "weight"):
                np.save(folder / f"{key}.npy", graph[key])
            users = len(np.unique(np.concatenate([graph["src"], graph["dst"]])))
            emit(
                {
                    "size": name,
                    "edges": len(graph["src"]),
                    "users": users,
                    "max_in_degree": int(np.unique(graph["dst"], return_counts=True)[1].max()),
                    "max_weight": int(graph["weight"].max()),
                    "generate_s": round(time.perf_counter() - start, 1),
                }
            )
            for lib in args.libs:
                skipped = lib == "networkx" and (
                    size > nx_max
                    or any(results.get((lib, n), {}).get("wall_s") == "timeout" for _, n, _ in graphs)
                )
                doc = {"wall_s": "skipped"} if skipped else measure(lib, folder, args.seed, args.timeout)
                if lib == "rustworkx":
                    doc["communities"] = "unsupported"
                results[lib, size] = doc
                emit({"library": lib, "size": name, "edges": len(graph["src"]), **doc})
            emit({"agreement": name, **agreement(folder, graph, args.libs)})
            del graph
    largest = max(sizes)
    chosen = results["igraph", largest] if "igraph" in args.libs else {}
    wall, peak = chosen.get("wall_s"), chosen.get("peak_mb")
    emit(
        {
            "headline": f"igraph edge_metrics at {label(largest)} edges",
            "wall_s": wall,
            "cpu_s": chosen.get("cpu_s"),
            "peak_mb": peak,
            "goal_s": GOAL_S,
            "goal_mb": GOAL_MB,
            "meets_goal": isinstance(wall, float) and wall <= GOAL_S and peak <= GOAL_MB,
            "cores": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
