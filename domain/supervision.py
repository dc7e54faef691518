"""Supervision rules (督车): positions in, alerts out, judged as each fix arrives, never by rescanning history.

Rules, per vehicle, on fixes in the order they arrive (blind-zone resends are judged by their fix time):
- `speeding` (yellow; red 20 km/h over): speed above the limit: the lowest `speed_limit_kmh` of the areas that
  apply and contain the fix (a school zone, a campus), `Rules.speed_limit_kmh` elsewhere.
- `off_hours` (red): moving with the ignition on outside working hours (the default calendar's, domain/calendar.py:
  its hours on its workdays, holidays off, make-up workdays on) without an open dispatch (a request dispatched or
  under way).
- `no_dispatch` (yellow): moving (domain/motion.py), more than `moved_m` from where it stood, with no open
  dispatch. Deployed platforms use about 50 m. A parked vehicle's GNSS wander can reach that far; it is no motion.
- `area_exit` (red): left every permitted area that applies to it (its unit's and the city's). Raised on the
  crossing, not on every fix outside.
- `area_entry` (red): entered a forbidden area that applies to it. Raised on the crossing (a fix inside after one
  outside, or the vehicle's first fix), once for the areas entered at that fix; an area that starts to apply
  (its hours begin) while the vehicle is inside counts as entered.
- `parking` (yellow): came to rest with the ignition off outside working hours outside every parking area
  (vehicles return to designated parking: 节假日封存停驶). Raised once per rest.
- `silent` (yellow): no report for `silent_ignition_seconds` while the vehicle was in use at its last report
  (ignition on, or not reported and moving: a terminal unplugged on the road), or for `silent_seconds` otherwise
  (parked, ignition off or not reported: a terminal asleep still reports now and then, JT/T 808 parameter 0x0027,
  and one removed from a parked car must not go unnoticed). Checked by `Watch.silent`, once per silence.
- From the terminal's alarm word (domain/alarms.py, which says which bits and why): `emergency` (red) the
  emergency button; `power_cut` (red) main power cut, the terminal may be being removed; `gnss_antenna` (yellow)
  antenna cut or short; `terminal_overspeed` and `fatigue` (yellow) the terminal's own alarms. Raised when the
  alarm rises, judged between the fixes before and after it in fix time; not again while it stays set.
Areas: a permitted area, a designated parking place or a forbidden area; a polygon (GeoJSON Polygon or
MultiPolygon), a circle (centre and radius) or a corridor (a route's polyline and a width), domain/geo.py. An area
with a calendar applies only within that calendar's working time (`hours` "working") or only outside it
("off_hours": a forbidden zone after hours); otherwise always. An area that does not apply is as if absent.
A rule does not raise the same kind for a vehicle again within `repeat_seconds` (transitions excepted).
A terminal may report no speed or ignition (the position contract leaves them optional): without a speed there
is no `speeding`, and moving is judged from the fixes by domain/motion.py (as trips do: a vehicle at rest moves
once it leaves the stop radius of where it stood, so GNSS wander of a parked vehicle is no motion); an
ignition not reported counts as on for `off_hours` (the vehicle moved); `parking` needs the ignition reported off.
Only fixes newer than the vehicle's newest move its state (anchor, inside/outside, at rest): a late resend
is judged for speed, hours and alarms only.
What a Watch remembers is data (`Watch.state`, `Watch.restored`): the supervisor stores it with each batch's alerts,
so that a restart neither repeats an alert nor misses one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from domain.alarms import AlarmKind, AlarmMemory, alarm_state, restored_alarms
from domain.calendar import WorkCalendar
from domain.geo import EARTH_RADIUS_M, distance_m, in_circle, in_corridor, in_polygon
from domain.motion import Motion, MotionRules, motion_state, restored_motion
from domain.position import Position
from domain.vocabulary import render

AlertKind = Literal["speeding", "off_hours", "no_dispatch", "area_exit", "parking", "silent", AlarmKind, "area_entry"]
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
AreaKind = Literal["permitted", "parking", "forbidden"]
# When an area applies: always, only in its calendar's working time, or only outside it.
AreaHours = Literal["always", "working", "off_hours"]
_RED_OVER_KMH = 20.0
_STATE_VERSION: Final = 1
_METRES_PER_DEGREE: Final = EARTH_RADIUS_M * math.pi / 180


@dataclass(frozen=True, slots=True)
class Rules:
    """Thresholds and calendars; the supervisor fills them from the settings and the calendars from the database."""

    zone: ZoneInfo
    speed_limit_kmh: float = 120.0
    moved_m: float = 50.0
    motion: MotionRules = field(default_factory=MotionRules)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)  # the default calendar: `off_hours`, `parking`
    calendars: Mapping[int, WorkCalendar] = field(default_factory=dict)  # by id: those areas name
    repeat_seconds: float = 600.0
    silent_ignition_seconds: float = 300.0
    silent_seconds: float = 3600.0

    def working(self, moment: datetime) -> bool:
        return self.calendar.working(moment.astimezone(self.zone))

    def applies(self, area: Area, moment: datetime) -> bool:
        """Whether an area applies at this moment (its calendar's hours; an unknown calendar: the default's)."""
        if area.hours == "always":
            return True
        return applies_when(area.hours, self.calendar_of(area.calendar_id).working(moment.astimezone(self.zone)))

    def calendar_of(self, calendar_id: int | None) -> WorkCalendar:
        """The calendar an area names: None, or one not known, is the default."""
        return self.calendar if calendar_id is None else self.calendars.get(calendar_id, self.calendar)


def applies_when(hours: AreaHours, working: bool) -> bool:
    """Whether an area of these hours applies when its calendar says `working` (or not)."""
    if hours == "always":
        return True
    return working if hours == "working" else not working


@dataclass(frozen=True, slots=True)
class Area:
    """A polygon (GeoJSON Polygon or MultiPolygon: rings of [lon, lat], the first ring of each polygon its outline),
    a circle (a GeoJSON Point and `radius_m`) or a corridor (a GeoJSON LineString and `width_m`, its full width)."""

    id: int
    kind: AreaKind
    organisation_id: str | None  # None: the whole city's
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    centre: tuple[float, float] | None = None  # a circle's [lon, lat]
    radius_m: float = 0.0
    line: tuple[tuple[float, float], ...] = ()  # a corridor's route, [lon, lat]
    width_m: float = 0.0
    speed_limit_kmh: float | None = None  # None: the global limit
    calendar_id: int | None = None  # None: the default calendar
    hours: AreaHours = "always"

    @classmethod
    def from_geojson(
        cls,
        id_: int,
        kind: AreaKind,
        organisation_id: str | None,
        geometry: dict[str, Any],
        *,
        radius_m: float | None = None,
        width_m: float | None = None,
        speed_limit_kmh: float | None = None,
        calendar_id: int | None = None,
        hours: AreaHours = "always",
    ) -> Area:
        """An area from a GeoJSON geometry as stored (the API validated it)."""
        coordinates = geometry["coordinates"]
        limit = None if speed_limit_kmh is None else float(speed_limit_kmh)
        made = cls(id_, kind, organisation_id, (), speed_limit_kmh=limit, calendar_id=calendar_id, hours=hours)
        if geometry["type"] == "Point":
            centre = (float(coordinates[0]), float(coordinates[1]))
            radius = float(radius_m or 0.0)
            return replace(made, bbox=_padded([centre], radius), centre=centre, radius_m=radius)
        if geometry["type"] == "LineString":
            line = tuple((float(p[0]), float(p[1])) for p in coordinates)
            width = float(width_m or 0.0)
            return replace(made, bbox=_padded(line, width / 2), line=line, width_m=width)
        polygons = coordinates if geometry["type"] == "MultiPolygon" else [coordinates]
        shaped = tuple(
            tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygon) for polygon in polygons
        )
        return replace(
            made, polygons=shaped, bbox=_padded([p for polygon in shaped for ring in polygon for p in ring], 0)
        )

    def contains(self, longitude: float, latitude: float) -> bool:
        west, south, east, north = self.bbox
        if not (west <= longitude <= east and south <= latitude <= north):
            return False
        if self.centre is not None:
            return in_circle(self.centre, self.radius_m, longitude, latitude)
        if self.line:
            return in_corridor(self.line, self.width_m, longitude, latitude)
        return any(in_polygon(polygon, longitude, latitude) for polygon in self.polygons)


def speed_limit(areas: Iterable[Area], longitude: float, latitude: float, default: float) -> tuple[float, int | None]:
    """The speed limit at a point: the lowest of the areas (that apply) containing it, else `default`; and where
    it comes from, for the alert's detail."""
    limited = (a for a in areas if a.speed_limit_kmh is not None and a.contains(longitude, latitude))
    return lowest_limit(limited, default)


