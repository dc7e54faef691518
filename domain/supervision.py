"""Supervision rules (督车): positions in, alerts out, judged as each fix arrives, never by rescanning history.

Rules, per vehicle, on fixes in the order they arrive (blind-zone resends are judged by their fix time):
- `speeding` (yellow; red 20 km/h over): speed above `speed_limit_kmh`.
- `off_hours` (red): moving with the ignition on outside working hours (the hours of the settings on the
  workdays of domain/calendar.py: holidays off, make-up workdays on) without an open dispatch (a request
  dispatched or under way).
- `no_dispatch` (yellow): moving (domain/motion.py), more than `moved_m` from where it stood, with no open
  dispatch. Deployed platforms use about 50 m. A parked vehicle's GNSS wander can reach that far; it is no motion.
- `area_exit` (red): left every permitted area that applies to it (its unit's and the city's). Raised on the
  crossing, not on every fix outside.
- `parking` (yellow): came to rest with the ignition off outside working hours outside every parking area
  (vehicles return to designated parking: 节假日封存停驶). Raised once per rest.
- `silent` (yellow): no report for `silent_ignition_seconds` while the last report had the ignition on
  (a terminal unplugged on the road), checked by `Watch.silent`.
- From the terminal's alarm word (domain/alarms.py, which says which bits and why): `emergency` (red) the
  emergency button; `power_cut` (red) main power cut, the terminal may be being removed; `gnss_antenna` (yellow)
  antenna cut or short; `terminal_overspeed` and `fatigue` (yellow) the terminal's own alarms. Raised when the
  alarm rises, judged between the fixes before and after it in fix time; not again while it stays set.
A rule does not raise the same kind for a vehicle again within `repeat_seconds` (transitions excepted).
A terminal may report no speed or ignition (the position contract leaves them optional): without a speed there
is no `speeding`, and moving is judged from the fixes by domain/motion.py (as trips do: a vehicle at rest moves
once it leaves the stop radius of where it stood, so GNSS wander of a parked vehicle is no motion); an
ignition not reported counts as on for `off_hours` (the vehicle moved) and `silent` is not judged; `parking`
needs the ignition reported off.
Only fixes newer than the vehicle's newest move its state (anchor, inside/outside, at rest): a late resend
is judged for speed, hours and alarms only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from domain.alarms import AlarmKind, AlarmMemory
from domain.calendar import WorkCalendar
from domain.geo import distance_m, in_polygon
from domain.motion import Motion, MotionRules
from domain.position import Position

AlertKind = Literal["speeding", "off_hours", "no_dispatch", "area_exit", "parking", "silent", AlarmKind]
ALERT_KINDS: Final[tuple[AlertKind, ...]] = get_args(AlertKind)
# Deployed platforms grade warnings green (compliant), yellow (a reminder) and red (an alarm).
Level = Literal["yellow", "red"]
# Red: someone may be in danger, or the vehicle is leaving supervision for good (a terminal removed). An antenna
# fault or the terminal's own overspeed and fatigue alarms are yellow: the positions keep coming, and `speeding`
# grades speed by the platform's limit.
ALARM_LEVEL: Final[dict[AlarmKind, Level]] = {
    "emergency": "red",
    "power_cut": "red",
    "gnss_antenna": "yellow",
    "terminal_overspeed": "yellow",
    "fatigue": "yellow",
}
AreaKind = Literal["permitted", "parking"]
_RED_OVER_KMH = 20.0


@dataclass(frozen=True, slots=True)
class Rules:
    """Thresholds and calendar; the supervisor fills them from the settings and the calendar from the database."""

    zone: ZoneInfo
    speed_limit_kmh: float = 120.0
    moved_m: float = 50.0
    motion: MotionRules = field(default_factory=MotionRules)
    work_start: time = time(8, 0)
    work_end: time = time(18, 0)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    repeat_seconds: float = 600.0
    silent_ignition_seconds: float = 300.0

    def working(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return self.calendar.workday(local.date()) and self.work_start <= local.time() < self.work_end


@dataclass(frozen=True, slots=True)
class Area:
    """A GeoJSON Polygon or MultiPolygon: rings of [lon, lat]; the first ring of each polygon is its outline."""

    id: int
    kind: AreaKind
    organisation_id: str | None  # None: the whole city's
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_geojson(cls, id_: int, kind: AreaKind, organisation_id: str | None,
                     geometry: dict[str, Any]) -> Area:  # fmt: skip
        """An area from a GeoJSON geometry as stored (the API validated it)."""
        coordinates = geometry["coordinates"]
        polygons = coordinates if geometry["type"] == "MultiPolygon" else [coordinates]
        shaped = tuple(
            tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygon) for polygon in polygons
        )
        points = [p for polygon in shaped for ring in polygon for p in ring]
        box = (min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points),
               max(p[1] for p in points))  # fmt: skip
        return cls(id_, kind, organisation_id, shaped, box)

    def contains(self, longitude: float, latitude: float) -> bool:
        west, south, east, north = self.bbox
        if not (west <= longitude <= east and south <= latitude <= north):
            return False
        return any(in_polygon(polygon, longitude, latitude) for polygon in self.polygons)


@dataclass(frozen=True, slots=True)
class Alert:
    vehicle_id: str
    kind: AlertKind
    level: Level
    time: datetime  # the fix time it was judged at
    received_at: datetime
    latitude: float
    longitude: float
    speed: float | None  # as reported; None: the terminal reports none
    detail: str


@dataclass(slots=True)
class Watch:
    """What the rules remember of one vehicle."""

    newest: datetime | None = None
    received_at: datetime | None = None
    position: tuple[float, float] = (math.nan, math.nan)  # (lat, lon) of the newest fix
    ignition: bool = False
    anchor: tuple[float, float] | None = None  # (lat, lon) where it stood while not dispatched
    outside: bool | None = None  # outside every permitted area, as of the newest fix
    resting: bool = False  # ignition off and still, as of the newest fix
    silent_raised: bool = False
    last: dict[str, datetime] = field(default_factory=dict)
    alarms: AlarmMemory = field(default_factory=AlarmMemory)
    motion: Motion | None = None  # made with the rules at the first fix

    def judge(self, fix: Position, *, dispatched: bool, areas: Iterable[Area], rules: Rules) -> list[Alert]:
        """The alerts this fix raises; updates what is remembered."""
        out: list[Alert] = []
        newer = self.newest is None or fix.time > self.newest

        def raise_(kind: AlertKind, level: Level, detail: str, *, transition: bool = False) -> None:
            last = self.last.get(kind)
            if transition or last is None or abs((fix.time - last).total_seconds()) >= rules.repeat_seconds:
                self.last[kind] = fix.time
                out.append(Alert(fix.vehicle_id, kind, level, fix.time, fix.received_at, fix.latitude,
                                 fix.longitude, fix.speed, detail))  # fmt: skip

        if fix.alarm is not None:  # no word: nothing known of the terminal's alarms (not "all clear")
            for rise in self.alarms.judge(fix.time, fix.alarm):
                raise_(rise.kind, ALARM_LEVEL[rise.kind], rise.detail, transition=True)
        if fix.speed is not None and fix.speed > rules.speed_limit_kmh:
            level: Level = "red" if fix.speed > rules.speed_limit_kmh + _RED_OVER_KMH else "yellow"
            raise_("speeding", level, f"{fix.speed:.0f} km/h, limit {rules.speed_limit_kmh:.0f}")
        in_motion = self._moves(fix, newer, rules)
        moving = fix.ignition is not False and in_motion
        working = rules.working(fix.time)
        if moving and not working and not dispatched:
            raise_("off_hours", "red", "in use outside working hours without a dispatched request")
        if not newer:
            return out
        self.newest, self.received_at, self.ignition, self.silent_raised = (
            fix.time,
            fix.received_at,
            fix.ignition is True,
            False,
        )
        self.position = (fix.latitude, fix.longitude)
        if dispatched:
            self.anchor = None
        elif self.anchor is None:
            self.anchor = (fix.latitude, fix.longitude)
        elif in_motion and distance_m(*self.anchor, fix.latitude, fix.longitude) > rules.moved_m:
            raise_("no_dispatch", "yellow", f"moved over {rules.moved_m:.0f} m without a dispatched request")
            self.anchor = (fix.latitude, fix.longitude)
        applicable = list(areas)
        permitted = [a for a in applicable if a.kind == "permitted"]
        if permitted:
            outside = not any(a.contains(fix.longitude, fix.latitude) for a in permitted)
            if outside and self.outside is False:
                raise_("area_exit", "red", "left the permitted area", transition=True)
            self.outside = outside
        resting = fix.ignition is False and not in_motion
        parking = [a for a in applicable if a.kind == "parking"]
        arrived = resting and not self.resting and not working
        if arrived and parking and not any(a.contains(fix.longitude, fix.latitude) for a in parking):
            raise_("parking", "yellow", "parked outside designated places outside working hours", transition=True)
        self.resting = resting
        return out

    def _moves(self, fix: Position, newer: bool, rules: Rules) -> bool:
        if not newer:  # a late resend: nothing to measure it from; its own speed, or standing
            return fix.speed is not None and fix.speed >= rules.motion.moving_kmh
        if self.motion is None:
            self.motion = Motion(rules.motion)
        return self.motion.judge(fix).moving

    def silent(self, vehicle_id: str, now: datetime, rules: Rules) -> Alert | None:
        """An alert when the terminal went quiet with the ignition on (once per silence)."""
        if self.silent_raised or not self.ignition or self.received_at is None or self.newest is None:
            return None
        if (now - self.received_at).total_seconds() < rules.silent_ignition_seconds:
            return None
        self.silent_raised = True
        quiet = timedelta(seconds=round((now - self.received_at).total_seconds()))
        return Alert(vehicle_id, "silent", "yellow", self.newest, self.received_at, *self.position, 0.0,
                     f"no report for {quiet} with the ignition on")  # fmt: skip
