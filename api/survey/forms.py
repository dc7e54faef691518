"""The survey's field list, read once from the data file packaged beside domain/survey.py."""

from __future__ import annotations

from functools import cache
from importlib import resources

from domain.survey import FieldList, parse

FILE = "survey_forms.toml"


@cache
def field_list() -> FieldList:
    """The field list of domain/survey_forms.toml (FormsError if it is not valid: a test reads it too)."""
    return parse(resources.files("domain").joinpath(FILE).read_text(encoding="utf-8"))
