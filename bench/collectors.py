"""bench/collectors: one collector against two in one shared group, draining the same queued backlog.

    .venv/bin/python -m bench.collectors            # two interleaved rounds of 200,000 messages, ~3 minutes
    .venv/bin/python -m bench.collectors --quick    # one round of 100,000, about a minute (figures are rough)

Starts its own TimescaleDB and Mosquitto (as bench.ingest does, whose pieces it uses). For each run it registers
the members' persistent sessions in a shared group of their own ($share/<group>/...), fills them with the same
pre-built QoS 1 backlog while they are away (Mosquitto hands each message to one member's queue), then starts
each member as its own `yiwang collect` process and times the drain over bench.ingest's window: from the first
commit past 10 % of the messages (summed over the members) to the last. Nothing may be lost or doubled: the rows
stored, the messages the members took and the duplicates they met are counted after each run.

Where the time goes: the CPU each part used during the window, as a share of one core (Mosquitto, the
collectors, PostgreSQL's processes, and the whole machine: on a shared machine, what others took), and per
message. A collector is one thread: alone it can use one core; two can use two, but on 2 cores PostgreSQL (which
writes every row) and Mosquitto (one thread that sends every message) need some of them too. From the CPU per
message the report derives what each setup allows on an idle machine, so that a busy machine's figures still say
what two collectors gain: two collectors cannot be twice one on 2 cores.
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
from dataclasses import dataclass, field
from math import inf
from pathlib import Path

import psycopg

from bench import loadgen
from bench.baselines import window_start
from bench.ingest import (
    BATCH,
    COMMITTED,
    LAST_COMMIT,
    POLL_SECONDS,
    ROOT,
    STALL_SECONDS,
    Bench,
    _load,
    _metrics,
    _published,
    _register_devices,
    _session,
    _stop,
    _tail,
    single_messages,
)
from db.migrate import migrate
from domain.topics import subscriptions
from yiwang.stack import Stack, free_port

DUPLICATES = "yiwang_collector_rows_duplicate_total"
MACHINE = "the whole machine"
TARGET = 1.0  # two collectors at least as fast as one: more would need more cores than the broker and database use
# 100,000: a fast machine drains 40,000 in under a second, within two of the 0.5 s scrapes.
QUICK = {"messages": 100_000, "rounds": 1}


@dataclass
class Drain:
    """One drain of the backlog by `members` collectors."""

    members: int
    messages: int  # in the timed window
    seconds: float
    shares: list[int]  # messages each member took
    cpu: dict[str, float]  # part -> share of one core during the window
    fill: loadgen.Published

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass
class Runs:
    drains: dict[int, list[Drain]] = field(default_factory=dict)

    def best(self, members: int) -> Drain:
        return max(self.drains[members], key=lambda d: d.rate)

    def spread(self, members: int) -> float:
        rates = [d.rate for d in self.drains[members]]
        return (max(rates) - min(rates)) / max(rates)


def _postgres_pids(data: Path) -> list[int]:
    """The postmaster (first line of its pid file) and its children: the backends, the WAL writer, the checkpointer."""
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(stat[1]) == postmaster:
                pids.append(int(entry.name))
    return pids


def _cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each of the processes still there."""
    seconds = {}
    for pid in pids:
        try:
            seconds[pid] = loadgen.cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return seconds


