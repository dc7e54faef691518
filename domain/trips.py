"""Trips from a cleaned track, as Traccar's `report.trip.*` settings make them.

Rules of `trips`:

1. A trip starts at a moving fix (speed at least `TripRules.moving_kmh`) after a stop, a gap or the start
   of the data; with `use_ignition` (the default, JT/T 808 terminals report ACC) its ignition must not be off.
   Motion with the ignition off is not a trip: that is an illegal-displacement alarm's business.
2. It ends at the first fix of a standstill lasting at least `min_stop_seconds`: where and when the vehicle
   arrived. A shorter standstill (a traffic light, a gate) does not end it.
3. With `use_ignition`, the first fix with the ignition off also ends it, at once, that fix included. A fix
   without ignition (the terminal or source has none) neither starts nor ends a trip by it: the trip is
   bounded by motion and stops alone (rules 1, 2 and 4).
4. A gap without data longer than `max_gap_seconds` ends a trip at the last fix before the gap (or at the
   first fix of a standstill already begun). The trip is kept, not lost: terminals often fall silent before
   they report ignition off. The end of the data ends an open trip the same way.
5. It is a trip only if it lasts at least `min_trip_seconds` and covers at least `min_trip_distance_m`.
6. Distance comes from the odometer when the first and last fix both carry one and the difference is
   plausible: not negative, and within `odometer_tolerance` (a fraction) of the track distance, plus two
   odometer steps (0.2 km, the rounding of JT/T 808's 0.1 km at both ends). The odometer counts the road
   a sampled track cuts across, so it is preferred; a larger disagreement means a reset, a replaced
   terminal or a unit error, and the track distance is used. Track distance is the sum of great-circle
   distances between consecutive fixes of the trip.
7. `max_speed` is the highest speed of the trip's fixes, as rule 8 reads them.
8. Speed from motion (domain/motion.py, shared with supervision). A reported speed of at least `moving_kmh`
   is believed. Where the terminal reports none, or less, the vehicle is at rest while its fixes stay within
   `stop_radius_m` of where it came to rest (a reported 0 is believed there); it moves once it has left that
   radius and its displacement over at least a minute (or since it was last at rest) is at least `moving_kmh`,
   and that displacement gives its speed; it is at rest again after `min_stop_seconds` without moving. The
   first fix, and a fix after a gap of more than `max_gap_seconds`, has nothing to measure from: without a
   speed it is standing. Why: some terminals report no speed, or 0 at every fix (a week of taxi fixes moved
   441 km while every speed said 0, and showed no trip); and between fixes 1-10 s apart the GNSS wander of a
   parked vehicle reads as 5-40 km/h, so motion is never judged from two neighbouring fixes alone.
9. `derived` names what of a trip came from motion rather than from the terminal: `speed` (some fix's speed by
   rule 8, so rules 1-2 and `max_speed` lean on it), `ignition` (with `use_ignition`, some fix had none, so
   the trip's bounds are those of motion) and `odometer` (the distance is the track's, rule 6).

Starting at the first moving fix leaves out the metres before it (one report interval of a departing car);
it keeps warm-up idling and parked reports, which may be far older, out of the trip's time. Where that fix moves
by its displacement (rule 8), the trip starts where the displacement began: the newest fix from the one it is
measured from (the last at rest, or one a window before) that is still that far from it, where the vehicle set
off; and then possibly the fix an earlier trip ended at, but never one with the ignition off (rule 1).

`rest_points` are the fixes after which no trip is open and motion (rule 8) is judged as if read from them
first: where a recount of a vehicle's trips may start again (the mileage roll-up recounts from the last one
before new fixes).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from domain.geo import distance_m, path_m
from domain.motion import Judged, Motion, MotionRules
from domain.position import Position

Derived = Literal["speed", "ignition", "odometer"]
DERIVED: Final[tuple[Derived, ...]] = get_args(Derived)

_ODOMETER_SLACK_KM = 0.2  # JT/T 808 sends the odometer in 0.1 km: each end may be rounded by one step


@dataclass(frozen=True, slots=True)
class TripRules:
    """Thresholds of trip detection; the settings layer fills them, defaults follow Traccar."""

    min_trip_distance_m: float = 200.0  # Traccar report.trip.minimalTripDistance
    min_trip_seconds: float = 180.0  # Traccar report.trip.minimalTripDuration
    max_gap_seconds: float = 3600.0  # Traccar report.trip.minimalNoDataDuration
    use_ignition: bool = True  # Traccar report.trip.useIgnition; JT/T 808 terminals report ACC
    moving_kmh: float = 5.0  # below it a reported speed is mostly GNSS noise of a standing vehicle
    min_stop_seconds: float = 180.0  # Traccar report.trip.minimalParkingDuration; as TrackRules'
    odometer_tolerance: float = 0.5  # the odometer may differ from the track by this fraction of it
    stop_radius_m: float = 50.0  # as TrackRules': motion from the fixes leaves this radius of a place of rest (rule 8)

    @property
    def motion(self) -> MotionRules:
        return MotionRules(
            moving_kmh=self.moving_kmh,
            stop_radius_m=self.stop_radius_m,
            min_stop_seconds=self.min_stop_seconds,
            max_gap_seconds=self.max_gap_seconds,
        )


@dataclass(frozen=True, slots=True)
class Trip:
    start_time: datetime
    end_time: datetime
    start_latitude: float
    start_longitude: float
    end_latitude: float
    end_longitude: float
    distance_km: float
    distance_source: Literal["odometer", "track"]
    max_speed: float  # km/h
    fix_count: int
    derived: tuple[Derived, ...] = ()  # what came from motion (rule 9), in DERIVED's order


def trips(fixes: Sequence[Position], rules: TripRules) -> list[Trip]:
    """The trips of one vehicle, in time order, by the module's rules.

    Args:
        fixes: a cleaned track (`track.clean(...).kept`); sorted here again, which costs little when it is.
        rules: the thresholds.
    """
    ordered = sorted(fixes, key=lambda f: f.time)
    judged = motion(ordered, rules)
    spans: list[tuple[int, int]] = []  # first and last index of each candidate trip
    start: int | None = None  # first fix of the open trip
    halt: int | None = None  # first standstill fix since the open trip's last moving one
    for i, fix in enumerate(ordered):
        if start is not None:
            gap = (fix.time - ordered[i - 1].time).total_seconds() > rules.max_gap_seconds
            parked = halt is not None and (fix.time - ordered[halt].time).total_seconds() >= rules.min_stop_seconds
            if gap or parked:
                spans.append((start, i - 1 if halt is None else halt))
                start = halt = None
        if rules.use_ignition and fix.ignition is False:
            if start is not None:
                spans.append((start, i))
                start = halt = None
        elif judged[i].moving:
            if start is None:
                since = judged[i].since
                start = i if since is None else _departure(ordered, i, since, spans[-1][1] if spans else 0, rules)
            halt = None
        elif start is not None and halt is None:
            halt = i
    if start is not None:
        spans.append((start, len(ordered) - 1 if halt is None else halt))
    return [
        trip
        for first, last in spans
        if (trip := _trip(ordered[first : last + 1], judged[first : last + 1], rules)) is not None
    ]


def motion(ordered: Sequence[Position], rules: TripRules) -> list[Judged]:
    """Each fix's speed and motion as the rules read them (rule 8, domain/motion.py).

    Args:
        ordered: fixes in time order.
        rules: the thresholds (`TripRules.motion`).
    """
    judge = Motion(rules.motion).judge
    return [judge(fix) for fix in ordered]


def _departure(ordered: Sequence[Position], i: int, since: datetime, floor: int, rules: TripRules) -> int:
    """The first fix of a trip that fix `i` opens, moving by its displacement from the fix at `since`.

    That fix is the last at rest at its anchor, or one at least a window before (domain/motion.py rule 3): the trip
    starts at the newest fix from it on that is still that far from fix `i` (`moving_kmh` over the window), where
    the vehicle set off. Never at a fix with the ignition off (rule 1), nor before the end of the trip before.
    """
    origin = max(bisect.bisect_left(ordered, since, key=lambda f: f.time), floor)
    far = rules.moving_kmh / 3.6 * rules.motion.window_seconds
    to = ordered[i]
    first = next(
        (
            j
            for j in range(i - 1, origin, -1)
            if distance_m(to.latitude, to.longitude, ordered[j].latitude, ordered[j].longitude) >= far
        ),
        origin,
    )
    if rules.use_ignition and ordered[first].ignition is False:
        first += 1
    return min(first, i)


def _trip(fixes: Sequence[Position], judged: Sequence[Judged], rules: TripRules) -> Trip | None:
    first, last = fixes[0], fixes[-1]
    if (last.time - first.time).total_seconds() < rules.min_trip_seconds:
        return None
    track_km = path_m(fixes) / 1000
    odometer_km = _odometer_km(first, last, track_km, rules)
    source: Literal["odometer", "track"] = "track" if odometer_km is None else "odometer"
    distance_km = track_km if odometer_km is None else odometer_km
    if distance_km * 1000 < rules.min_trip_distance_m:
        return None
    return Trip(
        start_time=first.time,
        end_time=last.time,
        start_latitude=first.latitude,
        start_longitude=first.longitude,
        end_latitude=last.latitude,
        end_longitude=last.longitude,
        distance_km=distance_km,
        distance_source=source,
        max_speed=max(j.speed for j in judged),
        fix_count=len(fixes),
        derived=tuple(
            d
            for d, yes in zip(
                DERIVED,
                (
                    any(j.derived for j in judged),
                    rules.use_ignition and any(f.ignition is None for f in fixes),
                    source == "track",
                ),
                strict=True,
            )
            if yes
        ),
    )


def _odometer_km(first: Position, last: Position, track_km: float, rules: TripRules) -> float | None:
    if first.odometer is None or last.odometer is None:
        return None
    km = last.odometer - first.odometer
    if km < 0 or abs(km - track_km) > rules.odometer_tolerance * track_km + _ODOMETER_SLACK_KM:
        return None
    return km


def rest_points(kept: Sequence[Position], rules: TripRules) -> list[datetime]:
    """The times of the fixes of a cleaned track after which no trip is open, the track read with none open first.

    Reading the track again from such a fix, with no trip open, finds the same trips after it as reading it
    from its first fix. This follows the rules of `trips`: a trip opens at a moving fix (rule 1) and is over at an
    ignition-off fix (rule 3, with `use_ignition`), at a fix after a gap of more than `max_gap_seconds` (rule 4),
    or at a fix `min_stop_seconds` after the first fix of a standstill (rule 2); a fix that opens a trip, or comes
    while one may still go on, is no rest point. Motion from the fixes (rule 8) remembers where the vehicle came to
    rest, so a rest point is also a fix at that very place (`Motion.settled_at`): on a track whose parked fixes
    wander, the fix where the rest began.

    Args:
        kept: a cleaned track in time order (`track.clean(...).kept`).
        rules: the thresholds of `trips`.
    """
    motion_ = Motion(rules.motion)
    found: list[datetime] = []
    open_trip = False
    halt: datetime | None = None  # first standstill fix since the open trip's last moving one
    previous: datetime | None = None
    for fix in kept:
        moves = motion_.judge(fix).moving
        if open_trip and previous is not None:
            gap = (fix.time - previous).total_seconds() > rules.max_gap_seconds
            parked = halt is not None and (fix.time - halt).total_seconds() >= rules.min_stop_seconds
            if gap or parked:
                open_trip, halt = False, None
        if rules.use_ignition and fix.ignition is False:
            open_trip, halt = False, None
        elif moves:
            open_trip, halt = True, None
        elif open_trip and halt is None:
            halt = fix.time
        if not open_trip and motion_.settled_at(fix):
            found.append(fix.time)
        previous = fix.time
    return found
