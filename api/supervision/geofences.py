"""The geofence report: per vehicle and area, over a period of local days, entries, exits and time inside, from the
stored positions (domain/geofences.py says how each is counted). Vehicles and areas within the user's scope: the
city's areas and the vehicle's unit's, as supervision applies them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Self

from psycopg import AsyncConnection
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.files.table import Column, Sheet
from api.fleet.reports import ReportQuery
from api.fleet.workload import check_vehicle_days
from db import alerts as alerts_db
from db import calendar as calendar_db
from db import tracks
from db.scope import Scope
from domain import labels
from domain.geofences import Visits, near, visits
from domain.labels import Language
from domain.supervision import Area, AreaKind, Rules
from domain.track import Columns
from yiwang.settings import Settings

_LONGEST = timedelta(days=31)  # a month of every vehicle's track is read


class GeofenceQuery(ReportQuery):
    area_id: int | None = Field(default=None, description="only this area; null: every area")

    @model_validator(mode="after")
    def _a_month_at_most(self) -> Self:
        if self.end - self.start > _LONGEST:
            raise ValueError("a geofence report covers at most 31 days (it reads every vehicle's track)")
        return self


class GeofenceRow(BaseModel):
    vehicle_id: str
    plate: str
    organisation_id: str
    area_id: int
    area_name: str
    area_kind: AreaKind
    entries: int = Field(description="fixes inside after one not inside (the period's first fix excluded)")
    exits: int = Field(description="fixes not inside after one inside")
    hours_inside: float = Field(description="from each fix inside to the next, unless a silence over the trip gap")
    inside_at_start: bool = Field(description="the period's first fix was inside")
    fixes_inside: int


class GeofenceReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    zone: str
    rows: list[GeofenceRow] = Field(
        description="vehicle and area pairs with a fix inside, in unit, vehicle, area order"
    )


async def report(conn: AsyncConnection, scope: Scope, query: GeofenceQuery, settings: Settings) -> GeofenceReport:
    """The report of the vehicles and areas in scope. Refused (TooMuchWork) over YIWANG_REPORT_MAX_VEHICLE_DAYS."""
    start, end = query.period.moments(settings.zone)
    default, calendars = await calendar_db.calendars_of(conn, settings, start.date(), end.date() + timedelta(days=1))
    rules = Rules(zone=settings.zone, calendar=default, calendars=calendars)
    names = {row["id"]: row["name"] for row in await alerts_db.areas(conn, scope, dict)}
    areas = [a for a in await alerts_db.all_areas(conn) if a.id in names]
    if query.area_id is not None:
        areas = [a for a in areas if a.id == query.area_id]
    judged = [
        (vehicle, mine)
        for vehicle in await alerts_db.vehicles_in(conn, scope, query.organisation_id)
        if (mine := [a for a in areas if a.organisation_id in (None, vehicle[2])])
    ]
    check_vehicle_days("geofence report", len(judged), query.period.days, settings, narrower=" or one area (area_id)")
    rows: list[GeofenceRow] = []
    for (vehicle_id, plate, organisation_id), mine in judged:
        track = await tracks.read(conn, vehicle_id, start, end)
        if not len(track):
            continue
        bbox = (float(track.longitude.min()), float(track.latitude.min()), float(track.longitude.max()),
                float(track.latitude.max()))  # fmt: skip
        reachable = near(mine, bbox)
        if not reachable:
            continue  # the track passes no area: nothing to judge
        # Pure Python over every fix and area: a worker thread, one vehicle at a time, so the loop keeps serving.
        seen = await run_in_threadpool(_visits, track, reachable, rules, settings.trip_max_gap_seconds)
        rows += [_row((vehicle_id, plate, organisation_id), area, names[area.id], v) for area, v in seen]
    return GeofenceReport(start=query.start, end=query.end, zone=settings.zone.key, rows=rows)


def _visits(track: Columns, areas: list[Area], rules: Rules, max_gap_seconds: float) -> list[tuple[Area, Visits]]:
    """The areas with a fix of the track inside, and its visits to each."""
    times = [datetime.fromtimestamp(us / 1e6, UTC) for us in track.time.tolist()]
    points = list(zip(track.latitude.tolist(), track.longitude.tolist(), strict=True))
    found = [(area, visits(times, points, area, rules, max_gap_seconds=max_gap_seconds)) for area in areas]
    return [(area, v) for area, v in found if v.fixes_inside]


def _row(vehicle: tuple[str, str, str], area: Area, name: str, seen: Visits) -> GeofenceRow:
    vehicle_id, plate, organisation_id = vehicle
    return GeofenceRow(
        vehicle_id=vehicle_id, plate=plate, organisation_id=organisation_id, area_id=area.id, area_name=name,
        area_kind=area.kind, entries=seen.entries, exits=seen.exits, hours_inside=round(seen.seconds_inside / 3600, 3),
        inside_at_start=seen.inside_at_start, fixes_inside=seen.fixes_inside,
    )  # fmt: skip


_COLUMNS = (
    Column("vehicle_id", "车辆编号", "Vehicle id"),
    Column("plate", "车牌号", "Plate"),
    Column("organisation_id", "单位编号", "Unit id"),
    Column("area_id", "区域编号", "Area id", "integer"),
    Column("area_name", "区域名称", "Area"),
    Column("area_kind", "区域类型", "Area kind"),
    Column("entries", "进入次数", "Entries", "integer"),
    Column("exits", "离开次数", "Exits", "integer"),
    Column("hours_inside", "区域内时长（h）", "Hours inside", "decimal", decimals=3),
    Column("inside_at_start", "期初在区域内", "Inside at start"),
    Column("fixes_inside", "区域内定位点数", "Fixes inside", "integer"),
)


def sheet(result: GeofenceReport, language: Language) -> Sheet:
    """The report as one sheet; texts inside cells in `language`."""
    return Sheet("geofences", "电子围栏统计", "Geofences", _COLUMNS, [_cells(r, language) for r in result.rows])


def _cells(r: GeofenceRow, language: Language) -> tuple[object, ...]:
    zh = language == "zh"
    inside = ("是" if zh else "yes") if r.inside_at_start else ("否" if zh else "no")
    kind = labels.label(labels.AREA_KIND, r.area_kind, language)
    return (r.vehicle_id, r.plate, r.organisation_id, r.area_id, r.area_name, kind, r.entries, r.exits,
            r.hours_inside, inside, r.fixes_inside)  # fmt: skip
