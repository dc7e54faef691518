"""Trips matched to trip requests for a period (有效督车): per vehicle and unit, dispatched and undispatched kilometres
(the business/private split), trips outside their request's window, detours and stops away from the destination;
and the list of suspected private use (公车私用) with the evidence of each entry.

The rule is domain/matching.py; what each figure counts (the API descriptions and the export headers say the same):

- A period is local days [start, end) in the city's zone. Kilometres are those of the mileage roll-up's trips that
  started in the period (worker/mileage.py), so a vehicle's dispatched and undispatched kilometres sum to its
  kilometres in GET /reports/vehicles. Each trip is shared out along its fixes and judged by the fixes' times.
- A request holds its vehicle from its dispatch to its return or cancellation, whichever unit asked; a vehicle lent
  to another unit's request drove on a dispatch all the same, but the request's details are shown only to those
  who may see its unit (`request_hidden`).
- Detours are judged for the requests dispatched in the period, on every trip they held (also those after the
  period's end, up to 31 days after it); stops are those begun in the period.
- The report reads every trip's fixes, so a period is at most 31 days, and vehicles x days at most
  YIWANG_REPORT_MAX_VEHICLE_DAYS (api/fleet/workload.py).
- Trips are counted per vehicle: two vehicles' trips begun in the same second are two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.fleet.reports import ReportQuery
from api.fleet.workload import check_vehicle_days
from db import matching as matching_db
from db import tracks
from db.scope import Scope
from domain import track
from domain.matching import Hold, Judged, Matching, MatchingRules, Part, Point, Stop, match
from domain.periods import Period
from domain.track import TrackRules
from yiwang.settings import Settings

_LONGEST_DAYS = 31


def matching_rules(settings: Settings) -> MatchingRules:
    return MatchingRules(
        road_factor=settings.matching_road_factor,
        detour_tolerance=settings.matching_detour_tolerance,
        detour_min_km=settings.matching_detour_min_km,
        window_slack=timedelta(minutes=settings.matching_window_slack_minutes),
        stop_seconds=settings.matching_stop_seconds,
        place_radius_m=settings.matching_place_radius_m,
    )


class MatchingQuery(ReportQuery):
    """Local days [start, end) in the city's zone, at most 31 of them, optionally of one unit."""

    @model_validator(mode="after")
    def _short(self) -> MatchingQuery:
        if (self.end - self.start).days > _LONGEST_DAYS:
            raise ValueError(f"a matching report is at most {_LONGEST_DAYS} days: it reads every trip's fixes")
        return self


# ---------------------------------------------------------------------------------------------------------------
# What goes out


class MatchedFigures(BaseModel):
    """Kilometres of trips that started in the period, matched to the requests that held the vehicle."""

    km: float = Field(description="kilometres of the trips that started in the period (as GET /reports/vehicles)")
    dispatched_km: float = Field(description="driven while a request held the vehicle (公务), in its window or not")
    undispatched_km: float = Field(description="driven while no request held the vehicle (非调度用车)")
    business_share: float | None = Field(description="dispatched_km / km (null: no km)")
    undispatched_trips: int = Field(description="trips with an undispatched part")
    out_of_window_km: float = Field(
        description="of dispatched_km, driven before wanted_start or after wanted_end by more than "
        "YIWANG_MATCHING_WINDOW_SLACK_MINUTES"
    )
    out_of_window_trips: int = Field(description="trips with a part outside their request's window")
    requests: int = Field(description="requests dispatched in the period to these vehicles")
    detours: int = Field(description="of those, detours (绕道): km over the estimate beyond the tolerance")
    detour_excess_km: float = Field(description="the detours' km over their estimates")
    foreign_stops: int = Field(description="stops begun in the period away from the request's destination and origin")


class VehicleMatching(MatchedFigures):
    vehicle_id: str
    plate: str
    organisation_id: str
    organisation_name: str


class UnitMatching(MatchedFigures):
    organisation_id: str
    organisation_name: str


class RulesPublic(BaseModel):
    """The thresholds the report was made with (YIWANG_MATCHING_*)."""

    road_factor: float
    detour_tolerance: float
    detour_min_km: float
    window_slack_minutes: float
    stop_seconds: float
    place_radius_m: float


class MatchingReport(BaseModel):
    start: datetime = Field(description="the period's first local midnight")
    end: datetime = Field(description="its end (exclusive)")
    zone: str
    rules: RulesPublic
    units: list[UnitMatching] = Field(description="the business/private split per unit with vehicles, in id order")
    total: MatchedFigures
    vehicles: list[VehicleMatching]


SuspicionKind = Literal["undispatched", "out_of_window", "detour", "foreign_stop"]


