"""HYDRATE tasks end to end: ids created over the API (REST, an uploaded file, GraphQL) become one x_hydrate
run, executed for real in process against the emulator over HTTP; every id gets the status the world says,
found tweets land once, the task reports its progress and counts, and its results page and export the
statuses. Bad input is refused naming the field; a viewer cannot create one; stop cancels the run.
"""

from __future__ import annotations

import random
from collections import Counter

import dagster as dg
import httpx
import pyarrow.compute as pc
import pytest

from tests.conftest import control_plane_resource, register_accounts
from tests.core.test_hydrate import expected_status, hydration_world, lookups_served
from tests.serving.conftest import start_api_server
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.entities import TWEETS
from xget_pipelines.core.tasks import MAX_HYDRATE_IDS
from xget_pipelines.core.x import hydrate_status as hs
from xget_pipelines.core.x.hydrate import watch_key
from xget_pipelines.emulator import EmulatorServer, EmulatorSettings
from xget_pipelines.emulator.model import snowflake
from xget_pipelines.jobs import x_hydrate
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource
from xget_pipelines.sensors.tasks import TASK_TAG, scrape_task_sensor


@pytest.fixture(scope="module")
def world():
    return hydration_world()


@pytest.fixture(scope="module")
def setup(world, tmp_path_factory):
    """The emulator, the API over an empty lake, and the Dagster resources over the same lake and DB."""
    root = tmp_path_factory.mktemp("hydrate-tasks")

    def empty_lake(path):
        path.mkdir(parents=True, exist_ok=True)
        return {}

    with (
        EmulatorServer(world, EmulatorSettings(window_seconds=60)) as emu,
        start_api_server(root, build_lake=empty_lake) as api,
    ):
        url = api.settings.resolved_database_url
        register_accounts(emu, get_engine(url), ["hy1", "hy2"])
        resources = {
            "lake": LakeResource(uri=str(root / "lake")),
            "control_plane": control_plane_resource(url),
            "account_pool": AccountPoolResource(control_plane=control_plane_resource(url)),
            "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10),
        }
        yield emu, api, resources


def some_ids(world, found: int, seed: int) -> list[int]:
    """Every post that is not simply found, ``found`` normal ones and ids X never had, shuffled."""
    rng = random.Random(seed)
    special = [t.id for t in world.tweets if expected_status(world, t.id) != "found"]
    never = []
    while len(never) < 10:
        tid = snowflake(world.cfg.start_ms + rng.randrange(86_400_000), rng.randrange(1 << 22))
        if world.tweet_by_id(tid) is None:
            never.append(tid)
    normal = [t.id for t in world.tweets if expected_status(world, t.id) == "found"]
    ids = special + never + rng.sample(normal, found)
    rng.shuffle(ids)
    return ids


def tick(instance, resources) -> dg.SensorResult:
    ctx = dg.build_sensor_context(
        instance=instance, resources={k: resources[k] for k in ("control_plane", "lake")}
    )
    return scrape_task_sensor(ctx)


def requested(instance, resources, task_id: str) -> list[dg.RunRequest]:
    """A tick's run requests for one task (the module's other tests leave tasks of their own)."""
    return [r for r in tick(instance, resources).run_requests if r.tags[TASK_TAG] == task_id]


def execute(instance, resources, request: dg.RunRequest):
    job = dg.Definitions(jobs=[x_hydrate], resources=resources).resolve_job_def("x_hydrate")
    return job.execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance, raise_on_error=False
    )


def all_results(http: httpx.Client, task_id: str) -> list[dict]:
    rows, cursor = [], None
    while True:
        page = http.get(f"/v1/tasks/{task_id}/results", params={"limit": 100, "cursor": cursor}).json()
        rows += page["items"]
        if page["next_cursor"] is None:
            return rows
        cursor = page["next_cursor"]


