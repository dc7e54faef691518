"""Trips matched to the trip requests that dispatched their vehicle (有效督车): dispatched and undispatched kilometres
(非调度用车), trips outside a request's window, detours (绕道) and stops away from where the request went.

Rules of `match`:

1. A request holds its vehicle from its dispatch (派车, `dispatched_at`) until it is returned (还车) or cancelled
   (`released_at`), and an open one from its dispatch on. The driving to pick the passengers up, between the dispatch
   and the departure (出车), is the request's. The database keeps a vehicle on at most one open request at a time.
2. A trip's kilometres (as domain/trips.py counts them: from the odometer where plausible, else from the track) are
   shared out along its fixes: each step between two consecutive fixes carries the trip's kilometres in proportion
   to its great-circle metres (in proportion to time where the fixes did not move at all). So the parts of a trip
   sum to the trip, and a vehicle's dispatched and undispatched kilometres to its kilometres in the mileage report.
3. Every step is judged by the fixes' own times, never by when they arrived: a blind-zone batch of fixes from before
   a dispatch, stored after it, is driving before the dispatch.
4. A step that a boundary cuts (a dispatch, a release, the edge of a request's window) is cut at that moment, its
   metres shared in proportion to time: a trip that starts before a dispatch and goes on inside it is split there.
5. Each piece is dispatched (a request holds the vehicle at its time) or undispatched (none does). A dispatched piece
   is outside the window when its time is before `wanted_start` or after `wanted_end` by more than `window_slack`.
   Consecutive pieces of a trip alike make one part.
6. Detour: the kilometres matched to a request against its estimate, the straight line origin → destination →
   origin times `road_factor` (roads are longer than straight lines). The origin is the request's, else where the
   vehicle was at its first matched fix; a request without a destination has no estimate. It is a detour when the
   excess is over both `detour_tolerance` of the estimate and `detour_min_km`; an open request is judged on what it
   drove so far (kilometres only grow, so a flagged one stays flagged).
7. Stops: a rest between two trips (trips end at a standstill, domain/trips.py rules 2-4) of at least `stop_seconds`,
   begun and ended while one request holds the vehicle. It is foreign when it is farther than `place_radius_m` from
   the request's destination and from its origin (where both are known; a request without a destination cannot
   tell, so its stops are not foreign).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from domain.geo import distance_m
from domain.position import Position
from domain.trips import Trip


class Point(NamedTuple):
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class MatchingRules:
    """Thresholds of matching; the settings layer fills them (YIWANG_MATCHING_*)."""

    road_factor: float = 1.3  # road km per straight-line km, as suggestions' detour (suggest_detour)
    detour_tolerance: float = 0.3  # excess over the estimate tolerated, as a fraction of it
    detour_min_km: float = 2.0  # and at least this many km (a short request's small excess is no detour)
    window_slack: timedelta = timedelta(minutes=30)  # driving this long before or after the wanted window is in it
    stop_seconds: float = 300.0  # a rest this long between two trips is a stop
    place_radius_m: float = 500.0  # a stop this near the destination or origin is there


@dataclass(frozen=True, slots=True)
class Hold:
    """A request that dispatched the vehicle, as matching needs it."""

    request_id: int
    dispatched_at: datetime
    released_at: datetime | None  # returned or cancelled; None: still open
    wanted_start: datetime
    wanted_end: datetime
    origin: Point | None = None
    destination: Point | None = None

    def holds(self, at: datetime) -> bool:
        return self.dispatched_at <= at and (self.released_at is None or at < self.released_at)

    def in_window(self, at: datetime, slack: timedelta) -> bool:
        return self.wanted_start - slack <= at < self.wanted_end + slack


Kind = Literal["dispatched", "out_of_window", "undispatched"]


@dataclass(frozen=True, slots=True)
class Part:
    """A part of a trip with one judgement (rule 5)."""

    trip_start: datetime  # the start of the trip it is part of
    start: datetime
    end: datetime
    start_point: Point
    end_point: Point
    km: float
    request_id: int | None  # None: undispatched
    in_window: bool  # dispatched: within the request's window; undispatched: True

    @property
    def kind(self) -> Kind:
        if self.request_id is None:
            return "undispatched"
        return "dispatched" if self.in_window else "out_of_window"


@dataclass(frozen=True, slots=True)
class Stop:
    """A rest between two trips while a request held the vehicle (rule 7)."""

    request_id: int
    start: datetime
    end: datetime
    point: Point
    from_destination_m: float | None  # None: the request has no destination
    foreign: bool


@dataclass(frozen=True, slots=True)
class Judged:
    """A request's driving against its estimate (rule 6)."""

    request_id: int
    km: float  # matched to it, within the window or not
    estimate_km: float | None  # None: no destination
    excess_km: float | None
    detour: bool


