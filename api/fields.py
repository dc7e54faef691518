"""Field types of bodies, queries and paths: what the storage cannot hold is refused in the schema (422)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, Field, WithJsonSchema

# PostgreSQL text cannot hold NUL characters: text that reaches a query refuses them up front (422).
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=NO_NUL)]
PathId = Annotated[str, Path(pattern=NO_NUL)]
# Why staff corrected, withdrew or reversed something: kept in the record and the audit log.
Reason = Annotated[Text, Field(min_length=1, max_length=1000)]
# A positive amount as a decimal string ("0.5703"): the schema states what the validator takes, so that a
# client (and the schemathesis run) knows that "" or "0" is refused. JSON numbers are accepted too.
PositiveDecimal = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, decimal_places=10),
    WithJsonSchema({"type": "string", "pattern": r"^(?=.*[1-9])[0-9]{1,10}(\.[0-9]{1,10})?$"}),
]
# PostgreSQL's `integer` (int4), the column type of headcounts and years, and `bigint`, of the ids of drivers and
# requests: larger numbers are refused in the schema, not by the database.
INTEGER_MAX = 2**31 - 1
Integer = Annotated[int, Field(ge=-INTEGER_MAX - 1, le=INTEGER_MAX)]
BIGINT_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# A moment with its offset, as RFC 3339 allows it (up to ±23:59), turned to UTC: PostgreSQL takes offsets up to ±15:59
# only, so `+16:00` would be a database error rather than the same instant.
Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


def _no_offset(moment: time) -> time:
    if moment.tzinfo is not None:
        raise ValueError("a local time of day (the settings' time zone): no offset")
    return moment


# A time of day in the settings' time zone (working hours, quiet hours), taken and returned as "08:30:00". JSON
# Schema's `time` format is RFC 3339's full-time, which requires an offset: a schema saying `format: time` would
# call every answer wrong, so it states the form the API takes and returns.
LocalTime = Annotated[
    time,
    AfterValidator(_no_offset),
    WithJsonSchema({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"}),
]
