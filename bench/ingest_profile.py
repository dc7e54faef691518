"""bench/ingest_profile: where a message's time goes in the collector, sampled by py-spy while it drains a session.

    .venv/bin/pip install py-spy                      # not a dependency of the project: a tool for this command
    .venv/bin/python -m bench.ingest_profile          # MQTT 3.1.1 and 5, 200,000 messages each, about 2 minutes
    .venv/bin/python -m bench.ingest_profile --keep DIR   # keep py-spy's raw stacks (flamegraph.pl reads them)

The same stack, messages and session fill as bench.ingest's "collector MQTT 3.1.1" and "MQTT 5" rows (paho's
count-only ceiling is drained first, for the msg/s ratio of the run), with the collector started under
`py-spy record`. Each sample's stack is put in the first part of the path it passes through (the rules below), and
each part printed as its share of the samples taken after start-up. A wall-clock sampler: the selector's share is
time the collector waited for the broker or the database, more of it on a busy machine (the load average is
printed). py-spy slows what it samples a little, so the msg/s here run below bench.ingest's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.ingest import BATCH, Bench, _register_devices, _watch, single_messages
from db.migrate import migrate
from yiwang.stack import Stack, free_port

# (part, frames that put a sample in it): the first part whose frames a stack holds takes the sample.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("start-up", ("<frozen importlib", "pydantic_settings", "argparse.py")),
    ("acks (batched PUBACK writes)", ("Session.ack", "loop_write", "_packet_write", "_on_socket_register_write")),
    ("metrics: the bench's scrapes", ("yiwang/probe.py",)),
    ("metrics: counting a batch", ("Writer._observe",)),
    ("receive: socket reads", ("ReadAhead.__call__", "Client._sock_recv")),
    ("receive: PUBLISH decode (MQTT 5 properties)", ("decode_publish", "MQTTMessage", "properties.py")),
    ("receive: paho's topic matching", ("iter_match",)),
    ("receive: into the inbox", ("Inbox.put",)),
    ("receive: packet framing", ("Session._read",)),
    ("validate: pydantic models", ("model_validate", "to_utc")),
    ("validate: JSON decode", ("decode_items",)),
    ("validate: rows and time bounds", ("parse_items", "collector/position.py", "collector/reading.py")),
    ("per-device allowance", ("DeviceRate.allow",)),
    ("routing and the registry cache", ("Writer._route",)),
    ("sorting the batch (keys, dead letters)", ("Writer._prepare", "Writer._dead", "_keep (collector/writer.py")),
    ("database: COPY, upserts, commit", ("Writer._store", "Writer._write_once", "psycopg")),
    ("waiting (selector)", ("EpollSelector.select",)),
    ("event loop, other", ("base_events.py", "asyncio/events.py")),
]
IDLE_THREAD = "_worker (concurrent/futures/thread.py"  # asyncio's executor thread, asleep


def parts(raw: Path) -> tuple[Counter[str], int]:
    """Samples per part of py-spy's raw output (`stack count` lines), start-up left out, and their total."""
    counted: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        if IDLE_THREAD in stack and stack.count(";") < 5:
            continue
        part = next((name for name, frames in PARTS if any(f in stack for f in frames)), "other (native, unnamed)")
        counted[part] += int(n)
    counted.pop("start-up", None)
    return counted, sum(counted.values())


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def profile(bench: Bench, protocol: str, messages: int, out: Path, rate: int) -> tuple[float, Path]:
    """Drain `messages` with a collector under py-spy; its msg/s and the raw stacks."""
    single = single_messages(messages)
    client_id = f"yiwang-collector-profile-{protocol.replace('.', '')}"
    v5 = protocol == "5"
    bench.reset_tables()
    bench.fill(client_id, single, v5=v5)
    metrics_port = free_port()
    raw = out / f"{client_id}.txt"
    log = out / f"{client_id}.log"
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    argv = [spy, "record", "--rate", str(rate), "--format", "raw", "--output", str(raw), "--"]
    argv += [sys.executable, "-m", "yiwang.cli", "collect"]
    with log.open("ab") as sink:
        proc = subprocess.Popen(argv, env=bench._env(client_id, metrics_port, protocol), stdout=sink, stderr=sink)
    try:
        first, started, ended = _watch(metrics_port, len(single), proc, log)
    finally:
        # SIGTERM to the collector (it drains and exits), then py-spy writes its file and exits.
        for child in _children(proc.pid):
            os.kill(child, signal.SIGTERM)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    bench.drop(client_id, v5=v5)
    return (len(single) - first) / (ended - started), raw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--protocols", nargs="+", default=["3.1.1", "5"], choices=["3.1.1", "5"])
    p.add_argument("--keep", type=Path, help="a folder for py-spy's raw stacks and the collectors' logs")
    args = p.parse_args(argv)
    if shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None and shutil.which("py-spy") is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2

    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-profile-"))
    home.chmod(0o755)
    out = args.keep or home
    out.mkdir(parents=True, exist_ok=True)
    stack = Stack.at(home, free_port(), free_port(), shared_buffers="2GB", inflight=4 * BATCH, anonymous=True)
    print(f"bench/ingest_profile on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    results: list[tuple[str, float, Counter[str], int]] = []
    try:
        migrate(stack.postgres.url)
        asyncio.run(_register_devices(stack.postgres.url))
        bench = Bench(stack, home)
        paho = bench.baseline("paho", single_messages(args.messages)).rate
        for protocol in args.protocols:
            began = time.monotonic()
            rate, raw = profile(bench, protocol, args.messages, out, args.rate)
            counted, total = parts(raw)
            results.append((protocol, rate, counted, total))
            print(
                f"  MQTT {protocol}: {rate:,.0f} msg/s under py-spy ({rate / paho:.2f} x paho's {paho:,.0f}),"
                f" {time.monotonic() - began:.0f} s, load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    finally:
        stack.down()
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)

    print()
    print(f"{'share of the collector samples after start-up':48}" + "".join(f" {'MQTT ' + p:>10}" for p, *_ in results))
    for name in [n for n, _ in PARTS[1:]] + ["other (native, unnamed)"]:
        cells = "".join(f" {100 * c[name] / t:9.1f}%" for _, _, c, t in results)
        print(f"{name:48}{cells}")
    print(f"{'samples':48}" + "".join(f" {t:10,}" for *_, t in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