class RequestEvidence(BaseModel):
    id: int
    organisation_id: str
    purpose: str
    origin: str
    destination: str
    wanted_start: datetime
    wanted_end: datetime
    state: str
    dispatched_at: datetime
    departed_at: datetime | None
    released_at: datetime | None = Field(description="returned or cancelled (null: still open)")


class StopEvidence(BaseModel):
    start: datetime
    end: datetime
    minutes: float
    latitude: float
    longitude: float
    from_destination_m: float | None = Field(description="null: the request names no destination")
    foreign: bool = Field(description="farther than YIWANG_MATCHING_PLACE_RADIUS_M from destination and origin")


class Suspicion(BaseModel):
    """One entry of the suspected private use (公车私用), with its evidence."""

    kind: SuspicionKind = Field(
        description="undispatched: driven with no request holding the vehicle; out_of_window: on a request, outside "
        "its wanted window; detour: a request's km over its estimate; foreign_stop: a stop away from where the "
        "request went"
    )
    vehicle_id: str
    plate: str
    organisation_id: str
    start: datetime = Field(description="the track's time span: from")
    end: datetime
    track: str = Field(description="the track of that span: GET this path (GeoJSON, with stops)")
    km: float = Field(description="driven in the span (a detour: all the request's km)")
    request: RequestEvidence | None = Field(description="the request that held the vehicle; null: none did")
    request_hidden: bool = Field(
        default=False, description="a request held it, of a unit you may not see: its details are left out"
    )
    estimate_km: float | None = Field(default=None, description="a detour: the request's estimate")
    excess_km: float | None = Field(default=None, description="a detour: km over the estimate")
    stops: list[StopEvidence] = Field(default_factory=list, description="stops of the request in the span")
    detail: str


class SuspicionList(BaseModel):
    start: datetime
    end: datetime
    zone: str
    rules: RulesPublic
    suspicions: list[Suspicion] = Field(description="by vehicle, then time")


# ---------------------------------------------------------------------------------------------------------------
# Matching a period


@dataclass(frozen=True, slots=True)
class VehicleMatched:
    """A vehicle's trips matched for a period: its row, the matching, and its holds' rows."""

    row: dict[str, Any]
    matched: Matching
    requests: dict[int, dict[str, Any]]  # the holds' rows, by request id


@dataclass(frozen=True, slots=True)
class Matched:
    """The vehicles matched for a period [start, end): what the report and the suspicion list are made of."""

    start: datetime
    end: datetime
    vehicles: list[VehicleMatched]


def _point(latitude: float | None, longitude: float | None) -> Point | None:
    return None if latitude is None or longitude is None else Point(latitude, longitude)


def _hold(row: dict[str, Any]) -> Hold:
    return Hold(
        request_id=row["id"],
        dispatched_at=row["dispatched_at"],
        released_at=row["released_at"],
        wanted_start=row["wanted_start"],
        wanted_end=row["wanted_end"],
        origin=_point(row["origin_latitude"], row["origin_longitude"]),
        destination=_point(row["destination_latitude"], row["destination_longitude"]),
    )


async def matched(
    conn: AsyncConnection, scope: Scope, period: Period, settings: Settings, organisation_id: str | None
) -> Matched:
    """The vehicles in scope (of one unit, if given) matched for the period: what the report and the suspicion list
    are made of (an export of both matches once). Refused (TooMuchWork) over YIWANG_REPORT_MAX_VEHICLE_DAYS."""
    zone: ZoneInfo = settings.zone
    start, end = period.moments(zone)
    rules, cleaning = matching_rules(settings), settings.track_rules
    vehicle_rows = await matching_db.vehicles(conn, scope, organisation_id)
    check_vehicle_days("matching report", len(vehicle_rows), period.days, settings)
    ids = [v["id"] for v in vehicle_rows]
    hold_rows = await matching_db.holds(conn, ids, start, end)
    # Requests dispatched in the period are judged on every trip they held, also after the period's end (up to
    # _LONGEST_DAYS after it); a day before the period gives the trip that leads to a stop early in it.
    now = datetime.now(UTC)
    latest = end + timedelta(days=_LONGEST_DAYS)
    until = {
        h["vehicle_id"]: min(latest, max(end, h["released_at"] or now))
        for h in sorted(hold_rows, key=lambda h: h["released_at"] or now)
        if start <= h["dispatched_at"] < end
    }
    trips = await matching_db.trips(conn, ids, start - timedelta(days=1), max([end, *until.values()]))
    found: list[VehicleMatched] = []
    for row in vehicle_rows:
        mine = [h for h in hold_rows if h["vehicle_id"] == row["id"]]
        driven = [t for t in trips.get(row["id"], []) if t.start_time < until.get(row["id"], end)]
        if row["lifecycle"] == "retired" and not any(_within(t.start_time, start, end) for t in driven):
            continue
        raw = await _track(conn, row["id"], driven)
        # Cleaning and matching are pure Python over every fix: a worker thread, one vehicle at a time, so the
        # loop keeps serving.
        matched = await run_in_threadpool(_match, driven, raw, [_hold(h) for h in mine], cleaning, rules)
        found.append(VehicleMatched(row, matched, {h["id"]: h for h in mine}))
    return Matched(start, end, found)


