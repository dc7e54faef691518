"""Simulated JT/T 808 terminals: a share of the fleet reports through the gateway over TCP, as real terminals do.

Each terminal is one TCP connection to `jt808_host:jt808_port`. It registers (0x0100) with its terminal id as the
phone number, once, and keeps the authentication code of the answer (0x8100) as real terminals keep theirs in flash
(`simulators.codes`: a file under the home), so a restarted simulator is not refused as "already registered"; it
forgets the code when authentication is refused, and registers again. It authenticates (0x0102), then reports each
fix of the vehicle simulation (`simulators.vehicles`: the same motion as the MQTT vehicles, only the transport
differs) as 0x0200, heartbeats (0x0002) when it has had
nothing to say for a while, and keeps every fix until the platform has answered it (`simulators.backlog`): what is
unanswered after a timeout goes again, and what was made or unanswered while disconnected goes as blind-zone
batches (0x0704 type 1) after the next authentication, in fix order.

A mix of 2013 and 2019 terminals, as in a real fleet; which vehicle has which, and which vehicles report this way
at all (`sim_jt808_share`), follows from the seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from domain.jt808.errors import InvalidFrame
from domain.jt808.framing import BadFrame, Framer
from domain.jt808.header import Version, parse_packet
from domain.jt808.location import Alarm, Location, Status
from domain.jt808.responses import (
    GeneralResponse,
    PlatformMessage,
    RegistrationResponse,
    RegistrationResult,
    read_response,
)
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
from domain.position import Position
from simulators.backlog import Backlog, Lost, Sent
from simulators.city import City, Vehicle
from simulators.codes import Codes
from simulators.seeds import key
from simulators.vehicles import Upload

log = logging.getLogger(__name__)

# Terminal parameters (JT/T 808 table 12): 0x0002 the answer timeout, 0x0003 the retransmissions, 0x0001 the
# heartbeat interval. Wall-clock seconds: the platform answers in real time, whatever the simulation's pace.
ANSWER_TIMEOUT = 10.0
RETRIES = 3
HEARTBEAT_SECONDS = 30.0
# Fixes per blind-zone batch: 20 of the longest item this simulator sends (43 bytes with its length) fill 863 of
# the 1023 bytes a packet's body holds, so a batch is never split into a multi-packet message.
BATCH_FIXES = 20
# Live reports unanswered at once: real terminals report every 10-30 s and never get near it; an accelerated
# simulation does, and would otherwise put thousands of reports on one connection at once.
WINDOW = 16
# Fixes a terminal holds for blind-zone batches, at most (terminals keep some days of them): 30 days of a car
# parked all the time, a day and a half of one driving all the time.
MEMORY_FIXES = 10_000
_BACKOFF = (0.2, 30.0)  # s, first and longest wait before connecting again
_V2019_SHARE = 0.4  # of the terminals: newer ones speak 2019, the rest are still 2013
_PROVINCE, _CITY = 36, 200  # GB/T 2260 360200: Jingdezhen, Jiangxi
_MAKER, _MODEL = "YWSIM", "YW-T808"


def on_jt808(seed: int, vehicle_id: str, share: float) -> bool:
    """Whether this vehicle's terminal reports over JT/T 808 (else JSON over MQTT), for a share of the fleet."""
    return (key(seed, "jt808", vehicle_id) & 0xFFFF) / 65536 < share


def version_of(seed: int, vehicle_id: str) -> Version:
    """Which edition of JT/T 808 this vehicle's terminal speaks."""
    return Version.V2019 if ((key(seed, "jt808", vehicle_id) >> 16) & 0xFFFF) / 65536 < _V2019_SHARE else Version.V2013


def location_of(fix: Position) -> Location:
    """A simulated fix as a terminal reports it: whole metres and degrees, the odometer, fuel and satellites as
    additional items; the state of charge and the accuracy have no place in 0x0200 and are not sent."""
    status = Status(fix.status or Status.POSITIONED)
    status = status | Status.ACC if fix.ignition else status & ~Status.ACC
    return Location(
        alarm=Alarm(fix.alarm or 0),
        status=status,
        latitude=fix.latitude,
        longitude=fix.longitude,
        altitude=max(0, round(fix.altitude or 0)),
        # The simulated fleet always has a speed and heading; a JT/T 808 terminal always sends both.
        speed=fix.speed or 0.0,
        direction=round(fix.heading or 0) % 360,
        time=fix.time,
        mileage=fix.odometer,
        fuel=fix.fuel,
        satellites=fix.satellites,
    )


def registration(vehicle: Vehicle, version: Version) -> bytes:
    """The 0x0100 body of a vehicle's terminal: Jingdezhen's division, the simulator as maker and model, the last
    seven digits of the terminal id as the maker's own id (they fit both editions), the plate and its colour."""
    plate = vehicle.plate.replace("·", "")  # the dot is for display; terminals send the characters
    return registration_body(
        version,
        province=_PROVINCE,
        city=_CITY,
        maker=_MAKER,
        model=_MODEL,
        terminal_id=vehicle.terminal_id[-7:],
        # Blue (1, JT/T 697.7), or green (5) for a new-energy plate: a letter and five digits after the city's.
        plate_color=5 if len(plate) == 8 else 1,
        plate=plate,
    )


