"""Dispatch reports of a period: dispatches and kilometres per unit, mileage and utilisation per vehicle, new-energy
shares of the fleet and of kilometres, and alerts per unit, within a Scope.

What each figure counts (the API descriptions and the export headers say the same):

- A period is local days [start, end) in the zone the mileage roll-up counts in (YIWANG_TIME_ZONE).
- Dispatches (派车) of a unit: its trip requests (the unit that asked) dispatched in the period, whatever came next.
  Of those, completed: since returned (还车, evaluated or not); cancelled: cancelled after the dispatch. Dispatch
  kilometres: return minus departure odometer of the completed ones with both readings; the completed ones
  missing a reading are counted beside them, so that a low figure can be told from a missing one.
- Kilometres of a vehicle: the distance of its trips that started in the period (worker/mileage.py: from the
  odometer where plausible, else from the cleaned track), whoever the trips were for. A unit's kilometres are
  those of its vehicles (the unit a vehicle belongs to now). Where its terminal reports no speed, ignition or
  odometer (or a speed its fixes contradict), trips are found from motion between fixes (domain/trips.py rules 8
  and 9); `derived` names what of its figures was so derived.
- Fleet of a unit: its vehicles not retired, and retired ones that drove in the period.
- New energy: battery_electric and plug_in_hybrid; shares of the fleet (vehicles) and of kilometres.
- Utilisation (使用率) of a vehicle: days with at least one trip / days in the period, the usual fleet measure
  (a vehicle used every working day of a month comes to about 70 %); of a unit or the city: vehicle-days with
  a trip / (vehicles x days). Moving hours (the time in trips) are given beside it.
- Alerts of a unit: those raised for its vehicles (its unit when raised) with a fix time in the period, by kind.
- The total line sums every unit in the report (the whole city for those who see every unit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.fields import Text
from api.queries import PeriodQuery
from db import reports as reports_db
from db.scope import Scope
from domain.periods import Period
from domain.supervision import ALERT_KINDS, AlertKind
from domain.trips import DERIVED, Derived
from domain.vehicles import NEW_ENERGY


class ReportQuery(PeriodQuery):
    """Local days [start, end) in the city's zone (YIWANG_TIME_ZONE), optionally of one unit."""

    organisation_id: Text | None = Field(default=None, description="only this unit (one you may see)")


class Figures(BaseModel):
    """A unit's, or the total's, figures of the period."""

    dispatches: int = Field(description="its trip requests dispatched in the period (派车)")
    completed: int = Field(description="of those, returned since (还车)")
    cancelled: int = Field(description="of those, cancelled after the dispatch")
    dispatch_km: float = Field(description="return minus departure odometer of the completed ones with both")
    completed_without_odometer: int = Field(description="completed ones missing an odometer reading")
    vehicles: int = Field(description="its fleet: vehicles not retired, and retired ones that drove in the period")
    new_energy_vehicles: int = Field(description="battery_electric or plug_in_hybrid")
    new_energy_share: float | None = Field(description="new-energy vehicles / vehicles (null: no vehicles)")
    km: float = Field(description="kilometres of its vehicles' trips that started in the period")
    new_energy_km: float
    new_energy_km_share: float | None = Field(description="new-energy km / km (null: no km)")
    purchased: int = Field(description="vehicles put into service in the period (in_service_on)")
    new_energy_purchased: int
    new_energy_purchase_share: float | None = Field(
        description="new-energy vehicles / vehicles put into service (the 2024 rules: at least 30% of each year's)"
    )
    trips: int
    vehicle_days_used: int = Field(description="days with at least one trip, summed over its vehicles")
    utilisation: float | None = Field(description="vehicle_days_used / (vehicles x days) (null: no vehicles)")
    moving_hours: float = Field(description="time in trips")
    alerts: dict[AlertKind, int] = Field(description="alerts of its vehicles with a fix time in the period, by kind")
    alerts_total: int


