"""Relay connections with opaque keyset cursors and a maximum page size: the one home of pagination.

A cursor encodes the sort key of the last row seen, not an offset, so a page stays right
when rows are added before it while a client pages through.
"""
from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

from graph_api.errors import InvalidArgument, PageSizeExceeded
from graph_api.schema.context import Context, Row

T = TypeVar("T")
U = TypeVar("U")
SortKey = Callable[[Row], tuple[Any, ...]]


# the sort keys of the lake's lists; the cursor of a page encodes one of them
def by_id(row: Row) -> tuple[Any, ...]:
    return (row["id"],)


def by_name(row: Row) -> tuple[Any, ...]:
    return (row["name_lower"], row["id"])


def by_time(row: Row) -> tuple[Any, ...]:
    return (row["start"], row["end"], row["id"])


# Cursors are encoded only when a client selects them: a page of 50 assets with their annotations
# built ~150 cursors a request that title-detail never reads.
@strawberry.type
class PageInfo:
    _first: strawberry.Private[tuple[Any, ...] | None]
    _last: strawberry.Private[tuple[Any, ...] | None]
    has_next_page: bool
    has_previous_page: bool

    @strawberry.field
    def start_cursor(self) -> str | None:
        return None if self._first is None else encode_cursor(self._first)

    @strawberry.field
    def end_cursor(self) -> str | None:
        return None if self._last is None else encode_cursor(self._last)


def _edge_cursor(root: Edge[Any]) -> str:
    return encode_cursor(root._key)


@strawberry.type
class Edge(Generic[T]):
    _key: strawberry.Private[tuple[Any, ...]]
    cursor: str = strawberry.field(resolver=_edge_cursor)
    node: T

    def with_node(self, node: U) -> Edge[U]:
        """The same position in the list, holding ``node``."""
        return Edge(_key=self._key, node=node)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="rows matching, across all pages")


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list):
            raise ValueError
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(f"after: {cursor!r} is not a cursor this API issued", argument="after") from None


def page_size(first: int | None, default: int, maximum: int) -> int:
    if first is None:
        return default
    if first < 0:
        raise InvalidArgument(f"first must not be negative, got {first}", argument="first")
    if first > maximum:
        raise PageSizeExceeded(f"first={first} exceeds the maximum page size of {maximum}", argument="first",
                               maximum=maximum)
    return first


def paginate(
    rows: Sequence[Row],
    *,
    key: SortKey,
    build: Callable[[Row], T],
    first: int | None,
    after: str | None,
    default: int,
    maximum: int,
) -> Connection[T]:
    """One page of ``rows`` (already sorted by ``key``) after the ``after`` cursor."""
    size = page_size(first, default, maximum)
    start = 0
    if after is not None:
        cursor_key = decode_cursor(after)
        try:
            start = bisect_right([list(key(r)) for r in rows], cursor_key)
        except TypeError:
            raise InvalidArgument(f"after: {after!r} does not belong to this list", argument="after") from None
    window = rows[start : start + size]
    edges = [Edge(_key=key(r), node=build(r)) for r in window]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            _first=edges[0]._key if edges else None,
            _last=edges[-1]._key if edges else None,
            has_next_page=start + size < len(rows),
            has_previous_page=start > 0,
        ),
        total_count=len(rows),
    )


def page(info: Info[Context, None], rows: Sequence[Row], key: SortKey, build: Callable[[Row], T],
         first: int | None, after: str | None) -> Connection[T]:
    """``paginate`` with this server's default and maximum page sizes."""
    settings = info.context.settings
    return paginate(rows, key=key, build=build, first=first, after=after, default=settings.default_page_size,
                    maximum=settings.max_page_size)
