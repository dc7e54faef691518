"""The record of deliveries (admins): each message of a rule about alerts, its attempts, status and last error."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PoolDep, require
from api.errors import AUTHENTICATED
from api.paging import Page, page_of
from api.supervision import notifications
from api.supervision.notifications import DeliveryPublic
from domain.notifications import DeliveryStatus

router = APIRouter(prefix="/notification-deliveries", tags=["supervision"])


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(default=None, ge=0, description="the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=1000)
    rule_id: int | None = None
    status: DeliveryStatus | None = Field(default=None, description="pending, sent or dead")


@router.get("", dependencies=[Depends(require("notifications:read"))], responses=AUTHENTICATED)
async def list_deliveries(pool: PoolDep, query: Annotated[DeliveryQuery, Query()]) -> Page[DeliveryPublic]:
    """Deliveries in id order; `status=dead` lists those given up after YIWANG_NOTIFY_MAX_ATTEMPTS."""
    async with pool.connection() as conn:
        items = await notifications.deliveries(
            conn, after=query.after, limit=query.limit, rule_id=query.rule_id, status=query.status
        )
    return page_of(DeliveryPublic, items, query.limit)