async def _track(conn: AsyncConnection, vehicle_id: str, driven: Sequence[Any]) -> track.Columns | None:
    if not driven:
        return None
    first, last = driven[0].start_time, max(t.end_time for t in driven)
    return await tracks.read(conn, vehicle_id, first, last + timedelta(microseconds=1))


def _match(
    driven: Sequence[Any], raw: track.Columns | None, holds: list[Hold], cleaning: TrackRules, rules: MatchingRules
) -> Matching:
    fixes = [] if raw is None else track.clean_columns(raw, cleaning).kept.fixes()
    return match(driven, fixes, holds, rules)


def _rules_public(settings: Settings) -> RulesPublic:
    return RulesPublic(
        road_factor=settings.matching_road_factor,
        detour_tolerance=settings.matching_detour_tolerance,
        detour_min_km=settings.matching_detour_min_km,
        window_slack_minutes=settings.matching_window_slack_minutes,
        stop_seconds=settings.matching_stop_seconds,
        place_radius_m=settings.matching_place_radius_m,
    )


def _within(at: datetime, start: datetime, end: datetime) -> bool:
    return start <= at < end


def _figures(vehicles: Iterable[VehicleMatched], start: datetime, end: datetime) -> MatchedFigures:
    # A trip is a vehicle's: two vehicles may start one in the same second.
    parts: list[tuple[tuple[str, datetime], Part]] = []
    judged: list[Judged] = []
    stops: list[Stop] = []
    for v in vehicles:
        parts += [((v.row["id"], p.trip_start), p) for p in v.matched.parts if _within(p.trip_start, start, end)]
        judged += [j for j in v.matched.requests if _within(v.requests[j.request_id]["dispatched_at"], start, end)]
        stops += [s for s in v.matched.stops if _within(s.start, start, end)]
    km = sum(p.km for _, p in parts)
    dispatched = sum(p.km for _, p in parts if p.request_id is not None)
    detours = [j for j in judged if j.detour]
    return MatchedFigures(
        km=round(km, 3),
        dispatched_km=round(dispatched, 3),
        undispatched_km=round(km - dispatched, 3),
        business_share=round(dispatched / km, 4) if km else None,
        undispatched_trips=len({trip for trip, p in parts if p.kind == "undispatched"}),
        out_of_window_km=round(sum(p.km for _, p in parts if p.kind == "out_of_window"), 3),
        out_of_window_trips=len({trip for trip, p in parts if p.kind == "out_of_window"}),
        requests=len(judged),
        detours=len(detours),
        detour_excess_km=round(sum(j.excess_km or 0.0 for j in detours), 3),
        foreign_stops=sum(s.foreign for s in stops),
    )


async def report(
    conn: AsyncConnection, scope: Scope, period: Period, settings: Settings, organisation_id: str | None = None
) -> MatchingReport:
    """The matching report of the period: per vehicle and unit in the scope (and of one unit, if given)."""
    return report_of(await matched(conn, scope, period, settings, organisation_id), settings)


def report_of(matched: Matched, settings: Settings) -> MatchingReport:
    """The matching report of vehicles matched once (`matched`)."""
    start, end = matched.start, matched.end
    vehicles = [
        VehicleMatching(
            vehicle_id=v.row["id"],
            plate=v.row["plate"],
            organisation_id=v.row["organisation_id"],
            organisation_name=v.row["organisation_name"],
            **_figures([v], start, end).model_dump(),
        )
        for v in matched.vehicles
    ]
    by_unit: dict[str, list[VehicleMatched]] = {}
    for v in matched.vehicles:
        by_unit.setdefault(v.row["organisation_id"], []).append(v)
    units = [
        UnitMatching(
            organisation_id=org,
            organisation_name=members[0].row["organisation_name"],
            **_figures(members, start, end).model_dump(),
        )
        for org, members in sorted(by_unit.items())
    ]
    return MatchingReport(
        start=start,
        end=end,
        zone=settings.zone.key,
        rules=_rules_public(settings),
        units=units,
        total=_figures(matched.vehicles, start, end),
        vehicles=vehicles,
    )