class UnitRow(Figures):
    organisation_id: str
    organisation_name: str
    organisation_kind: str = Field(description="unit, service_company or rental_company")


class AlertCount(BaseModel):
    """A unit's alerts of one kind in the period, by level, and how many are not acknowledged yet."""

    organisation_id: str
    kind: AlertKind
    yellow: int
    red: int
    unacknowledged: int


class DispatchReport(BaseModel):
    start: date
    end: date
    days: int
    zone: str
    units: list[UnitRow] = Field(description="every unit with vehicles, dispatches or alerts, in id order")
    total: Figures = Field(description="the units of the report together")
    alerts: list[AlertCount]


class VehicleRow(BaseModel):
    vehicle_id: str
    plate: str
    organisation_id: str
    organisation_name: str
    energy: str
    new_energy: bool
    vehicle_type: str | None
    lifecycle: str
    in_service_on: date | None
    purchased: bool = Field(description="put into service in the period")
    km: float = Field(description="its trips that started in the period")
    odometer_km: float = Field(description="of which from the odometer (the rest from the cleaned track)")
    trips: int
    days_used: int = Field(description="days with at least one trip")
    days_reporting: int = Field(description="days with at least one position received")
    utilisation: float = Field(description="days_used / days of the period")
    moving_hours: float = Field(description="time in trips")
    km_per_day_used: float | None
    max_speed: float | None = Field(description="km/h, the highest of its trips'")
    derived: list[Derived] = Field(
        description="what of its trips' figures came from motion between fixes rather than from its terminal: "
        "speed (moving judged from displacement: none reported, or a standstill its fixes contradict), ignition "
        "(none reported: trips bounded by motion and stops), odometer (distance from the track); empty: as reported"
    )
    dispatches: int = Field(description="trip requests dispatched to it in the period")
    dispatch_km: float = Field(description="return minus departure odometer of those completed")


class VehicleReport(BaseModel):
    start: date
    end: date
    days: int
    zone: str
    vehicles: list[VehicleRow]


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


async def vehicles(
    conn: AsyncConnection, scope: Scope, period: Period, zone: ZoneInfo, organisation_id: str | None = None
) -> list[VehicleRow]:
    """Per vehicle in the scope (and of one unit, if given): kilometres, use and dispatches of the period, in unit
    and vehicle order. Retired vehicles appear only if they drove in the period."""
    rows = await reports_db.vehicles(conn, scope, (period.start, period.end), period.moments(zone), organisation_id)
    # A city's 20,000 rows take most of a second of Python: off the event loop, so the live map and its stream go on.
    return await asyncio.to_thread(_vehicle_rows, rows, period)


def _vehicle_rows(rows: list[dict[str, Any]], period: Period) -> list[VehicleRow]:
    return [_vehicle_row(row, period) for row in rows]


def _vehicle_row(row: dict[str, Any], period: Period) -> VehicleRow:
    km, used, days = float(row["km"]), int(row["days_used"]), period.days
    in_service_on = row["in_service_on"]
    return VehicleRow(
        vehicle_id=row["id"],
        plate=row["plate"],
        organisation_id=row["organisation_id"],
        organisation_name=row["name"],
        energy=row["energy"],
        new_energy=row["energy"] in NEW_ENERGY,
        vehicle_type=row["vehicle_type"],
        lifecycle=row["lifecycle"],
        in_service_on=in_service_on,
        purchased=in_service_on is not None and period.start <= in_service_on < period.end,
        km=round(km, 3),
        odometer_km=round(float(row["odometer_km"]), 3),
        trips=int(row["trips"]),
        days_used=used,
        days_reporting=int(row["days_reporting"]),
        utilisation=round(used / days, 4),
        moving_hours=round(float(row["moving_seconds"]) / 3600, 2),
        km_per_day_used=round(km / used, 3) if used else None,
        max_speed=row["max_speed"],
        derived=[d for d in DERIVED if d in row["derived"].split(",")],
        dispatches=int(row["dispatches"]),
        dispatch_km=round(float(row["dispatch_km"]), 3),
    )


