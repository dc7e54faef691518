"""Topic family `<root>/vehicle/<vehicle_id>/position`: GNSS fixes and state of one vehicle's terminal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from collector.contract import PAYLOAD_CONFIG, DeviceId, Limits, Rejected, Timestamp, decode_items, parse_items
from domain.dead_letter import Reason
from domain.position import Position
from domain.topics import POSITION

_UINT32 = 2**32 - 1
_NO_FIX = "no_fix"


class PositionPayload(BaseModel):
    """One position report, in the units of JT/T 808 after its scaling (degrees, km/h, km, L)."""

    model_config = PAYLOAD_CONFIG | ConfigDict(
        json_schema_extra={
            "not": {
                "description": "0, 0 is a terminal without a fix",
                "properties": {"latitude": {"const": 0}, "longitude": {"const": 0}},
                "required": ["latitude", "longitude"],
            }
        }
    )

    vehicle: DeviceId | None = Field(default=None, description="Optional; must equal the vehicle id in the topic.")
    time: Timestamp = Field(description="GNSS fix time (RFC 3339 with offset, or epoch ms).")
    latitude: float = Field(ge=-90, le=90, description="WGS-84 degrees, as the receiver gives them.")
    longitude: float = Field(ge=-180, le=180, description="WGS-84 degrees.")
    # Optional: a terminal or a gateway that has no such figure leaves it out rather than making one up (a taxi
    # log of time and coordinates has none of them). Trips and mileage then judge motion from the fixes
    # themselves and say so (domain/trips.py).
    speed: float | None = Field(default=None, ge=0, le=400, description="Optional; km/h.")
    heading: float | None = Field(default=None, ge=0, lt=360, description="Optional; degrees clockwise from north.")
    odometer: float | None = Field(default=None, ge=0, description="Optional; total km (JT/T 808 item 0x01).")
    ignition: bool | None = Field(default=None, description="Optional; ACC on (JT/T 808 status bit 0).")
    altitude: float | None = Field(default=None, ge=-500, le=9000, description="Metres above sea level.")
    satellites: int | None = Field(default=None, ge=0, le=255, description="Satellites in the fix.")
    accuracy: float | None = Field(default=None, ge=0, le=100000, description="Estimated horizontal error, m.")
    soc: float | None = Field(default=None, ge=0, le=100, description="Battery state of charge, %.")
    fuel: float | None = Field(default=None, ge=0, le=10000, description="Fuel level, L (item 0x02).")
    alarm: int | None = Field(default=None, ge=0, le=_UINT32, description="Raw JT/T 808 alarm word.")
    status: int | None = Field(default=None, ge=0, le=_UINT32, description="Raw JT/T 808 status word.")
    blind: bool = Field(default=False, description="A blind-zone resend (0x0704 type 1): buffered, sent late.")

    @model_validator(mode="after")
    def _has_a_fix(self) -> PositionPayload:
        # Terminals without a GNSS fix commonly report 0, 0: a point in the Gulf of Guinea, not a vehicle.
        if self.latitude == 0 and self.longitude == 0:
            raise PydanticCustomError(_NO_FIX, "latitude and longitude are both 0: the terminal has no fix")
        return self


def _classify(exc: ValidationError) -> Reason:
    for error in exc.errors(include_url=False):
        if error["type"] == _NO_FIX:
            return Reason.IMPOSSIBLE_COORDINATES
        if (
            error["loc"]
            and error["loc"][0] in ("latitude", "longitude")
            and error["type"]
            in (
                "greater_than_equal",
                "less_than_equal",
            )
        ):
            return Reason.IMPOSSIBLE_COORDINATES
    return Reason.INVALID_FIELD


def parse(
    vehicle_id: str, payload: bytes, received_at: datetime, limits: Limits
) -> tuple[list[Position], list[Rejected]]:
    """Turn one MQTT payload into position rows and the items that were refused.

    Raises:
        InvalidMessage: the payload as a whole is refused.
    """
    return parse_items(
        PositionPayload,
        decode_items(payload, limits),
        device_id=vehicle_id,
        device_field=POSITION.device,
        received_at=received_at,
        limits=limits,
        classify=_classify,
        to_row=lambda p: Position(
            vehicle_id,
            p.time,
            received_at,
            p.latitude,
            p.longitude,
            p.speed,
            p.heading,
            p.ignition,
            p.odometer,
            p.blind,
            p.altitude,
            p.satellites,
            p.accuracy,
            p.soc,
            p.fuel,
            p.alarm,
            p.status,
        ),
    )
