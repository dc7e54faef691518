"""Dead letters: GET /dead-letters (newest first, by device, reason and time) and GET /dead-letters/devices (the
refusals per device), for admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.dead_letters import listing
from api.dead_letters.listing import DeadLetter, DeviceRefusals
from api.deps import PoolDep, require
from api.errors import responses
from api.fields import BIGINT_MAX, Moment, Text
from api.paging import Page
from domain.dead_letter import Reason

router = APIRouter(prefix="/dead-letters", tags=["devices"])

_DEFAULT_PERIOD = timedelta(days=1)


class _Period(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Moment | None = Field(default=None, description="received from (RFC 3339 with offset)")
    until: Moment | None = Field(default=None, description="received before")


class DeadLetterQuery(_Period):
    after: int | None = Field(
        default=None, ge=1, le=BIGINT_MAX, description="the `next_after` of the previous page: older ones follow"
    )
    limit: int = Field(default=100, ge=1, le=1000)
    device_id: Text | None = None
    reason: Reason | None = None


class DevicesQuery(_Period):
    limit: int = Field(default=100, ge=1, le=1000)


@router.get("", dependencies=[Depends(require("dead_letters:read"))], responses=responses(401, 403, 422))
async def list_dead_letters(pool: PoolDep, query: Annotated[DeadLetterQuery, Query()]) -> Page[DeadLetter]:
    """Refused messages and frames, newest first, each with its reason and the first bytes of what was sent; pass
    `next_after` as `after` for older ones."""
    async with pool.connection() as conn:
        return await listing.dead_letters(
            conn,
            after=query.after,
            limit=query.limit,
            device_id=query.device_id,
            reason=query.reason,
            since=query.since,
            until=query.until,
        )


@router.get("/devices", dependencies=[Depends(require("dead_letters:read"))], responses=responses(401, 403, 422))
async def list_devices(pool: PoolDep, query: Annotated[DevicesQuery, Query()]) -> list[DeviceRefusals]:
    """The devices whose messages were refused, most refused first, with the refusals per reason: by default over
    the last 24 hours (`since`, `until` to choose)."""
    since = query.since if query.since is not None or query.until is not None else datetime.now(UTC) - _DEFAULT_PERIOD
    async with pool.connection() as conn:
        return await listing.per_device(conn, since=since, until=query.until, limit=query.limit)
