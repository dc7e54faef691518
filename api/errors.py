"""The API's refusals: one root for the errors its services raise, each subclass one HTTP status, mapped to a
response once (`install`), and the `responses=` that declare them in the OpenAPI schema.

A service raises `NotFound("no meter m1")`, `Conflict(...)` or `Refused(...)` with a sentence that says why and
what to do; the route does not catch it. The body is `{"detail": "<the sentence>"}`, as FastAPI's own refusals are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY


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


async def _body_too_large(request: Request, exc: Exception) -> JSONResponse:
    """413 from the body limit (the app's or a route's max_body_size, counted before the body is read whole).

    The connection stays open: uvicorn reads and drops the rest of the body, so that a client that sends it all
    before it reads the answer sees the 413 (closing at once would reset the connection under it)."""
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    most = f"{limit:,} bytes" if isinstance(limit, int) else "what this route takes"
    return JSONResponse(
        {"detail": f"the request body is larger than {most}: send less"}, status_code=status.HTTP_413_CONTENT_TOO_LARGE
    )


# A 422 lists at most this many of a request's problems, each part of a field's location at most this long: a
# small body of many wrong items (or one long unknown key) must not make a large answer.
MAX_PROBLEMS = 50
MAX_LOCATION_CHARS = 100


def invalid_fields(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """A 422's list of what does not fit (FastAPI's validation errors): where, what and why in words, never the
    input itself. Pydantic puts the input (`input`) and often parts of it (`ctx`: the exception's message, the
    pattern's match) in each error: a 422 would send back whatever was sent, megabytes included."""
    return [
        {
            "loc": [part if not isinstance(part, str) else part[:MAX_LOCATION_CHARS] for part in error["loc"]],
            "msg": error["msg"],
            "type": error["type"],
        }
        for error in errors[:MAX_PROBLEMS]
    ]


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": invalid_fields(exc.errors())}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install(app: FastAPI) -> None:
    """Answer every Refused raised by a route or a dependency with its status and body, a body over the limit
    with 413 and the limit, and a request that does not validate with where and why, without its input."""
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(status.HTTP_413_CONTENT_TOO_LARGE, _body_too_large)
    app.add_exception_handler(RequestValidationError, _invalid)


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
    413: "the request body is larger than the API takes",
    429: "too many attempts: wait Retry-After seconds",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that refuses with these status codes."""
    return {code: {"model": Invalid if code == 422 else Problem, "description": _DESCRIPTIONS[code]} for code in codes}


def declare_body_limit(routers: Iterable[APIRouter]) -> None:
    """Every route that reads a body may answer 413 (the body limit, counted before the route runs): say so in its
    schema, so that a client generated from it, and the schema tests' oversized bodies, expect it."""
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                route.responses.setdefault(413, responses(413)[413])


# The refusals of every route that requires a permission.
AUTHENTICATED = responses(401, 403)
