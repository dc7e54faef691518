"""/survey: the statistics survey of a year as files, within the caller's scope. The forms and summaries as XLSX for
staff (Chinese by default), the forms as one JSON document for a provincial platform (docs/survey.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.access.rules import Principal
from api.deps import ReadsDep, ScopeDep, SettingsDep, require
from api.errors import responses
from api.fields import Text
from api.files import provenance
from api.files.provenance import Provenance
from api.files.responses import REPORT_RESPONSES, ReportForm, attachment, xlsx_download
from api.reads import read_responses
from api.survey import machine, workbook
from api.survey.report import Survey, survey
from domain.periods import FIRST_YEAR, LAST_YEAR
from domain.survey import SummaryBy

router = APIRouter(prefix="/survey", tags=["survey"])

Reader = Annotated[Principal, Depends(require("exports:read"))]
Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="the survey's year (the year of the figures)")]
JSON_MEDIA_TYPE: Final = "application/json"


class SurveyQuery(BaseModel):
    organisation_id: Text | None = Field(default=None, description="only this organisation's institutions")


class FormsQuery(ReportForm, SurveyQuery):
    institution_id: Text | None = Field(default=None, description="only this institution's forms")


class SummaryQuery(ReportForm, SurveyQuery):
    by: SummaryBy = Field(
        default="category",
        description="department: each supervising department with every department under it; division: by "
        "administrative division code; category: 合计, 国家机关, 事业单位 小计 and its fields, 团体组织",
    )


@router.get(
    "/{year}/forms.xlsx", responses=read_responses(REPORT_RESPONSES | responses(404)), response_class=StreamingResponse
)
async def forms_xlsx(
    *,
    reads: ReadsDep,
    user: Reader,
    scope: ScopeDep,
    settings: SettingsDep,
    year: Year,
    query: Annotated[FormsQuery, Query()],
) -> StreamingResponse:
    """The institution forms of a year (公共机构基本信息, 能源资源消费状况, 数据中心机房, 采暖) as XLSX: a sheet per
    form, a row per surveyed institution and field with its code, unit, quantity, cost (元) and a note saying why a
    cell is empty (missing is never 0); then what of the forms is confirmed and what is not (确认情况), and how the
    file was made (说明). Only institutions in the year's survey (in_survey) and in the caller's scope."""

    async def work(conn: AsyncConnection) -> tuple[Survey, Provenance]:
        found = await survey(
            conn, scope, year, organisation_id=query.organisation_id, institution_id=query.institution_id
        )
        made = await provenance.made(
            conn,
            user,
            settings,
            what=("公共机构能源资源消费统计调查表", "Energy statistics survey: institution forms"),
            year=year,
            filters=query.model_dump(include={"organisation_id", "institution_id"}),
            source=reads.source,
        )
        return found, made

    found, made = await reads.read(work)
    sheets = workbook.form_sheets(found.fields, year, found.filled, query.language)
    return await xlsx_download(sheets, language=query.language, name=f"survey-{year}-forms.xlsx", provenance=made)


@router.get("/{year}/summary.xlsx", responses=read_responses(REPORT_RESPONSES), response_class=StreamingResponse)
async def summary_xlsx(
    *,
    reads: ReadsDep,
    user: Reader,
    scope: ScopeDep,
    settings: SettingsDep,
    year: Year,
    query: Annotated[SummaryQuery, Query()],
) -> StreamingResponse:
    """A summary of a year's institution forms as XLSX: by supervising department (部门汇总; a department's rows
    add up its own institutions and those of every department under it), by administrative area (行政区域汇总) or
    by category (分类汇总). A row per group and field: the sum of those that reported, how many reported of how many,
    and in the note who did not (a partial sum says so; a sum nobody reported is empty, never 0). Then 确认情况 and
    说明."""

    async def work(conn: AsyncConnection) -> tuple[Survey, Provenance]:
        found = await survey(conn, scope, year, organisation_id=query.organisation_id)
        made = await provenance.made(
            conn,
            user,
            settings,
            what=("公共机构能源资源消费统计汇总表", f"Energy statistics survey: summary by {query.by}"),
            year=year,
            filters=query.model_dump(include={"organisation_id", "by"}),
            source=reads.source,
        )
        return found, made

    found, made = await reads.read(work)
    summary = next(s for s in found.fields.summaries if s.key == query.by)
    sheets = [
        workbook.summary_sheet(summary, year, found.summary(query.by), query.language),
        workbook.unconfirmed_sheet(found.fields, year, query.language),
    ]
    return await xlsx_download(
        sheets, language=query.language, name=f"survey-{year}-summary-{query.by}.xlsx", provenance=made
    )


@router.get(
    "/{year}.json",
    responses=read_responses(
        {**responses(401, 403, 422), 200: {"content": {JSON_MEDIA_TYPE: {}}, "description": "the file"}}
    ),
    response_class=Response,
)
async def survey_json(
    *,
    reads: ReadsDep,
    user: Reader,
    scope: ScopeDep,
    settings: SettingsDep,
    year: Year,
    query: Annotated[SurveyQuery, Query()],
) -> Response:
    """The institution forms of a year as one JSON document for a provincial platform (docs/survey.md; its JSON
    Schema is docs/survey.schema.json): each surveyed institution in the caller's scope with its rows by the
    field list's codes, figures as exact decimal texts, null with the reason where nothing was reported."""
    found = await reads.read(lambda conn: survey(conn, scope, year, organisation_id=query.organisation_id))
    made_at = datetime.now(settings.zone).replace(microsecond=0)
    document = machine.document(found.fields, year, found.filled, made_at)
    return Response(document.model_dump_json(), media_type=JSON_MEDIA_TYPE, headers=attachment(f"survey-{year}.json"))
