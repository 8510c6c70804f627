"""Lake events through real brokers: the machine's RabbitMQ and a Tansu (Kafka) broker. A tick of the sensor
publishes one event per materialization of a lake table and moves its cursor; a broker that is down fails
the tick without moving it, and the next tick publishes what was missing; the consumer example prints them."""

import json
import subprocess
import sys
import uuid

import dagster as dg
import pyarrow as pa
import pytest

from tests.conftest import REPO, control_plane_resource
from tests.sinks._brokers import RABBITMQ_URL, rabbit, read_kafka, tansu  # noqa: F401 - fixtures
from tests.sinks._mongo import free_port
from xget_pipelines.assets.pool_stats import account_pool_stats
from xget_pipelines.core.redact import masked_url, scrub, url_hosts, url_secrets
from xget_pipelines.core.sinks.events import EventsUnavailable, publisher_for
from xget_pipelines.resources import AccountPoolResource, LakeResource
from xget_pipelines.resources.events import LakeEventsResource
from xget_pipelines.sensors.events import lake_events_sensor

DAYS = dg.StaticPartitionsDefinition(["2026-03-01", "2026-03-02"])


@dg.asset(metadata={"table": "entities/things"})
def entities_things(lake: LakeResource) -> dg.MaterializeResult:
    """A lake table written by appends (stands for the entity merges: rows, inserted, updated, version)."""
    version = lake.lake().append("entities/things", pa.table({"id": [1, 2, 3]}))
    return dg.MaterializeResult(metadata={"rows": 3, "inserted": 2, "updated": 1, "lake_version": version})


@dg.asset(metadata={"table": "cleaned/widgets"}, partitions_def=DAYS)
def cleaned_widgets(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    day = context.partition_key
    version = lake.lake().replace_where(
        "cleaned/widgets", pa.table({"day": [day] * 4, "n": [1, 2, 3, 4]}), {"day": day}, ["day"]
    )
    return dg.MaterializeResult(metadata={"rows": 4, "lake_version": version})


@dg.asset
def not_a_table() -> dg.MaterializeResult:
    """No "table" in its metadata: the sensor leaves it out."""
    return dg.MaterializeResult(metadata={"rows": 1})


@pytest.fixture
def world(tmp_path, sqlite_url):
    """An instance with materializations of three lake tables (one a real XGet asset) and one non-table
    asset."""
    control_plane = control_plane_resource(sqlite_url)
    resources = {
        "lake": LakeResource(uri=str(tmp_path / "lake")),
        "account_pool": AccountPoolResource(control_plane=control_plane),
    }
    assets = [entities_things, cleaned_widgets, not_a_table, account_pool_stats]
    defs = dg.Definitions(assets=assets, sensors=[lake_events_sensor], resources=resources)
    instance = dg.DagsterInstance.ephemeral()

    def materialize(asset, partition=None):
        result = dg.materialize([asset], resources=resources, instance=instance, partition_key=partition)
        assert result.success
        return result.run_id

    return defs, instance, materialize, resources["lake"].lake()


def tick(defs, instance, cursor, url, topic, timeout_s=5.0):
    events = LakeEventsResource(url=url, topic=topic, timeout_s=timeout_s)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={"lake_events": events}
    ) as context:
        result = lake_events_sensor(context)
    moved = result.cursor if isinstance(result, dg.SensorResult) else None  # what the daemon would store
    return result, moved or cursor


def after(cursor: str | None) -> int:
    return json.loads(cursor)["after"] if cursor else 0


