"""Running blocking work (lake reads and writes, lineage) off the event loop: the one way to do it.

Typed like Starlette's ``run_in_threadpool``: the result type and the arguments are checked.
The context (the request's read counter, its trace span) travels with the call.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def run_sync(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread, awaited."""
    return await asyncio.to_thread(fn, *args, **kwargs)


__all__ = ["run_sync"]
