"""What the simulated devices publish: readings per tick or per day of history, vehicle reports per step."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Collection

from domain.topics import POSITION, READING
from simulators.city import City
from simulators.faults import Faults, Injected, MessageFaults, MeterFaults, registers_faulty
from simulators.messages import (
    BATCH_ITEMS,
    Habits,
    Message,
    habits,
    message,
    position_item,
    reading_item,
    reading_items,
    stamp,
)
from simulators.meters import day_start, registers, sample_times
from simulators.vehicles import Fleet, Upload

# Meters mostly write RFC 3339; the JT/T 808 gateways in front of terminals mostly epoch milliseconds.
_METER_EPOCH_MS = 0.3
_VEHICLE_EPOCH_MS = 0.6


class MeterFeed:
    """The city's meters over one run: a reading per meter per tick live, or a day per message as history."""

    def __init__(
        self,
        city: City,
        *,
        seed: int,
        root: str,
        faults: Faults,
        interval: float,
        start: float,
        end: float | None = None,
        injected: Injected | None = None,
    ) -> None:
        """Set up the run's registers and faults.

        Args:
            city: whose meters.
            seed: the simulation seed.
            root: the MQTT topic root.
            faults: what to inject (`Faults()` for none).
            interval: seconds between readings.
            start: the run's first instant (epoch s).
            end: the run's end when known (a backfill); places rollovers inside it.
            injected: where to count the faults (shared by several feeds of a run).
        """
        self.root = root
        self.interval = interval
        self.models = registers(city, seed)
        self.injected = injected if injected is not None else Injected()
        self._ids = [m.meter.id for m in self.models]
        self._habits: list[Habits] = [habits(seed, i, epoch_ms_share=_METER_EPOCH_MS) for i in self._ids]
        within = (end - start) if end is not None else faults.rollover_within
        self._faults = (
            [MeterFaults(m, faults, seed=seed, start=start, within=within, injected=self.injected) for m in self.models]
            if registers_faulty(faults)
            else None
        )
        self._messages = MessageFaults(
            faults, seed=seed, family=READING.name, devices=self._ids, start=start, injected=self.injected
        )
        self._late: list[list[dict[str, object]]] = [[] for _ in self.models]

    @property
    def buffered(self) -> int:
        """Readings the meters hold for a late batch that has not gone out yet."""
        return sum(len(held) for held in self._late)

    def first_tick(self, after: float) -> float:
        """The first reading time at or after `after`: meters read on the interval's boundaries."""
        return math.ceil(after / self.interval) * self.interval

    def tick(self, t: float) -> list[Message]:
        """What the meters send at `t`: each its reading, or nothing (silent, buffering), or a late array."""
        out: list[Message] = []
        faults = self._faults
        stamps = (stamp(t, epoch_ms=False), stamp(t, epoch_ms=True))
        for i, model in enumerate(self.models):
            if t < model.installed:
                continue
            value = model.value(t)
            late = False
            if faults is not None:
                shown = faults[i].read(t, value)
                if shown is None:
                    continue
                value, late = shown, faults[i].late(t)
            style = self._habits[i]
            item = reading_item(self._ids[i], stamps[style.epoch_ms], value, style)
            if late:
                self._late[i].append(item)
                self.injected.counts["late_readings"] += 1
                continue
            if self._late[i]:
                out += self._send(i, self._late[i], single=False)
                self._late[i] = []
            out += self._send(i, [item], single=True)
        return out

    def day(self, day: int, t0: float, t1: float) -> list[Message]:
        """History: every meter's readings of one local day within [t0, t1), as array messages."""
        offsets = sample_times(day, self.interval)
        origin = day_start(day)
        times = [origin + h * 3600 for h in offsets]
        lo, hi = bisect_left(times, t0), bisect_left(times, t1)
        if lo >= hi:
            return []
        out: list[Message] = []
        faults = self._faults
        step = BATCH_ITEMS[READING.name]
        # Every meter reads at the same times: stamp them once in each format.
        stamps = ([stamp(t, epoch_ms=False) for t in times], [stamp(t, epoch_ms=True) for t in times])
        for i, model in enumerate(self.models):
            first = max(lo, bisect_left(times, model.installed))
            if first >= hi:
                continue
            values = model.day_values(day, offsets)
            meter_id, style = self._ids[i], self._habits[i]
            at = stamps[style.epoch_ms]
            if faults is None:
                items = reading_items(meter_id, at[first:hi], values[first:hi], style)
            else:
                items = []
                for j in range(first, hi):
                    shown = faults[i].read(times[j], values[j])
                    if shown is not None:
                        items.append(reading_item(meter_id, at[j], shown, style))
            for k in range(0, len(items), step):
                out += self._send(i, items[k : k + step], single=False)
        return out

    def _send(self, i: int, items: list[dict[str, object]], *, single: bool) -> list[Message]:
        if self._messages.active:
            return self._messages.apply(self.root, self._ids[i], items, single=single)
        return [message(self.root, READING.name, self._ids[i], items, single=single)]


