"""The error bodies of the API and the `responses=` that declare them in the OpenAPI schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field, WithJsonSchema

# PostgreSQL text cannot hold NUL characters: text that reaches a query refuses them up front (422).
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=NO_NUL)]
PathId = Annotated[str, Path(pattern=NO_NUL)]
# A positive amount as a decimal string ("0.5703"): the schema states what the validator takes, so that a
# client (and the schemathesis run) knows that "" or "0" is refused. JSON numbers are accepted too.
PositiveDecimal = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, decimal_places=10),
    WithJsonSchema({"type": "string", "pattern": r"^(?=.*[1-9])[0-9]{1,10}(\.[0-9]{1,10})?$"}),
]


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


class Invalid(BaseModel):
    """422: the request's fields (a list, as FastAPI validates them) or what they ask for (a sentence) do not fit."""

    detail: str | list[dict[str, Any]]


_DESCRIPTIONS = {
    401: "not authenticated, or the credentials or token are not valid",
    403: "the user's role does not have the permission",
    404: "no such item among those the user may see",
    409: "it conflicts with what exists",
    422: "the request does not fit",
    429: "too many attempts: wait Retry-After seconds",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that refuses with these status codes."""
    return {code: {"model": Invalid if code == 422 else Problem, "description": _DESCRIPTIONS[code]} for code in codes}


# The refusals of every route that requires a permission.
AUTHENTICATED = responses(401, 403)
