"""End to end, as a user sees it: `dagster dev -w workspace.yaml` (webserver + daemon) and `xget api` as real
processes, the emulator as X, and the Dagster instance on the machine's PostgreSQL (dagster-postgres run,
event and schedule storage, as in production). The UI serves XGet's asset graph; a scrape task created over
the API becomes a run in Dagster through a sensor tick (found through the webserver's GraphQL, as the UI
finds it), its results come back over the API, and a schedule tick launches lake_maintenance."""

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy.engine import make_url as sa_url

from tests.conftest import register_accounts, stop_process_group
from xget_pipelines.core.auth.users import create_user
from xget_pipelines.core.db.engine import get_engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, env):
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(check, timeout_s, what, procs=()):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"{what}: a server died:\n" + proc.stdout.read().decode()[-3000:]
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def test_a_task_created_over_the_api_runs_in_dagster_and_its_results_come_back(
    tmp_path, emulator_factory, small_world, monkeypatch, postgres_databases
):

    emu = emulator_factory(window_seconds=2)
    home = tmp_path / "xget"
    monkeypatch.setenv("XGET_HOME", str(home))  # the accounts' secrets are encrypted with this home's key
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "XGET_HOME": str(home),
        "XGET_X_GRAPHQL_URL": emu.graphql_url,
        "XGET_API_RATE_LIMIT_PER_MINUTE": "0",
        "XGET_LAKE_MAINTENANCE_CRON": "* * * * *",
    }  # a schedule tick every minute
    dagster_pg = (
        sa_url(postgres_databases()).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    (tmp_path / "dagster.yaml").write_text(
        f"telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_url: {dagster_pg}\n"
    )
    engine = get_engine(f"sqlite:///{(home / 'xget.db').absolute()}")
    register_accounts(emu, engine, ["e2e1", "e2e2"])
    create_user(engine, "ana", "analyst password 1", "analyst")
    ui_port, api_port = free_port(), free_port()
    ui = _start(["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(ui_port)], env)
    api = _start(["xget_pipelines.cli", "api", "--port", str(api_port)], env)
    try:
        base, ui_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
        _wait(lambda: httpx.get(f"{base}/readyz", timeout=5).status_code == 200, 60, "the API ready", [api])
        token = httpx.post(
            f"{base}/v1/auth/token",
            data={"grant_type": "password", "username": "ana", "password": "analyst password 1"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        term = small_world.watchlist_suggestions()["terms"][0]
        yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
        created = httpx.post(
            f"{base}/v1/tasks",
            headers=auth,
            json={"type": "SEARCH", "target": term, "since": yesterday, "until": yesterday},
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        assert created.json()["status"] == "PENDING"

        def finished():
            task = httpx.get(f"{base}/v1/tasks/{task_id}/status", headers=auth, timeout=10).json()
            return task if task["status"] in ("COMPLETED", "FAILED") else None

        task = _wait(finished, 300, "the task finishing", [api, ui])
        assert task["status"] == "COMPLETED", task
        assert task["progress"] == 1.0 and task["result_count"] > 0
        (run,) = task["runs"]
        assert run["day"] == yesterday and run["status"] == "SUCCESS"

        # The UI serves the asset graph, and the run is in Dagster, tagged with the task, as the UI lists it.
        nodes = httpx.post(
            f"{ui_url}/graphql", json={"query": "{ assetNodes { assetKey { path } groupName } }"}, timeout=30
        ).json()["data"]["assetNodes"]
        groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert groups["raw_x_pages"] == "raw" and groups["cleaned_tweets"] == "cleaned"
        assert groups["entities_tweets"] == "entities"
        assert httpx.get(ui_url, timeout=10).status_code == 200  # the UI page itself
        query = """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
                     ... on Runs { results { runId status jobName tags { key value } } } } }"""
        runs = httpx.post(
            f"{ui_url}/graphql",
            json={"query": query, "variables": {"tags": [{"key": "xget/task_id", "value": task_id}]}},
            timeout=30,
        ).json()["data"]["runsOrError"]["results"]
        assert [(r["runId"], r["status"], r["jobName"]) for r in runs] == [
            (run["run_id"], "SUCCESS", "x_ingest")
        ]

        results = httpx.get(f"{base}/v1/tasks/{task_id}/results?limit=1000", headers=auth, timeout=30).json()
        assert len(results["items"]) == task["result_count"]
        assert all(term.lower() in item["text"].lower() for item in results["items"])
        csv_text = httpx.get(f"{base}/v1/tasks/{task_id}/results?format=csv", headers=auth, timeout=30).text
        assert len(csv_text.strip().splitlines()) == task["result_count"] + 1  # header + one line a tweet

        # Everything above lives in PostgreSQL: the sensor's ticks, the run and its materializations, and
        # the schedule's ticks, whose lake_maintenance runs succeed.
        import dagster as dg

        instance = dg.DagsterInstance.from_config(str(tmp_path))
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert (
            instance.get_runs(dg.RunsFilter(run_ids=[run["run_id"]]))[0].status == dg.DagsterRunStatus.SUCCESS
        )
        assert instance.get_latest_materialization_event(dg.AssetKey("cleaned_tweets")) is not None
        assert any(run["run_id"] in t.run_ids for t in _ticks(instance, "scrape_task_sensor")), (
            "the sensor's tick"
        )

        def maintained():
            runs = instance.get_runs(
                dg.RunsFilter(job_name="lake_maintenance", statuses=[dg.DagsterRunStatus.SUCCESS])
            )
            return runs[0] if runs else None

        maintenance = _wait(maintained, 180, "a lake_maintenance run from the schedule", [api, ui])
        assert maintenance.tags.get("dagster/schedule_name") == "lake_maintenance_schedule"
        assert any(maintenance.run_id in t.run_ids for t in _ticks(instance, "lake_maintenance_schedule"))
        instance.dispose()
    finally:
        stop_process_group(api)
        stop_process_group(ui)


def _ticks(instance, name: str) -> list:
    """The ticks stored for the sensor or schedule called ``name``."""
    (state,) = [st for st in instance.all_instigator_state() if st.name == name]
    return instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=100)