@dataclass(frozen=True, slots=True)
class Matching:
    parts: list[Part]
    requests: list[Judged]
    stops: list[Stop]


def match(trips: Sequence[Trip], fixes: Sequence[Position], holds: Sequence[Hold], rules: MatchingRules) -> Matching:
    """One vehicle's trips matched to the requests that held it, by the module's rules.

    Args:
        trips: the vehicle's trips (domain/trips.py), in any order.
        fixes: the cleaned fixes the trips were found on, in time order; a trip's are those within its times.
        holds: the requests that dispatched the vehicle.
        rules: the thresholds.
    """
    ordered = sorted(trips, key=lambda t: t.start_time)
    holders = _Holders(holds)
    times = [f.time for f in fixes]
    cuts = sorted(
        {h.dispatched_at for h in holds}
        | {h.released_at for h in holds if h.released_at is not None}
        | {h.wanted_start - rules.window_slack for h in holds}
        | {h.wanted_end + rules.window_slack for h in holds}
    )
    parts: list[Part] = []
    for trip in ordered:
        first, last = bisect.bisect_left(times, trip.start_time), bisect.bisect_right(times, trip.end_time)
        parts += _parts(trip, fixes[first:last], holders, cuts, rules)
    by_request: dict[int, list[Part]] = {}
    for part in parts:
        if part.request_id is not None:
            by_request.setdefault(part.request_id, []).append(part)
    judged = [_judge(h, by_request.get(h.request_id, []), rules) for h in holds]
    return Matching(parts, judged, _stops(ordered, holders, rules))


class _Holders:
    """The requests of one vehicle by dispatch time, the one holding it at a moment found by bisection. A vehicle is
    on one request at a time (rule 1): the one dispatched last before the moment holds it, unless released since."""

    def __init__(self, holds: Sequence[Hold]) -> None:
        self.holds = sorted(holds, key=lambda h: h.dispatched_at)
        self.starts = [h.dispatched_at for h in self.holds]

    def at(self, moment: datetime) -> Hold | None:
        i = bisect.bisect_right(self.starts, moment) - 1
        return self.holds[i] if i >= 0 and self.holds[i].holds(moment) else None


class _Mark(NamedTuple):
    """A moment of a trip: where the vehicle was, and the share of the trip's metres driven by then."""

    time: datetime
    point: Point
    share: float


def _parts(
    trip: Trip, fixes: Sequence[Position], holders: _Holders, cuts: list[datetime], rules: MatchingRules
) -> list[Part]:
    inside = cuts[bisect.bisect_right(cuts, trip.start_time) : bisect.bisect_left(cuts, trip.end_time)]
    marks = [
        _Mark(trip.start_time, Point(trip.start_latitude, trip.start_longitude), 0.0),
        *_marks(trip, fixes, inside),
        _Mark(trip.end_time, Point(trip.end_latitude, trip.end_longitude), 1.0),
    ]
    found: list[Part] = []
    for first, last in itertools.pairwise(marks):
        hold = holders.at(first.time)
        request_id = None if hold is None else hold.request_id
        in_window = hold is None or hold.in_window(first.time, rules.window_slack)
        km = trip.distance_km * (last.share - first.share)
        previous = found[-1] if found else None
        if previous is not None and (previous.request_id, previous.in_window) == (request_id, in_window):
            found[-1] = Part(
                trip.start_time, previous.start, last.time, previous.start_point, last.point, previous.km + km,
                request_id, in_window,
            )  # fmt: skip
        else:
            found.append(
                Part(trip.start_time, first.time, last.time, first.point, last.point, km, request_id, in_window)
            )
    return found


