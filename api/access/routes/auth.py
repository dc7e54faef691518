"""Logging in (OAuth2 password flow), refreshing and logging out.

POST /auth/token gives a short-lived access token (JWT, HS256) and a refresh token; POST /auth/refresh
trades a refresh token, once, for a new pair; POST /auth/logout ends the session of the access token,
which refuses its access and refresh tokens from then on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.access.audit import audit_entry, outcome
from api.access.passwords import check_password, hash_password, needs_rehash
from api.access.rules import Principal
from api.access.tokens import new_refresh_token, refresh_digest
from api.access.users import NAME_MAX_LENGTH
from api.deps import PoolDep, SettingsDep, TokensDep, require, unauthorized
from api.errors import AUTHENTICATED, responses
from db import access as access_db
from domain import login_limit
from domain.login_limit import Kind, Limit, Policy
from yiwang.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])
logger = logging.getLogger(__name__)

# The audit log's action of a failed login that filled a login counter (the alert of docs/access.md).
LIMIT_ACTION: Final = "auth:login_limit"
# Counters idle this long are forgotten: leaking their limit per window, they are empty by then.
_IDLE: Final = timedelta(days=1)


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds the access token is good for")
    refresh_token: str = Field(description="trade it once at POST /auth/refresh for a new pair")
    refresh_expires_in: int = Field(description="seconds the refresh token is good for if unused")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


def _address(request: Request) -> str:
    # The connection's address, or the client's as a trusted proxy says (YIWANG_API_TRUSTED_PROXIES, applied
    # by api/server.py): never a header from anyone else.
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

    401 for a wrong name or password; 429 with Retry-After while too many failures wait (docs/access.md, "Login
    limit": per name and address, per name, per address, with growing delays).
    """
    if "\x00" in form.username:  # no user has such a name, and PostgreSQL text cannot hold it
        raise unauthorized("wrong user name or password")
    # No user has a longer name either: refused before it costs a lookup, a password check or a record.
    if len(form.username) > NAME_MAX_LENGTH:
        raise unauthorized("wrong user name or password")
    address = _address(request)
    policy = login_policy(settings)
    # Counted before the password is checked, under the counters' row locks: concurrent guesses wait for each
    # other here, so no more of them are checked than the limit lets through.
    async with pool.connection() as conn, conn.transaction():
        counters = await access_db.lock_login_counters(conn, form.username, address)
        admission = login_limit.admit(counters.counters, counters.succeeded_at, policy, counters.now)
        if not admission.wait:
            await access_db.store_login_counters(conn, form.username, address, admission.counted)
    if admission.wait:
        # Not recorded: the failures that led here are, and a flood of refusals would fill the log.
        seconds = math.ceil(admission.wait)
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
            if admission.filled:
                await _alert(conn, request, form.username, address, filled=admission.filled, policy=policy)
            await access_db.prune_login_counters(conn, idle=_IDLE, known_for=policy.known_for)
        raise unauthorized("wrong user name or password")
    assert found is not None
    entry.user_id, entry.user_name, entry.role = found.id, found.name, found.role
    if found.disabled:
        raise unauthorized("this account is disabled: ask an administrator")
    session_id = str(uuid.uuid4())
    refresh, digest = new_refresh_token()
    refresh_lifetime = timedelta(hours=settings.api_refresh_token_hours)
    async with pool.connection() as conn, conn.transaction():
        await access_db.forgive_login_attempt(conn, form.username, address)
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


def login_policy(settings: Settings) -> Policy:
    """The login limit of YIWANG_API_LOGIN_*."""
    window = timedelta(seconds=settings.api_login_window_seconds)
    delay = timedelta(seconds=settings.api_login_delay_seconds)
    longest = timedelta(seconds=settings.api_login_max_delay_seconds)
    return Policy(
        pair=Limit(settings.api_login_max_failures, window, delay, longest),
        name=Limit(settings.api_login_name_max_failures, window, delay, longest),
        address=Limit(settings.api_login_address_max_failures, window, delay, longest),
        known_for=timedelta(days=settings.api_login_known_days),
    )


async def _alert(
    conn: AsyncConnection, request: Request, user_name: str, address: str, *, filled: Sequence[Kind], policy: Policy
) -> None:
    """A failed login filled counters: from now on attempts wait. Said in the log and in the audit log (an admin
    finds it with GET /audit?action=auth:login_limit, or by user_name), once per counter filled."""
    for kind in filled:
        limit = policy.limit(kind)
        window = limit.window.total_seconds()
        logger.warning(
            "login limit: %d failed logins within %.0f s for the %s of user name %r and address %s; attempts wait",
            limit.failures,
            window,
            {"pair": "pair", "name": "name (from every address)", "address": "address (every name)"}[kind],
            user_name,
            address,
        )
        await access_db.append_audit(
            conn,
            user_id=None,
            user_name=user_name,
            role=None,
            action=LIMIT_ACTION,
            method=request.method,
            endpoint=request.url.path,
            resource_ids=[],
            params={"counter": kind, "failures": limit.failures, "window_seconds": window},
            address=address,
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            outcome=outcome(status.HTTP_429_TOO_MANY_REQUESTS),
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