def test_a_hydrate_task_gives_every_id_its_status_and_resumes_with_new_ids(setup, world):
    emu, api, resources = setup
    ids = some_ids(world, found=150, seed=5)
    expected = {tid: expected_status(world, tid) for tid in ids}
    truth = Counter(expected.values())
    assert truth["suspended"] and truth["protected"] and truth["withheld"] and truth["deleted"]
    instance = dg.DagsterInstance.ephemeral()
    http = api.client("analyst")
    # strings keep ids past 2**53 exact; numbers are taken too; a duplicate counts once
    sent = [str(i) for i in ids[:100]] + ids[100:] + [str(ids[0])]
    created = http.post("/v1/tasks", json={"type": "HYDRATE", "target": "study1", "ids": sent})
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["status"], task["id_count"], task["watch_key"]) == ("PENDING", len(ids), "hydrate:study1")

    (request,) = requested(instance, resources, task["id"])
    assert request.run_key == f"task:{task['id']}:1" and request.job_name == "x_hydrate"
    assert request.tags[TASK_TAG] == task["id"] and request.tags["dagster/priority"] == "0"
    assert http.get(f"/v1/tasks/{task['id']}").json()["status"] == "RUNNING"
    before = lookups_served(emu)
    assert execute(instance, resources, request).success
    tick(instance, resources)

    done = http.get(f"/v1/tasks/{task['id']}").json()
    assert done["status"] == "COMPLETED" and done["progress"] == 1.0, done
    assert done["status_counts"] == {s: truth.get(s, 0) for s in hs.STATUSES}
    assert done["result_count"] == len(ids) and done["runs"][0]["status"] == "SUCCESS"
    rows = all_results(http, task["id"])
    assert {r["tweet_id"]: r["status"] for r in rows} == expected and len(rows) == len(ids)
    export = http.get(f"/v1/tasks/{task['id']}/results", params={"format": "csv"})
    assert export.status_code == 200 and export.text.count("\n") == len(ids) + 1  # header + a row per id

    lake = resources["lake"].lake()
    found = {tid for tid, s in expected.items() if s == "found"}
    cleaned = lake.read("cleaned/tweets", {"watch_key": watch_key("study1")})
    asked = cleaned.filter(pc.equal(cleaned["via"], "timeline"))["tweet_id"].to_pylist()
    assert set(asked) == found and len(asked) == len(found)  # each found tweet once
    entities = lake.read(TWEETS, columns=["tweet_id"])["tweet_id"].to_pylist()
    assert found <= set(entities) and len(entities) == len(set(entities))

    # The same dataset again with some new ids: only those are looked up; nothing is lost or doubled.
    more = [t.id for t in world.tweets if expected_status(world, t.id) == "found" and t.id not in found][:30]
    again = http.post("/v1/tasks", json={"type": "HYDRATE", "target": "study1", "ids": more + ids[:50]})
    assert again.status_code == 201 and again.json()["id_count"] == len(ids) + 30
    (second,) = requested(instance, resources, again.json()["id"])
    assert execute(instance, resources, second).success
    assert lookups_served(emu) - before == -(-len(ids) // 100) + 1  # the first run's batches, then one of 30
    tick(instance, resources)
    resumed = http.get(f"/v1/tasks/{again.json()['id']}").json()
    assert resumed["status"] == "COMPLETED" and resumed["status_counts"]["found"] == truth["found"] + 30
    statuses = hs.read(lake, "study1")
    assert statuses.num_rows == len(ids) + 30 == len(set(statuses["tweet_id"].to_pylist()))


def test_an_uploaded_file_and_graphql_create_hydrate_tasks(setup, world):
    _, api, _ = setup
    ids = some_ids(world, found=5, seed=9)[:20]
    http = api.client("analyst")
    csv = "tweet_id,note\n" + "".join(f"{tid},x\n" for tid in ids) + "\n"
    made = http.post(
        "/v1/tasks/hydrate",
        params={"dataset": "upload1", "start": "false"},
        content=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert made.status_code == 201, made.text
    assert (made.json()["id_count"], made.json()["status"]) == (len(ids), "CREATED")
    lines = http.post(
        "/v1/tasks/hydrate",
        params={"dataset": "upload2", "start": "false"},
        content="\n".join(map(str, ids)).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert lines.status_code == 201 and lines.json()["id_count"] == len(ids)

    query = "mutation($t: TaskInput!) { createTask(task: $t) { id type status idCount watchKey } }"
    task = {"type": "HYDRATE", "target": "graphql1", "ids": [str(i) for i in ids], "start": False}
    answer = http.post("/v1/graphql", json={"query": query, "variables": {"t": task}}).json()
    assert answer["data"]["createTask"]["idCount"] == len(ids), answer
    assert answer["data"]["createTask"]["watchKey"] == "hydrate:graphql1"
    bad = {**task, "ids": ["1", "two"]}
    answer = http.post("/v1/graphql", json={"query": query, "variables": {"t": bad}}).json()
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "ids"} and "'two'" in error["message"]


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ({"target": "ds", "ids": ["1", "2", "abc", "-4"]}, "ids", "item 3: 'abc'"),
        ({"target": "ds", "ids": [1, 2.5]}, "ids.1", ""),
        ({"target": "ds", "ids": []}, "ids", "no tweet ids"),
        ({"target": "ds"}, "ids", "give ids"),
        ({"target": "bad name!", "ids": [1]}, "target", "name of its dataset"),
        ({"target": "ds", "ids": [1], "since": "2026-01-01"}, "since", "leave since out"),
        ({"target": "ds", "ids": [1], "until": "2026-01-01"}, "until", "leave until out"),
        ({"target": "ds", "ids": [1], "params": {"budget": "all"}}, "params", "no collection parameters"),
        ({"target": "ds", "ids": [1], "schedule": "0 6 * * *"}, "schedule", "does not recur"),
        ({"target": "ds", "ids": list(range(1, MAX_HYDRATE_IDS + 2))}, "ids", "at most 100,000"),
        ({"type": "SEARCH", "target": "python", "ids": [1]}, "ids", "HYDRATE task's"),
    ],
)
def test_bad_hydrate_requests_name_the_field(setup, body, field, said):
    _, api, _ = setup
    rep = api.client("analyst").post("/v1/tasks", json={"type": "HYDRATE", **body})
    assert rep.status_code == 422, rep.text
    error = rep.json()["error"]
    assert error["field"].startswith(field) and said in error["message"], error


