"""Running blocking work (lake reads and writes, lineage) off the event loop: the one way to do it.

Typed like Starlette's ``run_in_threadpool``: the result type and the arguments are checked.
The context (the request's read counter, its trace span) travels with the call.

The calls run in this module's own pool, not asyncio's default one (``cpu_count + 4`` threads, 6 on two
cores): a writer waiting for the write lock holds its thread, so with the default pool a few concurrent
writers left the readers beside them queueing for a thread. The threads mostly wait (on locks, on
LanceDB's native code, which releases the GIL), so many of them cost little.
"""
from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

MAX_THREADS = 64
_POOL = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="mediagraph-sync")


async def run_sync(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread, awaited."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_POOL, lambda: context.run(fn, *args, **kwargs))


__all__ = ["MAX_THREADS", "run_sync"]
