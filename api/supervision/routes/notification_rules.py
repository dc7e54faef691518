"""Notification rules (admins): who is told of which alerts, by e-mail or a 企业微信 / 钉钉 group robot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from api.access.audit import audit_entry
from api.access.rules import Principal
from api.deps import PoolDep, SettingsDep, require
from api.errors import AUTHENTICATED, responses
from api.supervision import notifications
from api.supervision.notifications import RuleCreate, RulePublic, RuleUpdate

router = APIRouter(prefix="/notification-rules", tags=["supervision"])


@router.get("", dependencies=[Depends(require("notifications:read"))], responses=AUTHENTICATED)
async def list_rules(pool: PoolDep, settings: SettingsDep) -> list[RulePublic]:
    """Every rule, in id order (a robot's key is never shown: its URL is masked, key=…abcd; nor a 钉钉 secret:
    `has_secret` says whether one is set)."""
    async with pool.connection() as conn:
        return await notifications.rules(conn, notifications.sealer_of(settings))


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(401, 403, 422))
async def add_rule(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    user: Annotated[Principal, Depends(require("notifications:write"))],
    body: RuleCreate,
) -> RulePublic:
    """Add a rule; the notifier applies it to alerts raised from then on (docs/notifications.md). A robot's webhook
    URL and a 钉钉 secret are stored encrypted (YIWANG_SECRET_KEY) and never shown back whole."""
    sealer = notifications.sealer_of(settings)
    async with pool.connection() as conn:
        created = await notifications.create_rule(conn, body, sealer, user_id=user.id)
    audit_entry(request).resource_ids.append(str(created.id))
    return created


@router.patch(
    "/{rule_id}", dependencies=[Depends(require("notifications:write"))], responses=responses(401, 403, 404, 422)
)
async def change_rule(
    request: Request, pool: PoolDep, settings: SettingsDep, rule_id: int, body: RuleUpdate
) -> RulePublic:
    """Switch a rule on or off (to change what it says, add a new rule and remove this one)."""
    audit_entry(request).resource_ids.append(str(rule_id))
    async with pool.connection() as conn:
        return await notifications.update_rule(conn, rule_id, body, notifications.sealer_of(settings))


@router.delete(
    "/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("notifications:write"))],
    responses=responses(401, 403, 404),
)
async def remove_rule(request: Request, pool: PoolDep, rule_id: int) -> None:
    """Remove a rule and the record of its deliveries."""
    audit_entry(request).resource_ids.append(str(rule_id))
    async with pool.connection() as conn:
        await notifications.delete_rule(conn, rule_id)
