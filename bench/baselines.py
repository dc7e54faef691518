"""Baseline subscribers, each run as its own process: what a Python client can do on this machine.

    python -m bench.baselines paho|aiomqtt-iterator|aiomqtt-queue|insert --port P --count N --client-id C [--db URL]

Each subscribes at QoS 1 with a persistent session, prints {"ready": true} once connected, counts
until it has `count` messages, and prints one JSON line: {"messages": n, "seconds": s, "peak_rss_mb": m},
where `s` is the time from the moment it had 10 % of the messages to the moment it had all of them,
and `n` the messages in between. The collector is timed over the same window (bench.ingest), so that
start-up and the first burst of a session count for no consumer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

WINDOW_START = 0.1  # consumers are timed from when they have this share of the messages to the last


def window_start(count: int) -> int:
    """The message whose arrival starts the clock."""
    return max(1, math.ceil(count * WINDOW_START))


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """VmHWM: the peak resident set of a process. (`ru_maxrss` would not do: it survives `exec`, so
    a child of a big parent reports the parent's size.)"""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def _ready() -> None:
    """Tell the caller that we are connected (one line on stdout); the session and its subscriptions
    were made beforehand, so whatever is published from now on reaches us."""
    print('{"ready": true}', flush=True)


class Clock:
    """Counts messages and notes the time of the window's first and last."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.mark = window_start(count)
        self.seen = 0
        self.started = 0.0
        self.ended = 0.0

    def tick(self) -> bool:
        """Count one message; True once all have arrived."""
        self.seen += 1
        if self.seen == self.mark:
            self.started = time.perf_counter()
        if self.seen >= self.count:
            self.ended = time.perf_counter()
            return True
        return False

    def report(self) -> None:
        rss = peak_rss_mb()
        result = {"messages": self.seen - self.mark, "seconds": self.ended - self.started, "peak_rss_mb": rss}
        print(orjson.dumps(result).decode(), flush=True)


def paho_count(port: int, count: int, client_id: str, topics: list[str]) -> None:
    """The ceiling: paho's own network loop and a callback that only counts."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    clock = Clock(count)

    def on_message(c: paho.Client, _u: object, _m: paho.MQTTMessage) -> None:
        if clock.tick():
            c.disconnect()

    def on_connect(c: paho.Client, *_: object) -> None:
        c.subscribe([(t, 1) for t in topics])
        _ready()

    client.on_message = on_message
    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_forever()
    clock.report()


async def _subscribe(client: aiomqtt.Client, topics: list[str]) -> None:
    """Subscribe while the caller already consumes. The session exists (bench.ingest registered it),
    so the broker sends its backlog at once, and Mosquitto sends a SUBACK for a subscription the
    session already has only after the whole backlog: a client that awaited it before iterating
    would find every message already read into aiomqtt's queue, and its iterator would be timed
    draining memory (this is how a first version measured the iterator at 102k msg/s)."""
    _ready()
    for t in topics:
        await client.subscribe(t, qos=1, timeout=900)


async def aiomqtt_count(port: int, count: int, client_id: str, topics: list[str], *, bulk: bool) -> None:
    """aiomqtt counting through its message iterator (a task per message), or through a queue of
    our own handed in with `queue_type` (no task per message)."""
    clock = Clock(count)
    done = asyncio.Event()

    class Counting(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            if clock.tick():
                done.set()

    kwargs: dict[str, Any] = {"queue_type": Counting} if bulk else {}
    client = aiomqtt.Client("127.0.0.1", port, identifier=client_id, clean_session=False, **kwargs)
    async with client:
        subscribing = asyncio.create_task(_subscribe(client, topics))
        if bulk:
            await done.wait()
        else:
            async for _ in client.messages:
                if clock.tick():
                    break
        await subscribing
    clock.report()


async def insert_each(port: int, count: int, client_id: str, topics: list[str], db: str) -> None:
    """The common tutorial design: iterate messages, parse, INSERT each one, autocommit."""
    clock = Clock(count)
    async with (
        await psycopg.AsyncConnection.connect(db, autocommit=True) as conn,
        aiomqtt.Client("127.0.0.1", port, identifier=client_id, clean_session=False) as client,
    ):
        subscribing = asyncio.create_task(_subscribe(client, topics))
        async for message in client.messages:
            body = orjson.loads(message.payload)
            device = message.topic.value.split("/")[-2]
            received = datetime.now(UTC)
            if message.topic.value.endswith("/reading"):
                await conn.execute(
                    "INSERT INTO reading (meter_id, time, register, received_at)"
                    " VALUES (%s, to_timestamp(%s / 1000.0), %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (device, body["time"], body["register"], received),
                )
            else:
                await conn.execute(
                    "INSERT INTO position (vehicle_id, time, latitude, longitude, speed, heading, odometer, ignition,"
                    " received_at) VALUES (%s, to_timestamp(%s / 1000.0), %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (device, body["time"], body["latitude"], body["longitude"], body["speed"], body["heading"],
                     body["odometer"], body["ignition"], received),
                )  # fmt: skip
            if clock.tick():
                break
        await subscribing
    clock.report()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["paho", "aiomqtt-iterator", "aiomqtt-queue", "insert"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--db")
    p.add_argument("--topics", nargs="+", required=True)
    args = p.parse_args(argv)
    if args.kind == "paho":
        paho_count(args.port, args.count, args.client_id, args.topics)
    elif args.kind == "insert":
        asyncio.run(insert_each(args.port, args.count, args.client_id, args.topics, args.db))
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                aiomqtt_count(args.port, args.count, args.client_id, args.topics, bulk=args.kind == "aiomqtt-queue")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