class _Closed(Exception):
    """The platform closed the connection."""


class _Refused(Exception):
    """The platform refused the registration or the authentication."""


class Terminal:
    """One vehicle's terminal: `report` its uploads, `run` it until cancelled.

    Args:
        vehicle: whose terminal; its `terminal_id` is the phone number of every header.
        version: the edition it speaks.
        host, port: the platform's address.
        counts: where the terminal counts what happened (connections, registrations, acknowledged fixes...).
        items: where acknowledged fixes are counted as `position` items, as the MQTT publisher counts its own.
        codes: where the terminal keeps its authentication code.
    """

    def __init__(
        self,
        vehicle: Vehicle,
        version: Version,
        *,
        host: str,
        port: int,
        counts: Counter[str],
        items: Counter[str],
        codes: Codes,
    ) -> None:
        self.vehicle_id = vehicle.id
        self.phone = vehicle.terminal_id
        self.version = version
        self.host, self.port = host, port
        self.counts, self.items = counts, items
        self.backlog = Backlog(
            timeout=ANSWER_TIMEOUT, retries=RETRIES, batch=BATCH_FIXES, window=WINDOW, capacity=MEMORY_FIXES
        )
        self.codes = codes
        self.online = False  # authenticated on a connection
        self._registration = registration(vehicle, version)
        self._serial = 0
        self._last_sent = 0.0
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: dict[tuple[int, int], asyncio.Future[PlatformMessage]] = {}

    def report(self, upload: Upload) -> None:
        """The vehicle's new fixes: reported live when authenticated, else kept for a blind-zone batch."""
        dropped = self.backlog.dropped
        self.backlog.add(upload.fixes, blind=upload.blind, online=self.online)
        if not self.online:
            self.counts["fixes_offline"] += len(upload.fixes)
        if self.backlog.dropped > dropped:
            self.counts["dropped"] += self.backlog.dropped - dropped
        self._settled.clear()
        self._wake.set()

    async def settled(self) -> None:
        """Wait until the platform has answered every fix reported so far."""
        await self._settled.wait()

    async def run(self) -> None:
        """Connect, register if need be, authenticate and report, reconnecting whenever the connection fails."""
        backoff = _BACKOFF[0]
        told = False  # that the platform cannot be reached, since it last could
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                (log.debug if told else log.warning)(
                    "terminal %s: cannot connect to %s:%s (%s); keeping its fixes, trying again",
                    self.phone,
                    self.host,
                    self.port,
                    exc,
                )
                told = True
            else:
                told = False
                self.counts["connections"] += 1
                try:
                    await self._session(reader, writer)
                except* (OSError, _Closed, _Refused, Lost) as errors:
                    log.info("terminal %s: %s; connecting again", self.phone, errors.exceptions[0])
                finally:
                    if self.online:
                        backoff = _BACKOFF[0]
                    self._disconnected(writer)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF[1])

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read(reader))
            group.create_task(self._talk())

    def _disconnected(self, writer: asyncio.StreamWriter) -> None:
        self.counts["disconnections"] += 1
        self.online = False
        self._writer = None
        self.backlog.offline()
        for waiting in self._waiting.values():
            waiting.cancel()
        self._waiting.clear()
        writer.close()

    async def _talk(self) -> None:
        code = self.codes.get(self.phone)
        if code is None:
            registered = await self._ask(REGISTRATION, self._registration)
            if not isinstance(registered, RegistrationResponse) or registered.result != RegistrationResult.SUCCESS:
                self.counts["registrations_refused"] += 1
                if isinstance(registered, RegistrationResponse) and (
                    registered.result == RegistrationResult.TERMINAL_ALREADY_REGISTERED
                ):
                    log.warning(
                        "terminal %s: the platform holds a registration whose code this simulator lost; "
                        "`yiwang gateway forget %s` lets it register again",
                        self.phone,
                        self.phone,
                    )
                raise _Refused(f"registration refused: {registered}")
            code = registered.code
            self.codes.put(self.phone, code)
            self.counts["registrations"] += 1
        authenticated = await self._ask(
            AUTHENTICATION,
            authentication_body(self.version, code, imei=f"86{self.phone[-13:]:0>13}", software_version="yiwang-sim"),
        )
        if not isinstance(authenticated, GeneralResponse) or not authenticated.accepted:
            self.codes.put(self.phone, None)  # void: register again
            self.counts["authentications_refused"] += 1
            raise _Refused(f"authentication refused: {authenticated}")
        self.counts["authentications"] += 1
        self.online = True
        while True:
            self._wake.clear()
            now = time.monotonic()
            for sent in self.backlog.due(now):
                self.counts["resent"] += 1
                self._send(sent.message_id, self._body(sent), sent.serial)
            while (fix := self.backlog.next_live()) is not None:
                serial = self._send(LOCATION_REPORT, location_body(location_of(fix)))
                self.backlog.record(serial, LOCATION_REPORT, [fix], now)
            if batch := self.backlog.next_batch():
                serial = self._send(LOCATION_BATCH, batch_body([location_of(f) for f in batch], blind=True))
                self.backlog.record(serial, LOCATION_BATCH, batch, now, blind=True)
                self.counts["blind_batches"] += 1
            if now - self._last_sent >= HEARTBEAT_SECONDS:
                self._send(HEARTBEAT, b"")
                self.counts["heartbeats"] += 1
            assert self._writer is not None
            await self._writer.drain()
            wake = min(self.backlog.next_deadline() or float("inf"), self._last_sent + HEARTBEAT_SECONDS)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wake - time.monotonic())):
                    await self._wake.wait()

    async def _ask(self, message_id: int, body: bytes) -> PlatformMessage:
        """Send a message and wait for its answer, sending it again after T, 2T... like every other."""
        serial = self._send(message_id, body)
        for tries in range(1, RETRIES + 2):
            answered = asyncio.get_running_loop().create_future()
            self._waiting[(message_id, serial)] = answered
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT * tries):
                    result: PlatformMessage = await answered
                    return result
            except TimeoutError:
                if tries <= RETRIES:
                    self.counts["resent"] += 1
                    self._send(message_id, body, serial)
            finally:
                self._waiting.pop((message_id, serial), None)
        raise Lost(f"0x{message_id:04x} serial {serial} unanswered after {RETRIES + 1} tries")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        framer = Framer()
        while data := await reader.read(4096):
            for item in framer.feed(data):
                if isinstance(item, BadFrame):
                    self.counts["unreadable_answers"] += 1
                    log.warning("terminal %s: unreadable frame from the platform: %s", self.phone, item.detail)
                    continue
                try:
                    packet = parse_packet(item.packet)
                    answer = read_response(packet.header, packet.body)
                except InvalidFrame as exc:
                    self.counts["unreadable_answers"] += 1
                    log.warning("terminal %s: unreadable message from the platform: %s", self.phone, exc)
                    continue
                self._answered(answer)
        raise _Closed("the platform closed the connection")

    def _answered(self, answer: PlatformMessage) -> None:
        asked = (REGISTRATION if isinstance(answer, RegistrationResponse) else answer.reply_id, answer.reply_serial)
        waiting = self._waiting.pop(asked, None)
        if waiting is not None:
            if not waiting.done():
                waiting.set_result(answer)
            return
        if not isinstance(answer, GeneralResponse):
            return
        settled = self.backlog.answer(answer)
        if settled.acknowledged:
            self.counts["acknowledged"] += len(settled.acknowledged)
            self.items["position"] += len(settled.acknowledged)
        if settled.refused:
            self.counts["refused"] += len(settled.refused)
            log.warning("terminal %s: the platform refused %d fix(es): %s", self.phone, len(settled.refused), answer)
        if settled.acknowledged or settled.refused:
            if not len(self.backlog):
                self._settled.set()
            self._wake.set()

    def _body(self, sent: Sent) -> bytes:
        locations = [location_of(fix) for fix in sent.fixes]
        if sent.message_id == LOCATION_BATCH:
            return batch_body(locations, blind=sent.blind)
        return location_body(locations[0])

    def _send(self, message_id: int, body: bytes, serial: int | None = None) -> int:
        """Write a message (a new serial unless one is given, for a resend) and return the serial it went with."""
        if serial is None:
            serial = self._serial
            self._serial = (self._serial + 1) % 65536
        if self._writer is None:
            raise _Closed("not connected")
        self._writer.write(b"".join(frames(message_id, self.phone, serial, body, self.version)))
        self._last_sent = time.monotonic()
        return serial


