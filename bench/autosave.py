"""bench/autosave: what Mosquitto's autosave_interval costs, and what a kill -9 of the broker loses.

    .venv/bin/python -m bench.autosave            # ~4 minutes
    .venv/bin/python -m bench.autosave --quick    # under 2 minutes (figures are rough)

Mosquitto 2.0 keeps sessions and their queues in memory and writes the whole of them to mosquitto.db every
autosave_interval seconds (and on SIGTERM or SIGUSR1); its main loop saves once `last save + interval < now` in
whole seconds, so the saves come every interval + 1 s. A message it acknowledged (PUBACK) after the last save
exists only in memory until the next: a kill -9 loses it. Only Mosquitto runs here, a private one per run
(yiwang/stack.py's configuration, anonymous).

1. Cost: QoS 1 messages (bench.ingest's, ~150 B) published as fast as the broker takes them (bench.loadgen) into
   the persistent session of a collector that is away, so that the queue Mosquitto saves grows as in an outage:
   the rate with persistence and autosave_interval 1 s, the project's default and 10 s, as a ratio to the same
   broker without persistence, interleaved rounds, best of each.
2. Window: a steady stream at a fixed rate into that session; Mosquitto is killed (SIGKILL) at a random moment,
   started again from its file, and the session's queue is read back. Lost: messages the publisher had a PUBACK
   for and that did not come back; shown also as seconds of the stream.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench import loadgen
from bench.ingest import ROOT, _load, _published, _session, single_messages
from domain.topics import subscriptions, topic
from yiwang.stack import Mosquitto, free_port

AWAY = "yiwang-collector-away"
DEFAULT: int = Mosquitto.autosave  # the project's (yiwang/stack.py, docker/mosquitto.conf)
QUICK = {"messages": 100_000, "rounds": 1, "kills": 1}


@dataclass
class Broker(Mosquitto):
    """yiwang/stack.py's broker, with persistence that may be switched off (the baseline)."""

    persistence: bool = True

    def write_conf(self) -> None:
        super().write_conf()
        if not self.persistence:
            self.conf.write_text(self.conf.read_text().replace("\npersistence true\n", "\npersistence false\n"))


def _broker(home: Path, autosave: int | None) -> Broker:
    """A broker in a folder of its own; autosave None: no persistence at all."""
    home.mkdir(parents=True)
    return Broker(home, free_port(), anonymous=True, autosave=autosave or DEFAULT, persistence=autosave is not None)


def _label(autosave: int | None) -> str:
    if autosave is None:
        return "no persistence"
    return f"autosave_interval {autosave} s" + (" (default)" if autosave == DEFAULT else "")


# ---- 1. cost ----------------------------------------------------------------------------------------------------


@dataclass
class Cost:
    published: loadgen.Published
    save_seconds: float | None  # one save of the whole queue, forced at the end (None: no persistence)
    file_mb: float | None

    @property
    def cpu_us(self) -> float | None:
        """Mosquitto's CPU per message, in µs: what the saves add, whoever limits the rate (on a busy machine, the
        publisher may)."""
        p = self.published
        return None if p.broker_cpu is None else p.broker_cpu * p.seconds / p.messages * 1e6


def _timed_save(broker: Broker) -> tuple[float, float]:
    """Force a save (SIGUSR1) and time it: Mosquitto writes mosquitto.db.new and renames it over mosquitto.db, so the
    save has ended when the file is another inode. (An autosave already under way would end it sooner.)"""
    db = broker.home / "mosquitto.db"
    before = db.stat().st_ino if db.exists() else None
    pid = broker.pid()
    assert pid is not None
    started = time.perf_counter()
    os.kill(pid, signal.SIGUSR1)
    while not db.exists() or db.stat().st_ino == before:
        if time.perf_counter() - started > 120:
            raise TimeoutError("Mosquitto did not save on SIGUSR1")
        time.sleep(0.01)
    return time.perf_counter() - started, db.stat().st_size / 1e6


def cost(home: Path, autosave: int | None, messages: list[loadgen.Message]) -> Cost:
    """Publish every message into the session of a collector that is away, as fast as the broker acknowledges."""
    broker = _broker(home, autosave)
    broker.start()
    try:
        _session(broker.port, AWAY, subscriptions(ROOT), v5=False, keep=True)
        published = loadgen.publish(broker.port, messages, broker_pid=broker.pid())
        save, size = _timed_save(broker) if autosave is not None else (None, None)
        return Cost(published, save, size)
    finally:
        broker.stop(signal.SIGKILL)  # its file is not wanted: no final save to wait for
        shutil.rmtree(home, ignore_errors=True)


# ---- 2. window --------------------------------------------------------------------------------------------------


