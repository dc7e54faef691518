"""Dispatch reports: dispatches and kilometres per unit, mileage and utilisation per vehicle, new-energy shares and
alerts per unit for a period of local days (api/fleet/reports.py says what each figure counts; the /exports router
writes them as XLSX and CSV)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ReadsDep, ScopeDep, SettingsDep, require
from api.errors import responses
from api.fleet import matching, reports
from api.fleet.matching import MatchingQuery, MatchingReport, SuspicionList
from api.fleet.reports import DispatchReport, ReportQuery, VehicleReport
from api.reads import read_responses
from api.supervision import geofences
from api.supervision.geofences import GeofenceQuery, GeofenceReport

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/dispatch", dependencies=[Depends(require("reports:read"))], responses=read_responses(responses(401, 403, 422))
)
async def dispatch_report(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ReportQuery, Query()]
) -> DispatchReport:
    """Per unit you may see, and a total line: dispatches (派车) and their kilometres, its vehicles' kilometres,
    fleet, new-energy shares of vehicles and of kilometres, utilisation, and alerts by kind.

    Dispatches are the unit's trip requests dispatched in the period, whatever came next (completed: returned
    since; dispatch km: return minus departure odometer of those with both readings). Kilometres are those of
    its vehicles' trips that started in the period, from the odometer where plausible, else from the cleaned
    track; they are brought up to date every YIWANG_MILEAGE_REFRESH_SECONDS. The fleet is its vehicles not
    retired, and retired ones that drove. New energy is battery_electric and plug_in_hybrid. Utilisation is
    vehicle-days with a trip / (vehicles x days of the period). Alerts are counted by fix time.
    """
    result, _ = await reads.read(
        lambda conn: reports.report(conn, scope, query.period, settings.zone, query.organisation_id)
    )
    return result


@router.get(
    "/vehicles", dependencies=[Depends(require("reports:read"))], responses=read_responses(responses(401, 403, 422))
)
async def vehicle_report(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ReportQuery, Query()]
) -> VehicleReport:
    """Per vehicle you may see: kilometres of its trips that started in the period (and how many of them by
    odometer), trips, days used (with a trip) and reporting (with a position), utilisation (days used / days of
    the period), moving hours, top speed, and the requests dispatched to it with their odometer kilometres.
    Retired vehicles appear only if they drove in the period."""
    period = query.period
    rows = await reads.read(lambda conn: reports.vehicles(conn, scope, period, settings.zone, query.organisation_id))
    return VehicleReport(start=period.start, end=period.end, days=period.days, zone=settings.zone.key, vehicles=rows)


@router.get(
    "/geofences", dependencies=[Depends(require("reports:read"))], responses=read_responses(responses(401, 403, 422))
)
async def geofence_report(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[GeofenceQuery, Query()]
) -> GeofenceReport:
    """Per vehicle you may see and area (the city's and its unit's, as supervision applies them), over at most 31
    local days: entries, exits and hours inside, from the stored positions. A fix is inside when the area applies at
    its time (its calendar's hours) and contains it; an entry is a fix inside after one not inside (the period's
    first fix is `inside_at_start` instead); time inside runs from each fix inside to the next, except across a
    silence longer than YIWANG_TRIP_MAX_GAP_SECONDS. Only pairs with a fix inside are listed. 422 when the vehicles
    with an area times the days exceed YIWANG_REPORT_MAX_VEHICLE_DAYS: ask for fewer days, one unit or one area."""
    return await reads.read(lambda conn: geofences.report(conn, scope, query, settings))


@router.get(
    "/matching", dependencies=[Depends(require("reports:read"))], responses=read_responses(responses(401, 403, 422))
)
async def matching_report(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[MatchingQuery, Query()]
) -> MatchingReport:
    """Trips matched to the requests that dispatched their vehicle (at most 31 days): per vehicle and unit you may
    see, and a total line, the business/private split (dispatched km: driven while a request held the vehicle, from
    its dispatch to its return or cancellation; undispatched km: while none did, 非调度用车), trips outside their
    request's wanted window, detours (绕道) and stops away from the destination.

    Kilometres are those of the trips that started in the period (as GET /reports/vehicles), each shared out along
    its fixes and judged by the fixes' own times (a blind-zone batch stored after a dispatch is judged as driven
    before it); a trip begun before a dispatch is split at the dispatch. A request's estimate is the straight line
    origin -> destination -> origin times YIWANG_MATCHING_ROAD_FACTOR; a detour exceeds it by more than
    YIWANG_MATCHING_DETOUR_TOLERANCE of it and YIWANG_MATCHING_DETOUR_MIN_KM. `rules` gives the thresholds used.
    Trips are counted per vehicle. 422 when vehicles times days exceed YIWANG_REPORT_MAX_VEHICLE_DAYS: ask for fewer
    days or one unit.
    """
    return await reads.read(lambda conn: matching.report(conn, scope, query.period, settings, query.organisation_id))


@router.get(
    "/suspicions", dependencies=[Depends(require("reports:read"))], responses=read_responses(responses(401, 403, 422))
)
async def suspicion_list(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[MatchingQuery, Query()]
) -> SuspicionList:
    """Suspected private use (公车私用) of the vehicles you may see in the period (at most 31 days), each entry with
    its evidence: the kind (undispatched, out_of_window, detour, foreign_stop), the track's time span and the path
    of its track, the request that held the vehicle (or its absence; `request_hidden` when it is of a unit you may
    not see), the kilometres, a detour's estimate and excess, and the stops. 422 over
    YIWANG_REPORT_MAX_VEHICLE_DAYS vehicles times days, as GET /reports/matching."""
    return await reads.read(
        lambda conn: matching.suspicions(conn, scope, query.period, settings, query.organisation_id)
    )
