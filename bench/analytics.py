"""Benchmark: every analytics asset's cost over the whole lake and for one more day, at 1M and 10M tweets.

Run: ``.venv/bin/python bench/analytics.py`` (sizes 1M and 10M: the 10M lake takes minutes to generate
and today's full recomputes take long; steps past ``--timeout`` print ``timeout``), ``--quick`` (100k and
1M), ``--sizes 1000000,3000000``, ``--only analytics_trends,tweet_sentiment``, ``--timeout 600``.
Prints one JSON line per (size, asset, implementation, mode), one growth line per asset and
implementation, and LAST the headline: the incremental cost of one more day at the largest size against
the smallest.

Method
------
- Lakes: ``bench/lakegen.py`` (seeded, XGet's own writer and schemas), cached under
  ``.xget/bench-lakes/<tweets>-<seed>-<day_tweets>``. A lake of N tweets is N / 33,334 days (1M: 30
  days, 10M: 300): the lake grows by days of the same size, and the day added to each (``grown``) is
  33,334 tweets at every size. "Cost grows with the day, not with the lake" then reads: one more day
  costs the same on the 10M lake as on the 1M one (within 2x, issue 20).
- Steps: ``bench/analytics_steps.py``, each asset's core call with its reads (writes left out). ``full``
  runs on the lake, ``incremental`` on the lake plus the day, doing what today's asset does when the day
  arrives (for the unpartitioned assets: everything again).
- Each step runs in a fresh process: ``seconds`` is the step's wall time; ``peak_mb`` the process's peak
  resident memory (``VmHWM``, imports included: ``base_mb`` is the process before the step). Past
  ``--timeout`` (counted from the process's start, imports included, or from the end of a step's untimed
  preparation) the process is killed and the line
  says ``timeout``, that many seconds a lower bound; a step that timed out on the smaller lake is not run
  on the bigger one (``skipped``). ``--reuse <earlier output>`` prints an earlier run's lines for the same
  lakes instead of measuring them again.
- Sentiment: ``score_new_tweets`` scores the day's tweets only (the lake's other tweets are scored by the
  same model version, ``analytics/tweet_sentiment``, as after earlier runs); scoring the whole lake from
  scratch is that rate times the lake's texts (status ``extrapolated``). The model is VADER (what the
  asset falls back to before one is trained; ``--sentiment-model`` for a trained one, about 500
  tweets/s on 2 cores).
- Headline: per asset, the fastest implementation that finished at every size; ``ratio`` is the summed
  incremental seconds at the largest size over the smallest (null while an asset does not finish:
  ``finished_ratio`` is the same over those that do); ``worst`` the asset whose own ratio is highest
  (an unfinished one first); ``meets_goal``: every asset's ratio <= 2 and graph metrics within 30 s on
  the largest lake.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics_steps import EXTRAS, STEPS, Run  # noqa: E402
from lakegen import LakeSpec, lakes  # noqa: E402

ROOT = Path(".xget/bench-lakes")
GOAL_RATIO, GRAPH_GOAL_S = 2.0, 30.0
DONE = {"ok", "extrapolated"}


def emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def resident_peak_mb(pid: int | str = "self") -> float | None:
    """The process's peak resident memory (``VmHWM``). Not ``ru_maxrss``: on Linux a child's starts at
    the parent's resident size when it forked, which would floor every step at the runner's size."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return None if kb is None else round(kb / 1024)


def child(args) -> None:
    """Run one step in this process; print its figures as one JSON line."""
    step = next(s for s in STEPS if (s.asset, s.implementation) == (args.asset, args.implementation))
    spec = LakeSpec(**json.loads(args.spec))
    run = Run(Path(args.lake), args.mode, spec, Path(args.scratch), args.sentiment_model)
    if step.prepare is not None and run.mode == "incremental":
        step.prepare(run)  # untimed: the state the asset's earlier runs left
        Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from here
        (run.scratch / "prepared").touch()  # the parent's timeout starts from here
    base_mb = resident_peak_mb()
    t0 = time.perf_counter()
    figures = step.run(run)
    seconds = time.perf_counter() - t0
    peak_mb = resident_peak_mb()
    extra = EXTRAS.get(step.asset)
    if extra is not None:
        figures.update(extra(run))
    print(json.dumps({"seconds": round(seconds, 2), "peak_mb": peak_mb, "base_mb": base_mb, **figures}))