def lowest_limit(containing: Iterable[Area], default: float) -> tuple[float, int | None]:
    """`speed_limit` of areas known to contain the point: the lowest limit and the area of it (the first), else
    `default` and None."""
    limit, where = default, None
    for a in containing:
        if a.speed_limit_kmh is not None and a.speed_limit_kmh < limit:
            limit, where = a.speed_limit_kmh, a.id
    return limit, where


def speeding_params(speed: float, limit: float, area: int | None) -> dict[str, Any]:
    """A speeding alert's parameters: the speed and the limit (km/h, whole), and the area whose limit it is."""
    params: dict[str, Any] = {"speed": round(speed), "limit": round(limit)}
    if area is not None:
        params |= {"form": "speeding_in_area", "area": area}
    return params


@dataclass(frozen=True, slots=True)
class AreasAt:
    """The areas of one vehicle as they stand at one fix: those that apply and contain it (in the areas' order), and
    whether any permitted or parking area applies at all, contained or not (leaving the permitted areas, or resting
    outside every parking place, is judged only where some apply). All the rules need of the areas; `areas_at`
    makes it plainly, domain/area_index.py from an index, and both give the same."""

    containing: tuple[Area, ...] = ()
    permitted: bool = False
    parking: bool = False


def areas_at(areas: Iterable[Area], longitude: float, latitude: float, moment: datetime, rules: Rules) -> AreasAt:
    """The areas as they stand at a point and moment, judged one by one: the reference the index is held to."""
    applicable = [a for a in areas if rules.applies(a, moment)]
    return AreasAt(
        containing=tuple(a for a in applicable if a.contains(longitude, latitude)),
        permitted=any(a.kind == "permitted" for a in applicable),
        parking=any(a.kind == "parking" for a in applicable),
    )


