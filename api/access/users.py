"""Users of the API: what comes in and goes out, and adding one (the API and `yiwang user` share it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.access.passwords import hash_password, password_problem
from api.access.rules import Role, assignment_problem
from api.errors import Conflict, Refused
from api.fields import Text
from db import access as access_db

# No user's name is longer: login refuses a longer one before it is looked up, counted or recorded.
NAME_MAX_LENGTH = 64
NAME_PATTERN = rf"^[^\s\x00]{{1,{NAME_MAX_LENGTH}}}$"


class UserRefused(Refused):
    """A user that cannot be added or changed as asked; the message says why (422)."""


class NameTaken(Conflict, UserRefused):
    """Another user has this name (whatever its case) (409)."""


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    organisations: list[str]
    disabled: bool
    created_at: datetime
    email: str | None = Field(description="where e-mail notification rules by role reach the user")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="the login name: 1-64 characters, no spaces")
    role: Role
    organisations: list[Text] = Field(default=[], description="unit users only: the organisations they see")
    password: SecretStr = Field(description="the first password, 12-256 characters")


class UserUpdate(BaseModel):
    """What an administrator may change; any change ends the user's sessions."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    organisations: list[Text] | None = None
    disabled: bool | None = None
    password: SecretStr | None = None
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^$|^[^@\s,\x00]+@[^@\s,\x00]+$", description='an address; "" removes it'
    )


async def create_user(
    conn: AsyncConnection, name: str, password: str, role: Role, organisations: Sequence[str] = ()
) -> int:
    """Add a user after checking the role, organisations and password.

    Returns:
        The new user's id.

    Raises:
        NameTaken: the name is taken.
        UserRefused: the role and organisations do not fit, the password is too short or long, or an
            organisation does not exist.
    """
    problem = assignment_problem(role, organisations) or password_problem(password)
    if problem:
        raise UserRefused(problem)
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        return await access_db.insert_user(conn, name, role, password_hash, organisations)
    except psycopg.errors.UniqueViolation as exc:
        raise NameTaken(f"there is already a user named {name}") from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise UserRefused(f"no such organisation among {sorted(organisations)}") from exc
    except psycopg.errors.CheckViolation as exc:
        raise UserRefused(f"{name!r} is not a user name: 1-64 characters, no spaces") from exc


async def update_user(conn: AsyncConnection, user_id: int, change: UserUpdate) -> UserPublic | None:
    """Apply a change to a user; None when there is no such user.

    Raises:
        UserRefused: the resulting role and organisations do not fit, or the password does not.
    """
    async with conn.transaction():
        current = await access_db.user(conn, user_id)
        if current is None:
            return None
        role: Role = change.role or current.role  # type: ignore[assignment]
        organisations = change.organisations if change.organisations is not None else current.organisations
        if change.role is not None and change.organisations is None and assignment_problem(role, organisations):
            organisations = []  # a unit user made e.g. an auditor loses the organisations they no longer need
        problem = assignment_problem(role, organisations)
        if change.password is not None:
            problem = problem or password_problem(change.password.get_secret_value())
        if problem:
            raise UserRefused(problem)
        try:
            await access_db.update_user(
                conn,
                user_id,
                role=change.role,
                organisations=organisations if organisations != current.organisations else None,
                disabled=change.disabled,
                email=change.email,
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise UserRefused(f"no such organisation among {sorted(organisations)}") from exc
        if change.password is not None:
            password_hash = await asyncio.to_thread(hash_password, change.password.get_secret_value())
            await access_db.set_password_hash(conn, user_id, password_hash)
        updated = await access_db.user(conn, user_id)
    return UserPublic.model_validate(updated)
