"""The machine-readable file's JSON Schema in docs/ is the one the code writes, with the field list's codes."""

from __future__ import annotations

from pathlib import Path

from api.survey import machine
from api.survey.forms import field_list

DOCS = Path(__file__).parents[3] / "docs"


def test_the_published_schema_is_the_one_the_code_writes_with_every_code_of_the_field_list() -> None:
    assert (DOCS / machine.NAME).read_text(encoding="utf-8") == machine.schema_text(), (
        "run python -m api.survey.machine"
    )
    codes = machine.schema()["$defs"]["SurveyRow"]["properties"]["code"]["enum"]
    assert set(codes) == {row.code for form in field_list().forms for row in form.rows}


def test_the_survey_document_links_its_schema() -> None:
    assert f"({machine.NAME})" in (DOCS / "survey.md").read_text(encoding="utf-8")
