"""`yiwang drill`: faults against a running stack (`yiwang run`'s processes, its TimescaleDB and Mosquitto), each in
the middle of a stream of readings and positions the drill publishes itself, and what came of it.

Each drill publishes its stream (the drill's own meters and vehicles, organisation `drill`, times after anything
they stored before, so that a drill counts only its own rows) at a steady rate through a client that publishes
again whatever the broker did not confirm, waits until a quarter of it is stored, then:

- `collector`, `supervisor`, `worker`: kill -9 of the process (its pid file under YIWANG_HOME/run); `yiwang run`
  starts it again, as compose's `restart: unless-stopped` does. A worker that is not running is skipped.
- `database`: PostgreSQL stopped at once (`pg_ctl stop -m immediate`, a crash as far as the data is concerned),
  then started again.
- `broker`: Mosquitto stopped (it saves its persistence file) and started again.

Recovery is the time from the fault until every item the broker confirmed is stored, every process is healthy
again and, for the supervisor, every drill vehicle is judged through its last fix. Sent is what the broker
confirmed; stored, the drill's keys (device, time) stored; lost, the confirmed keys not stored (compared as sets:
a row stored but never confirmed does not make up for a confirmed one lost); doubled, readings received again with
another register than the one stored (reading_conflict), the one way a key can be delivered twice and differ: the
keys absorb a plain redelivery. Any loss, any double, or no recovery within the time allowed makes the command exit 1.

The drill's devices report only while a drill runs: they are registered out of service (meters replaced, vehicles
retired, on the day of the drill), so that the energy watch does not find its meters silent a day later, nor the
supervisor its vehicles; their reports are stored and judged all the same.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import orjson
import psycopg
from psycopg import AsyncConnection

from db import drills
from db.drills import Key
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument, Vehicle
from domain.topics import POSITION, READING
from simulators.messages import Message, message
from simulators.publisher import Tally, publishing
from yiwang import processes
from yiwang.settings import Settings
from yiwang.stack import Stack

log = logging.getLogger(__name__)

# In the order they run when none is named.
DRILLS = ("collector", "database", "broker", "supervisor", "worker")
# Drills that kill a process `yiwang run` started (and starts again).
KILLED = ("collector", "supervisor", "worker")
# The processes a drill may skip when they do not run (`yiwang run` may start no worker).
OPTIONAL = ("worker",)

ORGANISATION = "drill"
INSTITUTION = "drill-i01"
METERS = tuple(f"drill-m{i:02d}" for i in range(1, 11))
VEHICLES = tuple(f"drill-v{i:02d}" for i in range(1, 11))
CLIENT_ID = "yiwang-drill"
# Where the drill's vehicles stand (parked, ignition off: they raise no alert), near the simulated city.
_PARKED = (29.2901, 117.2001)

T = TypeVar("T")


class DrillError(RuntimeError):
    """The drill cannot start: what is missing, and what to do."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one drill found.

    Args:
        drill: its name.
        confirmed: the keys (device, time) of the readings and positions the broker confirmed.
        stored: the keys of the drill's stream stored.
        doubled: readings received again with another register than the one stored (reading_conflict).
        stored_at_fault: keys stored when the fault struck (between 0 and sent: it struck mid-stream).
        recovery_seconds: from the fault until everything was stored and healthy; None: not within the time allowed.
        unjudged: the supervisor drill's vehicles not judged through their last fix.
        resent: publications the drill's client sent again (a broker that went away).
        skipped: why the drill did not run (a process that is not running), or None.
    """

    drill: str
    confirmed: frozenset[Key] = field(default_factory=frozenset)
    stored: frozenset[Key] = field(default_factory=frozenset)
    doubled: int = 0
    stored_at_fault: int = 0
    recovery_seconds: float | None = None
    unjudged: int = 0
    resent: int = 0
    skipped: str | None = None

    @property
    def sent(self) -> int:
        return len(self.confirmed)

    @property
    def lost(self) -> int:
        """Confirmed keys not stored, whatever else was stored."""
        return len(self.confirmed - self.stored)

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing doubled, everything judged, and recovered in time (a skipped drill is no failure)."""
        if self.skipped is not None:
            return True
        return self.lost == 0 and self.doubled == 0 and self.unjudged == 0 and self.recovery_seconds is not None

    def line(self) -> str:
        """One line of the command's report."""
        if self.skipped is not None:
            return f"{self.drill:10} skipped: {self.skipped}"
        recovery = "not recovered" if self.recovery_seconds is None else f"recovered in {self.recovery_seconds:.1f} s"
        judged = f", {self.unjudged} vehicle(s) not judged through" if self.unjudged else ""
        verdict = "ok" if self.ok else "FAIL"
        return (
            f"{self.drill:10} sent {self.sent}, stored {len(self.stored)} ({self.stored_at_fault} at the fault), lost "
            f"{self.lost}, doubled {self.doubled}, resent {self.resent}{judged}; {recovery}  {verdict}"
        )


