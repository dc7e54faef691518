"""Exports: the energy and dispatch reports as XLSX workbooks for staff and as CSV for systems; each figure in a file
is the figure of the API's report it comes from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from psycopg import AsyncConnection
from pydantic import Field

from api.access.rules import Principal
from api.deps import ReadsDep, ScopeDep, SettingsDep, require
from api.energy import factor_sheet, series
from api.energy import provenance as energy_provenance
from api.energy import workbook as energy_workbook
from api.energy.indicators import IndicatorReport
from api.energy.quality import QualityReport
from api.energy.reports import IndicatorQuery, chosen_factors, indicator_report, quality_report
from api.files import provenance
from api.files.provenance import FactorUsed, Provenance, QualitySummary
from api.files.responses import REPORT_RESPONSES, CsvForm, ReportForm, csv_download, period_name, xlsx_download
from api.files.table import Sheet
from api.files.workbook import Header
from api.fleet import matching, matching_workbook, reports
from api.fleet import workbook as dispatch_workbook
from api.fleet.matching import MatchingQuery, MatchingReport, SuspicionList
from api.fleet.reports import DispatchReport, ReportQuery, VehicleRow
from api.reads import Source, read_responses
from api.supervision import geofences
from api.supervision.geofences import GeofenceQuery, GeofenceReport
from domain.labels import Language
from yiwang.settings import Settings

router = APIRouter(prefix="/exports", tags=["exports"])

EnergyReader = Annotated[Principal, Depends(require("exports:read"))]
DispatchReader = Annotated[Principal, Depends(require("reports:read"))]


class EnergyExportQuery(ReportForm, IndicatorQuery):
    pass


class EnergyCsvQuery(CsvForm, EnergyExportQuery):
    view: energy_workbook.View | Literal["factors"] = Field(
        default="institutions", description="a sheet of the workbook; 'factors': the factors applied, with sources"
    )


class DispatchExportQuery(ReportForm, ReportQuery):
    pass


class DispatchCsvQuery(CsvForm, DispatchExportQuery):
    view: dispatch_workbook.View = "units"


class MatchingExportQuery(ReportForm, MatchingQuery):
    pass


class MatchingCsvQuery(CsvForm, MatchingExportQuery):
    view: matching_workbook.View = "units"


class GeofenceExportQuery(ReportForm, GeofenceQuery):
    pass


class GeofenceCsvQuery(CsvForm, GeofenceExportQuery):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Energy


async def _energy_sheets(
    reads: ReadsDep,
    user: Principal,
    scope: ScopeDep,
    settings: SettingsDep,
    query: EnergyExportQuery,
    *,
    only: energy_workbook.View | Literal["factors"] | None,
) -> tuple[list[Sheet], Provenance]:
    async def work(conn: AsyncConnection) -> tuple[Sheet, QualityReport, _Figures | None, Provenance]:
        # One choice of factors for every sheet.
        factors = await chosen_factors(conn, query)
        # The file says which factors made its figures, with their sources: a sheet of its own, and a CSV view.
        used = await factor_sheet.applied(conn, factors)
        applied = factor_sheet.sheet(used, query.language)
        checked = await quality_report(conn, scope, settings, query)
        held = await energy_provenance.held_gaps(conn, scope, query.filters, period=query.period, zone=settings.zone)
        made = await _made(
            conn,
            user,
            settings,
            query,
            report=("能源统计报表", "Energy report"),
            view=only,
            filters=_energy_filters(query),
            factors=energy_provenance.factors_used(used),
            quality=energy_provenance.quality_summary(checked, held),
            source=reads.source,
        )
        if only == factor_sheet.VIEW:
            return applied, checked, None, made
        per_institution = query.model_copy(update={"group": "institution"})
        result = await indicator_report(conn, scope, settings, per_institution, factors)
        months = await series.monthly(conn, scope, query.filters, start=query.start, end=query.end, factors=factors)
        return applied, checked, (result, months), made

    # The sheets are made off the connection.
    applied, checked, figures, made = await reads.read(work)
    if only == factor_sheet.VIEW or figures is None:
        return [applied], made
    sheets = energy_workbook.sheets(*figures, checked, query.language, only)
    return (sheets if only is not None else [*sheets, applied]), made


# The energy export's figures: the indicators per institution and the monthly series.
_Figures = tuple[IndicatorReport, list[tuple[date, dict[str, Decimal], Decimal | None, int]]]


class _FileQuery(Protocol):
    """What an export's file is named and written by: its period and language (a PeriodQuery with a ReportForm)."""

    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def language(self) -> Language: ...


class _CsvQuery(_FileQuery, Protocol):
    """And a CSV's form (CsvForm)."""

    @property
    def header(self) -> Header: ...
    @property
    def bom(self) -> bool: ...
    @property
    def provenance(self) -> bool: ...