def _marks(trip: Trip, fixes: Sequence[Position], cuts: Sequence[datetime]) -> list[_Mark]:
    """The trip at each boundary inside it (rules 2 and 4): the share of its metres driven by then along its fixes,
    the step a boundary cuts shared in proportion to time; by time alone where the fixes did not move."""
    if not cuts:
        return []
    times = [f.time for f in fixes]
    points = [Point(f.latitude, f.longitude) for f in fixes]
    if len(points) < 2:  # no fixes to share by: the trip from end to end
        times = [trip.start_time, trip.end_time]
        points = [Point(trip.start_latitude, trip.start_longitude), Point(trip.end_latitude, trip.end_longitude)]
    metres = [0.0]
    for a, b in itertools.pairwise(points):
        metres.append(metres[-1] + _metres(a, b))
    span = (times[-1] - times[0]).total_seconds()
    marks: list[_Mark] = []
    for cut in cuts:
        j = min(max(bisect.bisect_right(times, cut) - 1, 0), len(times) - 2)
        step = (times[j + 1] - times[j]).total_seconds()
        f = min(max((cut - times[j]).total_seconds() / step, 0.0), 1.0) if step > 0 else 0.0
        a, b = points[j], points[j + 1]
        point = Point(a.latitude + (b.latitude - a.latitude) * f, a.longitude + (b.longitude - a.longitude) * f)
        if metres[-1] > 0:
            share = (metres[j] + (metres[j + 1] - metres[j]) * f) / metres[-1]
        else:
            share = (cut - times[0]).total_seconds() / span if span > 0 else 0.0
        marks.append(_Mark(cut, point, min(max(share, 0.0), 1.0)))
    return marks


def _judge(hold: Hold, parts: Sequence[Part], rules: MatchingRules) -> Judged:
    km = sum(p.km for p in parts)
    origin = hold.origin if hold.origin is not None else (parts[0].start_point if parts else None)
    if hold.destination is None or origin is None:
        return Judged(hold.request_id, km, None, None, detour=False)
    estimate = 2 * _metres(origin, hold.destination) / 1000 * rules.road_factor
    excess = km - estimate
    detour = excess > max(rules.detour_tolerance * estimate, rules.detour_min_km)
    return Judged(hold.request_id, km, estimate, excess, detour)


def _stops(ordered: Sequence[Trip], holders: _Holders, rules: MatchingRules) -> list[Stop]:
    found: list[Stop] = []
    for before, after in itertools.pairwise(ordered):
        if (after.start_time - before.end_time).total_seconds() < rules.stop_seconds:
            continue
        hold = holders.at(before.end_time)
        if hold is None or not hold.holds(after.start_time):
            continue
        point = Point(before.end_latitude, before.end_longitude)
        if hold.destination is None:
            found.append(Stop(hold.request_id, before.end_time, after.start_time, point, None, foreign=False))
            continue
        to_destination = _metres(point, hold.destination)
        near = [to_destination, *([] if hold.origin is None else [_metres(point, hold.origin)])]
        foreign = min(near) > rules.place_radius_m
        found.append(Stop(hold.request_id, before.end_time, after.start_time, point, to_destination, foreign))
    return found


def _metres(a: Point, b: Point) -> float:
    return distance_m(a.latitude, a.longitude, b.latitude, b.longitude)
