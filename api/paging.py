"""Pages of lists: keyset paging in id order, so a page costs the same however deep it is."""

from __future__ import annotations

from typing import Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from api.fields import Text

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


def page_of(model: type[T], items: list[T], limit: int, key: str = "id") -> Page[T]:
    """A page of items of `model` as a list read them (at most `limit`, in `key` order): a full page says where the
    next starts. A Page of the model itself: pydantic writes the fields of the type a Page is of, and a Page of a
    parent class would leave the model's own out."""
    concrete = cast("type[Page[T]]", Page.__class_getitem__(model))
    return concrete(items=items, next_after=str(getattr(items[-1], key)) if len(items) == limit else None)
