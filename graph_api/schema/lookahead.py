"""Resolving a field's children at once when a parent already holds what they need.

graphql-core completes a plain value on its synchronous path; a coroutine per object costs it an
await, a gather and a second completion each (title-detail's 50 per-asset ``annotations`` were a
large part of its time). So a parent that pages a list looks ahead at what the client selected
under it, loads the children's rows in one batch, and the children's resolvers, being sync,
return at once from the loader's cache (``when_loaded``), or a coroutine when nothing was loaded.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import TypeAlias, TypeVar

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from graph_api.schema.context import Context

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")
# what a resolver that answers sync when it can returns
MaybeAwaitable: TypeAlias = R | Awaitable[R]


def selects(info: Info[Context, None], *path: str) -> bool:
    """Whether the client selected the field ``path`` (GraphQL names, e.g. "edges", "node",
    "annotations") under the field being resolved, directly or through fragments."""
    raw = info._raw_info
    sets: list[SelectionSetNode] = [n.selection_set for n in raw.field_nodes if n.selection_set]
    for name in path:
        found: list[SelectionSetNode] = []
        matched = False
        pending = list(sets)
        while pending:
            selection_set = pending.pop()
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    if selection.name.value == name:
                        matched = True
                        if selection.selection_set:
                            found.append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = raw.fragments.get(selection.name.value)
                    if fragment is not None:
                        pending.append(fragment.selection_set)
        if not matched:
            return False
        sets = found
    return True


def when_loaded(loader: DataLoader[K, V], key: K, build: Callable[[V], R]) -> MaybeAwaitable[R]:
    """``build`` of ``loader``'s value for ``key``: at once when it is loaded already, else a
    coroutine that loads it first (the loader still batches every key of the tick)."""
    future = loader.cache_map.get(key) if loader.cache else None
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        return build(future.result())

    async def later() -> R:
        return build(await loader.load(key))

    return later()