class Confirmed(Tally):
    """The publisher's tally, and the key (device, time) of each item the broker confirmed."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[Key] = set()

    def confirm(self, message: Message) -> None:
        super().confirm(message)
        self.keys.add(key_of(message))


def key_of(message: Message) -> Key:
    """The key (device, time) of one of the drill's messages (a single reading or position: stream())."""
    device = message.topic.split("/")[-2]
    at = orjson.loads(message.payload)["time"]
    if message.family == READING.name:
        return device, datetime.fromisoformat(at)
    return device, datetime.fromtimestamp(at / 1000, UTC)


def registry() -> RegistryDocument:
    """The drill's own devices: one organisation, one institution, ten meters and ten vehicles."""
    return RegistryDocument(
        organisations=[Organisation(id=ORGANISATION, name="故障演练 fault drill")],
        institutions=[
            Institution(id=INSTITUTION, organisation_id=ORGANISATION, name="故障演练 fault drill", category="agency")
        ],
        meters=[Meter(id=m, institution_id=INSTITUTION, energy_type="electricity", unit="kWh") for m in METERS],
        vehicles=[
            Vehicle(id=v, organisation_id=ORGANISATION, plate=f"DRILL-{i:02d}", energy="gasoline")
            for i, v in enumerate(VEHICLES, 1)
        ],
    )


def span(messages: int) -> timedelta:
    """The device time a stream of this many messages covers: a second between two of one device's."""
    return timedelta(seconds=math.ceil(messages / (len(METERS) + len(VEHICLES))))


def stream(root: str, start: datetime, messages: int) -> list[Message]:
    """Readings and positions taking turns, each device's a second apart from `start`, in the contract's fields."""
    out: list[Message] = []
    for k in range(messages):
        j = k // 2
        step = j // len(METERS)
        at = start + timedelta(seconds=step)
        if k % 2 == 0:
            meter = METERS[j % len(METERS)]
            item: dict[str, object] = {"time": at.isoformat(), "register": round(1000 + step * 0.1, 2)}
            out.append(message(root, READING.name, meter, [item], single=True))
        else:
            vehicle = VEHICLES[j % len(VEHICLES)]
            item = {
                "time": round(at.timestamp() * 1000),
                "latitude": _PARKED[0],
                "longitude": _PARKED[1],
                "speed": 0.0,
                "heading": 0.0,
                "odometer": 1000.0,
                "ignition": False,
            }
            out.append(message(root, POSITION.name, vehicle, [item], single=True))
    return out


