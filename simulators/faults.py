"""What goes wrong with real devices, injected on purpose, seeded, and counted so tests can check the collector.

Register faults (reset, replacement, rollover), gaps and late batches are decided per meter over one
run; duplicates and malformed messages per message. Everything is drawn from streams keyed by the seed,
the device and the run's start, so the same run injects the same faults.

A rollover is arranged at the start of a run: the meter's register is shifted so that it passes
`register_max` at a chosen moment of the run and wraps. Against an earlier run that shift is a jump;
runs with faults are for testing the collector, not for building a clean history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.dead_letter import Reason
from domain.topics import POSITION, READING
from simulators.messages import CST, Message, message
from simulators.meters import DAY, Register
from simulators.seeds import stream


class FaultKind(StrEnum):
    """The kinds of fault, each with its own toggle."""

    RESET = "reset"  # the register drops to about zero
    REPLACEMENT = "replacement"  # a new meter under the same id, starting from a small value
    ROLLOVER = "rollover"  # the register passes register_max and wraps
    GAP = "gap"  # the meter is silent for hours; its readings are lost
    LATE = "late"  # the meter buffers for hours, then sends one array
    DUPLICATE = "duplicate"  # the same message published twice
    MALFORMED = "malformed"  # a message the collector must refuse


class Malformation(StrEnum):
    """How a malformed message is broken."""

    TRUNCATED = "truncated"
    NAN_BARE = "nan_bare"  # NaN as a bare JSON token: not JSON at all
    NAN_TEXT = "nan_text"  # "NaN" as a string where a number belongs
    WRONG_TYPE = "wrong_type"
    IMPOSSIBLE = "impossible"  # a negative register, a latitude beyond 90
    NAIVE_TIME = "naive_time"  # a timestamp without an offset
    FUTURE = "future"
    ANCIENT = "ancient"
    OTHER_DEVICE = "other_device"  # the payload names another device than its topic
    UNKNOWN_DEVICE = "unknown_device"  # a device the registry does not know


_VERDICTS: dict[Malformation, Reason] = {
    Malformation.TRUNCATED: Reason.MALFORMED_JSON,
    Malformation.NAN_BARE: Reason.MALFORMED_JSON,
    Malformation.NAN_TEXT: Reason.INVALID_FIELD,
    Malformation.WRONG_TYPE: Reason.INVALID_FIELD,
    Malformation.IMPOSSIBLE: Reason.INVALID_FIELD,
    Malformation.NAIVE_TIME: Reason.INVALID_FIELD,
    Malformation.FUTURE: Reason.FUTURE_TIME,
    Malformation.ANCIENT: Reason.TOO_OLD,
    Malformation.OTHER_DEVICE: Reason.DEVICE_MISMATCH,
    Malformation.UNKNOWN_DEVICE: Reason.UNKNOWN_DEVICE,
}


def verdict(family: str, malformation: Malformation) -> Reason:
    """The dead-letter reason the collector gives a message broken this way."""
    if family == POSITION.name and malformation is Malformation.IMPOSSIBLE:
        return Reason.IMPOSSIBLE_COORDINATES
    return _VERDICTS[malformation]


@dataclass(frozen=True, slots=True)
class Faults:
    """Which faults to inject and how often; `level` (0..1, the `sim_faults` setting) scales every rate.

    Rates are at level 1: per meter and day for the register faults, gaps and late batches; per message
    for duplicates and malformed messages.
    """

    level: float = 0.0
    kinds: frozenset[FaultKind] = frozenset(FaultKind)
    resets_per_day: float = 1 / 60
    replacements_per_day: float = 1 / 120
    rollover_share: float = 0.05  # of meters whose register wraps once during the run
    rollover_within: float = DAY  # s: live runs place the wrap this soon after the start
    gaps_per_day: float = 0.2
    gap_hours: tuple[float, float] = (1.0, 8.0)
    lates_per_day: float = 0.2
    late_hours: tuple[float, float] = (1.0, 6.0)
    duplicate: float = 0.02
    malformed: float = 0.01

    @classmethod
    def only(cls, *kinds: FaultKind, level: float = 1.0, **rates: Any) -> Faults:
        """Just these kinds, e.g. `Faults.only(FaultKind.GAP, gaps_per_day=2)`."""
        return cls(level, frozenset(kinds), **rates)

    def rate(self, kind: FaultKind) -> float:
        """The level that applies to a kind: 0 when it is off."""
        return self.level if kind in self.kinds else 0.0

    def any(self, *kinds: FaultKind) -> bool:
        return any(self.rate(k) > 0 for k in kinds or tuple(FaultKind))


_REGISTER_KINDS = (FaultKind.RESET, FaultKind.REPLACEMENT, FaultKind.ROLLOVER, FaultKind.GAP, FaultKind.LATE)


@dataclass
class Injected:
    """What was injected: counts per kind (and per malformation), and the register events with their times."""

    counts: Counter[str] = field(default_factory=Counter)
    events: list[tuple[str, float, FaultKind]] = field(default_factory=list)

    def note(self, device_id: str, t: float, kind: FaultKind) -> None:
        self.counts[kind] += 1
        if kind in (FaultKind.RESET, FaultKind.REPLACEMENT, FaultKind.ROLLOVER):
            self.events.append((device_id, t, kind))


def registers_faulty(faults: Faults) -> bool:
    """Whether any per-meter fault is on (the fast clean path is taken otherwise)."""
    return faults.any(*_REGISTER_KINDS)


class MeterFaults:
    """The faults of one meter over one run: register discontinuities, silences and late batches."""

    __slots__ = (
        "_faults",
        "_gap",
        "_injected",
        "_late",
        "_next",
        "_offset",
        "_register",
        "_rng",
        "_roll_at",
        "_rolled",
    )

    def __init__(
        self, register: Register, faults: Faults, *, seed: int, start: float, within: float, injected: Injected
    ) -> None:
        """Plan the run's faults.

        Args:
            register: the clean register of the meter.
            faults: what to inject.
            seed: the simulation seed.
            start: the run's first instant (epoch s).
            within: how long after `start` a rollover may be placed (the run's length when known).
            injected: where to count.
        """
        self._register = register
        self._faults = faults
        self._injected = injected
        self._rng = rng = stream(seed, "meter-faults", register.meter.id, int(start))
        self._offset = 0.0
        self._gap = (0.0, 0.0)
        self._late = (0.0, 0.0)
        self._next = {kind: start + self._wait(kind) for kind in _REGISTER_KINDS if kind is not FaultKind.ROLLOVER}
        self._roll_at: float | None = None
        self._rolled = False
        top = register.meter.register_max
        if rng.random() < faults.rollover_share * faults.rate(FaultKind.ROLLOVER):
            at = max(start, register.installed) + within * rng.uniform(0.05, 0.95)
            clean = register.value(at)
            if clean - register.value(max(start, register.installed)) < top:
                self._offset = top - clean
                self._roll_at = at

    def _per_day(self, kind: FaultKind) -> float:
        f = self._faults
        rates = {
            FaultKind.RESET: f.resets_per_day,
            FaultKind.REPLACEMENT: f.replacements_per_day,
            FaultKind.GAP: f.gaps_per_day,
            FaultKind.LATE: f.lates_per_day,
        }
        return rates[kind] * f.rate(kind)

    def _wait(self, kind: FaultKind) -> float:
        rate = self._per_day(kind)
        return self._rng.expovariate(rate / DAY) if rate > 0 else float("inf")

    def read(self, t: float, clean: float) -> float | None:
        """The register the meter shows at `t` given the clean one, or None when it is silent (a gap)."""
        meter_id = self._register.meter.id
        nxt = self._next
        while True:
            kind = min(nxt, key=nxt.__getitem__)
            at = nxt[kind]
            if at > t:
                break
            if kind in (FaultKind.RESET, FaultKind.REPLACEMENT):
                restart = self._rng.uniform(0, 0.5) if kind is FaultKind.RESET else self._rng.uniform(1, 30)
                self._offset = restart - self._register.value(at)
                if not self._rolled:
                    self._roll_at = None  # a fresh register will not reach its maximum in this run
                nxt[kind] = at + self._wait(kind)
            else:
                hours = self._faults.gap_hours if kind is FaultKind.GAP else self._faults.late_hours
                window = (at, at + self._rng.uniform(*hours) * 3600)
                if kind is FaultKind.GAP:
                    self._gap = window
                else:
                    self._late = window
                nxt[kind] = window[1] + self._wait(kind)
            self._injected.note(meter_id, at, kind)
        if self._roll_at is not None and not self._rolled and t >= self._roll_at:
            self._rolled = True
            self._injected.note(meter_id, self._roll_at, FaultKind.ROLLOVER)
        value = clean + self._offset
        top = self._register.meter.register_max
        if value >= top:
            value -= top
        if self._gap[0] <= t < self._gap[1]:
            self._injected.counts["gap_readings"] += 1
            return None
        return value

    def late(self, t: float) -> bool:
        """Whether a reading at `t` goes into the meter's buffer instead of out."""
        return self._late[0] <= t < self._late[1]


class MessageFaults:
    """Duplicates and malformed messages of one family, drawn per message."""

    def __init__(
        self, faults: Faults, *, seed: int, family: str, devices: Sequence[str], start: float, injected: Injected
    ) -> None:
        self._family = family
        self._devices = devices
        self._duplicate = faults.duplicate * faults.rate(FaultKind.DUPLICATE)
        self._malformed = faults.malformed * faults.rate(FaultKind.MALFORMED)
        self._rng = stream(seed, "message-faults", family, int(start))
        self._injected = injected
        self.active = self._duplicate > 0 or self._malformed > 0

    def apply(self, root: str, device_id: str, items: list[dict[str, object]], *, single: bool) -> list[Message]:
        """The messages a device's report turns into.

        A malformed live report replaces the good one (its reading is lost, as on a real line); for an
        array the malformed message comes in addition, built from one of its items.
        """
        rng = self._rng
        out: list[Message] = []
        broken = self._malformed and rng.random() < self._malformed
        if not (broken and single):
            good = message(root, self._family, device_id, items, single=single)
            out.append(good)
            if self._duplicate and rng.random() < self._duplicate:
                out.append(replace(good, duplicate=True))
                self._injected.counts[FaultKind.DUPLICATE] += 1
        if broken:
            how = rng.choice(list(Malformation))
            out.append(self._break(root, device_id, dict(rng.choice(items)), how))
            self._injected.counts[FaultKind.MALFORMED] += 1
            self._injected.counts[f"malformed:{how}"] += 1
        return out

    def _break(self, root: str, device_id: str, item: dict[str, object], how: Malformation) -> Message:
        device_id = self._spoil(device_id, item, how)
        payload = message(root, self._family, device_id, [item], single=True)
        data = payload.payload
        if how is Malformation.TRUNCATED:
            data = data[: max(1, len(data) // 2)]
        elif how is Malformation.NAN_BARE:
            name = f'"{self._numeric}":'.encode()
            head, _, tail = data.partition(name)
            rest = tail.split(b",", 1)
            data = head + name + b"NaN" + (b"," + rest[1] if len(rest) > 1 else b"}")
        return Message(payload.topic, data, self._family, 0, verdict=verdict(self._family, how))

    @property
    def _numeric(self) -> str:
        return "register" if self._family == READING.name else "speed"

    def _spoil(self, device_id: str, item: dict[str, object], how: Malformation) -> str:
        """Change the item's fields the way `how` says; returns the device id of the topic."""
        rng = self._rng
        is_reading = self._family == READING.name
        device_field = READING.device if is_reading else POSITION.device
        spoilt: dict[Malformation, dict[str, object]] = {
            Malformation.NAN_TEXT: {self._numeric: "NaN"},
            Malformation.WRONG_TYPE: {"register": str(item.get("register"))} if is_reading else {"ignition": "on"},
            Malformation.IMPOSSIBLE: (
                {"register": -1.0 - rng.uniform(0, 100)} if is_reading else {"latitude": 90.0 + rng.uniform(0.5, 10)}
            ),
            Malformation.NAIVE_TIME: {"time": _naive(item["time"])},
            Malformation.FUTURE: {"time": "2100-01-01T08:00:00+08:00"},
            Malformation.ANCIENT: {"time": "1999-12-31T08:00:00+08:00"},
        }
        item.update(spoilt.get(how, {}))
        if how is Malformation.OTHER_DEVICE:
            other = rng.choice(self._devices)
            item[device_field] = other if other != device_id else f"{device_id}x"
        elif how is Malformation.UNKNOWN_DEVICE:
            item.pop(device_field, None)
            return f"ghost-{rng.randrange(16**6):06x}"
        return device_id


def _naive(value: object) -> str:
    """A device clock that forgot its offset: local wall time without a zone."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, CST).replace(tzinfo=None).isoformat()
    return str(value)[:19]
