"""Typed dependencies: what a route states it needs in its signature.

Every route but /health and the login and refresh of /auth declares its permission with `require`:

    @router.get("/institutions/{institution_id}")
    async def institution(user: Annotated[Principal, Depends(require("institutions:read"))], scope: ScopeDep, ...)

and every query of a unit's data filters with the request's `Scope` (`scope.condition("organisation_id")`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.requests import HTTPConnection

from api import resources
from api.access.audit import audit_entry
from api.access.rules import Permission, Principal, Role, allows, audited, scope_of
from api.access.tokens import AccessTokens, TokenError
from api.errors import Forbidden
from api.live.follower import Live
from api.reads import Reads
from db import access as access_db
from db.scope import Scope
from domain.vocabulary import Language, preferred
from yiwang.settings import Settings


# The getters are coroutines though they do no I/O: FastAPI runs a plain function dependency in its thread pool,
# a hop to a thread and back for every request and every such dependency.
async def get_pool(connection: HTTPConnection) -> AsyncConnectionPool[AsyncConnection]:
    return resources.of(connection).pool


async def get_reads(connection: HTTPConnection) -> Reads:
    """The request's heavy reads (reports, exports): the replica's connections when it answers (api/reads.py)."""
    found = resources.of(connection)
    return Reads(found.pool, found.replica, connection.scope)


async def get_settings(connection: HTTPConnection) -> Settings:
    return resources.of(connection).settings


async def get_tokens(connection: HTTPConnection) -> AccessTokens:
    return resources.of(connection).tokens


async def get_live(connection: HTTPConnection) -> Live:
    return resources.of(connection).live


async def reader_language(
    accept_language: Annotated[str | None, Header(description="zh or en: the language of an alert's detail")] = None,
) -> Language | None:
    """The language the reader asks for (Accept-Language), None when neither of ours."""
    return preferred(accept_language)


PoolDep = Annotated[AsyncConnectionPool[AsyncConnection], Depends(get_pool)]
# The reader's language for texts made from parameters (an alert's detail); None: neither zh nor en was asked.
ReaderLanguage = Annotated[Language | None, Depends(reader_language)]
ReadsDep = Annotated[Reads, Depends(get_reads)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TokensDep = Annotated[AccessTokens, Depends(get_tokens)]
LiveDep = Annotated[Live, Depends(get_live)]

# Where the docs' "Authorize" button logs in; the token itself is checked by current_user.
bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def unauthorized(detail: str) -> HTTPException:
    """401 with the challenge RFC 6750 asks for."""
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(pool: PoolDep, tokens: TokensDep, token: Annotated[str | None, Depends(bearer)]) -> Principal:
    """The user of the request's access token, whose session still holds and who is not disabled."""
    if token is None:
        raise unauthorized("not authenticated: send 'Authorization: Bearer <access token>' from POST /auth/token")
    try:
        claims = tokens.read(token)
    except TokenError as exc:
        raise unauthorized(str(exc)) from exc
    async with pool.connection() as conn:
        found = await access_db.session_user(conn, claims.session_id, claims.user_id)
    if found is None or not found.active:
        raise unauthorized("the session of this access token has ended (logged out, revoked or expired): log in again")
    if found.disabled:
        raise unauthorized("this account is disabled: ask an administrator")
    return Principal(
        id=found.user_id,
        name=found.name,
        role=cast(Role, found.role),
        organisations=frozenset(found.organisations),
        session_id=claims.session_id,
    )


CurrentUser = Annotated[Principal, Depends(current_user)]


@dataclass(frozen=True, slots=True)
class require:  # a verb at the route: Depends(require("institutions:read"))
    """The dependency that lets a request through only if its user's role holds `permission`.

    It yields the user, marks the request for the audit log when api/access.py says so, and answers
    403 when the role lacks the permission.
    """

    permission: Permission

    async def __call__(self, request: Request, user: CurrentUser) -> Principal:
        allowed = allows(user.role, self.permission)
        entry = audit_entry(request)
        entry.action = self.permission
        entry.user_id, entry.user_name, entry.role = user.id, user.name, user.role
        entry.wanted = entry.wanted or audited(user.role, self.permission, request.method, allowed=allowed)
        if not allowed:
            raise Forbidden(f"the role {user.role} does not have the permission {self.permission}")
        return user


async def current_scope(user: CurrentUser) -> Scope:
    """The organisations the request's user may see."""
    return scope_of(user)


ScopeDep = Annotated[Scope, Depends(current_scope)]
