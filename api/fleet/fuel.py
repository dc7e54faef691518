"""The fuel report of a period: per vehicle, what its statements say it bought (litres, kWh, yuan) against the
kilometres its track drove (the mileage roll-up), per 100 km, and each implausibility flagged with its evidence
(domain/fuel.py `judge`); and the same as sheets for XLSX and CSV.

- A period is local days [start, end) of the city's zone, as the dispatch report's; a purchase counts on its local
  day. Kilometres are those of the vehicle's trips that started on those days (GET /reports/vehicles has the same).
- L/100 km is the period's litres (gasoline or diesel) over its kilometres x 100, kWh/100 km likewise: fuel bought
  in the period against kilometres driven in it, so a period of a few days reads high or low by a tankful; a month
  or more is the honest measure. Null where the track drove no kilometre (with the reason) or nothing was bought.
- Flags: no_driving (a purchase with no kilometre within YIWANG_FUEL_IDLE_DAYS local days of it), over_tank (more
  litres than the tank holds, YIWANG vehicle tank_litres), over_battery (more kWh than the battery holds),
  consumption_out_of_band (per 100 km outside YIWANG_FUEL_LITRES_PER_100KM_LOW..HIGH or
  YIWANG_FUEL_KWH_PER_100KM_LOW..HIGH; not applied to plug-in hybrids, whose kilometres both fuels share).
- A vehicle with no home institution counts in no institution's energy statistics: `not_counted` lists it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, Literal
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.files.table import Column, Sheet
from api.fleet.reports import ReportQuery
from db import fuel as fuel_db
from db.scope import Scope
from domain import labels
from domain.fuel import Band, FlagKind, Purchase, Rules, judge
from domain.labels import Language
from domain.periods import Period
from yiwang.settings import Settings


def rules_of(settings: Settings) -> Rules:
    return Rules(
        idle_days=settings.fuel_idle_days,
        litres=Band(settings.fuel_litres_per_100km_low, settings.fuel_litres_per_100km_high),
        kwh=Band(settings.fuel_kwh_per_100km_low, settings.fuel_kwh_per_100km_high),
    )


class FuelFlag(BaseModel):
    kind: FlagKind = Field(
        description="no_driving: bought with no kilometre around it; over_tank / over_battery: one purchase larger "
        "than the tank or battery holds; consumption_out_of_band: per 100 km outside the plausible band"
    )
    evidence: str = Field(description="the purchase, the kilometres or the bound that make it implausible")
    time: datetime | None = Field(description="the purchase's time, for a flag of one purchase")


class FuelRow(BaseModel):
    vehicle_id: str
    plate: str
    organisation_id: str
    organisation_name: str
    energy: str
    home_institution_id: str | None = Field(description="whose energy statistics its fuel counts in (null: none)")
    purchases: int
    litres: float = Field(description="gasoline and diesel bought on the period's days")
    kwh: float = Field(description="electricity charged on the period's days")
    amount: float = Field(description="yuan, of the purchases whose statement gives an amount")
    purchases_without_amount: int
    km: float = Field(description="kilometres of its trips that started on the period's days")
    l_per_100km: float | None = Field(description="litres / km x 100 (null: no km, or no litres)")
    kwh_per_100km: float | None = Field(description="kWh / km x 100 (null: no km, or no kWh)")
    per_100km_reason: str | None = Field(description="why both are null, where the track drove no kilometre")
    flags: list[FuelFlag]


class FuelReport(BaseModel):
    start: date
    end: date
    days: int
    zone: str
    vehicles: list[FuelRow] = Field(description="every vehicle you may see with a purchase in the period")
    not_counted: list[str] = Field(
        description="vehicles of the report with no home institution: their fuel counts in no institution's "
        "energy statistics until the registry gives them one"
    )


async def report(conn: AsyncConnection, scope: Scope, query: ReportQuery, zone: ZoneInfo, rules: Rules) -> FuelReport:
    """Per vehicle in the scope (and of one unit, if given) with a purchase in the period, in unit and vehicle
    order."""
    period: Period = query.period
    days = (period.start, period.end)
    vehicles = await fuel_db.vehicles_with_purchases(conn, scope, days, query.organisation_id)
    ids = [v["id"] for v in vehicles]
    bought = await fuel_db.purchases(conn, ids, days)
    around = timedelta(days=rules.idle_days)
    driven = await fuel_db.km_by_day(conn, ids, (period.start - around, period.end + around))
    rows = []
    for v in vehicles:
        mine = [p for p in bought if p["vehicle_id"] == v["id"]]
        by_day = driven.get(v["id"], {})
        km = sum((k for d, k in by_day.items() if period.start <= d < period.end), Decimal(0))
        verdict = judge(
            [Purchase(p["time"].astimezone(zone), p["day"], p["fuel"], p["quantity"], p["station"]) for p in mine],
            km,
            by_day,
            energy=v["energy"],
            tank_litres=v["tank_litres"],
            battery_kwh=v["battery_kwh"],
            rules=rules,
        )
        rows.append(
            FuelRow(
                vehicle_id=v["id"],
                plate=v["plate"],
                organisation_id=v["organisation_id"],
                organisation_name=v["organisation_name"],
                energy=v["energy"],
                home_institution_id=v["home_institution_id"],
                purchases=len(mine),
                litres=float(verdict.litres),
                kwh=float(verdict.kwh),
                amount=float(sum((p["amount"] for p in mine if p["amount"] is not None), Decimal(0))),
                purchases_without_amount=sum(p["amount"] is None for p in mine),
                km=round(float(km), 3),
                l_per_100km=_float(verdict.l_per_100km),
                kwh_per_100km=_float(verdict.kwh_per_100km),
                per_100km_reason=verdict.per_100km_reason,
                flags=[FuelFlag(kind=f.kind, evidence=f.evidence, time=f.time) for f in verdict.flags],
            )
        )
    return FuelReport(
        start=period.start,
        end=period.end,
        days=period.days,
        zone=zone.key,
        vehicles=rows,
        not_counted=[r.vehicle_id for r in rows if r.home_institution_id is None],
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------------------------------------------------------
# As sheets

View = Literal["vehicles", "flags"]
VIEWS: Final[tuple[View, ...]] = ("vehicles", "flags")

_VEHICLE = (
    Column("vehicle_id", "车辆编号", "Vehicle id"),
    Column("plate", "号牌", "Plate"),
    Column("organisation_id", "单位编号", "Unit id"),
    Column("organisation", "单位名称", "Unit"),
)
_FLAG_LABELS: Final[dict[str, tuple[str, str]]] = {
    "no_driving": ("加油前后无行驶", "Bought with no driving around it"),
    "over_tank": ("单次加油超过油箱容积", "More than the tank holds"),
    "over_battery": ("单次充电超过电池容量", "More than the battery holds"),
    "consumption_out_of_band": ("百公里能耗超出合理范围", "Per 100 km outside the plausible band"),
}


def sheets(result: FuelReport, language: Language, only: View | None = None) -> list[Sheet]:
    """The report's sheets (or one of them): vehicles, and flags one per row."""
    zh = language == "zh"
    built: dict[View, Sheet] = {
        "vehicles": Sheet(
            "vehicles",
            "车辆油耗电耗",
            "Vehicle fuel",
            (
                *_VEHICLE,
                Column("energy", "能源类型", "Energy"),
                Column("home_institution_id", "计入机构编号", "Counted in institution"),
                Column("purchases", "加油/充电次数", "Purchases", "integer"),
                Column("litres", "加油量（L）", "Litres", "decimal", decimals=2),
                Column("kwh", "充电量（kWh）", "kWh", "decimal", decimals=2),
                Column("amount", "金额（元）", "Amount (yuan)", "decimal", decimals=2),
                Column("km", "轨迹里程（km）", "Track km", "decimal", decimals=1),
                Column("l_per_100km", "百公里油耗（L/100km）", "L/100 km", "decimal", decimals=2),
                Column("kwh_per_100km", "百公里电耗（kWh/100km）", "kWh/100 km", "decimal", decimals=2),
                Column("per_100km_reason", "无百公里能耗原因", "Why no per 100 km"),
                Column("flags", "异常标记数", "Flags", "integer"),
            ),
            [
                (
                    r.vehicle_id,
                    r.plate,
                    r.organisation_id,
                    r.organisation_name,
                    labels.label(labels.VEHICLE_ENERGY, r.energy, language),
                    r.home_institution_id or ("不计入任何机构" if zh else "counted in none"),
                    r.purchases,
                    r.litres,
                    r.kwh,
                    r.amount,
                    r.km,
                    r.l_per_100km,
                    r.kwh_per_100km,
                    r.per_100km_reason,
                    len(r.flags),
                )
                for r in result.vehicles
            ],
        ),
        "flags": Sheet(
            "flags",
            "异常标记",
            "Flags",
            (
                *_VEHICLE,
                Column("kind", "标记", "Flag"),
                Column("time", "交易时间", "Purchase time"),
                Column("evidence", "依据", "Evidence"),
            ),
            [
                (
                    r.vehicle_id,
                    r.plate,
                    r.organisation_id,
                    r.organisation_name,
                    _FLAG_LABELS[f.kind][0 if zh else 1],
                    None if f.time is None else f.time.isoformat(),
                    f.evidence,
                )
                for r in result.vehicles
                for f in r.flags
            ],
        ),
    }
    return [built[only]] if only is not None else [built[v] for v in VIEWS]
