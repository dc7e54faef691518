"""Consumption entries (bills, delivery notes, manual figures): entered, listed, corrected, withdrawn and imported
from an office's bill list; every change in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.access.audit import audit_entry
from api.deps import CurrentUser, PoolDep, ScopeDep, require
from api.energy import entries, entry_import
from api.energy.entries import Day, Entry, EntryCorrection, EntryCreate, EntryWithdrawal
from api.energy.entry_import import EntryImportRefused, EntryImportResult
from api.errors import Problem, responses
from api.fields import RowId, Text
from api.registry.spreadsheets import fingerprint
from api.registry.upload import UPLOAD_BODY, UPLOAD_BODY_BYTES, read_upload
from domain.entries import EntryType

router = APIRouter(prefix="/energy/entries", tags=["energy"])

EntryId = Annotated[RowId, Path()]


class EntryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    institution_id: Text | None = None
    energy_type: EntryType | None = None
    start: Day | None = Field(default=None, description="entries whose period ends after this day")
    end: Day | None = Field(default=None, description="and starts before this one (exclusive)")
    counted: bool | None = Field(default=None, description="only those that count (true), only the others (false)")


@router.get("", dependencies=[Depends(require("readings:read"))], responses=responses(401, 403, 404, 422))
async def list_entries(pool: PoolDep, scope: ScopeDep, query: Annotated[EntryQuery, Query()]) -> list[Entry]:
    """Entries of the institutions you may see, the latest first (at most 10,000), corrected and withdrawn ones
    included and marked (`counted`, `superseded_by`, `withdrawn_at`). 404 when `institution_id` is not among those
    you may see."""
    async with pool.connection() as conn:
        return await entries.listed(
            conn,
            scope,
            institution_id=query.institution_id,
            energy_type=query.energy_type,
            start=query.start,
            end=query.end,
            counted=query.counted,
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("entries:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def create_entry(
    request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser, body: EntryCreate
) -> Entry:
    """Enter a bill, a delivery note or a manual figure of an institution you may see. It counts in the energy
    figures where entries are the institution's source for the type and year (GET /energy/sources). 409 when an
    entry of the same document (institution, type, purpose, source, reference, period) counts already, or when one
    that counts covers some of the same days of the same institution, type and purpose (both stating a quantity, or
    both a cost), naming it, unless `overlap` is `allowed` with an `overlap_reason` (audited)."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    entry.resource_ids.append(body.institution_id)
    async with pool.connection() as conn:
        return await entries.create(conn, scope, body, user.id)


@router.post(
    "/import",
    dependencies=[Depends(require("entries:write"))],
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
    responses={
        **responses(401, 403),
        413: {"model": Problem, "description": "the file is larger, or has more rows, than one import takes"},
        422: {"model": EntryImportRefused, "description": "rows do not fit (sheet, row, column, why); none written"},
    },
)
async def import_entries(request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser) -> EntryImportResult:
    """Import an office's bill list (multipart field `file`: XLSX, every sheet, or CSV): one entry a row, columns
    institution_id (机构编号), energy_type (能源品种), purpose (用途), period_start (起始日期), period_last_day
    (截止日期, the bill's last day), quantity (数量), unit (单位), cost (费用), source (来源), reference (单据号).
    All rows or none: a 422 names every bad row by sheet, row, column and reason. A row whose document counts already
    with the same figures adds nothing (`unchanged`), so a file sent again adds nothing twice."""
    audit = audit_entry(request)
    name, content = await read_upload(request)
    audit.params = {"file": name, "bytes": len(content), "sha256": fingerprint(content)}
    sheets = await run_in_threadpool(entry_import.read_sheets, content)
    async with pool.connection() as conn:
        try:
            result = await entry_import.import_entries(conn, scope, sheets, user.id)
        except entry_import.RowsRefused as exc:
            audit.params["problems"] = len(exc.problems)
            raise
    audit.params.update(result.model_dump())
    return result


@router.get("/{entry_id}", dependencies=[Depends(require("readings:read"))], responses=responses(401, 403, 404, 422))
async def get_entry(pool: PoolDep, scope: ScopeDep, entry_id: EntryId) -> Entry:
    """One entry of the institutions you may see; 404 for any other."""
    async with pool.connection() as conn:
        return await entries.one(conn, scope, entry_id)


@router.post(
    "/{entry_id}/correction",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("entries:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def correct_entry(
    request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser, entry_id: EntryId, body: EntryCorrection
) -> Entry:
    """Correct an entry that counts: a new entry with these figures supersedes it, with the reason; the old one stays
    listed (`superseded_by`), no longer counted. 404 when the entry is not among those you may see; 409 when it no
    longer counts (correct the entry that superseded it)."""
    audit = audit_entry(request)
    audit.params = body.model_dump(mode="json")
    audit.resource_ids.append(str(entry_id))
    async with pool.connection() as conn:
        return await entries.correct(conn, scope, entry_id, body, user.id)


@router.post(
    "/{entry_id}/withdrawal",
    dependencies=[Depends(require("entries:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def withdraw_entry(
    request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser, entry_id: EntryId, body: EntryWithdrawal
) -> Entry:
    """Withdraw an entry that counts, with the reason: it stays listed (`withdrawn_at`), no longer counted."""
    audit = audit_entry(request)
    audit.params = body.model_dump(mode="json")
    audit.resource_ids.append(str(entry_id))
    async with pool.connection() as conn:
        return await entries.withdraw(conn, scope, entry_id, body, user.id)
