"""A vehicle on the live map: the facts it shows, its newest fix, its state, and its feature's JSON kept while
nothing of it changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import orjson

from api.live.encoding import COORDINATE_DIGITS, JSON_OPTIONS, age, ascii_json
from api.live.subscriptions import Key
from domain.position import Position
from domain.vehicles import LiveState


class Idle(NamedTuple):
    """A vehicle on no request and not in the workshop, as the map shows it now."""

    vehicle_id: str
    organisation_id: str
    plate: str
    latitude: float
    longitude: float
    soc: float | None
    online: bool
    age_seconds: float


@dataclass(slots=True, eq=False)
class OnMap:
    """A vehicle on the map, with its feature's JSON kept while nothing of it changes."""

    facts: tuple[str, str, str, int | None, str | None, int | None]  # organisation, plate, lifecycle, request
    fix: Position
    stamp: float = 0.0  # the fix time in seconds since the epoch: set from `fix`, compared with the clock
    online: bool = True  # as last sent
    _json: bytes | None = None  # the feature up to its age
    _tails: tuple[bytes, bytes] | None = None  # what follows the age when offline, and when online

    def __post_init__(self) -> None:
        self.stamp = self.fix.time.timestamp()

    def move(self, fix: Position) -> None:
        self.fix, self.stamp, self._json = fix, fix.time.timestamp(), None

    def change(self, facts: tuple[str, str, str, int | None, str | None, int | None]) -> None:
        self.facts, self._json, self._tails = facts, None, None

    @property
    def organisation_id(self) -> str:
        return self.facts[0]

    def state(self, online: bool) -> LiveState:
        """Maintenance first, then offline (silent too long), then under way on a request (in service),
        dispatched on one, else available."""
        _, _, lifecycle, _, request_state, _ = self.facts
        if lifecycle == "maintenance":
            return "maintenance"
        if not online:
            return "offline"
        if request_state == "under_way":
            return "in_service"
        return "dispatched" if request_state == "dispatched" else "available"

    def key(self, online: bool) -> Key:
        return Key(self.facts[0], self.fix.longitude, self.fix.latitude, self.state(online))

    def parts(self, vehicle_id: str, now: float, online: bool) -> tuple[bytes, bytes, bytes]:
        """The feature as GeoJSON in three parts: up to its age (encoded once), the age as of `now` (seconds since
        the epoch), and the rest (online and state: one of two, kept). Twenty thousand of them make a map."""
        return self.head(vehicle_id), age(now - self.stamp), self.tails()[online]

    def head(self, vehicle_id: str) -> bytes:
        """The feature up to its age, encoded once while nothing of it changes."""
        if self._json is None:
            organisation_id, plate, _, request_id, _, driver_id = self.facts
            fix = self.fix
            feature = {
                "type": "Feature",
                "id": vehicle_id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(fix.longitude, COORDINATE_DIGITS), round(fix.latitude, COORDINATE_DIGITS)],
                },
                "properties": {
                    "vehicle_id": vehicle_id,
                    "plate": plate,
                    "organisation_id": organisation_id,
                    "time": fix.time,
                    "speed": fix.speed,
                    "heading": fix.heading,
                    "ignition": fix.ignition,
                    "soc": fix.soc,
                    "fuel": fix.fuel,
                    "request_id": request_id,
                    "driver_id": driver_id,
                },
            }
            # The clock's fields follow.
            self._json = ascii_json(orjson.dumps(feature, option=JSON_OPTIONS)[:-2]) + b',"age_seconds":'
        return self._json

    def tails(self) -> tuple[bytes, bytes]:
        """What follows the age in the feature: offline, online."""
        if self._tails is None:
            self._tails = (
                b',"online":false,"state":"%s"}}' % self.state(False).encode(),
                b',"online":true,"state":"%s"}}' % self.state(True).encode(),
            )
        return self._tails

    def feature(self, vehicle_id: str, now: float, online: bool) -> bytes:
        return b"".join(self.parts(vehicle_id, now, online))
