"""Lake events: one message per materialized batch of a lake table, to RabbitMQ or to Kafka.

The broker is chosen by the URL's scheme (``XGET_EVENTS_URL``):

- ``amqp://user:pass@host:5672/vhost`` (RabbitMQ, pika): a durable topic exchange named by the topic
  setting, routing key ``<layer>.<table>`` (``entities.tweets``), persistent JSON messages whose
  ``message_id`` is the event id, each publish confirmed by the broker (publisher confirms);
- ``kafka://host:9092[,host2:9092]`` (confluent-kafka): the topic named by the setting, key = the table
  (one table's events stay in order), idempotent producer with ``acks=all``; delivery reports are
  awaited (flush with a timeout) and any error raises.

``EventPublisher.publish`` returns only when the broker confirmed every event, and raises
``EventsUnavailable`` (naming the broker, never the password) otherwise. The contract is at-least-once:
the caller re-publishes a batch that failed, so an event the broker confirmed before a later one failed
comes again. Consumers dedupe by ``event_id`` (stable: the same materialization always has the same id).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.redact import masked_url, scrub, url_hosts, url_secrets

EVENT_TYPE = "xget.lake.batch"
# The row figures an XGet asset may put in its materialization metadata; an event carries those present.
ROW_FIGURES = (
    "rows",
    "inserted",
    "updated",
    "deleted",
    "source_rows",
    "pages",
    "pages_this_run",
    "malformed_pages",
    "scored",
    "users",
    "edges",
)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def batch_event(
    *,
    storage_id: int,
    asset_key: str,
    table: str,
    partition: str | None,
    run_id: str,
    metadata: Mapping[str, object],
    materialized_at: float,
) -> dict:
    """The event of one materialization of a lake table (``metadata``: its values, already unwrapped)."""
    version = metadata.get("lake_version")
    return {
        "event_id": f"{storage_id}:{asset_key}",
        "type": EVENT_TYPE,
        "table": table,
        "layer": table.split("/", 1)[0],
        "asset_key": asset_key,
        "partition": partition,
        "run_id": run_id,
        # None when the asset does not report it (entities report -1 for a table the run did not write)
        "lake_version": version if _whole(version) and version >= 0 else None,  # type: ignore[operator]
        "counts": {name: metadata[name] for name in ROW_FIGURES if _whole(metadata.get(name))},
        "materialized_at": dt.datetime.fromtimestamp(materialized_at, dt.UTC).isoformat(),
    }


def routing_key(table: str) -> str:
    """``entities/tweets`` -> ``entities.tweets``: bind ``entities.*`` for one layer, ``#`` for all."""
    return table.replace("/", ".")


class EventsUnavailable(XGetError):
    """The broker did not confirm every event of a batch; the caller keeps its cursor and retries."""

    def __init__(self, broker: str, what: str, confirmed: int, total: int):
        super().__init__(
            f"{broker}: {what}. {confirmed} of {total} event(s) were confirmed; the cursor stays, so the "
            "next tick publishes them again (consumers dedupe by event_id). Start the broker or fix "
            "XGET_EVENTS_URL."
        )


class EventPublisher(ABC):
    """Publishes lake events to one broker. ``publish`` is all-or-raise (see the module docstring)."""

    def __init__(self, url: str, topic: str, timeout_s: float):
        self.url, self.topic, self.timeout_s = url, topic, timeout_s
        self.display_url = masked_url(url)

    @abstractmethod
    def publish(self, events: Sequence[dict]) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional for implementations
        pass

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fail(self, kind: str, what: str, confirmed: int, total: int) -> EventsUnavailable:
        return EventsUnavailable(
            f"{kind} broker at {url_hosts(self.url)}",
            scrub(what, url_secrets(self.url))[:300],
            confirmed,
            total,
        )


