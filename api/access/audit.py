"""The audit trail of requests: the entry a request fills as it goes, and the middleware that writes it.

`require()` (api/deps.py) and the auth routes say who made the request and whether it is to be recorded
(api/access/rules.py decides which are); this middleware writes the record when the response's status is known and
before the response leaves, so no recorded kind of request gets an answer without its record. If the record
cannot be written the client gets a 500 instead of the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import resources
from db.access import append_audit

_OUTCOMES = {401: "unauthenticated", 403: "denied", 404: "not_found", 409: "conflict", 422: "invalid", 429: "limited"}


def outcome(status: int) -> str:
    """The audit log's word for an HTTP status."""
    if status < 400:
        return "ok"
    if status >= 500:
        return "error"
    return _OUTCOMES.get(status, "refused")


@dataclass
class AuditEntry:
    """What a request says about itself for the audit log; recorded only when `wanted`."""

    wanted: bool = False
    action: str | None = None
    user_id: int | None = None
    user_name: str | None = None
    role: str | None = None
    resource_ids: list[str] = field(default_factory=list)
    # Besides the query parameters: what a write changed (never a password).
    params: dict[str, Any] = field(default_factory=dict)


def audit_entry(request: Request) -> AuditEntry:
    """This request's audit entry (set by AuditMiddleware)."""
    entry = request.scope.get("yiwang.audit")
    if not isinstance(entry, AuditEntry):
        raise RuntimeError("AuditMiddleware is not installed: create the app with api.app.create_app")
    return entry


class AuditMiddleware:
    """Writes a request's audit entry, if it is wanted, as its response starts (or as it fails)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        entry = AuditEntry()
        scope["yiwang.audit"] = entry
        recorded = False

        async def send_after_recording(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and entry.wanted and not recorded:
                recorded = True
                await _record(scope, entry, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_after_recording)
        except Exception:
            if entry.wanted and not recorded:
                recorded = True
                await _record(scope, entry, 500)
            raise


async def _record(scope: Scope, entry: AuditEntry, status: int) -> None:
    request = Request(scope)
    route = scope.get("route")
    endpoint = getattr(route, "path", None) or request.url.path
    path_ids = [str(v) for v in request.path_params.values()]
    query: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        previous = query.get(key)
        query[key] = value if previous is None else [*(previous if isinstance(previous, list) else [previous]), value]
    pool = resources.of(request).pool
    async with pool.connection() as conn:
        await append_audit(
            conn,
            user_id=entry.user_id,
            user_name=entry.user_name,
            role=entry.role,
            action=entry.action or f"{request.method} {endpoint}",
            method=request.method,
            endpoint=endpoint,
            resource_ids=list(dict.fromkeys([*path_ids, *entry.resource_ids])),
            params={**query, **entry.params},
            address=request.client.host if request.client else None,
            status=status,
            outcome=outcome(status),
        )
