"""The survey of a year for the institutions of a scope: the inputs gathered (db/survey.py), the forms filled and
the summaries made (domain/survey.py)."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from api.errors import NotFound
from api.survey.forms import field_list
from db import survey as survey_db
from db.scope import Scope
from domain.survey import FieldList, Inputs, InstitutionForms, SummaryBy, SummaryGroup, fill, summarise


@dataclass(frozen=True, slots=True)
class Survey:
    fields: FieldList
    inputs: Inputs
    filled: list[InstitutionForms]

    def summary(self, by: SummaryBy) -> list[SummaryGroup]:
        return summarise(self.fields, self.inputs, self.filled, by)


async def survey(
    conn: AsyncConnection,
    scope: Scope,
    year: int,
    *,
    organisation_id: str | None = None,
    institution_id: str | None = None,
) -> Survey:
    """The forms of the year's surveyed institutions in the scope (of one organisation, or one institution, when
    named). An institution named that the scope does not hold, or that is not in the year's survey, is answered as
    one that does not exist (404)."""
    fields = field_list()
    inputs = await survey_db.inputs(conn, scope, year, organisation_id=organisation_id, institution_id=institution_id)
    filled = fill(fields, inputs)
    if institution_id is not None and not filled:
        raise NotFound(f"no institution {institution_id} in the survey of {year}")
    return Survey(fields, inputs, filled)
