"""The audit trail of requests: the entry a request fills as it goes, and the middleware that writes it.

`require()` (api/deps.py) and the auth routes say who made the request and whether it is to be recorded
(api/access/rules.py decides which are); this middleware writes the record when the response's status is known and
before the response leaves, so no recorded kind of request gets an answer without its record. If the record
cannot be written the client gets a 500 instead of the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import resources
from db.access import append_audit

# What one request may write into the append-only audit log, whatever the client sent: each text at most
# MAX_TEXT_CHARS characters, each list or object at most MAX_ITEMS entries (the cut ones counted in a marker),
# and the parameters (query and what a write changed) at most MAX_PARAMS_BYTES of JSON.
MAX_TEXT_CHARS = 500
MAX_ITEMS = 100
MAX_PARAMS_BYTES = 16 * 1024

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


def bounded_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The text, or its first `limit` characters and a marker saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters]"


def bounded(value: Any) -> Any:
    """A JSON-like value with every text, list and object cut to the audit log's bounds, each cut marked."""
    if isinstance(value, str):
        return bounded_text(value)
    if isinstance(value, list | tuple):
        items = [bounded(item) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"…[{len(value) - MAX_ITEMS} more items]")
        return items
    if isinstance(value, dict):
        kept = {bounded_text(str(key)): bounded(item) for key, item in list(value.items())[:MAX_ITEMS]}
        if len(value) > MAX_ITEMS:
            kept["…"] = f"{len(value) - MAX_ITEMS} more keys"
        return kept
    return value


def bounded_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters cut to the audit log's bounds; left out (and their size said) if still over MAX_PARAMS_BYTES."""
    kept: dict[str, Any] = bounded(params)
    size = len(json.dumps(kept, default=str).encode())
    if size > MAX_PARAMS_BYTES:
        return {"…": f"{size} bytes of parameters left out"}
    return kept


async def _record(scope: Scope, entry: AuditEntry, status: int) -> None:
    request = Request(scope)
    route = scope.get("route")
    endpoint = getattr(route, "path", None) or request.url.path
    path_ids = [str(v) for v in request.path_params.values()]
    query: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        previous = query.get(key)
        query[key] = value if previous is None else [*(previous if isinstance(previous, list) else [previous]), value]
    address = request.client.host if request.client else None
    pool = resources.of(request).pool
    async with pool.connection() as conn:
        await append_audit(
            conn,
            user_id=entry.user_id,
            user_name=None if entry.user_name is None else bounded_text(entry.user_name),
            role=entry.role,
            action=bounded_text(entry.action or f"{request.method} {endpoint}"),
            method=bounded_text(request.method),
            endpoint=bounded_text(endpoint),
            resource_ids=bounded(list(dict.fromkeys([*path_ids, *entry.resource_ids]))),
            params=bounded_params({**query, **entry.params}),
            address=None if address is None else bounded_text(address),
            status=status,
            outcome=outcome(status),
        )