async def suspicions(
    conn: AsyncConnection, scope: Scope, period: Period, settings: Settings, organisation_id: str | None = None
) -> SuspicionList:
    """The suspected private use of the period, with evidence, of the vehicles in the scope."""
    return suspicions_of(await matched(conn, scope, period, settings, organisation_id), scope, settings)


def suspicions_of(matched: Matched, scope: Scope, settings: Settings) -> SuspicionList:
    """The suspected private use among vehicles matched once (`matched`)."""
    start, end = matched.start, matched.end
    entries: list[Suspicion] = []
    for v in matched.vehicles:
        entries += _entries(v, scope, start, end)
    return SuspicionList(
        start=start, end=end, zone=settings.zone.key, rules=_rules_public(settings), suspicions=entries
    )


def _entry(
    v: VehicleMatched, scope: Scope, kind: SuspicionKind, span: tuple[datetime, datetime], *, km: float,
    request_id: int | None, detail: str, **more: Any,
) -> Suspicion:  # fmt: skip
    row = None if request_id is None else v.requests[request_id]
    visible = row is not None and scope.allows(row["organisation_id"])
    return Suspicion(
        kind=kind,
        vehicle_id=v.row["id"],
        plate=v.row["plate"],
        organisation_id=v.row["organisation_id"],
        start=span[0],
        end=span[1],
        track=_track_link(v.row["id"], *span),
        km=round(km, 3),
        request=RequestEvidence.model_validate(row) if row is not None and visible else None,
        request_hidden=row is not None and not visible,
        detail=detail,
        **more,
    )


def _entries(v: VehicleMatched, scope: Scope, start: datetime, end: datetime) -> list[Suspicion]:
    found: list[tuple[datetime, Suspicion]] = []
    for p in v.matched.parts:
        if not _within(p.trip_start, start, end) or p.kind == "dispatched":
            continue
        if p.kind == "undispatched":
            detail = f"{p.km:.1f} km driven with no request holding the vehicle (非调度用车)"
        else:
            detail = f"{p.km:.1f} km driven on request {p.request_id} outside its wanted window"
        found.append(
            (p.start, _entry(v, scope, p.kind, (p.start, p.end), km=p.km, request_id=p.request_id, detail=detail))
        )
    for j in v.matched.requests:
        row = v.requests[j.request_id]
        if not j.detour or not _within(row["dispatched_at"], start, end):
            continue
        mine = [p for p in v.matched.parts if p.request_id == j.request_id]
        stops = [_stop(s) for s in v.matched.stops if s.request_id == j.request_id]
        detail = (
            f"request {j.request_id}: {j.km:.1f} km driven against an estimate of {j.estimate_km:.1f} km "
            f"({j.excess_km:.1f} km more)"
        )
        span = (mine[0].start, mine[-1].end)
        found.append(
            (
                span[0],
                _entry(
                    v,
                    scope,
                    "detour",
                    span,
                    km=j.km,
                    request_id=j.request_id,
                    detail=detail,
                    estimate_km=_rounded(j.estimate_km),
                    excess_km=_rounded(j.excess_km),
                    stops=stops,
                ),
            )
        )
    for s in v.matched.stops:
        if not s.foreign or not _within(s.start, start, end):
            continue
        minutes, away_km = (s.end - s.start).total_seconds() / 60, (s.from_destination_m or 0) / 1000
        detail = f"request {s.request_id}: stopped {minutes:.0f} min {away_km:.1f} km from its destination"
        found.append(
            (
                s.start,
                _entry(
                    v,
                    scope,
                    "foreign_stop",
                    (s.start, s.end),
                    km=0.0,
                    request_id=s.request_id,
                    detail=detail,
                    stops=[_stop(s)],
                ),
            )
        )
    return [e for _, e in sorted(found, key=lambda pair: pair[0])]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _stop(s: Stop) -> StopEvidence:
    return StopEvidence(
        start=s.start,
        end=s.end,
        minutes=round((s.end - s.start).total_seconds() / 60, 1),
        latitude=s.point.latitude,
        longitude=s.point.longitude,
        from_destination_m=None if s.from_destination_m is None else round(s.from_destination_m),
        foreign=s.foreign,
    )


def _track_link(vehicle_id: str, start: datetime, end: datetime) -> str:
    # The end is exclusive: a microsecond after the span's last fix keeps it in the track.
    query = urlencode(
        {
            "start": start.astimezone(UTC).isoformat(),
            "end": (end + timedelta(microseconds=1)).astimezone(UTC).isoformat(),
        }
    )
    return f"/vehicles/{vehicle_id}/track?{query}"
