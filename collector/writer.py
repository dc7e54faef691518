"""A batch of messages in, one committed transaction out: rows, live positions and dead letters."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from collector import emqx_jt808
from collector.contract import Limits
from collector.families import PARSERS, route
from collector.inbox import Received
from collector.invalid import InvalidMessage
from collector.metrics import Metrics
from db import ingest
from domain import topics
from domain.dead_letter import Reason
from domain.device_rate import DeviceRate
from domain.position import Position
from domain.reading import Reading
from domain.topics import EMQX_JT808_UP, FAMILIES, POSITION, READING, Family

log = logging.getLogger(__name__)

# A device kind is named as the registry table its devices are in (meter, vehicle).
_DEVICES = tuple(family.device for family in FAMILIES)
# The one allowance shared by every sender that is not a registered device (unknown ids, unknown topics): a
# gateway inventing ids gets no allowance per id, and the limiter's keys stay as many as the registry's.
_UNREGISTERED = ""
# Bounds of a dead letter's text fields: a topic from a service account may be 64 KiB, an item's field names too.
_TOPIC_CHARS = 512
_DETAIL_CHARS = 500
# The first level of EMQX's JT/T 808 up topics: only these are looked at for a phone number.
_EMQX_PREFIX = EMQX_JT808_UP.split("/")[0] + "/"


class KnownDevices:
    """The registry's device ids, and its meters' installation dates, cached; a miss is looked up once per batch
    before it is refused, so a device registered a moment ago is accepted at once.

    Args:
        refresh_seconds: how long the cache is trusted before it is loaded whole again.
        zone: the city's zone: a meter's readings are accepted from the local midnight that starts the day it was
            installed on.
    """

    def __init__(self, refresh_seconds: float, zone: ZoneInfo) -> None:
        self._refresh_seconds = refresh_seconds
        self._zone = zone
        self._ids: dict[str, set[str]] = {device: set() for device in _DEVICES}
        self._installed: dict[str, datetime] = {}
        self._loaded_at = -float("inf")
        # Terminal id without its leading zeros -> vehicle id; loaded only by a collector that reads EMQX's topics.
        self._terminals: dict[str, str] = {}
        self._terminals_loaded_at = -float("inf")

    def installed(self, meter_id: str) -> datetime | None:
        """The first moment of the day the meter was installed on (None: the registry has no date): a reading
        before it is a wrong clock, not history."""
        return self._installed.get(meter_id)

    def _remember(self, installed: dict[str, date]) -> None:
        for meter_id, day in installed.items():
            self._installed[meter_id] = datetime(day.year, day.month, day.day, tzinfo=self._zone)

    async def unknown(self, conn: AsyncConnection, wanted: dict[str, set[str]]) -> dict[str, set[str]]:
        """Of the wanted ids per device kind, those the registry does not hold."""
        if time.monotonic() - self._loaded_at > self._refresh_seconds:
            # Reloading whole also forgets devices removed from the registry.
            for table in self._ids:
                self._ids[table] = await ingest.all_devices(conn, table)
            self._installed = {}
            self._remember(await ingest.meter_installations(conn))
            self._loaded_at = time.monotonic()
        result: dict[str, set[str]] = {}
        for device, ids in wanted.items():
            missing = ids - self._ids[device]
            if missing:
                found = await ingest.known_devices(conn, device, sorted(missing))
                self._ids[device] |= found
                if device == READING.device and found:
                    self._remember(await ingest.meter_installations(conn, sorted(found)))
                missing -= found
            result[device] = missing
        return result

    async def vehicles_of(self, conn: AsyncConnection, phones: set[str]) -> dict[str, str]:
        """The vehicle (not retired) of each of these terminal phone numbers that the registry holds, keyed by
        emqx_jt808.terminal_key; a miss is looked up before it is refused, as a device id is."""
        if time.monotonic() - self._terminals_loaded_at > self._refresh_seconds:
            # Whole, so that a terminal moved to another vehicle, or a vehicle retired, is seen.
            self._terminals = await ingest.vehicle_terminals(conn)
            self._terminals_loaded_at = time.monotonic()
        keys = {emqx_jt808.terminal_key(phone) for phone in phones}
        missing = keys - self._terminals.keys()
        if missing:
            self._terminals |= await ingest.vehicle_terminals(conn, sorted(missing))
        return {key: self._terminals[key] for key in keys if key in self._terminals}


@dataclass
class _Prepared:
    """A batch sorted into what each table gets."""

    readings: dict[tuple[str, datetime], Reading] = field(default_factory=dict)
    # Later readings of a key already in the batch with another register: not stored, recorded as conflicts.
    resent: list[Reading] = field(default_factory=list)
    positions: dict[tuple[str, datetime], Position] = field(default_factory=dict)
    dead: list[tuple[Any, ...]] = field(default_factory=list)
    # Rate-limited messages, one row per (device, minute), the count last: ingest.count_dead_letters adds them.
    limited: dict[tuple[str | None, float], list[Any]] = field(default_factory=dict)
    # Size and hash of each payload refused so far, by id(): its first dead letter alone keeps the prefix.
    refused: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    received: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    # Messages that hold nothing to store (EMQX's heartbeats, registrations, ...), by message id.
    ignored: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Outcome:
    """What one committed batch did."""

    received: dict[str, int]
    stored: dict[str, int]
    duplicates: dict[str, int]
    rejected: dict[str, int]
    ignored: dict[str, int] = field(default_factory=dict)


# A message of a batch: its family and device id, whether that is registered, why it cannot be routed, and the
# phone number in the topic of an EMQX message.
_Routed = tuple[Received, Family | None, str | None, bool, InvalidMessage | None, str | None]


class Writer:
    """Writes batches: validate, check devices, COPY, update live positions, record dead letters.

    Args:
        pool: the process's connection pool.
        root: the topic root, e.g. `yiwang`.
        limits: the bounds of the device contract.
        devices: the registry cache.
        metrics: counters to update after each commit.
        retry_max: the longest pause between attempts while the database is away.
        rate: what each device may send; None: no limit.
        prefix_bytes: how much of a refused payload a dead letter keeps.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection],
        *,
        root: str,
        limits: Limits,
        devices: KnownDevices,
        metrics: Metrics,
        retry_max: float = 10.0,
        rate: DeviceRate | None = None,
        prefix_bytes: int = 1024,
    ) -> None:
        self._pool = pool
        self._root = root
        self._limits = limits
        self._devices = devices
        self._metrics = metrics
        self._retry_max = retry_max
        self._rate = rate
        self._prefix_bytes = prefix_bytes

    async def write(self, batch: Sequence[Received], abandon: asyncio.Event) -> Outcome | None:
        """Commit the batch, retrying with backoff while the database is away.

        Returns:
            What was written, or None if `abandon` was set before the batch could be committed
            (the messages stay unacknowledged and the broker sends them again).
        """
        delay = 0.2
        # Each message is judged against its sender's allowance once, however often its batch is tried.
        verdicts: dict[int, bool] = {}
        while True:
            started = time.monotonic()
            try:
                outcome = await self._write_once(batch, verdicts)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                self._metrics.db_errors.inc()
                self._metrics.db_ok.set(0)
                log.warning("database unavailable (%s); retrying in %.1f s", str(exc).strip()[:200], delay)
                try:
                    await asyncio.wait_for(abandon.wait(), delay)
                except TimeoutError:
                    delay = min(delay * 2, self._retry_max) * random.uniform(0.8, 1.0)
                    continue
                return None
            self._observe(batch, outcome, time.monotonic() - started)
            return outcome

    async def _write_once(self, batch: Sequence[Received], verdicts: dict[int, bool]) -> Outcome:
        # A short wait: while the database is away the retry loop, not the pool, decides what next.
        async with self._pool.connection(timeout=5) as conn:
            prepared = await self._prepare(conn, batch, verdicts)
            try:
                async with conn.transaction():
                    stored = await self._store(conn, prepared)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                # The database refuses something validation let through: find it, refuse it alone.
                log.error("database refused a batch of %d (%s); isolating the message", len(batch), exc)
                if len(batch) == 1:
                    return await self._refuse(conn, batch[0], exc)
            else:
                return Outcome(
                    received=dict(prepared.received),
                    stored=stored,
                    duplicates={
                        "reading": len(prepared.readings) - stored["reading"],
                        "position": len(prepared.positions) - stored["position"],
                    },
                    rejected=dict(prepared.rejected),
                    ignored=dict(prepared.ignored),
                )
        # Each half on a connection of its own, after this one went back: a write never holds two.
        half = len(batch) // 2
        first = await self._write_once(batch[:half], verdicts)
        return _merge(first, await self._write_once(batch[half:], verdicts))

    async def _route(self, conn: AsyncConnection, batch: Sequence[Received], prepared: _Prepared) -> list[_Routed]:
        """Each message with its family, its device id, whether that is registered, why it cannot be routed, and the
        phone number of an EMQX message (its device is the vehicle registered with that terminal id)."""
        routed: list[tuple[Received, Family | None, str | None, InvalidMessage | None, str | None]] = []
        wanted: dict[str, set[str]] = {device: set() for device in _DEVICES}
        phones = {
            item.topic: phone
            for item in batch
            if item.topic.startswith(_EMQX_PREFIX) and (phone := emqx_jt808.phone_of(item.topic)) is not None
        }
        terminals = await self._devices.vehicles_of(conn, set(phones.values())) if phones else {}
        for item in batch:
            phone = phones.get(item.topic)
            if phone is not None:
                prepared.received[emqx_jt808.NAME] += 1
                vehicle = terminals.get(emqx_jt808.terminal_key(phone))
                if vehicle is None:
                    detail = f"no vehicle in service has terminal id {phone!r}"
                    routed.append((item, None, None, InvalidMessage(Reason.UNKNOWN_DEVICE, detail), phone))
                else:
                    routed.append((item, POSITION, vehicle, None, phone))
                continue
            try:
                found, named = route(self._root, item.topic)
            except InvalidMessage as exc:
                prepared.received["unknown"] += 1
                routed.append((item, None, None, exc, None))
                continue
            wanted[found.device].add(named)
            prepared.received[found.name] += 1
            routed.append((item, found, named, None, None))
        unknown = await self._devices.unknown(conn, wanted)
        return [
            (item, family, device_id, family is not None and device_id not in unknown[family.device], unroutable, phone)
            for item, family, device_id, unroutable, phone in routed
        ]

    async def _prepare(self, conn: AsyncConnection, batch: Sequence[Received], verdicts: dict[int, bool]) -> _Prepared:
        prepared = _Prepared()
        for item, family, device_id, registered, unroutable, phone in await self._route(conn, batch, prepared):
            # Before reading the payload: a device over its allowance costs a count, not a parse or a row.
            if self._rate is not None:
                within = verdicts.get(id(item))
                if within is None:
                    key = device_id if registered and device_id is not None else _UNREGISTERED
                    within = verdicts[id(item)] = self._rate.allow(key, len(item.payload), item.at)
                if not within:
                    self._limited(prepared, item, device_id if registered else None)
                    continue
            if family is None or device_id is None:
                assert unroutable is not None
                self._dead(prepared, item, None, unroutable.reason, unroutable.detail)
                continue
            if not registered:
                self._dead(
                    prepared,
                    item,
                    device_id,
                    Reason.UNKNOWN_DEVICE,
                    f"{family.device} {device_id!r} is not in the registry",
                )
                continue
            received_at = datetime.fromtimestamp(item.at, UTC)
            payload = item.payload
            try:
                if phone is None:
                    rows, rejected = PARSERS[family](device_id, payload, received_at, self._limits)
                else:
                    rows, rejected = emqx_jt808.parse(device_id, phone, payload, received_at, self._limits)
            except emqx_jt808.Ignored as exc:
                prepared.ignored[exc.message] += 1
                continue
            except InvalidMessage as exc:
                self._dead(prepared, item, device_id, exc.reason, exc.detail)
                continue
            except Exception as exc:
                # A parser bug must not turn one message into a crash loop (it would be redelivered
                # after every restart): keep it with its reason and go on.
                log.exception("parser of %s failed on a message from %s", family.name, device_id)
                self._dead(prepared, item, device_id, Reason.INVALID_FIELD, f"unreadable: {type(exc).__name__}: {exc}")
                continue
            for bad in rejected:
                self._dead(prepared, item, device_id, bad.reason, bad.detail)
            rows = self._installed_rows(prepared, item, device_id, rows) if family is READING else rows
            _keep(prepared, family, rows)
        return prepared

    def _installed_rows(self, prepared: _Prepared, item: Received, meter_id: str, rows: list[Any]) -> list[Any]:
        """The readings of a meter from its installation date on; each earlier one is refused with its reason (a
        wrong clock would otherwise open a gap of years in the meter's history)."""
        installed = self._devices.installed(meter_id)
        if installed is None:
            return rows
        kept = []
        for row in rows:
            if row.time < installed:
                self._dead(
                    prepared,
                    item,
                    meter_id,
                    Reason.BEFORE_INSTALLATION,
                    f"{row.time.isoformat()} is before the meter's installation on {installed.date()} "
                    f"({installed.isoformat()})",
                )
            else:
                kept.append(row)
        return kept

    def _refusal(self, prepared: _Prepared, item: Received) -> tuple[bytes, int, bytes]:
        """The prefix a dead letter of `item` keeps (empty after its first), the payload's size and SHA-256."""
        payload = item.payload
        known = prepared.refused.get(id(item))
        if known is not None:
            return b"", *known
        size_and_hash = prepared.refused[id(item)] = (len(payload), hashlib.sha256(payload).digest())
        return payload[: self._prefix_bytes], *size_and_hash

    def _dead(self, prepared: _Prepared, item: Received, device_id: str | None, reason: Reason, detail: str) -> None:
        prefix, size, digest = self._refusal(prepared, item)
        prepared.dead.append(
            (
                datetime.fromtimestamp(item.at, UTC),
                item.topic[:_TOPIC_CHARS],
                prefix,
                reason.value,
                detail[:_DETAIL_CHARS],
                device_id,
                size,
                digest,
                1,
            )
        )
        prepared.rejected[reason.value] += 1

    def _limited(self, prepared: _Prepared, item: Received, device_id: str | None) -> None:
        """Count a message over its sender's allowance in the row of its device and minute."""
        prepared.rejected[Reason.RATE_LIMITED.value] += 1
        minute = item.at - item.at % 60
        counted = prepared.limited.get((device_id, minute))
        if counted is not None:
            counted[-1] += 1
            return
        assert self._rate is not None
        allowance = self._rate.allowance
        prefix, size, digest = self._refusal(prepared, item)
        prepared.limited[(device_id, minute)] = [
            datetime.fromtimestamp(minute, UTC),
            item.topic[:_TOPIC_CHARS],
            prefix,
            Reason.RATE_LIMITED.value,
            f"over {allowance.messages_per_minute:g} messages or {allowance.bytes_per_minute:g} bytes a minute "
            f"(burst {allowance.burst_minutes:g} minutes): `refused` counts the messages of the minute from "
            "received_at, the payload is the first of them"
            + ("" if device_id is not None else ", from senders that are not registered devices"),
            device_id,
            size,
            digest,
            1,
        ]

    async def _store(self, conn: AsyncConnection, prepared: _Prepared) -> dict[str, int]:
        stored = {"reading": 0, "position": 0}
        if prepared.positions:
            rows = list(prepared.positions.values())
            stored["position"] = await ingest.insert_positions(conn, rows)
            newest: dict[str, Position] = {}
            for row in rows:
                current = newest.get(row.vehicle_id)
                if current is None or row.time > current.time:
                    newest[row.vehicle_id] = row
            await ingest.update_live(conn, list(newest.values()))
        # Readings last: they widen their meters' spans (db/ingest.py), whose rows other collectors of the group may
        # be waiting to widen too, so they are held for as short a time as possible, until the commit.
        if prepared.readings:
            stored["reading"] = await ingest.insert_readings(conn, list(prepared.readings.values()), prepared.resent)
        if prepared.dead:
            await ingest.insert_dead_letters(conn, prepared.dead)
        if prepared.limited:
            await ingest.count_dead_letters(conn, list(prepared.limited.values()))
        return stored

    async def _refuse(self, conn: AsyncConnection, item: Received, exc: psycopg.Error) -> Outcome:
        prepared = _Prepared()
        found = topics.route(self._root, item.topic)
        self._dead(prepared, item, found and found[1], Reason.DATABASE_REFUSED, str(exc).strip())
        async with conn.transaction():
            await ingest.insert_dead_letters(conn, prepared.dead)
        return Outcome(dict(prepared.received), {}, {}, dict(prepared.rejected))

    def _observe(self, batch: Sequence[Received], outcome: Outcome, seconds: float) -> None:
        m = self._metrics
        now = time.time()
        m.db_ok.set(1)
        m.last_commit.set(now)
        m.batch_size.observe(len(batch))
        m.batch_seconds.observe(seconds)
        m.lag.observe(now - batch[0].at)
        for family, count in outcome.received.items():
            m.received.labels(family).inc(count)
        for family in (f.name for f in FAMILIES):
            m.stored.labels(family).inc(outcome.stored.get(family, 0))
            m.duplicates.labels(family).inc(outcome.duplicates.get(family, 0))
        for reason, count in outcome.rejected.items():
            m.rejected.labels(reason).inc(count)
        for message, count in outcome.ignored.items():
            m.ignored.labels(message).inc(count)


def _keep(prepared: _Prepared, family: Family, rows: Sequence[Any]) -> None:
    """Add a message's rows to the batch's. The first of two rows with one key wins, as it does against stored
    rows; a later reading with another register is set aside to be recorded as a conflict."""
    if family is READING:
        for row in rows:
            kept = prepared.readings.setdefault((row[0], row[1]), row)
            if kept.register != row.register:
                prepared.resent.append(row)
    else:
        for row in rows:
            prepared.positions.setdefault((row[0], row[1]), row)


def _merge(a: Outcome, b: Outcome) -> Outcome:
    def add(x: dict[str, int], y: dict[str, int]) -> dict[str, int]:
        return dict(Counter(x) + Counter(y))

    return Outcome(
        add(a.received, b.received),
        add(a.stored, b.stored),
        add(a.duplicates, b.duplicates),
        add(a.rejected, b.rejected),
        add(a.ignored, b.ignored),
    )
