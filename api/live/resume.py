"""What changed on the live map since a client last heard of it: the map's versions and the cursors that name them,
so that a client reconnecting (a page after a network blip, a system polling GET /positions/live) gets only the
vehicles that changed, not the whole map again (8.6 MB at 20,000 vehicles).

Each turn of the feed that changes anything (`LiveFeed.tick`) is a new version of the map, and every vehicle it
changed, or took off the map, is noted with it. A cursor names a version, the API process whose map it is (a
process's versions mean nothing to another, nor after a restart) and the filter it was given for (a delta is right
only for the filter whose vehicles the client has). A cursor older than `keep_seconds` is not honoured: the vehicles
that left the map are forgotten after that, and the whole map is sent, saying why.

Memory: an int per vehicle, and the vehicles that left the map and the turns of the last `keep_seconds`.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from api.live.subscriptions import Filter, Key


def read_cursor(text: str) -> tuple[str, int, str]:
    """A cursor's parts: the process's epoch, the version, the filter's digest.

    Raises:
        ValueError: it is not a cursor (the message says what is).
    """
    parts = text.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 18:
        raise ValueError("since is a cursor as the live map gave it (its `cursor`)")
    return parts[0], int(parts[1]), parts[2]


def _digest(filter: Filter) -> str:
    # Python's hash of strings differs between processes; a cursor is of one process anyway (its epoch).
    return f"{hash(filter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


@dataclass
class History:
    """The versions of one process's live map, and what each changed."""

    keep_seconds: float
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))  # this process's map
    version: int = 0  # of the newest turn that changed anything
    floor: int = 0  # cursors of older versions are not honoured
    # Vehicle -> the version that last changed it, oldest first (a change moves the vehicle to the end).
    _changed: dict[str, int] = field(default_factory=dict)
    # Vehicle -> the version that took it off the map, and its unit then; oldest first.
    _gone: dict[str, tuple[int, str]] = field(default_factory=dict)
    _moved: dict[str, int] = field(default_factory=dict)  # vehicle -> the version that last changed its unit
    _turns: deque[tuple[float, int]] = field(default_factory=deque)  # (clock, version), oldest first

    def turn(self, clock: float) -> int:
        """A new version, at `clock` (seconds since the epoch)."""
        self.version += 1
        self._turns.append((clock, self.version))
        return self.version

    def forget(self, clock: float) -> None:
        """Forget the versions older than `keep_seconds` as of `clock`, and the vehicles that left the map then."""
        while self._turns and self._turns[0][0] < clock - self.keep_seconds:
            self.floor = self._turns.popleft()[1]
        while self._gone:
            vehicle_id, (version, _) = next(iter(self._gone.items()))
            if version > self.floor:
                break
            del self._gone[vehicle_id]

    def note(self, vehicle_id: str, before: Key | None, after: Key | None) -> None:
        """A vehicle changed in this version: `after` None, it left the map."""
        self._changed.pop(vehicle_id, None)
        self._gone.pop(vehicle_id, None)
        if after is None:
            if before is not None:
                self._gone[vehicle_id] = (self.version, before.organisation_id)
            return
        self._changed[vehicle_id] = self.version
        if before is not None and before.organisation_id != after.organisation_id:
            self._moved[vehicle_id] = self.version

    def cursor(self, filter: Filter) -> str:
        """The cursor of the current version, for a client of this filter."""
        return f"{self.epoch}.{self.version}.{_digest(filter)}"

    def start(self, cursor: str, filter: Filter) -> int | str:
        """The version a client of `filter` with this cursor has, or why the whole map is sent instead.

        Raises:
            ValueError: it is not a cursor.
        """
        epoch, version, digest = read_cursor(cursor)
        if epoch != self.epoch:
            return "the cursor is of another API process, or of one since restarted: here is the whole map"
        if digest != _digest(filter):
            return "the cursor was given for other filters, or your units changed: here is the whole map"
        if not self.floor <= version <= self.version:
            return f"the cursor is older than {self.keep_seconds:.0f} s: here is the whole map"
        return version

    def changed_since(self, version: int) -> Iterator[str]:
        """The vehicles on the map that changed after `version`, newest first."""
        for vehicle_id, changed in reversed(self._changed.items()):
            if changed <= version:
                return
            yield vehicle_id

    def gone_since(self, version: int) -> Iterator[tuple[str, str]]:
        """The vehicles that left the map after `version`, newest first, with their units then."""
        for vehicle_id, (gone, organisation_id) in reversed(self._gone.items()):
            if gone <= version:
                return
            yield vehicle_id, organisation_id

    def moved_since(self, vehicle_id: str, version: int) -> bool:
        """Whether the vehicle's unit changed after `version`."""
        return self._moved.get(vehicle_id, 0) > version
