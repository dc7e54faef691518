"""The matching report as sheets: the business/private split per unit (with a total line), per vehicle, and the
suspected private use (公车私用) with its evidence, one row per entry.

Built from the same report the API returns (GET /reports/matching, /reports/suspicions), so a figure in the file is
the figure of the API. Times are written in the city's zone, with their offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from api.files.table import Column, Sheet
from api.fleet.matching import MatchedFigures, MatchingReport, Suspicion, SuspicionList
from domain.labels import Language

View = Literal["units", "vehicles", "suspicions"]
VIEWS: Final[tuple[View, ...]] = ("units", "vehicles", "suspicions")

_KINDS: Final[dict[str, tuple[str, str]]] = {
    "undispatched": ("非调度用车", "Undispatched"),
    "out_of_window": ("超出用车时段", "Outside the wanted window"),
    "detour": ("绕道", "Detour"),
    "foreign_stop": ("非目的地停留", "Stop away from the destination"),
}

_UNIT = (Column("organisation_id", "单位编号", "Unit id"), Column("organisation", "单位名称", "Unit"))
_FIGURES = (
    Column("km", "行驶里程（km）", "Kilometres", "decimal", decimals=1),
    Column("dispatched_km", "派车里程（公务，km）", "Dispatched km (business)", "decimal", decimals=1),
    Column("undispatched_km", "非调度里程（km）", "Undispatched km", "decimal", decimals=1),
    Column("business_share", "公务里程占比", "Business share", "percent"),
    Column("undispatched_trips", "非调度行程数", "Undispatched trips", "integer"),
    Column("out_of_window_km", "超时段里程（km）", "Out-of-window km", "decimal", decimals=1),
    Column("out_of_window_trips", "超时段行程数", "Out-of-window trips", "integer"),
    Column("requests", "派车次数", "Requests", "integer"),
    Column("detours", "绕道次数", "Detours", "integer"),
    Column("detour_excess_km", "绕道多行里程（km）", "Detour excess km", "decimal", decimals=1),
    Column("foreign_stops", "非目的地停留次数", "Stops away from the destination", "integer"),
)


def sheets(
    report: MatchingReport, suspected: SuspicionList, language: Language, only: View | None = None
) -> list[Sheet]:
    """The report's sheets (or one of them, for a CSV)."""
    zh = language == "zh"
    zone = ZoneInfo(report.zone)
    built: dict[View, Sheet] = {
        "units": Sheet(
            "units",
            "公务与非调度里程",
            "Business and private km",
            (*_UNIT, *_FIGURES),
            [
                *((u.organisation_id, u.organisation_name, *_cells(u)) for u in report.units),
                (None, "合计" if zh else "Total", *_cells(report.total)),
            ],
        ),
        "vehicles": Sheet(
            "vehicles",
            "车辆行程匹配",
            "Vehicles",
            (Column("vehicle_id", "车辆编号", "Vehicle id"), Column("plate", "号牌", "Plate"), *_UNIT, *_FIGURES),
            [(v.vehicle_id, v.plate, v.organisation_id, v.organisation_name, *_cells(v)) for v in report.vehicles],
        ),
        "suspicions": Sheet(
            "suspicions",
            "疑似公车私用",
            "Suspected private use",
            (
                Column("kind", "类型", "Kind"),
                Column("vehicle_id", "车辆编号", "Vehicle id"),
                Column("plate", "号牌", "Plate"),
                Column("organisation_id", "单位编号", "Unit id"),
                Column("start", "开始时间", "From"),
                Column("end", "结束时间", "Until"),
                Column("km", "里程（km）", "km", "decimal", decimals=1),
                Column("request_id", "用车申请", "Request"),
                Column("purpose", "用车事由", "Purpose"),
                Column("destination", "目的地", "Destination"),
                Column("estimate_km", "估算里程（km）", "Estimate km", "decimal", decimals=1),
                Column("excess_km", "多行里程（km）", "Excess km", "decimal", decimals=1),
                Column("stops", "停留", "Stops"),
                Column("detail", "说明", "Detail"),
                Column("track", "轨迹", "Track"),
            ),
            [_suspicion(s, zone, language) for s in suspected.suspicions],
        ),
    }
    return [built[only]] if only is not None else [built[v] for v in VIEWS]


def _cells(f: MatchedFigures) -> tuple[object, ...]:
    return (
        f.km,
        f.dispatched_km,
        f.undispatched_km,
        f.business_share,
        f.undispatched_trips,
        f.out_of_window_km,
        f.out_of_window_trips,
        f.requests,
        f.detours,
        f.detour_excess_km,
        f.foreign_stops,
    )


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).isoformat(timespec="seconds")


def _suspicion(s: Suspicion, zone: ZoneInfo, language: Language) -> tuple[object, ...]:
    zh = language == "zh"
    if s.request is not None:
        request: str | None = str(s.request.id)
    elif s.request_hidden:
        request = "其他单位的申请" if zh else "another unit's request"
    else:
        request = "无" if zh else "none"
    stops: Sequence[str] = [
        f"{_local(p.start, zone)} {p.minutes:g} min ({p.latitude:.6f}, {p.longitude:.6f})"
        + ("" if p.from_destination_m is None else f" {p.from_destination_m / 1000:.1f} km")
        for p in s.stops
    ]
    return (
        _KINDS[s.kind][0 if zh else 1],
        s.vehicle_id,
        s.plate,
        s.organisation_id,
        _local(s.start, zone),
        _local(s.end, zone),
        s.km,
        request,
        None if s.request is None else s.request.purpose,
        None if s.request is None else s.request.destination,
        s.estimate_km,
        s.excess_km,
        "; ".join(stops) or None,
        s.detail,
        s.track,
    )
