"""Pages of lists: keyset paging in id order, so a page costs the same however deep it is."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.errors import Text

T = TypeVar("T", bound=BaseModel)


class PageQuery(BaseModel):
    """The query parameters of every list; a list's filters extend it. Unknown parameters are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    after: Text | None = Field(default=None, description="the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=1000, description="at most this many items")


class Page(BaseModel, Generic[T]):
    """One page of a list in id order; pass `next_after` as `after` for the next page (null: no more)."""

    items: list[T]
    next_after: str | None
