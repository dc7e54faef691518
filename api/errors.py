"""The API's refusals: one root for the errors its services raise, each subclass one HTTP status, mapped to a
response once (`install`), and the `responses=` that declare them in the OpenAPI schema.

A service raises `NotFound("no meter m1")`, `Conflict(...)` or `Refused(...)` with a sentence that says why and
what to do; the route does not catch it. The body is `{"detail": "<the sentence>"}`, as FastAPI's own refusals are.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Refused(Exception):
    """A request that cannot be done as asked: what it asks for does not fit (422: an unknown organisation, a value
    the rules refuse) unless a subclass says otherwise. The message says why and what to do."""

    status: ClassVar[int] = status.HTTP_422_UNPROCESSABLE_CONTENT

    def body(self) -> dict[str, Any]:
        """The response's body."""
        return {"detail": str(self)}


class NotFound(Refused):
    """No such item among those the user may see (404)."""

    status = status.HTTP_404_NOT_FOUND


class Conflict(Refused):
    """It conflicts with what exists: an id taken, a step not allowed from the state, a vehicle on a request (409)."""

    status = status.HTTP_409_CONFLICT


class Forbidden(Refused):
    """The user's role does not have the permission (403)."""

    status = status.HTTP_403_FORBIDDEN


class TooLarge(Refused):
    """The request is larger than the API takes (413)."""

    status = status.HTTP_413_CONTENT_TOO_LARGE


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return JSONResponse(exc.body(), status_code=exc.status)


def install(app: FastAPI) -> None:
    """Answer every Refused raised by a route or a dependency with its status and body."""
    app.add_exception_handler(Refused, _refused)


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