def _machine() -> dict[int, float]:
    """Busy CPU seconds of the whole machine, every process's (/proc/stat: user, nice, system, irq, softirq, steal),
    as a pseudo-process 0 so that _used takes it like the others."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7))
    return {0: ticks / os.sysconf("SC_CLK_TCK")}


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two samples; a process born in between counts whole (a backend the collectors' pools
    opened), one that ended in between is left out."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


class Group(Bench):
    """bench.ingest's bench, with collectors that share one stream."""

    def drain(self, members: int, messages: list[loadgen.Message], tag: str) -> Drain:
        self.reset_tables()
        group = f"bench-{tag}"
        filters = subscriptions(ROOT, group)
        ids = [f"yiwang-collector-{tag}-{k + 1}" for k in range(members)]
        for client_id in ids:
            _session(self.port, client_id, filters, v5=False, keep=True)
        fill = loadgen.publish(self.port, messages, broker_pid=self.broker_pid)
        print(f"    fill: {_published(fill)}", flush=True)
        ports = [free_port() for _ in ids]
        procs = []
        for client_id, port in zip(ids, ports, strict=True):
            env = self._env(client_id, port, "3.1.1") | {"YIWANG_MQTT_SHARED_GROUP": group}
            with (self.log / f"{client_id}.log").open("ab") as log:
                procs.append(
                    subprocess.Popen([sys.executable, "-m", "yiwang.cli", "collect"], env=env, stdout=log, stderr=log)
                )
        try:
            logs = [self.log / f"{client_id}.log" for client_id in ids]
            drain = self._watch(members, len(messages), procs=procs, ports=ports, logs=logs, fill=fill)
        finally:
            for proc in procs:
                _stop(proc)
        for client_id in ids:
            _session(self.port, client_id, filters, v5=False, keep=False)
        self._count(drain, len(messages))
        shares = " + ".join(f"{s:,}" for s in drain.shares)
        print(f"    {drain.rate:,.0f} msg/s over {drain.messages:,} messages in {drain.seconds:.2f} s; shares {shares}")
        return drain

    def _watch(
        self,
        members: int,
        expected: int,
        *,
        procs: list[subprocess.Popen[bytes]],
        ports: list[int],
        logs: list[Path],
        fill: loadgen.Published,
    ) -> Drain:
        """Poll every member's metrics until together they have committed `expected` messages.

        The window starts at the first scrape whose sum reaches 10 %, at the latest commit among the members (the
        members are scraped one after the other: a commit between two scrapes may be counted at the next, an error
        of one batch in tens of thousands), and ends at the latest commit once the sum reaches `expected`.

        Raises:
            RuntimeError: a member exited, or the members committed nothing new for STALL_SECONDS.
        """
        mark = window_start(expected)
        data = self.stack.postgres.data

        def sample() -> dict[str, dict[int, float]]:
            # PostgreSQL's processes looked up each time: the collectors' backends are born as their pools open.
            pids = {"Mosquitto": [self.broker_pid or 0], "collectors": [p.pid for p in procs]}
            parts = {name: _cpu(part) for name, part in (pids | {"PostgreSQL": _postgres_pids(data)}).items()}
            return parts | {MACHINE: _machine()}

        start: tuple[int, float, dict[str, dict[int, float]]] | None = None
        last, changed = -1, time.monotonic()
        while True:
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"a collector exited with {proc.returncode}: {_tail(log)}")
            scraped = [_metrics(port) for port in ports]
            count = sum(int(m.get(COMMITTED, 0)) for m in scraped)
            if count != last:
                last, changed = count, time.monotonic()
            elif time.monotonic() - changed > STALL_SECONDS:
                raise RuntimeError(f"the collectors stalled at {count:,} of {expected:,} committed (logs: {self.log})")
            if count >= mark:
                at = max(m.get(LAST_COMMIT, 0.0) for m in scraped)
                if start is None:
                    start = (count, at, sample())
                if count >= expected:
                    if count == start[0]:
                        raise RuntimeError("the collectors committed 10 % to 100 % at once: use more messages")
                    seconds = at - start[1]
                    cpu = {name: _used(start[2][name], now) / seconds for name, now in sample().items()}
                    shares = [int(m.get(COMMITTED, 0)) for m in scraped]
                    duplicates = sum(int(m.get(DUPLICATES, 0)) for m in scraped)
                    if duplicates:
                        raise RuntimeError(f"{members} collector(s) met {duplicates:,} duplicates: messages came twice")
                    return Drain(members, count - start[0], seconds, shares, cpu, fill)
            time.sleep(POLL_SECONDS)

    def _count(self, drain: Drain, expected: int) -> None:
        """Nothing lost, nothing doubled: a row per message, and each message taken by one member."""
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SELECT (SELECT count(*) FROM reading) + (SELECT count(*) FROM position)").fetchone()
        stored = row[0] if row else 0
        if stored != expected or sum(drain.shares) != expected:
            raise RuntimeError(
                f"{drain.members} collector(s): {stored:,} rows stored and {sum(drain.shares):,} messages taken,"
                f" for {expected:,} messages"
            )


