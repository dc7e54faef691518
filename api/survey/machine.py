"""The survey's machine-readable file: the year's institution forms as one JSON document for a provincial platform,
its rows named by the field list's codes (domain/survey_forms.toml). Versioned: `version` changes whenever a reader
would have to change; its JSON Schema is docs/survey.schema.json, written by

    python -m api.survey.machine [--check] [DIR]

(DIR defaults to docs; --check writes nothing and exits 1 if the file differs from what it would write).

No public exchange format of the national statistics system is known (docs/survey.md): this one is Yiwang's own.
Figures are exact decimal texts ("22500", "1234.5"), never binary floats; null where nothing was reported, with the
reason's key.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from api.survey.forms import field_list
from domain.survey import FieldList, InstitutionForms

VERSION: Final = 1
NAME: Final = "survey.schema.json"
DEFAULT_DIR: Final = Path("docs")
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID: Final = "urn:yiwang:schema:survey"

Reason = Literal[
    "no_fact",
    "not_reported",
    "no_cost",
    "no_source",
    "heating_not_entered",
    "heating_unmetered",
    "part_missing",
    "nobody_reported",
    "nothing_to_add",
]
_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SurveyRow(_Model):
    """One row of a form: its code in the field list, the machine room it belongs to (data-centre rows), its unit,
    its value and cost as decimal texts, and why either is null."""

    code: str = Field(description="the row's code in the field list (domain/survey_forms.toml)")
    room: str | None = Field(description="the machine room's name, for the data-centre form's room rows")
    unit: str = Field(description="the unit of `value` ('' for none)")
    value: str | None = Field(pattern=_DECIMAL, description="the value as exact decimal text; null: not reported")
    cost: str | None = Field(pattern=_DECIMAL, description="the cost in yuan as exact decimal text; null: none")
    reason: Reason | None = Field(description="why `value` is null")
    cost_reason: Reason | None = Field(description="why `cost` is null where the row has a cost")


class SurveyInstitution(_Model):
    """One surveyed institution and its forms, keyed by form (basic, energy, data_centre, heating)."""

    id: str
    name: str
    organisation_id: str
    credit_code: str | None = Field(description="统一社会信用代码 (GB 32100-2015)")
    department_id: str | None = Field(description="the supervising department (主管部门)")
    division_code: str | None = Field(description="行政区划代码 (GB/T 2260)")
    category: str | None = Field(description="the survey's category: state_organ, education, ... association")
    forms: dict[str, list[SurveyRow]]


class Revision(_Model):
    year: int
    source: str


class SurveyDocument(_Model):
    """A year's survey of the institutions in the requester's scope."""

    format: Literal["yiwang-survey"] = "yiwang-survey"
    version: Literal[1] = VERSION
    year: int
    revision: Revision | None = Field(description="the latest revision of the forms in force for the year")
    fields_format: int = Field(description="the `format` of the field list the rows' codes belong to")
    made_at: datetime
    institutions: list[SurveyInstitution]


def decimal_text(value: Decimal | None) -> str | None:
    """A figure as plain decimal text without trailing zeros (22500, 22.5)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def document(fields: FieldList, year: int, filled: Sequence[InstitutionForms], made_at: datetime) -> SurveyDocument:
    """The machine-readable file of the year's filled forms."""
    revision = fields.revision(year)
    return SurveyDocument(
        year=year,
        revision=None if revision is None else Revision(year=revision.year, source=revision.source),
        fields_format=fields.format,
        made_at=made_at,
        institutions=[
            SurveyInstitution(
                id=f.institution.id,
                name=f.institution.name,
                organisation_id=f.institution.organisation_id,
                credit_code=f.institution.credit_code,
                department_id=f.institution.department_id,
                division_code=f.institution.division_code,
                category=f.institution.category,
                forms={
                    form.form.key: [
                        SurveyRow(
                            code=cell.row.code,
                            room=cell.room,
                            unit=cell.row.unit,
                            value=decimal_text(cell.value),
                            cost=decimal_text(cell.cost),
                            reason=cast(Reason | None, cell.reason),  # a key of REASONS (pydantic checks)
                            cost_reason=cast(Reason | None, cell.cost_reason),
                        )
                        for cell in form.rows
                    ]
                    for form in f.forms
                },
            )
            for f in filled
        ],
    )


def schema(fields: FieldList | None = None) -> dict[str, Any]:
    """The JSON Schema of the document, its row codes those of the field list."""
    fields = fields or field_list()
    generated = SurveyDocument.model_json_schema()
    codes = sorted({row.code for form in fields.forms for row in form.rows})
    generated["$defs"]["SurveyRow"]["properties"]["code"]["enum"] = codes
    forms = [form.key for form in fields.forms]
    generated["$defs"]["SurveyInstitution"]["properties"]["forms"]["propertyNames"] = {"enum": forms}
    return {"$schema": DIALECT, "$id": SCHEMA_ID, **generated}


def schema_text(fields: FieldList | None = None) -> str:
    return json.dumps(schema(fields), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.survey.machine", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs; write nothing")
    args = parser.parse_args(argv)
    path: Path = args.dir / NAME
    text = schema_text()
    if args.check:
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        print(f"{path}: {'up to date' if same else 'differs: run python -m api.survey.machine'}")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