async def _made(
    conn: AsyncConnection,
    user: Principal,
    settings: Settings,
    query: _FileQuery,
    *,
    report: tuple[str, str],
    view: str | None,
    filters: Mapping[str, object],
    factors: Iterable[FactorUsed] = (),
    quality: QualitySummary | None = None,
    source: Source,
) -> Provenance:
    """How a file of a report of the query's period was made: the report, and for a CSV its view, with the report's
    filters (and the factors and data quality of an energy report), and where its figures were read."""
    zh, en = report
    what = (zh, en) if view is None else (f"{zh}（{view}）", f"{en} ({view})")
    return await provenance.made(
        conn,
        user,
        settings,
        what=what,
        start=query.start,
        end=query.end,
        filters=filters,
        factors=factors,
        quality=quality,
        source=source,
    )


async def _xlsx(stem: str, query: _FileQuery, files: tuple[list[Sheet], Provenance]) -> StreamingResponse:
    """A report's sheets as an XLSX download, how it was made last, named by `stem` and the period."""
    sheets, made = files
    name = period_name(stem, query.start, query.end, "xlsx")
    return await xlsx_download(sheets, language=query.language, name=name, provenance=made)


def _csv(stem: str, query: _CsvQuery, files: tuple[list[Sheet], Provenance]) -> StreamingResponse:
    """A report's one sheet as a CSV download, how it was made in '#' lines first unless the query leaves them out,
    named by `stem` and the period."""
    [sheet], made = files
    name = period_name(stem, query.start, query.end, "csv")
    return csv_download(
        sheet, header=query.header, bom=query.bom, name=name, provenance=made if query.provenance else None
    )


def _energy_filters(query: EnergyExportQuery) -> dict[str, object]:
    """The query's choices besides its period and form, as the provenance lists them."""
    return query.model_dump(
        include={
            "institution_id",
            "organisation_id",
            "category",
            "district",
            "key_energy_unit",
            "in_assessment",
            "coal_version",
            "coal_method",
            "carbon_version",
            "region",
        }
    )


@router.get(
    "/energy.xlsx",
    responses=read_responses(REPORT_RESPONSES),
    response_class=StreamingResponse,
)
async def energy_xlsx(
    reads: ReadsDep,
    user: EnergyReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[EnergyExportQuery, Query()],
) -> StreamingResponse:
    """The energy report of a period as XLSX: a sheet per view (institutions x indicators, by month with a
    chart, a ranking per assessed indicator within categories, key energy-using units flagged or proposed, data
    quality, the factors applied with their sources), Chinese headers by default; last, how the file was made (说明 /
    About this file): the period (end exclusive), the time zone, the filters, the factor versions with their sources
    and use, the data-quality summary (as GET /energy/quality and the held gaps of GET /energy/flagged give it), the
    user and unit, the time made, the Yiwang version."""
    return await _xlsx("energy", query, await _energy_sheets(reads, user, scope, settings, query, only=None))


@router.get(
    "/energy.csv",
    responses=read_responses(REPORT_RESPONSES),
    response_class=StreamingResponse,
)
async def energy_csv(
    reads: ReadsDep,
    user: EnergyReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[EnergyCsvQuery, Query()],
) -> StreamingResponse:
    """One view of the energy report as CSV (UTF-8), for systems: plain numbers, ISO dates, stable keys. It starts
    with '#' comment lines saying how it was made, as the XLSX's last sheet does (`#key,label,value`; pandas:
    `read_csv(..., comment="#")`); provenance=false leaves them out."""
    return _csv(
        f"energy-{query.view}", query, await _energy_sheets(reads, user, scope, settings, query, only=query.view)
    )


# ---------------------------------------------------------------------------------------------------------------
# Dispatch


async def _dispatch_sheets(
    reads: ReadsDep,
    user: Principal,
    scope: ScopeDep,
    settings: SettingsDep,
    query: DispatchExportQuery,
    *,
    only: dispatch_workbook.View | None,
) -> tuple[list[Sheet], Provenance]:
    async def work(conn: AsyncConnection) -> tuple[DispatchReport, list[VehicleRow], Provenance]:
        result, rows = await reports.report(conn, scope, query.period, settings.zone, query.organisation_id)
        filters = {"organisation_id": query.organisation_id}
        made = await _made(
            conn,
            user,
            settings,
            query,
            report=("公务用车派车统计", "Dispatch report"),
            view=only,
            filters=filters,
            source=reads.source,
        )
        return result, rows, made

    result, rows, made = await reads.read(work)
    return dispatch_workbook.sheets(result, rows, query.language, only), made


@router.get(
    "/dispatch.xlsx",
    responses=read_responses(REPORT_RESPONSES),
    response_class=StreamingResponse,
)
async def dispatch_xlsx(
    reads: ReadsDep,
    user: DispatchReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[DispatchExportQuery, Query()],
) -> StreamingResponse:
    """The dispatch report of a period as XLSX: units (with the total line), vehicles, and alerts per unit and
    kind; Chinese headers by default. The figures are those of GET /reports/dispatch and GET /reports/vehicles.
    Last, how the file was made (说明 / About this file): the period (end exclusive), the time zone, the unit
    filter, the user and unit, the time made, the Yiwang version."""
    return await _xlsx("dispatch", query, await _dispatch_sheets(reads, user, scope, settings, query, only=None))