def measure(step, mode: str, lake: Path, spec: LakeSpec, args) -> dict:
    """The step in a fresh process: its figures and peak memory, or ``timeout``/``error`` with the peak
    seen until then."""
    scratch = Path(tempfile.mkdtemp(prefix="anbench-", dir=ROOT))
    cmd = [
        sys.executable, __file__, "--child", "--asset", step.asset, "--implementation", step.implementation,
        "--mode", mode, "--lake", str(lake), "--spec", json.dumps(spec.__dict__), "--scratch", str(scratch),
        "--sentiment-model", args.sentiment_model,
    ]  # fmt: skip
    out = open(scratch / "stdout", "w+")  # noqa: SIM115 - read back after the child ends
    err = open(scratch / "stderr", "w+")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out, stderr=err)
    started, seen_mb, prepared = time.monotonic(), None, False
    while proc.poll() is None:
        seen_mb = resident_peak_mb(proc.pid) or seen_mb
        if (scratch / "prepared").exists() and not prepared:
            started, prepared = time.monotonic(), True
        if time.monotonic() - started > args.timeout:
            proc.kill()
            proc.wait()
            break
        time.sleep(0.2)
    status = "timeout" if proc.returncode < 0 else "ok" if proc.returncode == 0 else "error"
    out.seek(0)
    err.seek(0)
    doc = {"status": status, "peak_mb": seen_mb}
    if status == "ok":
        doc.update(json.loads(out.read().strip().splitlines()[-1]))
    elif status == "timeout":
        doc["seconds"] = args.timeout
    else:
        doc["error"] = err.read().strip().splitlines()[-1:]
    out.close()
    err.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return doc


def _key(doc: dict) -> tuple:
    return doc["size"], doc["asset"], doc["implementation"], doc["mode"]


def _extrapolated(doc: dict) -> dict:
    """Scoring the whole lake from scratch: its texts at the rate the day's tweets were scored."""
    rate = doc["rows"] / max(doc["seconds"], 1e-9)
    return {
        **{k: doc[k] for k in ("size", "asset", "implementation", "peak_mb")},
        "mode": "full",
        "status": "extrapolated",
        "rows": doc["lake_texts"],
        "seconds": round(doc["lake_texts"] / rate, 1),
        "tweets_per_s": round(rate, 1),
        "note": "every text of the lake at the incremental run's rate",
    }