class Terminals:
    """The terminals of the vehicles that report over JT/T 808, by their index in the city's vehicles."""

    def __init__(self, by_index: dict[int, Terminal]) -> None:
        self.by_index = by_index

    def report(self, uploads: Iterable[Upload]) -> None:
        for upload in uploads:
            self.by_index[upload.vehicle].report(upload)

    async def settled(self) -> None:
        for terminal in self.by_index.values():
            await terminal.settled()


@asynccontextmanager
async def connected(
    city: City,
    vehicles: Iterable[int],
    *,
    seed: int,
    host: str,
    port: int,
    counts: Counter[str],
    items: Counter[str],
    codes: Codes | None = None,
) -> AsyncIterator[Terminals]:
    """The terminals of these vehicles (indexes in `city.vehicles`), running; on exit, waits until the platform has
    answered every fix reported, then disconnects them.

    Args:
        seed: decides each terminal's edition of the protocol.
        host, port: the platform (the gateway).
        counts, items: see `Terminal`.
        codes: where the terminals keep their codes; in memory only when None.
    """
    codes = codes if codes is not None else Codes(None)
    terminals = Terminals(
        {
            index: Terminal(
                city.vehicles[index],
                version_of(seed, city.vehicles[index].id),
                host=host,
                port=port,
                counts=counts,
                items=items,
                codes=codes,
            )
            for index in vehicles
        }
    )
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(terminal.run()) for terminal in terminals.by_index.values()]
        try:
            yield terminals
            await terminals.settled()
        finally:
            for task in tasks:
                task.cancel()
