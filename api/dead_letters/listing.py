"""The dead letters' models and reads: a refused message's first bytes as text a person can read, and the refusals
counted per device."""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.paging import Page, page_of
from db import dead_letters as dead_letters_db

_PREVIEW_BYTES = 512


class DeadLetter(BaseModel):
    """A refused message (MQTT) or frame (JT/T 808)."""

    id: int
    received_at: datetime
    topic: str = Field(description="the MQTT topic, or the gateway's name for the terminal's connection")
    device_id: str | None = Field(description="the device the topic names; null when it names none")
    reason: str = Field(description="why it was refused (docs/failures.md lists the reasons)")
    detail: str
    payload_size: int = Field(description="bytes the message had; only its first bytes are kept")
    refused: int = Field(description="the refusals this row stands for (a rate-limited device's minute: several)")
    payload_preview: str = Field(
        description="the kept first bytes as UTF-8 text, or as hex when they are not text (at most 512 bytes)"
    )


class DeviceRefusals(BaseModel):
    """One device's refusals in the period asked."""

    device_id: str | None = Field(description="null: topics that named no device")
    refused: int
    kept: int = Field(description="rows kept (the collector prunes past the retention and a number per device)")
    reasons: dict[str, int] = Field(description="refusals per reason")
    first_at: datetime
    last_at: datetime


class _Row(BaseModel):
    id: int
    received_at: datetime
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload_size: int
    refused: int
    payload: bytes


def preview(payload: bytes) -> str:
    """A payload's first bytes as a person reads them: text when they are UTF-8 (a cut character at the end
    dropped), hex otherwise."""
    head = payload[:_PREVIEW_BYTES]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return head[: exc.start].decode("utf-8")
        return head.hex(" ")


async def dead_letters(
    conn: AsyncConnection,
    *,
    after: int | None,
    limit: int,
    device_id: str | None,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Page[DeadLetter]:
    """Dead letters newest first; `after` is the previous page's `next_after` (the ids below it come next)."""
    rows = await dead_letters_db.newest(
        conn, _Row, before=after, limit=limit, device_id=device_id, reason=reason, since=since, until=until
    )
    items = [DeadLetter(**r.model_dump(exclude={"payload"}), payload_preview=preview(r.payload)) for r in rows]
    return page_of(DeadLetter, items, limit)


async def per_device(
    conn: AsyncConnection, *, since: datetime | None, until: datetime | None, limit: int
) -> list[DeviceRefusals]:
    """The devices with refusals in the period, most refused first."""
    return await dead_letters_db.per_device(conn, DeviceRefusals, since=since, until=until, limit=limit)