class VehicleFeed:
    """The city's vehicles over one run: each terminal's reports as it sends them, or arrays as history.

    The vehicles in `jt808` (indexes in the city's vehicles) report over JT/T 808, not MQTT: `advance` hands their
    uploads back as they are, for their terminals (simulators/terminal.py), and makes messages of the others'.
    """

    def __init__(
        self,
        city: City,
        *,
        seed: int,
        root: str,
        faults: Faults,
        interval: float,
        start: float,
        parked_interval: float = 300.0,
        injected: Injected | None = None,
        jt808: Collection[int] = (),
    ) -> None:
        self.root = root
        self.jt808 = frozenset(jt808)
        self.fleet = Fleet(city, seed, start, interval=interval, parked_interval=parked_interval)
        self.injected = injected if injected is not None else Injected()
        self._ids = [v.id for v in city.vehicles]
        self._habits = [habits(seed, i, epoch_ms_share=_VEHICLE_EPOCH_MS) for i in self._ids]
        self._messages = MessageFaults(
            faults, seed=seed, family=POSITION.name, devices=self._ids, start=start, injected=self.injected
        )
        self._history: list[list[dict[str, object]]] = [[] for _ in self._ids]

    def step(self, until: float) -> list[Message]:
        """Advance to `until` and return what the MQTT terminals send: live fixes, and blind-zone arrays."""
        return self.advance(until)[0]

    def advance(self, until: float) -> tuple[list[Message], list[Upload]]:
        """Advance to `until`: the MQTT terminals' messages (live fixes, blind-zone arrays) and the JT/T 808
        terminals' uploads."""
        out: list[Message] = []
        aside: list[Upload] = []
        for upload in self.fleet.step(until):
            if upload.blind:
                self.injected.counts["blind_uploads"] += 1
                self.injected.counts["blind_positions"] += len(upload.fixes)
            if upload.vehicle in self.jt808:
                aside.append(upload)
                continue
            out += self._send(upload.vehicle, self._items(upload), single=not upload.blind)
        return out, aside

    def history(self, until: float, *, flush: bool) -> list[Message]:
        """History: advance to `until`, keeping each vehicle's fixes; send full arrays (and, with `flush`,
        every vehicle's remainder) as messages. Blind-zone fixes keep their `blind` mark."""
        step = BATCH_ITEMS[POSITION.name]
        out: list[Message] = []
        for upload in self.fleet.step(until):
            kept = self._history[upload.vehicle]
            kept += self._items(upload)
            if len(kept) >= step:
                out += self._send(upload.vehicle, kept[:step], single=False)
                del kept[:step]
        if flush:
            for vehicle, kept in enumerate(self._history):
                if kept:
                    out += self._send(vehicle, kept, single=False)
                    self._history[vehicle] = []
        return out

    def _items(self, upload: Upload) -> list[dict[str, object]]:
        vehicle_id, style = self._ids[upload.vehicle], self._habits[upload.vehicle]
        return [position_item(vehicle_id, fix, style) for fix in upload.fixes]

    def _send(self, vehicle: int, items: list[dict[str, object]], *, single: bool) -> list[Message]:
        if self._messages.active:
            return self._messages.apply(self.root, self._ids[vehicle], items, single=single)
        return [message(self.root, POSITION.name, self._ids[vehicle], items, single=single)]
