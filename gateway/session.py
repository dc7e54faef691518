"""One terminal connection: its bytes through the codec, each message answered by what the platform made of it.

A connection starts unauthenticated. It may register (0x0100: a code for a phone that is a vehicle's terminal id,
naming that vehicle's plate, and holding no registration that was not voided) and authenticate (0x0102 with that
code); anything else before authentication is refused. Once authenticated, its locations (0x0200, 0x0704) are
published, and answered with success only when the broker has acknowledged every publication of the message;
heartbeats (0x0002) are answered; a logout (0x0003) voids the code and the connection is unauthenticated again.
Messages are handled one at a time, in the order sent: while one waits for the broker the connection is not read,
so a terminal cannot have the gateway hold more than one message of it.

A message the gateway could not finish (the broker or the database away) goes unanswered: the terminal sends it
again, and the collector stores a fix it already has once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import terminals
from domain.dead_letter import Reason
from domain.jt808 import messages as m
from domain.jt808.header import Header
from domain.jt808.location import Location
from domain.jt808.plates import UNPLATED, names_vehicle
from domain.jt808.responses import RegistrationResult, Result, general_response, registration_response
from domain.jt808.stream import Event, Kept, Received, Refused, TerminalStream
from domain.topics import POSITION, topic
from gateway import payload
from gateway.broker import Broker, BrokerAway
from gateway.metrics import Metrics
from gateway.refusals import Refusals, source

log = logging.getLogger(__name__)

_READ_BYTES = 4096
# How often a silent connection holding part of a multi-packet message checks whether to give it up.
_TICK_SECONDS = 5.0
# 128 random bits, as 32 hex digits: printable, as the STRING of 0x8100 must be.
_CODE_BYTES = 16


# The message ids the metrics name; a packet of any other (a multi-packet message's, kept until it is refused) is
# "other", so that a terminal cannot make a label of each of 65,536 ids.
_LABELLED = frozenset(
    {m.TERMINAL_RESPONSE, m.HEARTBEAT, m.LOGOUT, m.REGISTRATION, m.AUTHENTICATION, m.LOCATION_REPORT, m.LOCATION_BATCH}
)


# 0x8001's result for a refused frame (table 5); any other reason is a "message error".
_REFUSAL_RESULT = {Reason.UNSUPPORTED_MESSAGE: Result.NOT_SUPPORTED, Reason.UNAUTHENTICATED: Result.FAILURE}


def _label(message_id: int) -> str:
    return f"0x{message_id:04x}" if message_id in _LABELLED else "other"


def code_hash(code: bytes) -> bytes:
    """What the database keeps of an authentication code (db/migrations/0028: why not the code, nor a keyed hash)."""
    return hashlib.sha256(code).digest()


@dataclass(frozen=True)
class Limits:
    """What one connection may cost, and what a payload may hold (the settings)."""

    idle_seconds: float
    max_refusals: int
    multipacket_seconds: float
    max_payload_bytes: int
    max_items: int
    prefix_bytes: int


class _NotReading(Exception):
    """The terminal has read none of the answers for the idle time: the connection is closed."""


class Unfinished(Exception):
    """A message the gateway could not finish now (the broker or the database away): it goes unanswered."""


class Session:
    """Reads one terminal connection until it ends, is idle too long, or sent too much that was refused."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        pool: AsyncConnectionPool[AsyncConnection],
        broker: Broker,
        metrics: Metrics,
        root: str,
        limits: Limits,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._pool = pool
        self._broker = broker
        self._metrics = metrics
        self._root = root
        self._limits = limits
        peer = writer.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._refusals = Refusals(pool, metrics, limits.prefix_bytes)
        self._refused = 0
        # The terminal this connection authenticated as: its phone and vehicle; None before.
        self._phone: str | None = None
        self._vehicle: str | None = None
        self._tick = min(_TICK_SECONDS, limits.idle_seconds)
        self._stream = TerminalStream(max_age=limits.multipacket_seconds)
        # The platform's own serial for this terminal's answers, 0..65535 (JT/T 808 section 4.4.3).
        self._serial = 0

    async def run(self) -> None:
        stream = self._stream
        last = time.monotonic()
        try:
            while self._refused < self._limits.max_refusals:
                # A silent connection wakes only at its idle deadline, or every tick while it holds part of a
                # multi-packet message: a wake-up every few seconds for each of 20,000 idle terminals took half a
                # core (bench.gateway) from the ones reporting.
                wait = self._limits.idle_seconds - (time.monotonic() - last)
                if stream.pending:
                    wait = min(wait, self._tick)
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns a read that completes as the
                    # task is cancelled and drops the cancellation, and the gateway's shutdown then waited for an
                    # idle deadline minutes away.
                    async with asyncio.timeout(max(wait, 0.0)):
                        data = await self._reader.read(_READ_BYTES)
                except TimeoutError:
                    now = time.monotonic()
                    if now - last >= self._limits.idle_seconds:
                        log.info("%s: idle for %.0f s, closed", self._peer, now - last)
                        break
                    await self._handle(stream.expire(now))
                    continue
                if not data:
                    await self._handle(stream.close())
                    break
                last = time.monotonic()
                await self._handle(stream.feed(data, last))
            else:
                log.warning("%s: %d refusals, closed", self._peer, self._refused)
        except ConnectionError as exc:
            log.info("%s: %s", self._peer, exc)
        except _NotReading:
            log.info("%s: reads none of its answers, closed", self._peer)
        finally:
            await self._refusals.write()
            self._writer.close()

    async def _handle(self, events: list[Event]) -> None:
        """Answer each event in order, then record what was refused."""
        try:
            for event in events:
                if self._refused >= self._limits.max_refusals:
                    return  # the connection is closed: what it sent after is not read
                if isinstance(event, Kept):
                    self._metrics.frames.labels(_label(event.header.message_id)).inc()
                elif isinstance(event, Refused):
                    self._metrics.frames.labels("refused").inc()
                    await self._refuse_frame(event)
                else:
                    self._metrics.frames.labels(_label(event.last.message_id)).inc()
                    await self._received(event)
        finally:
            await self._refusals.write()

    def _as(self, phone: str | None, vehicle: str | None) -> None:
        """The terminal (and vehicle) the connection is authenticated as now; None, None: as no one."""
        self._phone, self._vehicle = phone, vehicle
        self._stream.holder = phone  # only its multi-packet messages are kept

    async def _refuse_frame(self, event: Refused) -> None:
        header = event.header
        self._refuse(header.phone if header else self._phone, event.raw, event.reason, event.detail)
        if header is not None:
            await self._answer(header, _REFUSAL_RESULT.get(event.reason, Result.MESSAGE_ERROR))

    async def _received(self, event: Received) -> None:
        message, header = event.message, event.last
        try:
            if isinstance(message, m.TerminalResponse):
                return  # the terminal's answer to a platform message: the gateway sends none that waits for one
            if isinstance(message, m.Registration):
                await self._register(event, message)
            elif isinstance(message, m.Authentication):
                await self._authenticate(event, message)
            elif self._phone is None or header.phone != self._phone:
                why = "not authenticated" if self._phone is None else f"authenticated as {self._phone}"
                self._refuse(header.phone, event.raw, Reason.UNAUTHENTICATED, f"0x{header.message_id:04x}: {why}")
                await self._answer(header, Result.FAILURE)
            elif isinstance(message, m.Heartbeat):
                await self._answer(header, Result.SUCCESS)
            elif isinstance(message, m.Logout):
                await self._log_out(header)
            elif isinstance(message, m.LocationReport):
                await self._locations(event, (message.location,), blind=False)
            else:
                await self._locations(event, message.locations, blind=message.blind)
        except Unfinished as exc:
            self._metrics.unanswered.inc()
            log.warning("%s: 0x%04x serial %d unanswered: %s", self._peer, header.message_id, header.serial, exc)

    async def _register(self, event: Received, message: m.Registration) -> None:
        header = event.last
        phone = header.phone
        # A new registration voids the connection's authentication: the terminal authenticates with the new code.
        self._as(None, None)
        code = secrets.token_hex(_CODE_BYTES).encode()
        info = terminals.TerminalInfo(
            message.maker, message.model, message.terminal_id, message.plate_color, message.plate,
            message.province, message.city,
        )  # fmt: skip
        registered = False
        try:
            async with self._pool.connection() as conn:
                vehicle = await terminals.vehicle_of(conn, phone)
                named = vehicle is not None and names_vehicle(
                    message.plate, message.plate_color, plate=vehicle.plate, vin=vehicle.vin
                )
                if vehicle is not None and named:
                    at = datetime.now(UTC)
                    registered = await terminals.register(conn, phone, vehicle.id, code_hash(code), at=at, info=info)
        except (psycopg.Error, TimeoutError) as exc:
            raise Unfinished(f"database: {exc}") from exc
        if vehicle is None:
            self._refuse(phone, event.raw, Reason.UNKNOWN_DEVICE, f"0x0100: no vehicle has terminal id {phone}")
            await self._send(registration_response(header, self._next_serial(), RegistrationResult.NO_SUCH_TERMINAL))
            return
        if not named:
            what = "VIN" if message.plate_color == UNPLATED else "plate"
            detail = f"0x0100: {what} {message.plate!r} is not vehicle {vehicle.id}'s, whose terminal id is {phone}"
            self._refuse(phone, event.raw, Reason.PLATE_MISMATCH, detail, vehicle.id)
            await self._send(registration_response(header, self._next_serial(), RegistrationResult.NO_SUCH_VEHICLE))
            return
        if not registered:
            # Phone numbers are no secret: a registration for one that holds a code would hand its vehicle to
            # whoever sent it. The terminal keeps its code; one that lost it is let in by a logout or an operator.
            detail = f"0x0100: terminal {phone} holds a registration (voided by a logout or `yiwang gateway forget`)"
            self._refuse(phone, event.raw, Reason.ALREADY_REGISTERED, detail, vehicle.id)
            result = RegistrationResult.TERMINAL_ALREADY_REGISTERED
            await self._send(registration_response(header, self._next_serial(), result))
            return
        log.info("%s: terminal %s registered for vehicle %s", self._peer, phone, vehicle.id)
        await self._send(registration_response(header, self._next_serial(), RegistrationResult.SUCCESS, code))

    async def _authenticate(self, event: Received, message: m.Authentication) -> None:
        header = event.last
        try:
            async with self._pool.connection() as conn:
                vehicle = await terminals.authenticate(conn, header.phone, code_hash(message.code))
        except (psycopg.Error, TimeoutError) as exc:
            raise Unfinished(f"database: {exc}") from exc
        if vehicle is None:
            self._as(None, None)
            detail = f"0x0102: not the current code of terminal {header.phone}, or its vehicle is retired or moved"
            self._refuse(header.phone, event.raw, Reason.UNAUTHENTICATED, detail)
            await self._answer(header, Result.FAILURE)
            return
        self._as(header.phone, vehicle)
        await self._answer(header, Result.SUCCESS)

    async def _log_out(self, header: Header) -> None:
        try:
            async with self._pool.connection() as conn:
                await terminals.log_out(conn, header.phone)
        except (psycopg.Error, TimeoutError) as exc:
            raise Unfinished(f"database: {exc}") from exc
        self._as(None, None)
        await self._answer(header, Result.SUCCESS)

    async def _locations(self, event: Received, locations: tuple[Location, ...], *, blind: bool) -> None:
        """Publish the fixes in the order sent; answer success once the broker acknowledged every publication."""
        vehicle = self._vehicle
        assert vehicle is not None
        items = []
        unplaced = []
        for index, location in enumerate(locations):
            if payload.impossible(location):
                unplaced.append(f"{index} at {location.time.isoformat()}")
            else:
                items.append(payload.item(vehicle, location, blind=blind))
        if unplaced:
            # Not published (the contract refuses them) but answered: resending would not make them places. One
            # dead letter for the message, not counted against the connection: a terminal in a garage, or a
            # blind-zone batch without a fix, is honest, and closing it would only make it connect again.
            detail = f"0x{event.header.message_id:04x}: {len(unplaced)} fix(es) at 0, 0: {', '.join(unplaced[:20])}"
            self._refusals.add(
                source(self._phone, self._peer), event.raw, Reason.IMPOSSIBLE_COORDINATES, detail, vehicle
            )
        where = topic(self._root, POSITION.device, vehicle, POSITION.name)
        limits = self._limits
        chunks = list(payload.payloads(items, max_bytes=limits.max_payload_bytes, max_items=limits.max_items))
        try:
            # Issued in order on one connection, so the broker takes them in order; each awaits its own PUBACK.
            await asyncio.gather(*(self._broker.publish(where, chunk) for chunk in chunks))
        except BrokerAway as exc:
            raise Unfinished(f"broker: {exc}") from exc
        self._metrics.published.inc(len(items))
        await self._answer(event.last, Result.SUCCESS)

    def _refuse(self, phone: str | None, raw: bytes, reason: Reason, detail: str, device_id: str | None = None) -> None:
        self._refused += 1
        self._refusals.add(source(phone, self._peer), raw, reason, detail, device_id or self._vehicle)

    async def _answer(self, to: Header, result: Result) -> None:
        await self._send(general_response(to, self._next_serial(), result))

    async def _send(self, frame: bytes) -> None:
        # What was refused is recorded before the terminal hears of it.
        await self._refusals.write()
        self._writer.write(frame)
        try:
            # A terminal that sends and never reads would otherwise hold this connection (and its place) for ever.
            async with asyncio.timeout(self._limits.idle_seconds):
                await self._writer.drain()
        except TimeoutError:
            raise _NotReading from None

    def _next_serial(self) -> int:
        serial = self._serial
        self._serial = (serial + 1) % 65536
        return serial
