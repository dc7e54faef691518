"""The dispatch report as sheets: units (dispatches, kilometres, new-energy shares, alerts) with a total line,
vehicles (mileage and utilisation), and alerts per unit and kind.

Headers are Chinese by default and English on request (api/files); every sheet is built from the same report
the API returns, so a figure in the file is the figure of the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from api.files.table import Column, Sheet
from api.fleet.reports import AlertCount, DispatchReport, Figures, VehicleRow
from domain import labels
from domain.labels import Language

View = Literal["units", "vehicles", "alerts"]
VIEWS: Final[tuple[View, ...]] = ("units", "vehicles", "alerts")

_UNIT = (
    Column("organisation_id", "单位编号", "Unit id"),
    Column("organisation", "单位名称", "Unit"),
    Column("kind", "类型", "Kind"),
)
_FIGURES = (
    Column("dispatches", "派车次数", "Dispatches", "integer"),
    Column("completed", "已还车", "Completed", "integer"),
    Column("cancelled", "派车后取消", "Cancelled after dispatch", "integer"),
    Column("dispatch_km", "派车里程（km，里程表）", "Dispatch km (odometer)", "decimal", decimals=1),
    Column("completed_without_odometer", "缺里程表读数", "Completed without odometer", "integer"),
    Column("vehicles", "车辆数", "Vehicles", "integer"),
    Column("new_energy_vehicles", "新能源车辆数", "New-energy vehicles", "integer"),
    Column("new_energy_share", "新能源车辆占比", "New-energy share of vehicles", "percent"),
    Column("km", "行驶里程（km）", "Kilometres", "decimal", decimals=1),
    Column("new_energy_km", "新能源行驶里程（km）", "New-energy kilometres", "decimal", decimals=1),
    Column("new_energy_km_share", "新能源里程占比", "New-energy share of kilometres", "percent"),
    Column("purchased", "新增车辆", "Put into service", "integer"),
    Column("new_energy_purchased", "新增新能源车辆", "New-energy put into service", "integer"),
    Column("new_energy_purchase_share", "新增新能源占比", "New-energy share of additions", "percent"),
    Column("trips", "行程数", "Trips", "integer"),
    Column("vehicle_days_used", "车辆使用天数", "Vehicle-days used", "integer"),
    Column("utilisation", "车辆使用率", "Utilisation", "percent"),
    Column("moving_hours", "行驶时长（h）", "Moving hours", "decimal", decimals=1),
    Column("alerts", "告警数", "Alerts", "integer"),
)


def sheets(
    report: DispatchReport, vehicle_rows: Sequence[VehicleRow], language: Language, only: View | None = None
) -> list[Sheet]:
    """The report's sheets (or one of them).

    Args:
        report: the per-unit report of the period, with its total line.
        vehicle_rows: the per-vehicle rows of the same period and scope.
        language: the language of texts inside cells (kinds, energies, the total line's name).
        only: one view, for a CSV.
    """
    zh = language == "zh"
    names = {u.organisation_id: u.organisation_name for u in report.units}
    built: dict[View, Sheet] = {
        "units": Sheet(
            "units",
            "单位用车统计",
            "Units",
            (*_UNIT, *_FIGURES),
            [
                *(
                    (
                        u.organisation_id,
                        u.organisation_name,
                        labels.label(labels.ORGANISATION_KIND, u.organisation_kind, language),
                        *_figure_cells(u),
                    )
                    for u in report.units
                ),
                (None, "合计" if zh else "Total", None, *_figure_cells(report.total)),
            ],
        ),
        "vehicles": Sheet(
            "vehicles",
            "车辆里程与使用率",
            "Vehicles",
            (
                Column("vehicle_id", "车辆编号", "Vehicle id"),
                Column("plate", "号牌", "Plate"),
                *_UNIT[:2],
                Column("energy", "能源类型", "Energy"),
                Column("new_energy", "新能源", "New energy"),
                Column("lifecycle", "状态", "Lifecycle"),
                Column("in_service_on", "启用日期", "In service since", "date"),
                Column("km", "行驶里程（km）", "Kilometres", "decimal", decimals=1),
                Column("odometer_km", "其中按里程表（km）", "Of which by odometer (km)", "decimal", decimals=1),
                Column("trips", "行程数", "Trips", "integer"),
                Column("days_used", "使用天数", "Days used", "integer"),
                Column("days_reporting", "在线天数", "Days reporting", "integer"),
                Column("utilisation", "使用率", "Utilisation", "percent"),
                Column("moving_hours", "行驶时长（h）", "Moving hours", "decimal", decimals=1),
                Column("km_per_day_used", "日均里程（km/使用日）", "km per day used", "decimal", decimals=1),
                Column("max_speed", "最高车速（km/h）", "Top speed (km/h)", "decimal", decimals=0),
                Column("derived", "由轨迹推算", "Derived from motion"),
                Column("dispatches", "派车次数", "Dispatches", "integer"),
                Column("dispatch_km", "派车里程（km，里程表）", "Dispatch km (odometer)", "decimal", decimals=1),
            ),
            [
                (
                    v.vehicle_id,
                    v.plate,
                    v.organisation_id,
                    v.organisation_name,
                    labels.label(labels.VEHICLE_ENERGY, v.energy, language),
                    ("是" if v.new_energy else "否") if zh else ("yes" if v.new_energy else "no"),
                    labels.label(labels.LIFECYCLE, v.lifecycle, language),
                    v.in_service_on,
                    v.km,
                    v.odometer_km,
                    v.trips,
                    v.days_used,
                    v.days_reporting,
                    v.utilisation,
                    v.moving_hours,
                    v.km_per_day_used,
                    v.max_speed,
                    ("、" if zh else " ").join(labels.label(labels.DERIVED, d, language) for d in v.derived),
                    v.dispatches,
                    v.dispatch_km,
                )
                for v in vehicle_rows
            ],
        ),
        "alerts": Sheet(
            "alerts",
            "单位告警统计",
            "Alerts",
            (
                *_UNIT[:2],
                Column("kind", "告警类型", "Kind"),
                Column("yellow", "黄色提醒", "Yellow", "integer"),
                Column("red", "红色告警", "Red", "integer"),
                Column("total", "合计", "Total", "integer"),
                Column("unacknowledged", "未确认", "Unacknowledged", "integer"),
            ),
            [_alert_cells(a, names, language) for a in report.alerts],
        ),
    }
    return [built[only]] if only is not None else [built[v] for v in VIEWS]


def _figure_cells(f: Figures) -> tuple[object, ...]:
    return (
        f.dispatches,
        f.completed,
        f.cancelled,
        f.dispatch_km,
        f.completed_without_odometer,
        f.vehicles,
        f.new_energy_vehicles,
        f.new_energy_share,
        f.km,
        f.new_energy_km,
        f.new_energy_km_share,
        f.purchased,
        f.new_energy_purchased,
        f.new_energy_purchase_share,
        f.trips,
        f.vehicle_days_used,
        f.utilisation,
        f.moving_hours,
        f.alerts_total,
    )


def _alert_cells(a: AlertCount, names: dict[str, str], language: Language) -> tuple[object, ...]:
    return (
        a.organisation_id,
        names.get(a.organisation_id, a.organisation_id),
        labels.label(labels.ALERT_KIND, a.kind, language),
        a.yellow,
        a.red,
        a.yellow + a.red,
        a.unacknowledged,
    )
