"""The live map as a stream: the conversation of WebSocket /positions/stream (api/live/routes.py), a snapshot then the
changes, filtered as GET /positions/live.

The conversation, in JSON text messages:

1. The client opens `/positions/stream`, with GET /positions/live's filters in the query if it wants them
   (`organisation_id`, `bbox=west,south,east,north`, `state` repeated) and, when it reconnects, `since=<cursor>`
   (the `cursor` of the last message it applied), and sends first, within 10 s,
   `{"type": "auth", "token": "<access token from POST /auth/token>"}`.
2. The server sends the snapshot, a GeoJSON FeatureCollection exactly as GET /positions/live gives it (with
   `since`: only what changed, `whole` false, or the whole map saying why), then
   `{"type": "changes", "features": [...], "removed": [vehicle ids], "cursor": "..."}` at most every
   YIWANG_LIVE_BATCH_MS: the newest feature of each vehicle that changed, and the vehicles that left the filter
   (out of the box, another state). Applying a message twice changes nothing. `age_seconds` is as of the
   message: clients age it from `time`. A client that reads slowly misses no vehicle, only the intermediate
   positions. A client whose role may read alerts also gets `{"type": "alerts", "alerts": [...]}` as the
   supervisor commits them (each as GET /alerts gives it), for the units its filter holds (whatever the box or
   state).
3. Before its token expires the client sends `{"type": "auth", "token": "<a fresh one>"}` (same user, from
   POST /auth/refresh or a new login); otherwise the server closes at the expiry. Each fresh token's session is
   judged anew: if the user's role or units changed so that they may now see less than the stream sends (a
   dispatcher made a unit user, or energy staff), the server closes with 4403 and the client reconnects.

The server closes with 4401 (no valid token, the session ended: log in or refresh, then reconnect), 4403 (the
role lacks vehicles:read, or a renewed session sees less than the stream), 4422 (a bad filter or message; the
reason says which).

Why the token travels in the first message and not in the URL: browsers cannot set headers on a WebSocket, and a
URL is written to access logs (uvicorn logs each WebSocket's path with its query), proxies and browser history,
where a bearer token would stay readable for its whole lifetime. A first message costs one round trip and an
accepted but unauthenticated socket for at most 10 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from typing import Final, cast

import orjson
from fastapi import HTTPException, WebSocket, WebSocketDisconnect
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import QueryParams

from api.access.audit import bounded_params, outcome
from api.access.rules import Permission, Principal, allows, audited, scope_of
from api.access.tokens import AccessTokens, TokenError
from api.deps import current_user
from api.live.follower import Live
from api.live.resume import read_cursor
from api.live.subscriptions import Filter, parse_bbox
from db import access as access_db
from db.scope import Scope
from domain.vehicles import LIVE_STATES

PATH: Final = "/positions/stream"
PERMISSION: Final[Permission] = "vehicles:read"
AUTH_SECONDS: Final = 10.0  # for the first message
# How often a stream checks that its session still holds (logout, revocation, a disabled user): one query.
SESSION_CHECK_SECONDS: Final = 60.0
UNAUTHENTICATED, FORBIDDEN, INVALID = 4401, 4403, 4422
# The audit log's status of an accepted stream: 101 Switching Protocols.
_ACCEPTED = 101


class Closed(Exception):
    """Ends a stream with a WebSocket close code and a reason the client can act on."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason.encode()[:123].decode(errors="ignore")  # a close frame holds 123 bytes of reason


async def _verify(
    pool: AsyncConnectionPool[AsyncConnection], tokens: AccessTokens, token: str
) -> tuple[Principal, float]:
    """The user of an access token, checked as every request's is (api/deps.py), and when the token expires.

    Raises:
        Closed: the token is not valid, or its session has ended, or its user is disabled (4401).
    """
    try:
        expires_at = tokens.read(token).expires_at.timestamp()
        return await current_user(pool, tokens, token), expires_at
    except TokenError as exc:
        raise Closed(UNAUTHENTICATED, str(exc)) from None
    except HTTPException as exc:
        raise Closed(UNAUTHENTICATED, str(exc.detail)) from None