@dataclass
class Kill:
    autosave: int
    after: float  # seconds of stream before the kill
    acked: int  # messages with a PUBACK before the kill
    back: int  # of those, found in the session's queue after the restart
    beyond: int  # messages found back that had no PUBACK yet (taken, the PUBACK lost with the broker)
    rate: float

    @property
    def lost(self) -> int:
        return self.acked - self.back

    @property
    def lost_seconds(self) -> float:
        return self.lost / self.rate


def _stream(broker: Broker, rate: float, seconds: float) -> tuple[int, float]:
    """Publish message i (payload: its number) at `rate`; kill the broker after `seconds`.

    Returns:
        The messages acknowledged before the kill, and the seconds the stream ran.
    """
    name = topic(ROOT, "vehicle", "v1", "position")
    total = int(rate * (seconds + 5))
    conn = loadgen.Connection(broker.port, "loadgen-stream", window=10_000)
    conn.expect(total)
    started = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        due = min(total, int(elapsed * rate) + 1)
        if due > sent:
            data = b"".join(
                loadgen.publish_packet(name, str(i).encode(), loadgen.packet_id(i)) for i in range(sent, due)
            )
            conn.send(data, due - sent)
            sent = due
        time.sleep(0.005)
    # The PUBACKs read so far, then the kill: whatever the broker acknowledged after this moment is not counted.
    acked = conn.acked
    ran = time.perf_counter() - started
    broker.stop(signal.SIGKILL)
    with contextlib.suppress(OSError):
        conn.close()
    return acked, ran


def _read_back(broker: Broker) -> set[int]:
    """The numbers in the away session's queue: resume it, then publish a marker behind the queue and read until it
    arrives (Mosquitto sends a session's queue in order, before anything newer)."""
    got: set[int] = set()
    done = threading.Event()
    marker = b"marker"

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        if message.payload == marker:
            done.set()
        else:
            got.add(int(message.payload))

    subscribed = threading.Event()
    reader = paho.Client(CallbackAPIVersion.VERSION2, client_id=AWAY, clean_session=False)
    reader.on_message = on_message
    reader.on_subscribe = lambda *_: subscribed.set()
    reader.connect("127.0.0.1", broker.port)
    reader.loop_start()
    try:
        # Subscribing again changes nothing in the session; its SUBACK comes after what the session sends first.
        reader.subscribe([(f, 1) for f in subscriptions(ROOT)])
        if not subscribed.wait(120):
            raise TimeoutError("no SUBACK from the restarted broker")
        writer = paho.Client(CallbackAPIVersion.VERSION2, client_id="marker")
        writer.connect("127.0.0.1", broker.port)
        writer.loop_start()
        writer.publish(topic(ROOT, "vehicle", "v1", "position"), marker, qos=1).wait_for_publish(30)
        writer.disconnect()
        writer.loop_stop()
        if not done.wait(120):
            raise TimeoutError(f"the marker never came back ({len(got):,} messages read)")
    finally:
        reader.disconnect()
        reader.loop_stop()
    return got


def window(home: Path, autosave: int, rate: float, rng: random.Random) -> Kill:
    """Kill the broker at a random moment of a stream into the away session, start it again, count what is lost."""
    broker = _broker(home, autosave)
    broker.start()
    try:
        _session(broker.port, AWAY, subscriptions(ROOT), v5=False, keep=True)
        pid = broker.pid()
        assert pid is not None
        # The session itself on disk first (SIGUSR1: save now), so that a kill loses messages, not the session.
        saved = (home / "mosquitto.db").stat().st_mtime_ns if (home / "mosquitto.db").exists() else 0
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not (home / "mosquitto.db").exists() or (home / "mosquitto.db").stat().st_mtime_ns == saved:
            if time.monotonic() > deadline:
                raise TimeoutError("Mosquitto did not save on SIGUSR1")
            time.sleep(0.05)
        # Past at least one whole save period, at a random phase of it.
        after = (autosave + 1) * (1 + rng.random())
        acked, ran = _stream(broker, rate, after)
        broker.start()
        back = _read_back(broker)
    finally:
        broker.stop(signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)
    kept = sum(1 for i in back if i < acked)
    return Kill(autosave, ran, acked, kept, len(back) - kept, rate)


