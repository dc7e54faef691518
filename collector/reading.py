"""Topic family `<root>/meter/<meter_id>/reading`: cumulative register readings of one meter."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from collector.contract import PAYLOAD_CONFIG, DeviceId, Limits, Rejected, Timestamp, decode_items, parse_items
from domain.reading import Reading
from domain.topics import READING


class ReadingPayload(BaseModel):
    """One reading as a meter sends it: when, and the cumulative register in the meter's unit."""

    model_config = PAYLOAD_CONFIG

    meter: DeviceId | None = Field(default=None, description="Optional; must equal the meter id in the topic.")
    time: Timestamp = Field(description="When the register was read (RFC 3339 with offset, or epoch ms).")
    # Named `register` on the wire; the Python name differs only because BaseModel has a `register`.
    value: float = Field(alias="register", ge=0, description="Cumulative register value in the meter's unit.")


def parse(meter_id: str, payload: bytes, received_at: datetime, limits: Limits) -> tuple[list[Reading], list[Rejected]]:
    """Turn one MQTT payload into reading rows and the items that were refused.

    Raises:
        InvalidMessage: the payload as a whole is refused.
    """
    return parse_items(
        ReadingPayload,
        decode_items(payload, limits),
        device_id=meter_id,
        device_field=READING.device,
        received_at=received_at,
        limits=limits,
        to_row=lambda p: Reading(meter_id, p.time, p.value, received_at),
    )
