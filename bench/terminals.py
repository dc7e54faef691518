"""JT/T 808 terminals for bench.gateway: many TCP connections from one asyncio process, each a terminal that
registers (0x0100 -> 0x8100 and its code), authenticates (0x0102 -> 0x8001) and then reports.

Every frame is built before the clock starts (domain/jt808/terminal.py's encoders), so what is timed is the
gateway's work: a terminal keeps up to `window` reports unanswered, and the run ends when every report has its
0x8001. Each answer is read with the platform's own framing and header parser and checked: a general response,
to the serial and message id sent, with result success.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from domain.jt808.framing import Frame, Framer
from domain.jt808.header import Packet, Version, parse_packet
from domain.jt808.location import Alarm, Location, Status
from domain.jt808.responses import GENERAL_RESPONSE, REGISTRATION_RESPONSE, RegistrationResult, Result
from domain.jt808.terminal import (
    AUTHENTICATION,
    HEARTBEAT,
    LOCATION_BATCH,
    LOCATION_REPORT,
    REGISTRATION,
    authentication_body,
    batch_body,
    frames,
    location_body,
    registration_body,
)

START = datetime(2026, 1, 1, tzinfo=UTC)  # the first fix; each vehicle's n-th fix is 10 s later per n
INTERVAL = timedelta(seconds=10)
VERSION = Version.V2013
CONNECT_TIMEOUT = 60.0
ANSWER_TIMEOUT = 60.0
# A terminal sends a message again when its answer does not come (JT/T 808 section 4.4.5; 3 times by default). The
# gateway either answers a log-in within its database pool's wait (30 s) or never: waiting longer than that before
# sending again means that no late answer to the first copy can follow.
GIVE_UP_SECONDS = 45.0
RESENDS = 3


def phone(vehicle: int) -> str:
    """The terminal id of vehicle v<vehicle>: 12 digits with a leading 0, as the simulated city's."""
    return f"0{13_800_000_000 + vehicle}"