def report(runs: Runs, args: argparse.Namespace) -> bool:
    """Print the figures; True when two collectors meet the target."""
    one, two = runs.best(1), runs.best(2)
    ratio = two.rate / one.rate
    print()
    print(
        f"Each run drains the same {args.messages:,} queued QoS 1 messages (half readings, half positions) from the"
        f" persistent sessions of a shared group; each collector its own `yiwang collect` process; timed from 10 %"
        f" to 100 % of the messages; best of {args.rounds} interleaved round(s), spread = (best - worst) / best."
    )
    print()
    print(f"{'collectors':12} {'msg/s':>8} {'spread':>7} {'shares':>20}   CPU during the drain (share of one core)")
    for drain, members in ((one, 1), (two, 2)):
        spread = f"{runs.spread(members):7.0%}" if args.rounds > 1 else f"{'-':>7}"
        shares = " + ".join(f"{s:,}" for s in drain.shares)
        cpu = ", ".join(f"{name} {share:.0%}" for name, share in drain.cpu.items())
        print(f"{members:<12} {drain.rate:8,.0f} {spread} {shares:>20}   {cpu}")
    print()
    print(
        f"  the machine has {os.cpu_count()} cores ({os.cpu_count()}00 % of one); the whole machine's includes the"
        f" parts above and everything else running (load average now {_load()})"
    )
    cores = os.cpu_count() or 1
    bounds = {}
    for drain in (one, two):
        cost = {name: share * 1e6 / drain.rate for name, share in drain.cpu.items() if name != MACHINE}
        total = sum(cost.values())
        # What these costs allow on an idle machine: each collector and Mosquitto is one thread (a core at most),
        # and all of them together have the machine's cores.
        # A part that used no CPU tick (10 ms) in a short drain sets no bound.
        per_core = {
            f"{drain.members} collector core(s)": (drain.members, cost["collectors"]),
            "Mosquitto's one core": (1, cost["Mosquitto"]),
            f"the {cores} cores": (cores, total),
        }
        limits = {name: n * 1e6 / us for name, (n, us) in per_core.items() if us > 0} or {"nothing measured": inf}
        bound = min(limits, key=lambda name: limits[name])
        bounds[drain.members] = limits[bound]
        each = ", ".join(f"{name} {us:.0f}" for name, us in cost.items())
        print(
            f"  {drain.members} collector(s), CPU per message in us: {each}; {total:.0f} in all: on an idle machine"
            f" these allow {limits[bound]:,.0f} msg/s (bound: {bound})"
        )
    projected = f"{bounds[2] / bounds[1]:.2f} x 1" if bounds[1] < inf else "unknown x 1 (no CPU measured)"
    print(f"  so on an idle {cores}-core machine 2 collectors would do {projected}")
    print("  nothing lost, nothing doubled: every run stored a row per message, each message taken by one member")
    ok = ratio >= TARGET
    print(f"  {'PASS' if ok else 'FAIL'}  2 collectors >= {TARGET:.1f} x 1 collector ({ratio:.2f})")
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=200_000, help="messages in the backlog of every run")
    p.add_argument("--rounds", type=int, default=2, help="runs of 1 and of 2 collectors, interleaved; the best counts")
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)

    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-collectors-"))
    home.chmod(0o755)
    # A private loopback broker: anonymous, so that logging in is not part of any figure.
    stack = Stack.at(home, free_port(), free_port(), shared_buffers="2GB", inflight=4 * BATCH, anonymous=True)
    print(f"bench/collectors on {os.cpu_count()} cores, load average {_load()}: stack in {home}", flush=True)
    began = time.monotonic()
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so that the stack below is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    runs = Runs()
    try:
        migrate(stack.postgres.url)
        asyncio.run(_register_devices(stack.postgres.url))
        bench = Group(stack, home)
        messages = single_messages(args.messages)
        for round_ in range(args.rounds):
            for members in (1, 2):
                print(f"  {members} collector(s) (round {round_ + 1} of {args.rounds})", flush=True)
                drain = bench.drain(members, messages, f"{members}x{round_ + 1}")
                runs.drains.setdefault(members, []).append(drain)
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)
    report(runs, args)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {_load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