class AmqpPublisher(EventPublisher):
    def publish(self, events: Sequence[dict]) -> None:
        import pika
        from pika.exceptions import AMQPChannelError, AMQPError, NackError, ProbableAuthenticationError

        confirmed = 0
        params = pika.URLParameters(self.url)
        params.connection_attempts, params.socket_timeout = 1, self.timeout_s
        params.blocked_connection_timeout = params.stack_timeout = self.timeout_s
        persistent = pika.DeliveryMode.Persistent  # survives a broker restart in a durable queue
        try:
            connection = pika.BlockingConnection(params)
            try:
                channel = connection.channel()
                channel.confirm_delivery()  # basic_publish now returns only once the broker acked
                channel.exchange_declare(self.topic, exchange_type="topic", durable=True)
                for event in events:
                    properties = pika.BasicProperties(
                        content_type="application/json",
                        delivery_mode=persistent,
                        message_id=event["event_id"],
                        type=event["type"],
                    )
                    channel.basic_publish(
                        self.topic, routing_key(event["table"]), json.dumps(event).encode(), properties
                    )
                    confirmed += 1
            finally:
                if connection.is_open:
                    connection.close()
        except ProbableAuthenticationError:
            raise self._fail(
                "RabbitMQ", "refused the user and password of the URL", confirmed, len(events)
            ) from None
        except NackError:
            raise self._fail(
                "RabbitMQ", f"refused (nacked) event {events[confirmed]['event_id']}", confirmed, len(events)
            ) from None
        except AMQPChannelError as exc:
            raise self._fail(
                "RabbitMQ",
                f"closed the channel ({exc!r}); is '{self.topic}' an exchange of another type?",
                confirmed,
                len(events),
            ) from None
        except (AMQPError, OSError) as exc:
            raise self._fail(
                "RabbitMQ", f"is unreachable or dropped the connection ({exc!r})", confirmed, len(events)
            ) from None


class KafkaPublisher(EventPublisher):
    def __init__(self, url: str, topic: str, timeout_s: float):
        super().__init__(url, topic, timeout_s)
        if "@" in url.partition("://")[2].split("/", 1)[0]:
            raise ValueError(
                f"{self.display_url}: credentials in kafka:// URLs are not supported; use a "
                "listener without authentication (kafka://host:9092[,host2:9092])"
            )

    def publish(self, events: Sequence[dict]) -> None:
        from confluent_kafka import KafkaError, KafkaException, Producer

        broken: list[str] = []  # client-wide errors: every broker down, or a fatal idempotence error
        failed: list[str] = []  # per-event delivery errors
        acked = [0]

        def on_error(err: KafkaError) -> None:
            if err.code() == KafkaError._ALL_BROKERS_DOWN or err.fatal():
                broken.append(err.str())

        def on_delivery(err: KafkaError | None, _message) -> None:
            if err is None:
                acked[0] += 1
            else:
                failed.append(err.str())

        timeout_ms = int(self.timeout_s * 1000)
        producer = Producer(
            {
                "bootstrap.servers": url_hosts(self.url),
                "client.id": "xget-lake-events",
                "enable.idempotence": True,
                "acks": "all",
                "message.timeout.ms": timeout_ms,
                "socket.timeout.ms": timeout_ms,
                "error_cb": on_error,
                "logger": logging.getLogger("xget.events.kafka"),
            }
        )
        try:
            for event in events:
                headers = [
                    ("event_id", event["event_id"].encode()),
                    ("type", event["type"].encode()),
                    ("content-type", b"application/json"),
                ]
                producer.produce(
                    self.topic,
                    key=event["table"].encode(),
                    value=json.dumps(event).encode(),
                    headers=headers,
                    on_delivery=on_delivery,
                )
            deadline = time.monotonic() + self.timeout_s + 1  # message.timeout.ms fails each event before it
            while producer.flush(0.2) and not broken and not failed and time.monotonic() < deadline:
                pass  # flush in slices so a dead cluster fails the tick now, not at the timeout
        except (KafkaException, BufferError) as exc:
            broken.append(str(exc))
        finally:
            remaining = len(producer)
            if remaining or broken or failed:
                producer.purge()  # nothing still queued may land after the tick reported failure
                producer.flush(0)
            producer.close()
        if broken or failed or acked[0] < len(events):
            why = (broken or failed or [f"{remaining} event(s) not confirmed within {self.timeout_s:g} s"])[0]
            if "Unknown topic" in why:
                why += f": create the topic {self.topic} or let the brokers create topics"
            raise self._fail("Kafka", f"did not confirm the events ({why})", acked[0], len(events))


def publisher_for(url: str, topic: str, timeout_s: float = 10.0) -> EventPublisher:
    """The publisher of ``url``'s scheme: ``amqp``/``amqps`` (RabbitMQ) or ``kafka``."""
    kind = urlsplit(url).scheme.lower()
    if kind in ("amqp", "amqps"):
        return AmqpPublisher(url, topic, timeout_s)
    if kind == "kafka":
        return KafkaPublisher(url, topic, timeout_s)
    raise ValueError(
        f"XGET_EVENTS_URL {masked_url(url)}: unknown scheme {kind!r}; use "
        "amqp://user:pass@host:5672/vhost (RabbitMQ) or kafka://host:9092[,host2:9092] (Kafka)"
    )
