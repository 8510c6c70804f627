"""`xget demo` end to end on a small world, run twice on one folder as a new user would: first
`--no-serve` (emulator, pool, watchlist, concurrent runs, summary, SQL, backup and restore, a second Delta
reader), then serving (Dagster webserver and daemon, the API, the task round trip, automation) for a few
minutes, in which no run may fail."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import stop_process_group

REPO = Path(__file__).resolve().parents[1]
XGET = Path(sys.executable).with_name("xget")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def first_demo(tmp_path_factory):
    """`xget demo --no-serve` on a fresh folder, a lake backup taken while its runs write."""
    tmp_path = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "XGET_HOME": str(tmp_path / "home"),
        "XGET_EMULATOR_PORT": str(free_port()),
        "XGET_EMULATOR_USERS": "300",
        "XGET_EMULATOR_TWEETS": "6000",
        "XGET_EMULATOR_DAYS": "10",
        "XGET_DEMO_DAYS": "2",
        "XGET_DEMO_ACCOUNTS": "3",
        "XGET_DEMO_SENTIMENT_LIMIT": "300",
        "XGET_SENTIMENT_HELD_OUT_LIMIT": "100",
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [str(XGET), "demo", "--no-serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    backup = _backup_while_the_demo_writes(XGET, env, tmp_path, proc)
    stdout, stderr = proc.communicate(timeout=900)
    return SimpleNamespace(
        env=env,
        tmp_path=tmp_path,
        backup=backup,
        result=subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr),
    )


@pytest.mark.timeout(1500)  # the demo's setup (up to 900 s) counts: slower beside the suite's other workers
def test_demo_runs_every_partition_and_leaves_a_queryable_lake(first_demo):
    xget, env, tmp_path, demo = XGET, first_demo.env, first_demo.tmp_path, first_demo.result
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "XGet lake" in demo.stdout and "cleaned/tweets" in demo.stdout
    assert "demo finished" in demo.stdout
    assert "3 accounts imported from" in demo.stdout  # the demo's accounts come from a file, like a user's
    assert "3/3 proxies ACTIVE after a check through each" in demo.stdout  # real local proxies, checked
    # the held-out figure, not an in-domain one; trends and coordination scored against the emulator's truth
    assert "sentiment model minilm-vader-head-" in demo.stdout and "worst held-out source cf_" in demo.stdout
    assert "VADER on the same tweets" in demo.stdout
    assert "seen by the watchlist: precision" in demo.stdout
    assert "coordination: " in demo.stdout and "trend bursts reported as coordination: 0" in demo.stdout
    # collected as concurrent runs: 7 keys x 2 days, a list's and a community's 2 days, 1 follower snapshot
    assert "19 partitions, 4 runs at a time" in demo.stdout
    # The console is XGet's progress and summary: dbt's lines go to their own log, library warnings stay out
    assert "dbt build: PASS=" in demo.stdout and "ERROR=0" in demo.stdout
    console = demo.stdout + demo.stderr
    for noise in (
        "Found multiple backfill policies",
        "warnings.warn",
        " - dagster - WARNING - ",
        "START sql",
    ):
        assert noise not in console, noise

    def sql(query):
        out = subprocess.run(
            [str(xget), "sql", query, "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    (collected,) = sql("select count(distinct (day, watch_key)) as n from raw_x_pages")
    every_key = [k["watch_key"] for k in sql("select distinct watch_key from raw_x_pages order by 1")]
    keys = [k for k in every_key if ":" not in k]  # 4 terms + 3 accounts, 2 days each
    kinds = sorted(k.split(":")[0] for k in every_key if ":" in k)
    assert len(keys) == 7 and kinds == ["community", "followers", "list"]
    assert collected["n"] == 2 * len(keys) + 2 + 2 + 1
    # yesterday is whole, so every key has tweets then; today may be empty for a term early in the UTC day
    (parts,) = sql(
        "select count(distinct watch_key) as n from cleaned_tweets "
        "where day = (select min(day) from raw_x_pages) and watch_key not like '%:%'"
    )
    assert parts["n"] == len(keys)
    # the newer kinds landed in their own tables
    assert sql("select count(*) as n from cleaned_list_members")[0]["n"] > 0
    assert sql("select count(distinct role) as n from cleaned_community_members")[0]["n"] >= 2
    assert sql("select count(*) as n from cleaned_follower_snapshots")[0]["n"] > 0
    # the first account's key expands its conversations: every day of it ran the expansion
    expanded = sql(
        "select watch_key, count(*) as days from ops_coverage "
        "where reason like '%conversations:3%' group by 1"
    )
    assert len(expanded) == 1 and expanded[0]["days"] == 2 and expanded[0]["watch_key"].startswith("@"), (
        expanded
    )
    (counts,) = sql("select count(*) as n, count(distinct tweet_id) as d from cleaned_tweets")
    assert counts["n"] > 100
    (merged,) = sql("select count(*) as n from entities_tweets")
    assert merged["n"] == counts["d"]  # every collected tweet once
    (scored,) = sql("select count(distinct tweet_id) as n from analytics_tweet_sentiment")
    (originals,) = sql(
        "select count(*) as n from entities_tweets where not is_retweet and length(trim(text)) > 0"
    )
    assert scored["n"] == originals["n"] > 50
    volume = sql("select watch_key, sum(tweets) as tweets from marts.daily_volume_per_term group by 1")
    volume = {v["watch_key"]: v["tweets"] for v in volume}  # the dbt marts, via xget sql
    assert all(volume.get(k, 0) > 0 for k in keys)
    assert sql("select count(*) as n from marts.sentiment_by_day")[0]["n"] >= 1
    # every account was bound to one of the demo's proxies (the control plane records the binding)
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'xget.db'}")
    with engine.connect() as conn:
        unbound = conn.execute(sa.text("select count(*) from accounts where proxy_id is null")).scalar()
    assert unbound == 0
    # the runs live in the persistent instance that `make ui` (and `make demo`) shows
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(Path(env["XGET_HOME"], "dagster")))
    runs = instance.get_runs(dg.RunsFilter(job_name="x_ingest"))
    assert len(runs) == collected["n"] and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    _an_independent_reader_reads_every_table(xget, env)
    _restore_matches_the_backup(xget, env, tmp_path, first_demo.backup)


def _an_independent_reader_reads_every_table(xget, env) -> None:
    """A Delta reader XGet does not write with (delta-kernel-rs, through polars-deltalake) reads every table
    of the demo's lake with the row counts `xget lake tables` gives: other engines take the lake as it is."""
    import polars_deltalake

    out = subprocess.run(
        [str(xget), "lake", "tables", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    tables = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(tables) >= 15
    lake = Path(env["XGET_HOME"], "lake")
    for table in tables:
        rows = polars_deltalake.read_delta(str(lake / table["table"])).height
        assert rows == table["rows"], table


def _backup_while_the_demo_writes(xget, env, tmp_path, proc) -> dict:
    """`xget lake backup` once the demo has landed pages, while its runs keep writing."""
    import time

    log = Path(env["XGET_HOME"], "lake", "raw", "x_pages", "_delta_log")
    deadline = time.monotonic() + 300
    while len(list(log.glob("*.json"))) < 3:  # a few page batches in: the lake is being written
        assert proc.poll() is None, "the demo ended before the backup could start"
        assert time.monotonic() < deadline, "the demo wrote no pages within 5 minutes"
        time.sleep(0.5)
    out = subprocess.run(
        [str(xget), "lake", "backup", str(tmp_path / "backup")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads((tmp_path / "backup" / "manifest.json").read_text())


def _restore_matches_the_backup(xget, env, tmp_path, manifest) -> None:
    """The backup restores to the versions and row counts it recorded, which are the source lake's rows at
    those versions (time travel), and the restored control plane has the recorded rows."""
    from deltalake import DeltaTable

    out = subprocess.run(
        [
            str(xget),
            "lake",
            "restore",
            str(tmp_path / "backup"),
            "--lake",
            str(tmp_path / "restored"),
            "--database-url",
            f"sqlite:///{tmp_path / 'restored.db'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checksums, versions and row counts verified" in out.stdout
    assert any(t["name"] == "raw/x_pages" and t["rows"] > 0 for t in manifest["tables"])
    for table in manifest["tables"]:
        restored = DeltaTable(str(tmp_path / "restored" / table["name"]))
        source = DeltaTable(str(Path(env["XGET_HOME"], "lake", table["name"])), version=table["version"])
        assert restored.version() == table["version"]
        assert (
            restored.to_pyarrow_dataset().count_rows()
            == table["rows"]
            == source.to_pyarrow_dataset().count_rows()
        )
    import sqlalchemy as sa

    with sa.create_engine(f"sqlite:///{tmp_path / 'restored.db'}").connect() as conn:
        for name, rows in manifest["control_plane"]["rows"].items():
            assert conn.execute(sa.text(f'select count(*) from "{name}"')).scalar() == rows, name


# The unpartitioned assets downstream of the day's partitions (analytics_cotag_network and
# analytics_user_daily are daily partitions that run with the day's entities merge, like analytics_trends).
AUTOMATED = (
    "tweet_sentiment",
    "analytics_graph_metrics",
    "analytics_user_profiles",
)


# Serving lasts at least this long, and until every automated asset has materialized on its own (that wait is
# not cut short). 90 s keeps `make test` near its 20 minutes; set more by hand (the issue said ten minutes).
SERVE_S = float(os.environ.get("XGET_TEST_SERVE_S", "90"))


# The pipeline again (about 7 minutes here), then serving: the suite's 600 s would cut a longer serve short.
@pytest.mark.timeout(int(1500 + SERVE_S))
def test_the_demo_served_again_on_its_folder_has_no_failed_run(first_demo):
    """`make demo` a second time on the same folder, serving: the pipeline again, then the Dagster webserver
    and daemon (sensors, schedules, automation), the API and a task created over it, for
    XGET_TEST_SERVE_S seconds (90 here, and until automation has fired; the issue's ten minutes by hand).
    Any failed run fails the test with its error; the unpartitioned assets downstream of the task's partition
    are materialized by the automation sensor on their own."""
    import dagster as dg

    assert first_demo.result.returncode == 0, "the first demo failed: see the test before this one"
    serve_s = SERVE_S
    env = {
        **first_demo.env,
        "XGET_EMULATOR_PORT": str(free_port()),
        "XGET_DAGSTER_PORT": str(free_port()),
        "XGET_API_PORT": str(free_port()),
    }
    log = first_demo.tmp_path / "served.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(XGET), "demo"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
    instance = None
    try:
        served_at = _wait_for(proc, log, "Dagster UI on", 900)
        instance = dg.DagsterInstance.from_config(str(Path(env["XGET_HOME"], "dagster")))
        _wait_for(proc, log, "created over the API", 300, instance)
        task_done = _wait_for(proc, log, "(GET ", 600, instance)
        assert ": COMPLETED," in log.read_text(), log.read_text()[-3000:]
        fired: dict[str, str] = {}
        while time.time() < max(served_at + serve_s, task_done) or len(fired) < len(AUTOMATED):
            _no_failed_run(instance)
            fired.update(_automated_materializations(instance, served_at))
            assert proc.poll() is None, "the demo stopped serving:\n" + log.read_text()[-3000:]
            assert time.time() < served_at + serve_s + 600, (
                f"automation did not materialize {sorted(set(AUTOMATED) - set(fired))} within "
                f"{serve_s + 600:.0f} s of serving"
            )
            time.sleep(5)
        _no_failed_run(instance)
        # The pools' upkeep ran by itself: the account upkeep sensor's first tick checked the demo's accounts
        # and recorded what it did on the account_pool asset (its page in the UI shows the ticks).
        ticks = instance.fetch_observations(dg.AssetKey("account_pool"), limit=1).records
        assert ticks, "the account upkeep sensor recorded no tick on account_pool while the demo served"
        assert ticks[0].asset_observation.metadata["checked"].value >= 1
    finally:
        if proc.poll() is None:
            os.killpg(
                proc.pid, signal.SIGINT
            )  # what Ctrl-C does: the demo stops the UI, the API, the emulator
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                stop_process_group(proc)
        if instance is not None:
            instance.dispose()
    assert "stopping the Dagster UI" in log.read_text()


def _wait_for(proc, log: Path, text: str, timeout_s: float, instance=None) -> float:
    deadline = time.time() + timeout_s
    while text not in log.read_text():
        assert proc.poll() is None, f"the demo ended (exit {proc.returncode}):\n" + log.read_text()[-4000:]
        assert time.time() < deadline, (
            f"{text!r} not printed within {timeout_s:.0f} s:\n" + log.read_text()[-3000:]
        )
        if instance is not None:
            _no_failed_run(instance)
        time.sleep(2)
    return time.time()


def _no_failed_run(instance) -> None:
    import dagster as dg

    failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    if not failed:
        return
    reasons = []
    for run in failed:
        errors = [
            e.dagster_event.event_specific_data.error.message.strip()[:600]
            for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if e.dagster_event.event_specific_data.error
        ] or ["(no step failed: see the run's logs)"]
        reasons.append(f"{run.job_name} {run.run_id} {dict(run.tags)}: {errors[0]}")
    raise AssertionError(f"{len(failed)} failed runs:\n" + "\n".join(reasons))


def _automated_materializations(instance, since: float) -> dict[str, str]:
    """The AUTOMATED assets materialized by runs the automation sensor started after ``since``."""
    import dagster as dg

    found = {}
    for name in AUTOMATED:
        event = instance.get_latest_materialization_event(dg.AssetKey(name))
        if event is None or event.timestamp < since:
            continue
        run = instance.get_run_by_id(event.run_id)
        if run is not None and run.tags.get("dagster/from_automation_condition") == "true":
            found[name] = event.run_id
    return found