def test_one_event_per_materialization_reaches_rabbitmq_with_its_routing_key_and_fields(world, rabbit):  # noqa: F811
    defs, instance, materialize, lake = world
    every, entities_only = rabbit.queue("#"), rabbit.queue("entities.*")
    runs = {"things": [materialize(entities_things)], "widgets": [materialize(cleaned_widgets, "2026-03-01")]}
    versions = {"things": [lake.version("entities/things")]}
    runs["things"].append(materialize(entities_things))
    versions["things"].append(lake.version("entities/things"))
    runs["widgets"].append(materialize(cleaned_widgets, "2026-03-02"))
    pool_run = materialize(account_pool_stats)
    materialize(not_a_table)

    result, cursor = tick(defs, instance, None, RABBITMQ_URL, rabbit.name)
    assert isinstance(result, dg.SensorResult) and "published 5 event(s)" in result.skip_reason.skip_message
    received = rabbit.drain(every)
    assert len(received) == 5 and len({e["event_id"] for _, _, e in received}) == 5
    for routing_key, properties, event in received:
        assert properties.message_id == event["event_id"] and properties.content_type == "application/json"
        assert properties.delivery_mode == 2 and event["type"] == "xget.lake.batch"
        assert (
            routing_key == event["table"].replace("/", ".") and event["layer"] == event["table"].split("/")[0]
        )
        assert event["event_id"].endswith(f":{event['asset_key']}") and event["materialized_at"].endswith(
            "+00:00"
        )
    things = [e for _, _, e in received if e["table"] == "entities/things"]
    assert [e["run_id"] for e in things] == runs["things"] and [
        e["lake_version"] for e in things
    ] == versions["things"]
    assert all(
        e["counts"] == {"rows": 3, "inserted": 2, "updated": 1} and e["partition"] is None for e in things
    )
    widgets = [e for _, _, e in received if e["table"] == "cleaned/widgets"]
    assert [(e["partition"], e["run_id"], e["counts"]) for e in widgets] == [
        ("2026-03-01", runs["widgets"][0], {"rows": 4}),
        ("2026-03-02", runs["widgets"][1], {"rows": 4}),
    ]
    pool = [e for _, _, e in received if e["asset_key"] == "account_pool_stats"]
    assert [(e["table"], e["run_id"], e["lake_version"]) for e in pool] == [
        ("ops/account_pool", pool_run, lake.version("ops/account_pool"))
    ]
    assert {e["table"] for _, _, e in rabbit.drain(entities_only)} == {"entities/things"}
    assert after(cursor) == max(int(e["event_id"].split(":")[0]) for _, _, e in received)

    again, same = tick(defs, instance, cursor, RABBITMQ_URL, rabbit.name)
    assert isinstance(again, dg.SkipReason) and same == cursor and rabbit.drain(every) == []


def test_a_rabbitmq_that_is_down_fails_the_tick_without_moving_the_cursor(world, rabbit):  # noqa: F811
    defs, instance, materialize, _ = world
    queue = rabbit.queue()
    materialize(entities_things)
    dead = f"amqp://xget:hunter2-secret@127.0.0.1:{free_port()}/%2F"
    with pytest.raises(EventsUnavailable) as failure:
        tick(defs, instance, None, dead, rabbit.name)
    message = str(failure.value)
    assert "RabbitMQ broker at 127.0.0.1:" in message and "the cursor stays" in message
    assert "hunter2-secret" not in message
    result, cursor = tick(defs, instance, None, RABBITMQ_URL, rabbit.name)  # the broker is back
    assert [e["table"] for _, _, e in rabbit.drain(queue)] == ["entities/things"] and after(cursor) > 0


def test_events_reach_kafka_keyed_by_table(world, tansu):  # noqa: F811
    defs, instance, materialize, lake = world
    run_id = materialize(entities_things)
    materialize(cleaned_widgets, "2026-03-01")
    topic = f"xget.test.{uuid.uuid4().hex[:8]}"
    result, cursor = tick(defs, instance, None, tansu.url, topic)
    messages = read_kafka(tansu.url, topic, expected=2)
    events = [json.loads(m.value()) for m in messages]
    assert sorted(e["table"] for e in events) == ["cleaned/widgets", "entities/things"]
    for message, event in zip(messages, events, strict=False):
        assert message.key() == event["table"].encode()
        assert dict(message.headers())["event_id"] == event["event_id"].encode()
    things = next(e for e in events if e["table"] == "entities/things")
    assert (things["run_id"], things["lake_version"], things["counts"]) == (
        run_id,
        lake.version("entities/things"),
        {"rows": 3, "inserted": 2, "updated": 1},
    )
    assert after(cursor) == max(int(e["event_id"].split(":")[0]) for e in events)