class _Session:
    """The login behind a stream: its token's expiry, renewed by the client, and its session, checked now and then."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], tokens: AccessTokens) -> None:
        self._pool = pool
        self._tokens = tokens
        self.user: Principal | None = None
        self.expires_at = 0.0
        self._checked_at = 0.0

    async def renew(self, token: str) -> Principal:
        """Take a token of this stream's user (the first one sets the user).

        Raises:
            Closed: the token is not valid, of another user, or its session has ended.
        """
        user, expires_at = await _verify(self._pool, self._tokens, token)
        if self.user is not None and self.user.id != user.id:
            raise Closed(UNAUTHENTICATED, "a stream's token must stay of the user who opened it")
        self.user, self.expires_at, self._checked_at = user, expires_at, time.time()
        return user

    def wait(self) -> float:
        """Seconds until the next check is due."""
        return max(min(self.expires_at, self._checked_at + SESSION_CHECK_SECONDS) - time.time(), 0.0)

    async def check(self) -> None:
        """Raises Closed when the token has expired or the session has ended."""
        now = time.time()
        if now >= self.expires_at:
            raise Closed(UNAUTHENTICATED, "the access token has expired: send a fresh one before it does, or reconnect")
        if now >= self._checked_at + SESSION_CHECK_SECONDS and self.user is not None:
            async with self._pool.connection() as conn:
                found = await access_db.session_user(conn, self.user.session_id, self.user.id)
            if found is None or not found.active or found.disabled:
                raise Closed(UNAUTHENTICATED, "the session has ended (logged out, revoked or expired): log in again")
            self._checked_at = now


async def converse(
    websocket: WebSocket, live: Live, pool: AsyncConnectionPool[AsyncConnection], tokens: AccessTokens
) -> None:
    """The live map: a snapshot as GET /positions/live, then the changes (see the module's docstring)."""
    await websocket.accept()
    session = _Session(pool, tokens)
    try:
        user = await session.renew(await _first_token(websocket))
        async with asyncio.TaskGroup() as tasks:
            wanted = await _admit(websocket, pool, user)
            alerts = allows(user.role, "alerts:read")
            feed = await live.current()
            # `since` is a cursor: stream_filter checked it.
            with feed.subscribe(wanted, alerts=alerts, since=websocket.query_params.get("since")) as subscription:
                await websocket.send_text(subscription.snapshot.decode())
                tasks.create_task(_renewals(websocket, pool, session, wanted, alerts=alerts))
                while True:
                    try:
                        async with asyncio.timeout(session.wait()):
                            messages = await subscription.next()
                    except TimeoutError:
                        await session.check()
                        continue
                    for message in messages:
                        await websocket.send_text(message)
    except* Closed as closed:
        first = cast(Closed, closed.exceptions[0])
        await websocket.close(first.code, first.reason)
    except* WebSocketDisconnect:
        pass  # the client left: nothing to answer, and its subscription has ended


async def _first_token(websocket: WebSocket) -> str:
    try:
        async with asyncio.timeout(AUTH_SECONDS):
            return _token(await _receive(websocket))
    except TimeoutError:
        raise Closed(
            UNAUTHENTICATED, f'send {{"type": "auth", "token": ...}} first, within {AUTH_SECONDS:.0f} s'
        ) from None


async def _admit(websocket: WebSocket, pool: AsyncConnectionPool[AsyncConnection], user: Principal) -> Filter:
    """The user's filter, once the role's permission and the filter are checked; the audit log gets its record
    (an auditor's stream, a refusal) before any data leaves, as AuditMiddleware does for HTTP."""
    allowed = allows(user.role, PERMISSION)
    closed: Closed | None = None
    wanted = None
    if not allowed:
        closed = Closed(FORBIDDEN, f"the role {user.role} does not have the permission {PERMISSION}")
    else:
        try:
            wanted = stream_filter(websocket.query_params, scope_of(user))
        except Closed as exc:
            closed = exc
    if audited(user.role, PERMISSION, "GET", allowed=allowed):
        await _record(websocket, pool, user, _ACCEPTED if closed is None else 403 if closed.code == FORBIDDEN else 422)
    if closed is not None:
        raise closed
    assert wanted is not None
    return wanted


async def _record(
    websocket: WebSocket, pool: AsyncConnectionPool[AsyncConnection], user: Principal, status: int
) -> None:
    """The stream's record in the audit log, as AuditMiddleware writes an HTTP request's."""
    async with pool.connection() as conn:
        await access_db.append_audit(
            conn,
            user_id=user.id,
            user_name=user.name,
            role=user.role,
            action=PERMISSION,
            method="GET",
            endpoint=PATH,
            resource_ids=[],
            params=bounded_params(_params(websocket.query_params)),
            address=websocket.client.host if websocket.client else None,
            status=status,
            outcome=outcome(status),
        )


def narrowed(params: QueryParams, user: Principal, admitted: Filter, *, alerts: bool) -> Closed | None:
    """Why a stream admitted with `admitted` (and alerts or not) must end now that its session is `user`'s, or
    None when the user may still see all that it sends.

    A role or units changed since the stream opened (an admin's change ends the user's sessions, and the user
    logs in again and renews the stream with the new token) are judged here, as _admit judged the first ones.
    """
    if not allows(user.role, PERMISSION):
        return Closed(FORBIDDEN, f"the role {user.role} does not have the permission {PERMISSION}")
    try:
        allowed = stream_filter(params, scope_of(user))
    except Closed as exc:
        return exc
    if not allowed.covers(admitted) or (alerts and not allows(user.role, "alerts:read")):
        return Closed(FORBIDDEN, "your role or units changed and see less than this stream: reconnect")
    return None


def stream_filter(params: QueryParams, scope: Scope) -> Filter:
    """The filter of a stream's query: GET /positions/live's parameters, checked alike.

    Raises:
        Closed: a parameter is not valid (4422).
    """
    if (since := params.get("since")) is not None:
        try:
            read_cursor(since)
        except ValueError as exc:
            raise Closed(INVALID, str(exc)) from None
    organisation_id = params.get("organisation_id")
    if organisation_id is not None and "\x00" in organisation_id:
        raise Closed(INVALID, "organisation_id may not contain NUL")
    box = None
    if (text := params.get("bbox")) is not None:
        try:
            box = parse_bbox(text)
        except ValueError as exc:
            raise Closed(INVALID, str(exc)) from None
    states: Collection[str] = params.getlist("state")
    unknown = set(states) - set(LIVE_STATES)
    if unknown:
        raise Closed(INVALID, f"state is one of {', '.join(LIVE_STATES)}; not {', '.join(sorted(unknown))[:40]}")
    return Filter.of(scope, organisation_id=organisation_id, bbox=box, states=states)


def _params(params: QueryParams) -> dict[str, str | list[str]]:
    found: dict[str, str | list[str]] = {}
    for key in params:
        values = params.getlist(key)
        found[key] = values[0] if len(values) == 1 else values
    return found


async def _renewals(
    websocket: WebSocket,
    pool: AsyncConnectionPool[AsyncConnection],
    session: _Session,
    admitted: Filter,
    *,
    alerts: bool,
) -> None:
    """Take fresh tokens from the client until it leaves (WebSocketDisconnect), sends one that is not valid, or
    one whose session may see less than the stream sends (4403, recorded in the audit log). A user whose role is
    now audited (made an auditor) gets the stream's record then, as at its start."""
    recorded = session.user is not None and audited(session.user.role, PERMISSION, "GET", allowed=True)
    while True:
        user = await session.renew(_token(await _receive(websocket)))
        if (closed := narrowed(websocket.query_params, user, admitted, alerts=alerts)) is not None:
            if closed.code == FORBIDDEN:  # a refused permission is recorded, as at the start
                await _record(websocket, pool, user, 403)
            raise closed
        if not recorded and audited(user.role, PERMISSION, "GET", allowed=True):
            await _record(websocket, pool, user, _ACCEPTED)
            recorded = True


async def _receive(websocket: WebSocket) -> str:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise Closed(INVALID, "send JSON text messages")
    return cast(str, text)


def _token(text: str) -> str:
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or body.get("type") != "auth" or not isinstance(body.get("token"), str):
        raise Closed(UNAUTHENTICATED, 'send {"type": "auth", "token": "<access token from POST /auth/token>"}')
    return cast(str, body["token"])