def test_bad_uploads_name_the_line_and_viewers_cannot_create(setup):
    _, api, _ = setup
    http = api.client("analyst")
    bad = http.post(
        "/v1/tasks/hydrate",
        params={"dataset": "ds"},
        content=b"1\n2\nnot-an-id\n",
        headers={"Content-Type": "text/plain"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "body"
    assert "line 3: 'not-an-id'" in bad.json()["error"]["message"]
    no_column = http.post(
        "/v1/tasks/hydrate",
        params={"dataset": "ds"},
        content=b"a,b\n1,2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert no_column.status_code == 422 and "column=" in no_column.json()["error"]["message"]
    viewer = api.client("viewer")
    denied = viewer.post("/v1/tasks", json={"type": "HYDRATE", "target": "ds", "ids": [1]})
    assert denied.status_code == 403
    upload = viewer.post(
        "/v1/tasks/hydrate", params={"dataset": "ds"}, content=b"1\n", headers={"Content-Type": "text/plain"}
    )
    assert upload.status_code == 403


def test_stopping_a_hydrate_task_cancels_its_run_and_one_task_of_a_dataset_is_active(setup):
    _, api, resources = setup
    http = api.client("analyst")
    task = http.post("/v1/tasks", json={"type": "HYDRATE", "target": "stopme", "ids": [1, 2, 3]}).json()
    busy = http.post("/v1/tasks", json={"type": "HYDRATE", "target": "stopme", "ids": [4]})
    assert busy.status_code == 409 and task["id"] in busy.json()["error"]["message"]
    instance = dg.DagsterInstance.ephemeral()
    (request,) = requested(instance, resources, task["id"])
    job = dg.Definitions(jobs=[x_hydrate], resources=resources).resolve_job_def("x_hydrate")
    queued = instance.create_run_for_job(job, run_config=request.run_config, tags=request.tags)
    tick(instance, resources)
    assert http.post(f"/v1/tasks/{task['id']}/stop").json()["status"] == "STOPPING"
    assert requested(instance, resources, task["id"]) == []
    assert instance.get_run_by_id(queued.run_id).status == dg.DagsterRunStatus.CANCELED
    tick(instance, resources)
    stopped = http.get(f"/v1/tasks/{task['id']}").json()
    assert stopped["status"] == "STOPPED" and stopped["id_count"] == 3
    # A HYDRATE task's dataset and ids are fixed; restarted, it is a new attempt with a new run key.
    patch = http.patch(f"/v1/tasks/{task['id']}", json={"target": "other"})
    assert patch.status_code == 422 and patch.json()["error"]["field"] == "target"
    assert http.post(f"/v1/tasks/{task['id']}/start").json()["attempt"] == 2
    (fresh,) = requested(instance, resources, task["id"])
    assert fresh.run_key == f"task:{task['id']}:2"


def test_a_failed_run_fails_the_task_naming_the_run(setup):
    _, api, resources = setup
    http = api.client("analyst")
    task = http.post("/v1/tasks", json={"type": "HYDRATE", "target": "unreachable", "ids": [1, 2]}).json()
    instance = dg.DagsterInstance.ephemeral()
    (request,) = requested(instance, resources, task["id"])
    nowhere = resources | {"x_api": XApiResource(graphql_url="http://127.0.0.1:9/i/api/graphql", timeout_s=2)}
    result = execute(instance, nowhere, request)
    assert not result.success
    tick(instance, resources)
    failed = http.get(f"/v1/tasks/{task['id']}").json()
    assert failed["status"] == "FAILED" and result.run_id in failed["error"], failed
    assert failed["status_counts"] == {s: 0 for s in hs.STATUSES} and failed["progress"] == 0.0