def _padded(points: Iterable[tuple[float, float]], metres: float) -> tuple[float, float, float, float]:
    """The points' bounding box ([lon, lat]) grown by `metres` on every side (a little more, to be safe)."""
    listed = list(points)
    lats = [p[1] for p in listed]
    north_deg = metres / _METRES_PER_DEGREE * 1.01
    widest = max(abs(min(lats)), abs(max(lats))) + north_deg
    east_deg = metres / (_METRES_PER_DEGREE * max(math.cos(math.radians(min(widest, 89.0))), 1e-6)) * 1.01
    return (min(p[0] for p in listed) - east_deg, min(lats) - north_deg, max(p[0] for p in listed) + east_deg,
            max(lats) + north_deg)  # fmt: skip


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
    detail: str  # in English: the text of `params` (vocabulary.render), or an older alert's only text
    # What the text says, by name, so that it is told in each reader's language (domain/vocabulary); None: no
    # parameters known (an alert made before they were kept), the English `detail` is all there is.
    params: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Watch:
    """What the rules remember of one vehicle."""

    newest: datetime | None = None
    received_at: datetime | None = None
    position: tuple[float, float] = (math.nan, math.nan)  # (lat, lon) of the newest fix
    ignition: bool | None = None  # as the newest fix reported it
    anchor: tuple[float, float] | None = None  # (lat, lon) where it stood while not dispatched
    outside: bool | None = None  # outside every permitted area, as of the newest fix
    resting: bool = False  # ignition off and still, as of the newest fix
    silent_raised: bool = False
    last: dict[str, datetime] = field(default_factory=dict)
    alarms: AlarmMemory = field(default_factory=AlarmMemory)
    motion: Motion | None = None  # made with the rules at the first fix
    moving: bool = False  # as of the newest fix
    forbidden: frozenset[int] = frozenset()  # the forbidden areas it is inside (that apply), as of the newest fix

    def judge(self, fix: Position, *, dispatched: bool, areas: Iterable[Area], rules: Rules) -> list[Alert]:
        """The alerts this fix raises against these areas (those of the vehicle's unit and the city's); updates what is
        remembered."""
        here = areas_at(areas, fix.longitude, fix.latitude, fix.time, rules)
        return self.judge_at(fix, dispatched=dispatched, here=here, rules=rules)

    def judge_at(self, fix: Position, *, dispatched: bool, here: AreasAt, rules: Rules) -> list[Alert]:
        """`judge` with the areas as they stand at the fix already known (the supervisor's index gives them)."""
        out: list[Alert] = []
        newer = self.newest is None or fix.time > self.newest

        def raise_(kind: AlertKind, level: Level, params: Mapping[str, Any], *, transition: bool = False) -> None:
            last = self.last.get(kind)
            if transition or last is None or abs((fix.time - last).total_seconds()) >= rules.repeat_seconds:
                self.last[kind] = fix.time
                out.append(Alert(fix.vehicle_id, kind, level, fix.time, fix.received_at, fix.latitude,
                                 fix.longitude, fix.speed, render("en", kind, params), params))  # fmt: skip

        if fix.alarm is not None:  # no word: nothing known of the terminal's alarms (not "all clear")
            for rise in self.alarms.judge(fix.time, fix.alarm):
                raise_(rise.kind, ALARM_LEVEL[rise.kind], rise.params, transition=True)
        if fix.speed is not None:
            limit, where = lowest_limit(here.containing, rules.speed_limit_kmh)
            if fix.speed > limit:
                level: Level = "red" if fix.speed > limit + _RED_OVER_KMH else "yellow"
                raise_("speeding", level, speeding_params(fix.speed, limit, where))
        in_motion = self._moves(fix, newer, rules)
        moving = fix.ignition is not False and in_motion
        working = rules.working(fix.time)
        if moving and not working and not dispatched:
            raise_("off_hours", "red", {})
        if not newer:
            return out
        self.newest, self.received_at, self.ignition, self.silent_raised, self.moving = (
            fix.time,
            fix.received_at,
            fix.ignition,
            False,
            in_motion,
        )
        self.position = (fix.latitude, fix.longitude)
        if dispatched:
            self.anchor = None
        elif self.anchor is None:
            self.anchor = (fix.latitude, fix.longitude)
        elif in_motion and distance_m(*self.anchor, fix.latitude, fix.longitude) > rules.moved_m:
            raise_("no_dispatch", "yellow", {"moved_m": round(rules.moved_m)})
            self.anchor = (fix.latitude, fix.longitude)
        for kind, params in self._crossings(here):
            raise_(kind, "red", params, transition=True)
        resting = fix.ignition is False and not in_motion
        arrived = resting and not self.resting and not working
        if arrived and here.parking and not any(a.kind == "parking" for a in here.containing):
            raise_("parking", "yellow", {}, transition=True)
        self.resting = resting
        return out

    def _crossings(self, here: AreasAt) -> list[tuple[AlertKind, dict[str, Any]]]:
        """Leaving the permitted areas, entering forbidden ones (and the alerts' parameters), at a newer fix; updates
        inside and outside."""
        out: list[tuple[AlertKind, dict[str, Any]]] = []
        if here.permitted:
            outside = not any(a.kind == "permitted" for a in here.containing)
            if outside and self.outside is False:
                out.append(("area_exit", {}))
            self.outside = outside
        inside = frozenset(a.id for a in here.containing if a.kind == "forbidden")
        entered = sorted(inside - self.forbidden)
        if entered:
            out.append(("area_entry", {"areas": entered}))
        self.forbidden = inside
        return out

    def _moves(self, fix: Position, newer: bool, rules: Rules) -> bool:
        if not newer:  # a late resend: nothing to measure it from; its own speed, or standing
            return fix.speed is not None and fix.speed >= rules.motion.moving_kmh
        if self.motion is None:
            self.motion = Motion(rules.motion)
        return self.motion.judge(fix).moving

    def silent(self, vehicle_id: str, now: datetime, rules: Rules, *, since: datetime | None = None) -> Alert | None:
        """An alert when the terminal went quiet (once per silence): sooner when the vehicle was in use. `since`: the
        quiet counts from no earlier than this (a supervisor started then is still reading what came while it was
        down, and a report it has not read yet is no silence)."""
        if self.silent_raised or self.received_at is None or self.newest is None:
            return None
        in_use = self.ignition is True or (self.ignition is None and self.moving)
        limit = rules.silent_ignition_seconds if in_use else rules.silent_seconds
        heard = self.received_at if since is None else max(self.received_at, since)
        if (now - heard).total_seconds() < limit:
            return None
        self.silent_raised = True
        quiet = timedelta(seconds=round((now - self.received_at).total_seconds()))
        form = {True: "silent_ignition_on", False: "silent_ignition_off", None: "silent_no_ignition"}[self.ignition]
        params = {"form": form, "quiet": str(quiet)}
        return Alert(vehicle_id, "silent", "yellow", self.newest, self.received_at, *self.position, 0.0,
                     render("en", "silent", params), params)  # fmt: skip

    def state(self) -> dict[str, Any]:
        """What is remembered, as JSON-ready data (times ISO 8601)."""

        def when(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "v": _STATE_VERSION,
            "newest": when(self.newest),
            "received_at": when(self.received_at),
            "position": list(self.position) if self.newest is not None else None,
            "ignition": self.ignition,
            "anchor": None if self.anchor is None else list(self.anchor),
            "outside": self.outside,
            "resting": self.resting,
            "silent_raised": self.silent_raised,
            "last": {kind: at.isoformat() for kind, at in self.last.items()},
            "alarms": alarm_state(self.alarms),
            "motion": None if self.motion is None else motion_state(self.motion),
            "moving": self.moving,
            "forbidden": sorted(self.forbidden),
        }

    @classmethod
    def restored(cls, state: Mapping[str, Any], rules: Rules) -> Watch:
        """A Watch with what `state` kept; a state of another version: a new Watch (the first fix sets it)."""
        if state.get("v") != _STATE_VERSION:
            return cls()

        def when(raw: str | None) -> datetime | None:
            return None if raw is None else datetime.fromisoformat(raw)

        position = state.get("position")
        anchor = state.get("anchor")
        motion = state.get("motion")
        return cls(
            newest=when(state.get("newest")),
            received_at=when(state.get("received_at")),
            position=(math.nan, math.nan) if position is None else (float(position[0]), float(position[1])),
            ignition=state.get("ignition"),
            anchor=None if anchor is None else (float(anchor[0]), float(anchor[1])),
            outside=state.get("outside"),
            resting=bool(state.get("resting")),
            silent_raised=bool(state.get("silent_raised")),
            last={kind: datetime.fromisoformat(at) for kind, at in (state.get("last") or {}).items()},
            alarms=restored_alarms(state.get("alarms") or []),
            motion=None if motion is None else restored_motion(rules.motion, motion),
            moving=bool(state.get("moving")),
            forbidden=frozenset(int(i) for i in state.get("forbidden") or ()),
        )