# ---- the run ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=600_000, help="messages of each cost run")
    p.add_argument("--rounds", type=int, default=2, help="cost runs of each setting, interleaved; the best counts")
    p.add_argument("--kills", type=int, default=3, help="kills of the broker per autosave interval")
    p.add_argument("--rate", type=float, default=2000.0, help="msg/s of the stream that is cut (a city: 2,000)")
    p.add_argument("--seed", type=int, default=19, help="of the kills' moments")
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    intervals = sorted({1, DEFAULT, 10})
    root = Path(tempfile.mkdtemp(prefix="yiwang-bench-autosave-"))
    root.chmod(0o755)
    print(f"bench/autosave on {os.cpu_count()} cores, load average {_load()}: brokers in {root}", flush=True)
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(args.seed)
    costs: dict[int | None, list[Cost]] = {}
    kills: list[Kill] = []
    try:
        messages = single_messages(args.messages)
        for round_ in range(args.rounds):
            for autosave in [None, *intervals]:
                print(f"  cost: {_label(autosave)} (round {round_ + 1} of {args.rounds})", flush=True)
                done = cost(root / f"cost-{autosave}-{round_}", autosave, messages)
                save = f"; a save of the queue {done.save_seconds:.2f} s" if done.save_seconds is not None else ""
                print(f"    {_published(done.published)}{save}", flush=True)
                costs.setdefault(autosave, []).append(done)
        for autosave in intervals:
            for k in range(args.kills):
                print(f"  window: {_label(autosave)}, kill {k + 1} of {args.kills}", flush=True)
                kill = window(root / f"kill-{autosave}-{k}", autosave, args.rate, rng)
                print(f"    acked {kill.acked:,}, lost {kill.lost:,} ({kill.lost_seconds:.1f} s)", flush=True)
                kills.append(kill)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(costs, kills, args)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {_load()})")
    return 0


def report(costs: dict[int | None, list[Cost]], kills: list[Kill], args: argparse.Namespace) -> None:
    def best(runs: list[Cost]) -> Cost:
        return max(runs, key=lambda r: r.published.rate)

    base = best(costs[None])
    print()
    print(
        f"Cost: {args.messages:,} QoS 1 messages published as fast as Mosquitto acknowledges them into the persistent"
        f" session of a collector that is away (the queue it saves grows to all of them); best of {args.rounds}"
        " interleaved round(s), spread = (best - worst) / best. CPU: Mosquitto's per message meanwhile. Save: one"
        " save of the whole queue at the end (SIGUSR1), during which Mosquitto serves no one."
    )
    print()
    print(f"{'broker':34} {'msg/s':>9} {'x none':>7} {'spread':>7} {'CPU us/msg':>11} {'x none':>7} {'save':>12}")
    for autosave, runs in costs.items():
        top = best(runs)
        rates = [r.published.rate for r in runs]
        spread = f"{(max(rates) - min(rates)) / max(rates):7.0%}" if len(rates) > 1 else f"{'-':>7}"
        cpu, cpu_base = top.cpu_us, base.cpu_us
        cpus = f"{cpu:11.1f} {cpu / cpu_base:7.2f}" if cpu is not None and cpu_base else f"{'-':>11} {'-':>7}"
        save = f"{top.save_seconds:.2f} s {top.file_mb:4.0f} MB" if top.save_seconds is not None else "-"
        print(f"{_label(autosave):34} {top.published.rate:9,.0f} {top.published.rate / base.published.rate:7.2f}"
              f" {spread} {cpus} {save:>12}")  # fmt: skip
    saves = [r.save_seconds for runs in costs.values() for r in runs if r.save_seconds is not None]
    if saves:
        longest = max(saves)
        print(
            f"  while a queue of {args.messages:,} is held, each save stalls the broker ~{longest:.2f} s,"
            " a share of its time of "
            + ", ".join(f"{longest / (i + 1):.0%} at {i} s" for i in sorted({k.autosave for k in kills}))
            + " (a save every interval + 1 s); a save's time grows with the queue"
        )
    print()
    print(
        f"Window: a stream of {args.rate:,.0f} msg/s into that session, Mosquitto killed (SIGKILL) at a random moment,"
        " started again from its file; lost = acknowledged (PUBACK received) and not in the queue after the restart."
    )
    print()
    print(f"{'broker':36} {'kills':>5} {'lost msgs (each kill)':>28} {'lost s, worst':>14} {'save period':>12}")
    for autosave in sorted({k.autosave for k in kills}):
        mine = [k for k in kills if k.autosave == autosave]
        each = ", ".join(f"{k.lost:,}" for k in mine)
        worst = max(k.lost_seconds for k in mine)
        print(f"{_label(autosave):36} {len(mine):5} {each:>28} {worst:14.1f} {autosave + 1:>10} s")
    beyond = sum(k.beyond for k in kills)
    print(f"  taken without a PUBACK seen (the PUBACK died with the broker) and found back: {beyond:,} in all")
    default = [k for k in kills if k.autosave == DEFAULT]
    if default:
        worst = max(k.lost_seconds for k in default)
        print(
            f"  the default (autosave_interval {DEFAULT}): a kill -9 loses what was acknowledged since the last save,"
            f" up to {DEFAULT + 1} s of traffic (saves every {DEFAULT} + 1 s); worst seen {worst:.1f} s"
        )
    over = [k for k in kills if k.lost_seconds > k.autosave + 1 + 0.5]
    print(f"  {'PASS' if not over else 'FAIL'}  no kill lost more than its save period (+ 0.5 s)")


if __name__ == "__main__":
    sys.exit(main())