@router.get(
    "/dispatch.csv",
    responses=read_responses(REPORT_RESPONSES),
    response_class=StreamingResponse,
)
async def dispatch_csv(
    reads: ReadsDep,
    user: DispatchReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[DispatchCsvQuery, Query()],
) -> StreamingResponse:
    """One view of the dispatch report as CSV (UTF-8), for systems: plain numbers, stable keys. The units view ends
    with the total line (no unit id). It starts with '#' comment lines saying how it was made (`#key,label,value`);
    provenance=false leaves them out."""
    files = await _dispatch_sheets(reads, user, scope, settings, query, only=query.view)
    return _csv(f"dispatch-{query.view}", query, files)


# ---------------------------------------------------------------------------------------------------------------
# Geofences


async def _geofence_sheets(
    reads: ReadsDep, user: Principal, scope: ScopeDep, settings: SettingsDep, query: GeofenceExportQuery
) -> tuple[list[Sheet], Provenance]:
    async def work(conn: AsyncConnection) -> tuple[GeofenceReport, Provenance]:
        result = await geofences.report(conn, scope, query, settings)
        filters = {"organisation_id": query.organisation_id, "area_id": query.area_id}
        made = await _made(
            conn,
            user,
            settings,
            query,
            report=("电子围栏统计", "Geofence report"),
            view=None,
            filters=filters,
            source=reads.source,
        )
        return result, made

    result, made = await reads.read(work)
    return [geofences.sheet(result, query.language)], made


@router.get("/geofences.xlsx", responses=read_responses(REPORT_RESPONSES), response_class=StreamingResponse)
async def geofence_xlsx(
    reads: ReadsDep,
    user: DispatchReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[GeofenceExportQuery, Query()],
) -> StreamingResponse:
    """The geofence report of at most 31 days as XLSX (the figures of GET /reports/geofences), with how the file
    was made last."""
    return await _xlsx("geofences", query, await _geofence_sheets(reads, user, scope, settings, query))


@router.get("/geofences.csv", responses=read_responses(REPORT_RESPONSES), response_class=StreamingResponse)
async def geofence_csv(
    reads: ReadsDep,
    user: DispatchReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[GeofenceCsvQuery, Query()],
) -> StreamingResponse:
    """The geofence report as CSV (UTF-8), for systems; '#' comment lines first say how it was made."""
    return _csv("geofences", query, await _geofence_sheets(reads, user, scope, settings, query))


# ---------------------------------------------------------------------------------------------------------------
# Trips matched to requests


async def _matching_sheets(
    reads: ReadsDep,
    user: Principal,
    scope: ScopeDep,
    settings: SettingsDep,
    query: MatchingExportQuery,
    *,
    only: matching_workbook.View | None,
) -> tuple[list[Sheet], Provenance]:
    async def work(conn: AsyncConnection) -> tuple[MatchingReport, SuspicionList, Provenance]:
        # Matched once for both: matching judges every fix of every vehicle.
        matched = await matching.matched(conn, scope, query.period, settings, query.organisation_id)
        result, suspected = matching.report_of(matched, settings), matching.suspicions_of(matched, scope, settings)
        filters = {"organisation_id": query.organisation_id, **result.rules.model_dump()}
        what = ("行程与派车匹配", "Trips matched to requests")
        made = await _made(conn, user, settings, query, report=what, view=only, filters=filters, source=reads.source)
        return result, suspected, made

    result, suspected, made = await reads.read(work)
    return matching_workbook.sheets(result, suspected, query.language, only), made


@router.get(
    "/matching.xlsx",
    responses=read_responses(REPORT_RESPONSES),
    response_class=StreamingResponse,
)
async def matching_xlsx(
    reads: ReadsDep,
    user: DispatchReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[MatchingExportQuery, Query()],
) -> StreamingResponse:
    """Trips matched to requests for a period (at most 31 days) as XLSX: the business/private split per unit (with
    the total line) and per vehicle, and the suspected private use (公车私用) with its evidence; the figures are those
    of GET /reports/matching and GET /reports/suspicions. Last, how the file was made, with the matching
    thresholds among the filters."""
    return await _xlsx("matching", query, await _matching_sheets(reads, user, scope, settings, query, only=None))


@router.get(
    "/matching.csv",
    responses=read_responses(REPORT_RESPONSES),
    response_class=StreamingResponse,
)
async def matching_csv(
    reads: ReadsDep,
    user: DispatchReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[MatchingCsvQuery, Query()],
) -> StreamingResponse:
    """One view of the matching report as CSV (units, vehicles or suspicions), starting with '#' comment lines
    saying how it was made; provenance=false leaves them out."""
    files = await _matching_sheets(reads, user, scope, settings, query, only=query.view)
    return _csv(f"matching-{query.view}", query, files)
