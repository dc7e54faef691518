"""The error bodies of the API and the `responses=` that declare them in the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

# PostgreSQL text cannot hold NUL characters: text that reaches a query refuses them up front (422).
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=NO_NUL)]
PathId = Annotated[str, Path(pattern=NO_NUL)]


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