def run_size(tweets: int, args, steps, earlier: dict, timed_out: set) -> list[dict]:
    """Every step's lines at one lake size. A line in ``earlier`` (``--reuse``) is printed again, marked
    ``reused``; a step that timed out on a smaller lake is not run again (``skipped``, the timeout as
    its lower bound: a bigger lake does not make it faster)."""
    spec = LakeSpec(tweets, args.seed, args.day_tweets)
    t0 = time.perf_counter()
    base, grown = lakes(spec, ROOT)
    emit({"size": tweets, "days": spec.days, "day_tweets": spec.day_tweets, "users": spec.users,
          "lake": str(base.parent), "lake_ready_s": round(time.perf_counter() - t0, 1),
          "load_avg_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()})  # fmt: skip
    lines = []
    for step in steps:
        for mode in step.modes:
            key = (tweets, step.asset, step.implementation, mode)
            if key in earlier:
                line = {**earlier[key], "reused": True}
            elif key[1:] in timed_out:
                line = dict(zip(("size", "asset", "implementation", "mode"), key, strict=True))
                line.update(status="skipped", seconds=args.timeout, peak_mb=None)
                line["note"] = "timed out on a smaller lake: not run again"
            else:
                doc = measure(step, mode, base if mode == "full" else grown, spec, args)
                line = dict(zip(("size", "asset", "implementation", "mode"), key, strict=True)) | doc
                if step.note:
                    line["note"] = step.note
            if line["status"] in ("timeout", "skipped"):
                timed_out.add(key[1:])
            emit(line)
            lines.append(line)
            if step.asset == "tweet_sentiment" and line["status"] == "ok" and line.get("rows"):
                full = _extrapolated(line)
                emit(full)
                lines.append(full)
    return lines


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def summarize(lines: list[dict], sizes: list[int], day_tweets: int) -> None:
    small, large = min(sizes), max(sizes)
    by = {_key(d): d for d in lines}
    pairs = sorted(
        {(d["asset"], d["implementation"]) for d in lines}, key=lambda p: [s.asset for s in STEPS].index(p[0])
    )
    best: dict[str, dict] = {}
    for asset, impl in pairs:
        growth = {"asset": asset, "implementation": impl, "sizes": [small, large]}
        for mode in ("full", "incremental"):
            a, b = by.get((large, asset, impl, mode)), by.get((small, asset, impl, mode))
            if a and b:
                growth[f"{mode}_seconds"] = [b["seconds"], a["seconds"]]
                both = {a["status"], b["status"]} <= DONE  # a timeout's seconds are only a lower bound
                growth[f"{mode}_growth"] = _ratio(a["seconds"], b["seconds"]) if both else None
                growth[f"{mode}_peak_mb"] = [b["peak_mb"], a["peak_mb"]]
                growth[f"{mode}_status"] = [b["status"], a["status"]]
        emit(growth)
        inc_small, inc_large = (
            by.get((small, asset, impl, "incremental")),
            by.get((large, asset, impl, "incremental")),
        )
        if not (inc_small and inc_large):
            continue
        finished = inc_small["status"] == "ok" and inc_large["status"] == "ok"
        candidate = dict(implementation=impl, small=inc_small["seconds"], large=inc_large["seconds"])
        candidate["finished"] = finished
        held = best.get(asset)
        if held is None or (finished, -candidate["large"]) > (held["finished"], -held["large"]):
            best[asset] = candidate
    unfinished = sorted(a for a, b in best.items() if not b["finished"])
    total_small = sum(b["small"] for b in best.values())
    total_large = sum(b["large"] for b in best.values())
    ratios = {a: _ratio(b["large"], b["small"]) if b["finished"] else None for a, b in best.items()}
    worst = max(ratios, key=lambda a: float("inf") if ratios[a] is None else ratios[a]) if ratios else None
    graph = [
        d
        for d in lines
        if d["size"] == large and d["asset"] == "analytics_graph_metrics" and d["mode"] == "full"
    ]
    graph.sort(key=lambda d: (d["status"] != "ok", d["seconds"]))  # the best implementation first
    graph_ok = [d for d in graph if d["status"] == "ok" and d["seconds"] <= GRAPH_GOAL_S]
    emit({
        "headline": f"incremental cost of one more day ({day_tweets:,} tweets) at {large:,} vs {small:,}",
        "incremental_seconds": {str(small): round(total_small, 1), str(large): round(total_large, 1)},
        "ratio": _ratio(total_large, total_small) if not unfinished else None,
        "finished_ratio": _ratio(
            sum(b["large"] for b in best.values() if b["finished"]),
            sum(b["small"] for b in best.values() if b["finished"]),
        ),  # the same over the assets that finished at both sizes (a timeout's seconds are only a bound)
        "worst_asset": worst,
        "worst_ratio": ratios.get(worst),
        "per_asset_ratio": ratios,
        "implementations": {a: b["implementation"] for a, b in best.items()},
        "unfinished": unfinished,
        "graph_metrics_implementation": graph[0]["implementation"] if graph else None,
        "graph_metrics_full_s_at_largest": graph[0]["seconds"] if graph else None,
        "graph_metrics_status_at_largest": graph[0]["status"] if graph else None,
        "mention_edges_at_largest": graph[0].get("mention_edges") if graph else None,
        "meets_goal": bool(best) and all(b["finished"] for b in best.values())
        and all((r or 99) <= GOAL_RATIO for r in ratios.values()) and bool(graph_ok),
    })  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="lake sizes in tweets, comma-separated")
    ap.add_argument("--quick", action="store_true", help="sizes 100000,1000000")
    ap.add_argument("--only", default="", help="assets to measure, comma-separated (default: all)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a step may take")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--day-tweets", type=int, default=33_334, help="tweets a day (the lake's and the added)")
    ap.add_argument("--sentiment-model", default="vader", help="vader, or a trained model's folder")
    ap.add_argument(
        "--reuse", help="an earlier run's output: its lines (same lakes) are printed again, not measured"
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("asset", "implementation", "mode", "lake", "spec", "scratch"):
        ap.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    sizes = [100_000, 1_000_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    only = {a for a in args.only.split(",") if a}
    unknown = only - {s.asset for s in STEPS}
    if unknown:
        ap.error(f"unknown assets {sorted(unknown)}: choose from {sorted({s.asset for s in STEPS})}")
    steps = [s for s in STEPS if not only or s.asset in only]
    ROOT.mkdir(parents=True, exist_ok=True)
    earlier = {}
    if args.reuse:
        docs = [json.loads(x) for x in Path(args.reuse).read_text().splitlines() if x.startswith("{")]
        earlier = {_key(d): d for d in docs if "mode" in d and d.get("status") != "extrapolated"}
    lines: list[dict] = []
    timed_out: set[tuple] = set()
    for tweets in sorted(sizes):
        lines += run_size(tweets, args, steps, earlier, timed_out)
    summarize(lines, sizes, args.day_tweets)


if __name__ == "__main__":
    main()
