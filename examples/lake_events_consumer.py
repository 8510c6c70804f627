#!/usr/bin/env python
"""Print XGet's lake events as they arrive, each once (deduplicated by event_id).

    python examples/lake_events_consumer.py --url amqp://guest:guest@127.0.0.1:5672/%2F --bind 'entities.*'
    python examples/lake_events_consumer.py --url kafka://127.0.0.1:9092 --group my-service

RabbitMQ: declares the durable topic exchange (--topic, as XGet does), a queue bound to it with --bind
(routing keys are <layer>.<table>: 'entities.*' is one layer, '#' every table) and acks each message once
printed. --queue names a durable queue that keeps events while the consumer is away; without it the queue
is exclusive and lives as long as the consumer. Kafka: joins consumer group --group on topic --topic,
starting from the earliest offset the group has not committed, and commits after printing.

XGet delivers events at least once (a tick the broker half-confirmed is published again), so this consumer
remembers the event ids it printed and skips repeats; a real consumer keeps them with what it writes (a
unique key on event_id). One JSON line per event on stdout; --max-events and --timeout stop it.
Needs only pika (RabbitMQ) or confluent-kafka (Kafka).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time


def masked(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class Printer:
    """Prints each event once; says when to stop."""

    def __init__(self, max_events: int, timeout_s: float):
        self.seen: set[str] = set()
        self.repeats = 0
        self.max_events, self.deadline = max_events, time.monotonic() + timeout_s if timeout_s > 0 else None

    def handle(self, body: bytes) -> None:
        event = json.loads(body)
        if event["event_id"] in self.seen:
            self.repeats += 1
            return
        self.seen.add(event["event_id"])
        print(json.dumps(event, sort_keys=True), flush=True)

    def done(self) -> bool:
        if self.max_events and len(self.seen) >= self.max_events:
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline


def consume_rabbitmq(args, printer: Printer) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.exchange_declare(args.topic, exchange_type="topic", durable=True)
    if args.queue:
        queue = channel.queue_declare(args.queue, durable=True).method.queue
    else:
        queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, args.topic, routing_key=args.bind)
    print(f"listening on {masked(args.url)} exchange {args.topic} queue {queue} binding {args.bind}",
          file=sys.stderr, flush=True)
    for method, _props, body in channel.consume(queue, inactivity_timeout=0.5):
        if method is not None:
            printer.handle(body)
            channel.basic_ack(method.delivery_tag)  # after printing: a crash before it redelivers, never loses
        if printer.done():
            break
    channel.cancel()
    connection.close()


def consume_kafka(args, printer: Printer) -> None:
    from confluent_kafka import Consumer

    servers = args.url.split("://", 1)[1].split("/", 1)[0]
    consumer = Consumer({"bootstrap.servers": servers, "group.id": args.group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([args.topic])
    print(f"listening on {masked(args.url)} topic {args.topic} group {args.group}", file=sys.stderr, flush=True)
    try:
        while not printer.done():
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                print(f"kafka: {message.error()}", file=sys.stderr, flush=True)
                continue
            printer.handle(message.value())
            consumer.commit(message, asynchronous=False)
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("XGET_EVENTS_URL", ""),
                        help="amqp://user:pass@host:5672/vhost or kafka://host:9092 (default $XGET_EVENTS_URL)")
    parser.add_argument("--topic", default=os.environ.get("XGET_EVENTS_TOPIC", "xget.lake"),
                        help="RabbitMQ exchange or Kafka topic (default $XGET_EVENTS_TOPIC or xget.lake)")
    parser.add_argument("--bind", default="#", help="RabbitMQ binding key: '#' every table, 'entities.*' one layer")
    parser.add_argument("--queue", default="", help="RabbitMQ durable queue name (default: an exclusive one)")
    parser.add_argument("--group", default="xget-events-example", help="Kafka consumer group")
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many distinct events (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many seconds (0: never)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set XGET_EVENTS_URL")
    printer = Printer(args.max_events, args.timeout)
    try:
        if args.url.startswith(("amqp://", "amqps://")):
            consume_rabbitmq(args, printer)
        elif args.url.startswith("kafka://"):
            consume_kafka(args, printer)
        else:
            parser.error(f"unknown scheme in {masked(args.url)}: use amqp:// or kafka://")
    except KeyboardInterrupt:
        pass
    print(f"{len(printer.seen)} event(s), {printer.repeats} repeat(s) skipped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
