"""The registry's tables as files staff keep: institutions (with their facts of a year: floor area, headcount and
what the statistics survey asks), supervising departments, data-centre rooms, meters, vehicles and drivers exported
as XLSX (Chinese headers and labels by default) or CSV, edited in Excel, and imported back all or nothing
(api/registry/imports.py). Each table's three routes come from one description (api/registry/file_routes.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.registry import departments, drivers, imports, service, tables
from api.registry.file_routes import RegistryFile, add_file_routes

router = APIRouter(prefix="/registry", tags=["registry"])


INSTITUTIONS = RegistryFile(
    path="institutions",
    name="institutions",
    what=(
        "公共机构名录（含年度建筑面积、用能人数与统计调查基本信息）",
        "Institutions, with a year's floor area, headcount and survey facts",
    ),
    reader="institutions:read",
    writer="registry:write",
    read=service.institutions_in_year,
    sheet=tables.institutions_sheet,
    importer=imports.import_institutions,
    xlsx_text="""
    The institutions you may see with their facts of a year (default: this year): floor area, headcount and what
    the statistics survey asks (credit code, supervising department, division, category, areas, heating), as an
    XLSX workbook with Chinese headers and labels (language=en: English): edit it in Excel and send it back to
    POST /registry/institutions. Its last sheet (说明 / About this file) says how it was made: the year, the time
    zone, the user and unit, the time made, the Yiwang version; an import reads the first sheet only.""",
    csv_text="""
    The institutions you may see with their facts of a year, as CSV (UTF-8) with the headers
    and labels of the XLSX, after '#' comment lines saying how it was made (provenance=false: without); it imports
    back as it is, the comment lines skipped.""",
    import_text="""
    Import institutions and their facts of a year (floor area, headcount, the survey's) from an XLSX workbook (its
    first sheet) or a CSV file, sent as the multipart field `file`: headers in Chinese, English or as keys, as
    GET /registry/institutions.xlsx writes them; only the id column is needed. A row adds or changes an institution
    (and its facts of the row's year); a column left out keeps what is stored, an empty cell sets the default (a
    fact: not known). A credit code is checked with its check character, a supervising department must exist. All
    rows are checked first: if any does not fit, the 422 lists each with its row number (as Excel numbers it), column
    and reason, and nothing is written; else all are written in one transaction.""",
    of_year=True,
)

DEPARTMENTS = RegistryFile(
    path="departments",
    name="departments",
    what=("主管部门", "Supervising departments"),
    reader="departments:read",
    writer="registry:write",
    read=lambda conn, _scope, _year: departments.all_departments(conn),
    sheet=tables.departments_sheet,
    importer=imports.import_departments,
    xlsx_text="""
    The supervising departments (主管部门), each with its parent, as an XLSX workbook with Chinese headers
    (language=en: English): edit it in Excel and send it back to POST /registry/departments. Its last sheet (说明 /
    About this file) says how it was made; an import reads the first sheet only.""",
    csv_text="""
    The supervising departments as CSV (UTF-8) with the headers of the XLSX, after '#' comment lines saying how
    it was made (provenance=false: without); it imports back as it is.""",
    import_text="""
    Import supervising departments from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart
    field `file`: headers in Chinese, English or as keys, as GET /registry/departments.xlsx writes them; only the id
    column is needed. A row adds or changes a department; a parent may be a department of the file, in any row. All
    rows are checked first: if any does not fit (a parent that is no department, a chain of parents that comes back
    to where it started), the 422 lists each with its row number, column and reason, and nothing is written.""",
)

DATA_CENTRE_ROOMS = RegistryFile(
    path="data-centre-rooms",
    name="rooms",
    what=("数据中心机房（年度）", "Data-centre rooms of a year"),
    reader="institutions:read",
    writer="registry:write",
    read=service.rooms_in_year,
    sheet=tables.rooms_sheet,
    importer=imports.import_rooms,
    xlsx_text="""
    The data-centre machine rooms (数据中心机房) of a year (default: this year) of the institutions you may see,
    as an XLSX workbook with Chinese headers (language=en: English): edit it in Excel and send it back to
    POST /registry/data-centre-rooms. Its last sheet (说明 / About this file) says how it was made.""",
    csv_text="""
    The data-centre rooms of a year of the institutions you may see, as CSV (UTF-8) with the headers of the
    XLSX, after '#' comment lines saying how it was made (provenance=false: without); it imports back as it is.""",
    import_text="""
    Import data-centre rooms from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field
    `file`: headers in Chinese, English or as keys, as GET /registry/data-centre-rooms.xlsx writes them (the
    institution's name is not read); the institution id, year and room name columns are needed. A row adds or
    changes the room of its institution, year and name; a column left out keeps what is stored, an empty cell is
    not known. All rows are checked first: if any does not fit, the 422 lists each with its row number (as Excel
    numbers it), column and reason, and nothing is written; else all are written in one transaction.""",
    of_year=True,
)

METERS = RegistryFile(
    path="meters",
    name="meters",
    what=("计量表名录", "Meters"),
    reader="meters:read",
    writer="registry:write",
    read=lambda conn, scope, _year: service.meters_of_institutions(conn, scope),
    sheet=tables.meters_sheet,
    importer=imports.import_meters,
    xlsx_text="""
    The meters you may see, with their institutions' names, as an XLSX workbook with Chinese headers and labels
    (language=en: English): edit it in Excel and send it back to POST /registry/meters.
    Its last sheet (说明 / About this file) says how it was made; an import reads the first sheet only.""",
    csv_text="""
    The meters you may see as CSV (UTF-8) with the headers and labels of the XLSX, after
    '#' comment lines saying how it was made (provenance=false: without); it imports back as it is.""",
    import_text="""
    Import meters from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/meters.xlsx writes them (the institution's name is
    not read); only the id column is needed. A row adds or changes a meter; a column left out keeps what is
    stored, an empty cell sets the default. All rows are checked first: if any does not fit, the 422 lists each
    with its row number (as Excel numbers it), column and reason, and nothing is written; else all are written in
    one transaction, and meters with a new multiplier, register maximum or most per hour are recounted.""",
)

VEHICLES = RegistryFile(
    path="vehicles",
    name="vehicles",
    what=("公务用车名录", "Vehicles"),
    reader="vehicles:read",
    writer="vehicles:write",
    read=lambda conn, scope, _year: service.vehicles_of_organisations(conn, scope),
    sheet=tables.vehicles_sheet,
    importer=imports.import_vehicles,
    xlsx_text="""
    The vehicles you may see, retired ones included, with their organisations' names, as an XLSX workbook with
    Chinese headers and labels (language=en: English): edit it in Excel and send it back to POST /registry/vehicles.
    Its last sheet (说明 / About this file) says how it was made; an import reads the first sheet only.""",
    csv_text="""
    The vehicles you may see as CSV (UTF-8) with the headers and labels of the XLSX, after
    '#' comment lines saying how it was made (provenance=false: without); it imports back as it is.""",
    import_text="""
    Import vehicles from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/vehicles.xlsx writes them (the organisation's name is
    not read); only the id column is needed. A row adds or changes a vehicle, its lifecycle among them, under the
    rules of PATCH /vehicles/{id}; a column left out keeps what is stored, an empty cell sets the default. All rows
    are checked first: if any does not fit, the 422 lists each with its row number (as Excel numbers it), column
    and reason, and nothing is written; else all are written in one transaction.""",
)

DRIVERS = RegistryFile(
    path="drivers",
    name="drivers",
    what=("驾驶员名录", "Drivers"),
    reader="drivers:read",
    writer="drivers:write",
    read=lambda conn, scope, _year: drivers.drivers_of_organisations(conn, scope),
    sheet=tables.drivers_sheet,
    importer=imports.import_drivers,
    xlsx_text="""
    The drivers you may see, inactive ones included, with their organisations' names, as an XLSX workbook with
    Chinese headers and labels (language=en: English): edit it in Excel and send it back to POST /registry/drivers.
    Its last sheet (说明 / About this file) says how it was made; an import reads the first sheet only.""",
    csv_text="""
    The drivers you may see as CSV (UTF-8) with the headers and labels of the XLSX, after
    '#' comment lines saying how it was made (provenance=false: without); it imports back as it is.""",
    import_text="""
    Import drivers from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/drivers.xlsx writes them (the organisation's name is
    not read). A row with a driver id changes that driver; a row without one (or a file without the column) adds a
    driver, numbered by the registry. A column left out keeps what is stored, an empty cell sets the default. All
    rows are checked first: if any does not fit, the 422 lists each with its row number (as Excel numbers it),
    column and reason, and nothing is written; else all are written in one transaction.""",
)


for table in (INSTITUTIONS, DEPARTMENTS, DATA_CENTRE_ROOMS, METERS, VEHICLES, DRIVERS):
    add_file_routes(router, table)