def last_fixes(start: datetime, messages: int) -> dict[str, datetime]:
    """Each drill vehicle's last fix time in the stream."""
    last: dict[str, datetime] = {}
    for k in range(1, messages, 2):
        j = k // 2
        last[VEHICLES[j % len(VEHICLES)]] = start + timedelta(seconds=j // len(METERS))
    return last


class Drills:
    """The drills against one running stack.

    Args:
        settings: the stack's (as `yiwang run` was started with): database URL of the owner, ports, home.
        publisher: the settings the drill publishes with (its own broker account).
        messages: readings and positions in each drill's stream.
        rate: messages a second.
        recovery_seconds: how long after the fault recovery may take.
    """

    def __init__(
        self, settings: Settings, publisher: Settings, *, messages: int, rate: float, recovery_seconds: float
    ) -> None:
        if span(messages) >= timedelta(seconds=settings.max_future_seconds):
            raise DrillError(f"{messages} messages span more device time than the collector accepts ahead of now")
        self.settings = settings
        self.publisher = publisher
        self.messages = messages
        self.rate = rate
        self.recovery_seconds = recovery_seconds
        self.stack = Stack.from_settings(settings)

    async def prepare(self) -> None:
        """Register the drill's devices (again: an upsert), out of service from today on (module docstring)."""
        today = datetime.now(self.settings.zone).date()
        async with await psycopg.AsyncConnection.connect(self.settings.database_url) as conn, conn.transaction():
            await import_document(conn, registry())
            await drills.out_of_service(conn, METERS, VEHICLES, today)

    async def run(self, name: str) -> Outcome:
        """One drill: its stream, its fault in the middle, and what came of it."""
        if name in KILLED and processes.pid_of(self.settings, name) is None:
            if name in OPTIONAL:
                return Outcome(name, skipped=f"no {name} is running (`yiwang run` started none)")
            raise DrillError(f"no {name} is running: start the stack with `yiwang run` (its pid files are in "
                             f"{processes.run_folder(self.settings)})")  # fmt: skip
        newest = await self._read(lambda c: drills.newest_stored(c, METERS, VEHICLES))
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - span(self.messages)
        if newest is not None and newest >= start:
            start = newest.replace(microsecond=0) + timedelta(seconds=1)
        until = start + span(self.messages)
        sent_stream = stream(self.settings.topic_root, start, self.messages)
        tally = Confirmed()
        publishing_task = asyncio.create_task(self._publish(sent_stream, tally))

        async def stored_now() -> set[Key] | None:
            return await self._read(lambda c: drills.stored(c, METERS, VEHICLES, start, until))

        at_fault = await self._until(stored_now, lambda s: len(s) >= self.messages // 4, self.recovery_seconds)
        if at_fault is None:
            publishing_task.cancel()
            raise DrillError("a quarter of the stream was not stored in time: is the collector running?")
        faulted = time.monotonic()
        log.info("drill %s: fault at %d of %d stored", name, len(at_fault), self.messages)
        await asyncio.to_thread(self._fault, name)
        await asyncio.wait_for(publishing_task, self.recovery_seconds + self.messages / self.rate)
        confirmed = frozenset(tally.keys)
        wanted = last_fixes(start, self.messages) if name == "supervisor" else {}

        async def recovered() -> set[Key] | None:
            found = await stored_now()
            if found is None or not confirmed <= found or not await asyncio.to_thread(self._healthy):
                return None
            if wanted and not self._judged(await self._read(lambda c: drills.judged_until(c, wanted)), wanted):
                return None
            return found

        done = await self._until(recovered, lambda _: True, self.recovery_seconds - (time.monotonic() - faulted))
        recovery = time.monotonic() - faulted if done is not None else None
        final = await stored_now() or set()
        doubled = await self._read(lambda c: drills.conflicts(c, METERS, start, until))
        judged = await self._read(lambda c: drills.judged_until(c, wanted)) if wanted else {}
        return Outcome(
            name,
            confirmed=confirmed,
            stored=frozenset(final),
            doubled=doubled or 0,
            stored_at_fault=len(at_fault),
            recovery_seconds=recovery,
            unjudged=len(wanted) - self._judged_count(judged or {}, wanted),
            resent=tally.resent,
        )

    def _fault(self, name: str) -> None:
        if name in KILLED:
            pid = processes.pid_of(self.settings, name)
            if pid is None:
                raise DrillError(f"the {name} stopped before the drill could kill it")
            os.kill(pid, signal.SIGKILL)
            # `yiwang run` starts it again and writes its new pid; recovery waits for its health.
        elif name == "database":
            self.stack.postgres.stop("immediate")
            self.stack.postgres.start()
        elif name == "broker":
            self.stack.mosquitto.stop()
            self.stack.mosquitto.start()
        else:
            raise DrillError(f"no drill {name!r}: the drills are {', '.join(DRILLS)}")

    def _healthy(self) -> bool:
        """Every process `yiwang run` runs (a pid file names it) answers its health check."""
        urls = processes.health_urls(self.settings)
        running = [n for n in urls if (processes.run_folder(self.settings) / f"{n}.pid").exists()]
        return all(processes.pid_of(self.settings, n) is not None and processes.healthy(urls[n]) for n in running)

    @staticmethod
    def _judged_count(judged: dict[str, datetime], wanted: dict[str, datetime]) -> int:
        return sum(1 for v, last in wanted.items() if v in judged and judged[v] >= last)

    def _judged(self, judged: dict[str, datetime] | None, wanted: dict[str, datetime]) -> bool:
        return judged is not None and self._judged_count(judged, wanted) == len(wanted)

    async def _publish(self, messages: list[Message], tally: Tally) -> None:
        """At `rate` messages a second; the block ends once the broker confirmed every one (after restarts too)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with publishing(self.publisher, CLIENT_ID, tally=tally, window=100) as outbox:
            for i, item in enumerate(messages):
                await outbox.put(item)
                ahead = started + (i + 1) / self.rate - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)  # the pace of the stream, not a wait for a condition

    async def _read(self, query: Callable[[AsyncConnection], Awaitable[T]]) -> T | None:
        """The query's answer as the owner, or None while the database does not answer (the database drill)."""
        try:
            async with await psycopg.AsyncConnection.connect(self.settings.database_url, connect_timeout=3) as conn:
                return await query(conn)
        except psycopg.OperationalError:
            return None

    @staticmethod
    async def _until(look: Callable[[], Awaitable[T | None]], holds: Callable[[T], bool], seconds: float) -> T | None:
        """Look every 0.2 s until what `look` finds holds; what it found then, or None after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            found = await look()
            if found is not None and holds(found):
                return found
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.2)


async def run(against: Drills, names: list[str], report: Callable[[Outcome], None]) -> list[Outcome]:
    """The named drills one after the other, each reported as it ends."""
    await against.prepare()
    outcomes = []
    for name in names:
        outcome = await against.run(name)
        report(outcome)
        outcomes.append(outcome)
    return outcomes