async def report(
    conn: AsyncConnection, scope: Scope, period: Period, zone: ZoneInfo, organisation_id: str | None = None
) -> tuple[DispatchReport, list[VehicleRow]]:
    """The per-unit report of the period with its total line, and the vehicle rows it was summed from.

    Args:
        scope: the units the user may see; no figure of another unit enters any line.
        period: local days of `zone`.
        organisation_id: only this unit (in the scope).
    """
    rows = await vehicles(conn, scope, period, zone, organisation_id)
    moments = period.moments(zone)
    dispatched = {
        org: _Dispatched(count, done, cancelled, km, missing)
        for org, count, done, cancelled, km, missing in await reports_db.dispatches(
            conn, scope, moments, organisation_id
        )
    }
    alerted = [AlertCount.model_validate(row) for row in await reports_db.alerts(conn, scope, moments, organisation_id)]
    fleet: dict[str, list[VehicleRow]] = {}
    for row in rows:
        fleet.setdefault(row.organisation_id, []).append(row)
    ids = sorted(set(fleet) | set(dispatched) | {a.organisation_id for a in alerted})
    names = await reports_db.organisations(conn, ids)
    units = [
        UnitRow(
            organisation_id=org,
            organisation_name=names[org][0],
            organisation_kind=names[org][1],
            **_figures(
                fleet.get(org, []),
                [dispatched[org]] if org in dispatched else [],
                [a for a in alerted if a.organisation_id == org],
                period.days,
            ).model_dump(),
        )
        for org in ids
    ]
    total = _figures(rows, list(dispatched.values()), alerted, period.days)
    result = DispatchReport(
        start=period.start,
        end=period.end,
        days=period.days,
        zone=zone.key,
        units=units,
        total=total,
        alerts=alerted,
    )
    return result, rows


@dataclass(frozen=True, slots=True)
class _Dispatched:
    dispatches: int
    completed: int
    cancelled: int
    km: float
    without_odometer: int


def _figures(
    vehicle_rows: Sequence[VehicleRow], dispatched: Iterable[_Dispatched], alerted: Iterable[AlertCount], days: int
) -> Figures:
    orders = list(dispatched)
    kinds = dict.fromkeys(ALERT_KINDS, 0)
    for a in alerted:
        kinds[a.kind] += a.yellow + a.red
    km = sum(v.km for v in vehicle_rows)
    new_energy = [v for v in vehicle_rows if v.new_energy]
    new_energy_km = sum(v.km for v in new_energy)
    used = sum(v.days_used for v in vehicle_rows)
    purchased = [v for v in vehicle_rows if v.purchased]
    new_energy_purchased = sum(v.new_energy for v in purchased)
    return Figures(
        dispatches=sum(d.dispatches for d in orders),
        completed=sum(d.completed for d in orders),
        cancelled=sum(d.cancelled for d in orders),
        dispatch_km=round(sum(d.km for d in orders), 3),
        completed_without_odometer=sum(d.without_odometer for d in orders),
        vehicles=len(vehicle_rows),
        new_energy_vehicles=len(new_energy),
        new_energy_share=_share(len(new_energy), len(vehicle_rows)),
        km=round(km, 3),
        new_energy_km=round(new_energy_km, 3),
        new_energy_km_share=_share(new_energy_km, km),
        purchased=len(purchased),
        new_energy_purchased=new_energy_purchased,
        new_energy_purchase_share=_share(new_energy_purchased, len(purchased)),
        trips=sum(v.trips for v in vehicle_rows),
        vehicle_days_used=used,
        utilisation=_share(used, len(vehicle_rows) * days),
        moving_hours=round(sum(v.moving_hours for v in vehicle_rows), 2),
        alerts=kinds,
        alerts_total=sum(kinds.values()),
    )