def fix(vehicle: int, n: int) -> Location:
    """The n-th fix of a vehicle: distinct times, so that every one is a new row."""
    return Location(
        alarm=Alarm(0),
        status=Status.ACC | Status.POSITIONED,
        latitude=round(29.25 + (vehicle % 100) * 1e-3 + n * 1e-6, 6),
        longitude=round(117.15 + (vehicle // 100) * 1e-3, 6),
        altitude=50,
        speed=36.5,
        direction=90,
        time=START + n * INTERVAL,
        mileage=round(10000.0 + n * 0.1, 1),
        satellites=11,
    )


@dataclass(frozen=True)
class Plan:
    """What each terminal sends: `reports` 0x0200 frames, then `batches` 0x0704 blind-zone batches of `items`."""

    reports: int = 0
    batches: int = 0
    items: int = 0

    @property
    def frames(self) -> int:
        return self.reports + self.batches

    @property
    def positions(self) -> int:
        return self.reports + self.batches * self.items

    def fixes(self, vehicle: int) -> list[list[Location]]:
        """Per frame, its fixes, in the order they are sent."""
        singles = [[fix(vehicle, n)] for n in range(self.reports)]
        first = self.reports
        grouped = [[fix(vehicle, first + b * self.items + k) for k in range(self.items)] for b in range(self.batches)]
        return singles + grouped


def report_frames(vehicle: int, plan: Plan, first_serial: int) -> list[tuple[int, int, bytes]]:
    """(serial, message id, framed bytes) of every report a terminal sends, each one packet."""
    out = []
    for i, fixes in enumerate(plan.fixes(vehicle)):
        serial = (first_serial + i) % 65536
        if len(fixes) == 1 and i < plan.reports:
            message_id, body = LOCATION_REPORT, location_body(fixes[0])
        else:
            message_id, body = LOCATION_BATCH, batch_body(fixes, blind=True)
        (packet,) = frames(message_id, phone(vehicle), serial, body, VERSION)  # a batch that needs two is a bug
        out.append((serial, message_id, packet))
    return out


class Refused(RuntimeError):
    """The gateway answered something other than success."""


class Terminal:
    """One terminal's connection: requests answered one at a time, or a pipelined stream of reports."""

    def __init__(self, vehicle: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.vehicle = vehicle
        self.phone = phone(vehicle)
        self.reader = reader
        self.writer = writer
        self.framer = Framer()
        self.serial = 0
        self.pending: list[Packet] = []
        self.resends = 0  # messages sent again for want of an answer

    @classmethod
    async def connect(cls, host: str, port: int, vehicle: int) -> Terminal:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
        return cls(vehicle, reader, writer)

    def next_serial(self) -> int:
        serial, self.serial = self.serial, (self.serial + 1) % 65536
        return serial

    async def answer(self, within: float = ANSWER_TIMEOUT) -> Packet:
        """The next packet the gateway sends."""
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), within)
            if not data:
                raise ConnectionError(f"{self.phone}: the gateway closed the connection")
            for item in self.framer.feed(data):
                if not isinstance(item, Frame):
                    raise Refused(f"{self.phone}: a bad frame from the gateway: {item.reason} {item.detail}")
                self.pending.append(parse_packet(item.packet))
        return self.pending.pop(0)

    async def ask(self, message_id: int, body: bytes) -> Packet:
        """Send a message and wait for its answer, sending it again (same serial) when none comes."""
        serial = self.next_serial()
        (packet,) = frames(message_id, self.phone, serial, body, VERSION)
        for attempt in range(RESENDS + 1):
            self.writer.write(packet)
            try:
                answer = await self.answer(GIVE_UP_SECONDS)
            except TimeoutError:
                if attempt < RESENDS:
                    self.resends += 1
                continue
            if int.from_bytes(answer.body[:2], "big") != serial:
                raise Refused(f"{self.phone}: answer to serial {int.from_bytes(answer.body[:2], 'big')}, sent {serial}")
            return answer
        raise TimeoutError(f"{self.phone}: 0x{message_id:04x} unanswered, sent {RESENDS + 1} times")

    async def log_in(self) -> None:
        """Register (0x0100 -> 0x8100 with the code), then authenticate with the code (0x0102 -> 0x8001)."""
        body = registration_body(
            VERSION,
            province=36,
            city=1100,
            maker="YIWNG",
            model="BENCH",
            terminal_id=f"B{self.vehicle:06d}",
            plate_color=1,
            plate=f"B{self.vehicle:05d}",
        )
        answer = await self.ask(REGISTRATION, body)
        if answer.header.message_id != REGISTRATION_RESPONSE or answer.body[2] != RegistrationResult.SUCCESS:
            raise Refused(f"{self.phone}: registration answered {answer.header.message_id:#06x} {answer.body[2:3]!r}")
        code = answer.body[3:]
        self.expect_success(await self.ask(AUTHENTICATION, authentication_body(VERSION, code)), AUTHENTICATION)

    async def heartbeat(self) -> None:
        self.expect_success(await self.ask(HEARTBEAT, b""), HEARTBEAT)

    def expect_success(self, answer: Packet, message_id: int) -> None:
        if not is_success(answer, message_id):
            raise Refused(f"{self.phone}: 0x{message_id:04x} answered {answer.header.message_id:#06x} {answer.body!r}")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def is_success(answer: Packet, message_id: int) -> bool:
    body = answer.body
    return (
        answer.header.message_id == GENERAL_RESPONSE
        and len(body) == 5
        and int.from_bytes(body[2:4], "big") == message_id
        and body[4] == Result.SUCCESS
    )


@dataclass
class Sent:
    """What a run of reports achieved, as seen by the terminals."""

    frames: int = 0
    answered: int = 0  # with success, to a serial sent
    refused: list[str] = field(default_factory=list)  # the first few other answers, or errors
    started: float = 0.0  # wall clock, the first report sent
    ended: float = 0.0  # wall clock, the last answer received
    cpu_seconds: float = 0.0  # this process's, over the run

    @property
    def seconds(self) -> float:
        return self.ended - self.started


async def _report(terminal: Terminal, plan: Plan, window: int, sent: Sent) -> None:
    """Send the terminal's reports, at most `window` unanswered, and check every answer."""
    reports = report_frames(terminal.vehicle, plan, terminal.serial)
    expected = {serial: message_id for serial, message_id, _ in reports}
    room = asyncio.Semaphore(window)

    async def send() -> None:
        for _, _, packet in reports:
            await room.acquire()
            terminal.writer.write(packet)
            await terminal.writer.drain()

    sender = asyncio.create_task(send())
    try:
        for _ in reports:
            answer = await terminal.answer()
            serial = int.from_bytes(answer.body[:2], "big")
            message_id = expected.pop(serial, None)
            if message_id is not None and is_success(answer, message_id):
                sent.answered += 1
            elif len(sent.refused) < 5:
                sent.refused.append(f"{terminal.phone}: {answer.header.message_id:#06x} {answer.body.hex()}")
            room.release()
        sent.ended = max(sent.ended, time.time())
        await sender
    finally:
        sender.cancel()


async def _log_in_all(host: str, port: int, vehicles: Sequence[int], concurrency: int) -> list[Terminal]:
    gate = asyncio.Semaphore(concurrency)

    async def one(vehicle: int) -> Terminal:
        async with gate:
            terminal = await Terminal.connect(host, port, vehicle)
            await terminal.log_in()
            return terminal

    return list(await asyncio.gather(*(one(v) for v in vehicles)))


async def _run_reports(
    address: tuple[str, int], vehicles: Sequence[int], plan: Plan, window: int, pipe: Connection
) -> Sent:
    terminals = await _log_in_all(*address, vehicles, concurrency=100)
    pipe.send("ready")
    pipe.recv()  # go
    sent = Sent(frames=len(terminals) * plan.frames)
    cpu = time.process_time()
    sent.started = time.time()
    results = await asyncio.gather(*(_report(t, plan, window, sent) for t in terminals), return_exceptions=True)
    sent.cpu_seconds = time.process_time() - cpu
    sent.refused += [repr(r) for r in results if isinstance(r, BaseException)][:5]
    for terminal in terminals:
        await terminal.close()
    return sent


def run_reports(address: tuple[str, int], vehicles: Sequence[int], plan: Plan, window: int, pipe: Connection) -> None:
    """A process's body: log every terminal in, say "ready", wait for "go", report, send back a `Sent`."""
    try:
        pipe.send(asyncio.run(_run_reports(address, vehicles, plan, window, pipe)))
    except BaseException as exc:
        pipe.send(exc)
        raise


@dataclass
class Held:
    """What holding idle terminals achieved, from one process."""

    connected: int
    seconds: float  # to connect and log in all of them
    resends: int  # registrations and authentications sent again for want of an answer
    heartbeats: int = 0  # answered with success, after the gateway's memory was read
    errors: list[str] = field(default_factory=list)


async def _hold(host: str, port: int, vehicles: Sequence[int], concurrency: int, pipe: Connection) -> None:
    began = time.monotonic()
    terminals = await _log_in_all(host, port, vehicles, concurrency)
    held = Held(len(terminals), time.monotonic() - began, sum(t.resends for t in terminals))
    pipe.send(held)
    # Idle: nothing is sent until the bench has read the gateway's memory; then one heartbeat each shows that
    # every connection is still open and authenticated.
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    results = await asyncio.gather(*(t.heartbeat() for t in terminals), return_exceptions=True)
    held.heartbeats = sum(1 for r in results if not isinstance(r, BaseException))
    held.errors = [repr(r) for r in results if isinstance(r, BaseException)][:5]
    pipe.send(held)
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    for terminal in terminals:
        await terminal.close()


def hold(host: str, port: int, vehicles: Sequence[int], concurrency: int, pipe: Connection) -> None:
    """A process's body: connect and log in every terminal, send a `Held`; on a message from the pipe, one
    heartbeat each and another `Held`; on the next, close them all."""
    try:
        asyncio.run(_hold(host, port, vehicles, concurrency, pipe))
    except BaseException as exc:
        pipe.send(exc)
        raise


def raise_open_files() -> int:
    """Raise this process's soft limit on open files to its hard limit (its children inherit it): the new limit.
    Only a privileged process may raise the hard limit itself; a deployment sets it (LimitNOFILE, ulimits)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def open_files_limit(pid: int | str = "self") -> int:
    """The soft limit on open files of a running process (/proc/<pid>/limits)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise RuntimeError(f"no open-files limit for {pid}")


def open_files(pid: int | str) -> int:
    """How many files a process has open."""
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