def test_a_kafka_outage_loses_no_event_and_the_next_tick_publishes_the_missing_ones(world, tansu):  # noqa: F811
    defs, instance, materialize, _ = world
    topic = f"xget.test.{uuid.uuid4().hex[:8]}"
    materialize(entities_things)
    materialize(cleaned_widgets, "2026-03-01")
    _, cursor = tick(defs, instance, None, tansu.url, topic)
    received = [json.loads(m.value()) for m in read_kafka(tansu.url, topic, expected=2)]
    assert len(received) == 2

    tansu.kill()
    materialize(entities_things)  # the pipeline goes on while the broker is down
    materialize(cleaned_widgets, "2026-03-02")
    with pytest.raises(EventsUnavailable) as failure:
        tick(defs, instance, cursor, tansu.url, topic, timeout_s=3)
    assert f"Kafka broker at 127.0.0.1:{tansu.port}" in str(failure.value)
    assert "0 of 2 event(s) were confirmed" in str(failure.value)

    tansu.start()  # same port; this Tansu keeps topics in memory, so it comes back empty (see _brokers.py)
    result, moved = tick(
        defs, instance, cursor, tansu.url, topic
    )  # the same cursor: the failed tick's events
    assert "published 2 event(s)" in result.skip_reason.skip_message and after(moved) > after(cursor)
    received += [json.loads(m.value()) for m in read_kafka(tansu.url, topic, expected=2)]
    unique = {e["event_id"]: e for e in received}
    assert len(unique) == len(received) == 4  # each event once, none missing
    assert sorted(e["partition"] or "-" for e in unique.values()) == ["-", "-", "2026-03-01", "2026-03-02"]
    materializations = [
        r.storage_id
        for key in ("entities_things", "cleaned_widgets")
        for r in instance.fetch_materializations(dg.AssetKey(key), limit=10).records
    ]
    assert sorted(int(i.split(":")[0]) for i in unique) == sorted(materializations)


def test_broker_urls_are_shown_without_their_password_and_an_unknown_scheme_says_what_to_use():
    assert masked_url("amqp://xget:p%40ss@mq:5672/prod") == "amqp://xget:***@mq:5672/prod"
    assert url_hosts("kafka://k1:9092,k2:9092") == "k1:9092,k2:9092"
    secrets = url_secrets("amqp://xget:p%40ss@mq/")
    assert scrub("login p@ss refused (p%40ss)", secrets) == "login *** refused (***)"
    with pytest.raises(ValueError, match="amqp://user:pass@host:5672/vhost .* kafka://host:9092") as bad:
        publisher_for("nats://xget:secret@bus:4222", "xget.lake")
    assert "secret" not in str(bad.value)


def test_the_consumer_example_prints_each_event_once(world, rabbit):  # noqa: F811
    defs, instance, materialize, _ = world
    queue = rabbit.queue()  # the example's durable queue, declared first so nothing is published unseen
    materialize(entities_things)
    materialize(cleaned_widgets, "2026-03-01")
    _, first = tick(defs, instance, None, RABBITMQ_URL, rabbit.name)
    tick(defs, instance, None, RABBITMQ_URL, rabbit.name)  # a tick published again: the same two events
    materialize(entities_things)
    tick(defs, instance, first, RABBITMQ_URL, rabbit.name)
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "lake_events_consumer.py"),
            "--url",
            RABBITMQ_URL,
            "--topic",
            rabbit.name,
            "--queue",
            queue,
            "--max-events",
            "3",
            "--timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["table"] for e in printed] == ["entities/things", "cleaned/widgets", "entities/things"]
    assert len({e["event_id"] for e in printed}) == 3
    assert "3 event(s), 2 repeat(s) skipped" in done.stderr and "guest:***@" in done.stderr
