"""Query parameters shared by routes of several capabilities: a period of local days."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.periods import FIRST_YEAR, LAST_YEAR, Period

_LONGEST = timedelta(days=366 * 10)


class PeriodQuery(BaseModel):
    """Local days [start, end) in the city's time zone (YIWANG_TIME_ZONE)."""

    model_config = ConfigDict(extra="forbid")

    start: date = Field(description="first local day", examples=["2026-01-01"])
    end: date = Field(description="the day after the last (exclusive)", examples=["2027-01-01"])

    @model_validator(mode="after")
    def _ordered(self) -> PeriodQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start (end is exclusive: a year is 2026-01-01 to 2027-01-01)")
        if self.end - self.start > _LONGEST:
            raise ValueError("a period is at most ten years")
        if self.start.year < FIRST_YEAR or self.end.year > LAST_YEAR + 1:
            raise ValueError(f"periods lie between {FIRST_YEAR} and {LAST_YEAR}")
        return self

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)
