"""The whole live map kept in one buffer: every vehicle's feature in id order, each in a slot with room to spare,
its age and tail at fixed widths, so that a request writes what changed in place and copies the buffer once."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from api.live.encoding import (
    AGE_BLANK,
    AGE_COLUMNS,
    COLLECTION,
    SLOT_SPARE,
    TAIL_COLUMNS,
    TAIL_WIDTH,
    ages,
)
from api.live.vehicle import OnMap


@dataclass
class Layout:
    """Where the whole map's features lie in its buffer: each in a slot of its own with room to spare."""

    buffer: bytearray
    starts: np.ndarray  # of the slots
    sizes: np.ndarray  # of the slots
    ages: np.ndarray  # (vehicles, AGE_WIDTH): where each age's bytes are
    online: np.ndarray  # the tail each slot holds: online, or offline

    @classmethod
    def of(cls, features: list[bytes], heads: np.ndarray, sizes: np.ndarray) -> Layout:
        """Features in slots of the `sizes` given (at least each feature's length and the spare), comma-separated."""
        spans = sizes + 1
        starts = len(COLLECTION) + np.cumsum(spans) - spans
        buffer = bytearray(b",").join(
            [feature.ljust(size) for feature, size in zip(features, sizes.tolist(), strict=True)]
        )
        buffer[:0] = COLLECTION
        buffer += b"]}"
        ages = (starts + heads)[:, None] + AGE_COLUMNS
        return cls(buffer, starts, sizes.copy(), ages, np.ones(len(features), dtype=bool))  # its own slots' sizes

    def put(self, rows: np.ndarray, features: list[bytes], heads: np.ndarray, lengths: np.ndarray) -> bool:
        """Write features (with their online tails) in their slots if every one fits; returns whether they did."""
        sizes = self.sizes[rows]
        if (lengths > sizes).any():
            return False
        starts = self.starts[rows]
        buffer = self.buffer
        for start, size, feature in zip(starts.tolist(), sizes.tolist(), features, strict=True):
            buffer[start : start + size] = feature.ljust(size)
        self.ages[rows] = (starts + heads)[:, None] + AGE_COLUMNS
        self.online[rows] = True
        return True


@cache  # a vehicle's tails are one pair of a few: one per state
def _padded(tails: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """The offline and online tails, each padded to TAIL_WIDTH before its closing braces."""
    offline, online = tails
    return offline[:-2].ljust(TAIL_WIDTH - 2) + offline[-2:], online[:-2].ljust(TAIL_WIDTH - 2) + online[-2:]


def _encoded(vehicle_ids: Collection[str], vehicles: list[OnMap]) -> tuple[list[bytes], list[bytes], np.ndarray]:
    """The vehicles' heads, their features (age blank, online tail) and their padded tails as (n, 2, TAIL_WIDTH)."""
    heads = [vehicle.head(vehicle_id) for vehicle_id, vehicle in zip(vehicle_ids, vehicles, strict=True)]
    tails = [_padded(vehicle.tails()) for vehicle in vehicles]
    features = [head + AGE_BLANK + online for head, (_, online) in zip(heads, tails, strict=True)]
    rows = np.frombuffer(b"".join(offline + online for offline, online in tails), dtype=np.uint8)
    return heads, features, rows.reshape(len(vehicles), 2, TAIL_WIDTH)


def _lengths(items: list[bytes]) -> np.ndarray:
    return np.fromiter(map(len, items), dtype=np.int64, count=len(items))


@dataclass
class Whole:
    """The whole map's JSON in one buffer, in id order, each vehicle's feature in a slot of its own with room to
    spare, and its age and tail (online and state) at fixed widths: padded with spaces, which JSON allows, some
    8% of the map's bytes.

    A vehicle that moves is written again in its slot; a request writes every age, and the tails of vehicles whose
    online state changed, in place as arrays, and copies the buffer once. Only a feature outgrowing its slot has
    the buffer laid out again, at the next request, its slot grown for good (slots never shrink, so a feature that
    changes length back and forth does not lay the map out again each time).
    """

    order: list[str]
    at: dict[str, int]  # a vehicle's place in `order`
    features: list[bytes]  # with the age blank and the online tail
    stamps: np.ndarray  # the fix times, seconds since the epoch
    tails: np.ndarray  # (vehicles, 2, TAIL_WIDTH) uint8: offline, online
    heads: np.ndarray  # where each age begins within its feature
    sizes: np.ndarray  # of the slots: at least each feature's length and the spare
    layout: Layout | None = None  # None: to lay out at the next request

    @classmethod
    def of(cls, order: list[str], shown: dict[str, OnMap]) -> Whole:
        on_map = [shown[vehicle_id] for vehicle_id in order]
        heads, features, tails = _encoded(order, on_map)
        return cls(
            order,
            {vehicle_id: i for i, vehicle_id in enumerate(order)},
            features,
            np.array([vehicle.stamp for vehicle in on_map], dtype=np.float64),
            tails.copy(),  # writable: rows are written again as vehicles change
            _lengths(heads),
            _lengths(features) + SLOT_SPARE,
        )

    def rewrite(self, vehicle_ids: Collection[str], shown: Mapping[str, OnMap]) -> None:
        """Write these vehicles again as `shown` now has them: in place when each still fits its slot.

        Taken together, the arrays written once for all of them: the thousands of vehicles that move between two
        requests of a city's map cost some 7 us each one by one (numpy's per-item overhead), 3 us so."""
        if not vehicle_ids:
            return
        rows = np.fromiter(map(self.at.__getitem__, vehicle_ids), dtype=np.intp, count=len(vehicle_ids))
        vehicles = [shown[vehicle_id] for vehicle_id in vehicle_ids]
        heads, features, tails = _encoded(vehicle_ids, vehicles)
        self.tails[rows] = tails
        for i, feature in zip(rows.tolist(), features, strict=True):
            self.features[i] = feature
        self.stamps[rows] = [vehicle.stamp for vehicle in vehicles]
        head_lengths = _lengths(heads)
        self.heads[rows] = head_lengths
        lengths = _lengths(features)
        grown = lengths > self.sizes[rows]
        self.sizes[rows[grown]] = lengths[grown] + SLOT_SPARE
        if self.layout is not None and not self.layout.put(rows, features, head_lengths, lengths):
            self.layout = None

    def join(self, clock: float, cutoff: float, tail: bytes = b"]}") -> bytes:
        """The map as of `clock`, its features followed by `tail` (from the bracket that closes them on): one copy."""
        if not self.order:
            return COLLECTION + tail
        if self.layout is None:
            self.layout = Layout.of(self.features, self.heads, self.sizes)
        layout = self.layout
        written = np.frombuffer(layout.buffer, dtype=np.uint8)
        written[layout.ages] = ages(clock - self.stamps)
        online = self.stamps > cutoff
        flipped = np.flatnonzero(online != layout.online)
        if flipped.size:
            tails = layout.ages[flipped, -1:] + 1 + TAIL_COLUMNS
            written[tails] = self.tails[flipped, online[flipped].astype(np.intp)]
            layout.online[flipped] = online[flipped]
        with memoryview(layout.buffer) as view:  # released at once: the buffer is resized when laid out again
            return b"".join((view[:-2], tail))
