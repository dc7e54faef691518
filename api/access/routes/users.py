"""Users: one's own account, and the administration of everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.access.audit import audit_entry
from api.access.rules import Principal
from api.access.users import UserCreate, UserPublic, UserUpdate, create_user, update_user
from api.deps import PoolDep, require
from api.errors import AUTHENTICATED, NotFound, responses
from api.paging import Page, page_of
from db import access as access_db

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", responses=responses(401, 403, 404))
async def me(pool: PoolDep, user: Annotated[Principal, Depends(require("me:read"))]) -> UserPublic:
    """Your own account: name, role and the organisations you see (empty: every one)."""
    async with pool.connection() as conn:
        found = await access_db.user(conn, user.id)
    if found is None:
        raise NotFound("your account no longer exists")
    return UserPublic.model_validate(found)


class UserQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(default=None, description="the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=1000)


@router.get("", dependencies=[Depends(require("users:read"))], responses=AUTHENTICATED)
async def list_users(pool: PoolDep, query: Annotated[UserQuery, Query()]) -> Page[UserPublic]:
    """Every user, in id order."""
    async with pool.connection() as conn:
        rows = await access_db.users(conn, after=query.after, limit=query.limit)
    items = [UserPublic.model_validate(row) for row in rows]
    return page_of(UserPublic, items, query.limit)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("users:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_user(request: Request, pool: PoolDep, body: UserCreate) -> UserPublic:
    """Add a user: 409 when the name is taken, 422 when role, organisations or password do not fit."""
    entry = audit_entry(request)
    entry.params = body.model_dump(exclude={"password"})
    async with pool.connection() as conn:
        user_id = await create_user(conn, body.name, body.password.get_secret_value(), body.role, body.organisations)
        entry.resource_ids.append(str(user_id))
        found = await access_db.user(conn, user_id)
    return UserPublic.model_validate(found)


@router.patch("/{user_id}", dependencies=[Depends(require("users:write"))], responses=responses(401, 403, 404, 422))
async def change_user(request: Request, pool: PoolDep, user_id: int, body: UserUpdate) -> UserPublic:
    """Change a user's role, organisations, password or disabled state; their sessions end."""
    audit_entry(request).params = body.model_dump(exclude={"password"}, exclude_none=True) | (
        {"password": "changed"} if body.password is not None else {}
    )
    async with pool.connection() as conn:
        updated = await update_user(conn, user_id, body)
    if updated is None:
        raise NotFound(f"no user {user_id}")
    return updated
