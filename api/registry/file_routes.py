"""The three routes of a registry table kept as a file: GET /registry/<table>.xlsx and /registry/<table>.csv (Chinese
headers and labels by default, how the file was made last or in '#' lines) and POST /registry/<table>, the import
back (api/registry/imports.py), each registered by `add_file_routes` from a `RegistryFile` that says what differs."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Generic, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field

from api.access.rules import Permission, Principal
from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.errors import responses
from api.files import provenance
from api.files.provenance import Provenance, ProvenanceForm
from api.files.responses import csv_download, xlsx_download
from api.files.table import Sheet
from api.files.workbook import XLSX_MEDIA_TYPE
from api.registry.models import ImportResult
from api.registry.upload import IMPORT_RESPONSES, UPLOAD_BODY, UPLOAD_BODY_BYTES, Importer, import_upload
from db.scope import Scope
from domain.labels import Language
from domain.periods import FIRST_YEAR, LAST_YEAR
from yiwang.settings import Settings

Item = TypeVar("Item")


class RegistryFileQuery(BaseModel):
    """The query of a registry export."""

    model_config = ConfigDict(extra="forbid")

    language: Language = Field(
        default="zh", description="headers and labels: Chinese (default), or English headers with codes"
    )


class RegistryCsvQuery(ProvenanceForm, RegistryFileQuery):
    bom: bool = Field(
        default=True, description="start with a byte-order mark, for Excel to read the UTF-8 (default: yes)"
    )


class _OfYear(BaseModel):
    year: int | None = Field(
        default=None,
        ge=FIRST_YEAR,
        le=LAST_YEAR,
        description="the year of the facts (floor area, headcount, the survey's; data-centre rooms) (default: the "
        "current year)",
    )


class YearFileQuery(RegistryFileQuery, _OfYear):
    """The query of the export of a table of a year (institutions, data-centre rooms)."""


class YearCsvQuery(RegistryCsvQuery, _OfYear):
    """The query of that export as CSV."""


XLSX_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the XLSX workbook"},
}
CSV_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {"text/csv": {}}, "description": "the CSV file"},
}


@dataclass(frozen=True, slots=True)
class RegistryFile(Generic[Item]):
    """A registry table as a file: what its three routes need. The texts are the routes' descriptions (their
    indentation is removed, as from a docstring)."""

    path: str  # /registry/<path>.xlsx, /registry/<path>.csv, POST /registry/<path>; the files' names too
    name: str  # the routes' names (their operation ids): export_<name>_xlsx, export_<name>_csv, import_<name>
    what: tuple[str, str]  # what the file is, in Chinese and English, as its provenance says
    reader: Permission
    writer: Permission
    # The items of a file: `year` is the year asked for (default: the current one), which only a table of a year
    # (`of_year`) reads.
    read: Callable[[AsyncConnection, Scope, int], Awaitable[list[Item]]]
    sheet: Callable[[list[Item], Language], Sheet]
    importer: Importer
    xlsx_text: str
    csv_text: str
    import_text: str
    of_year: bool = False  # facts of a year: the query takes `year`, the file's name and provenance say it

    def file_name(self, year: int, extension: str) -> str:
        return f"{self.path}-{year}.{extension}" if self.of_year else f"{self.path}.{extension}"


def add_file_routes(router: APIRouter, table: RegistryFile[Any]) -> None:
    """Register the table's export as XLSX, its export as CSV and its import, in that order."""
    file_query, csv_query = (YearFileQuery, YearCsvQuery) if table.of_year else (RegistryFileQuery, RegistryCsvQuery)

    async def export_xlsx(
        pool: PoolDep, user: Principal, scope: ScopeDep, settings: SettingsDep, query: RegistryFileQuery
    ) -> StreamingResponse:
        year = _year(query, settings)
        sheet = await _sheet(table, pool, scope, year, query.language)
        made = await _made(table, pool, user, settings, year)
        name = table.file_name(year, "xlsx")
        return await xlsx_download([sheet], language=query.language, name=name, provenance=made)

    async def export_csv(
        pool: PoolDep, user: Principal, scope: ScopeDep, settings: SettingsDep, query: RegistryCsvQuery
    ) -> StreamingResponse:
        year = _year(query, settings)
        sheet = await _sheet(table, pool, scope, year, query.language)
        made = await _made(table, pool, user, settings, year) if query.provenance else None
        name = table.file_name(year, "csv")
        return csv_download(sheet, header=query.language, bom=query.bom, name=name, provenance=made)

    async def import_file(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
        return await import_upload(request, pool, scope, table.importer)

    # FastAPI reads a route's parameters from its annotations, and the strings of this module's annotations can
    # only name what the module holds: the table's own permission and query types are given as objects.
    user = Annotated[Principal, Depends(require(table.reader))]
    _annotate(export_xlsx, user=user, query=Annotated[file_query, Query()])
    _annotate(export_csv, user=user, query=Annotated[csv_query, Query()])
    for path, endpoint, name, text, responded in (
        (f"/{table.path}.xlsx", export_xlsx, f"export_{table.name}_xlsx", table.xlsx_text, XLSX_RESPONSES),
        (f"/{table.path}.csv", export_csv, f"export_{table.name}_csv", table.csv_text, CSV_RESPONSES),
    ):
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            name=name,
            description=inspect.cleandoc(text),
            responses=responded,
            response_class=StreamingResponse,
        )
    router.add_api_route(
        f"/{table.path}",
        import_file,
        methods=["POST"],
        name=f"import_{table.name}",
        description=inspect.cleandoc(table.import_text),
        dependencies=[Depends(require(table.writer))],
        response_model=ImportResult,
        responses=IMPORT_RESPONSES,
        openapi_extra=UPLOAD_BODY,
        max_body_size=UPLOAD_BODY_BYTES,
    )


def _year(query: RegistryFileQuery, settings: Settings) -> int:
    """The year asked for, default the current one (in the city's zone)."""
    year = query.year if isinstance(query, _OfYear) else None
    return year if year is not None else datetime.now(settings.zone).year


async def _sheet(
    table: RegistryFile[Any], pool: AsyncConnectionPool[AsyncConnection], scope: Scope, year: int, language: Language
) -> Sheet:
    async with pool.connection() as conn:
        items = await table.read(conn, scope, year)
    return table.sheet(items, language)


async def _made(
    table: RegistryFile[Any], pool: AsyncConnectionPool[AsyncConnection], user: Principal, settings: Settings, year: int
) -> Provenance:
    async with pool.connection() as conn:
        return await provenance.made(conn, user, settings, what=table.what, year=year if table.of_year else None)


def _annotate(endpoint: Callable[..., Any], **annotations: object) -> None:
    endpoint.__annotations__.update(annotations)
