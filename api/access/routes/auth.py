"""Logging in (OAuth2 password flow), refreshing and logging out.

POST /auth/token gives a short-lived access token (JWT, HS256) and a refresh token; POST /auth/refresh
trades a refresh token, once, for a new pair; POST /auth/logout ends the session of the access token,
which refuses its access and refresh tokens from then on.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api.access.audit import audit_entry
from api.access.passwords import check_password, hash_password, needs_rehash
from api.access.rules import Principal
from api.access.tokens import new_refresh_token, refresh_digest
from api.access.users import NAME_MAX_LENGTH
from api.deps import PoolDep, SettingsDep, TokensDep, require, unauthorized
from api.errors import AUTHENTICATED, responses
from db import access as access_db

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds the access token is good for")
    refresh_token: str = Field(description="trade it once at POST /auth/refresh for a new pair")
    refresh_expires_in: int = Field(description="seconds the refresh token is good for if unused")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


def _address(request: Request) -> str:
    # Behind a reverse proxy, run uvicorn with --proxy-headers and --forwarded-allow-ips so that this is
    # the client's address and not the proxy's.
    return request.client.host if request.client else "unknown"


@router.post("/token", responses=responses(401, 429))
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    pool: PoolDep,
    settings: SettingsDep,
    tokens: TokensDep,
) -> TokenPair:
    """Log in with a user name and password (form fields `username`, `password`).

    401 for a wrong name or password; 429 with Retry-After after too many failures for the name or from
    the address within the window (YIWANG_API_LOGIN_MAX_FAILURES in YIWANG_API_LOGIN_WINDOW_SECONDS).
    """
    if "\x00" in form.username:  # no user has such a name, and PostgreSQL text cannot hold it
        raise unauthorized("wrong user name or password")
    # No user has a longer name either: refused before it costs a lookup, a password check or a record.
    if len(form.username) > NAME_MAX_LENGTH:
        raise unauthorized("wrong user name or password")
    address = _address(request)
    window = timedelta(seconds=settings.api_login_window_seconds)
    async with pool.connection() as conn:
        wait = await access_db.login_block(
            conn, form.username, address, window=window, max_failures=settings.api_login_max_failures
        )
    if wait is not None:
        # Not recorded: the failures that led here are, and a flood of refusals would fill the log.
        seconds = math.ceil(wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed logins for this user or from this address: try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    entry = audit_entry(request)
    entry.wanted, entry.action, entry.user_name = True, "auth:login", form.username
    async with pool.connection() as conn:
        found = await access_db.credentials(conn, form.username)
    if not await check_password(found.password_hash if found else None, form.password):
        async with pool.connection() as conn:
            await access_db.record_login_failure(conn, form.username, address, window=window)
        raise unauthorized("wrong user name or password")
    assert found is not None
    entry.user_id, entry.user_name, entry.role = found.id, found.name, found.role
    if found.disabled:
        raise unauthorized("this account is disabled: ask an administrator")
    session_id = str(uuid.uuid4())
    refresh, digest = new_refresh_token()
    refresh_lifetime = timedelta(hours=settings.api_refresh_token_hours)
    async with pool.connection() as conn, conn.transaction():
        await access_db.clear_login_failures(conn, form.username)
        if needs_rehash(found.password_hash):
            await access_db.set_password_hash(conn, found.id, await asyncio.to_thread(hash_password, form.password))
        await access_db.start_session(conn, session_id, found.id, timedelta(hours=settings.api_session_hours), address)
        await access_db.add_refresh_token(conn, digest, session_id, refresh_lifetime)
    entry.resource_ids.append(session_id)
    access, _claims = tokens.issue(found.id, session_id)
    return TokenPair(
        access_token=access,
        expires_in=int(tokens.lifetime.total_seconds()),
        refresh_token=refresh,
        refresh_expires_in=int(refresh_lifetime.total_seconds()),
    )


@router.post("/refresh", responses=responses(401))
async def refresh(
    request: Request, body: RefreshRequest, pool: PoolDep, settings: SettingsDep, tokens: TokensDep
) -> TokenPair:
    """Trade a refresh token for a new access token and a new refresh token.

    Each refresh token works once: presenting one that was already used ends its whole session (it was
    copied), and the session's tokens are refused from then on.
    """
    entry = audit_entry(request)
    entry.action = "auth:refresh"
    digest = refresh_digest(body.refresh_token)
    new, new_digest = new_refresh_token()
    refresh_lifetime = timedelta(hours=settings.api_refresh_token_hours)
    problem: str | None = None
    async with pool.connection() as conn, conn.transaction():
        found = await access_db.take_refresh_token(conn, digest)
        if found is None:
            # Not recorded: no one is known, and this route has no rate limit to bound a flood of guesses.
            problem = "unknown refresh token: log in again"
        else:
            entry.wanted = True
            entry.user_id, entry.user_name, entry.role = found.user_id, found.user_name, found.role
            entry.resource_ids.append(found.session_id)
            if found.used:
                await access_db.revoke_session(conn, found.session_id, "refresh_reuse")
                problem = "this refresh token was already used, so its session is now ended: log in again"
            elif not found.session_active:
                problem = "the session of this refresh token has ended: log in again"
            elif found.expired:
                problem = "the refresh token has expired: log in again"
            elif found.disabled:
                problem = "this account is disabled: ask an administrator"
            else:
                await access_db.use_refresh_token(conn, digest)
                await access_db.add_refresh_token(conn, new_digest, found.session_id, refresh_lifetime)
    # Raised only now, so that a reuse's revocation above is committed.
    if problem is not None or found is None:
        raise unauthorized(problem or "unknown refresh token: log in again")
    access, _claims = tokens.issue(found.user_id, found.session_id)
    return TokenPair(
        access_token=access,
        expires_in=int(tokens.lifetime.total_seconds()),
        refresh_token=new,
        refresh_expires_in=int(refresh_lifetime.total_seconds()),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHENTICATED)
async def logout(request: Request, pool: PoolDep, user: Annotated[Principal, Depends(require("me:write"))]) -> None:
    """End the session of this access token: its access tokens and refresh tokens are refused from now on."""
    audit_entry(request).resource_ids.append(user.session_id)
    async with pool.connection() as conn:
        await access_db.revoke_session(conn, user.session_id, "logout")
