"""An integer index beside the networkx graph, for walks that touch thousands of nodes.

On a two-million-node graph a Python walk pays a cache miss or three per node (dict
probe, neighbour map, string hash): ~1 us a node, 25 ms for a 25k-node subtree. This
index numbers the nodes of a bulk-loaded graph and holds their edges as CSR arrays,
their order by id as a rank, and per-node flags (an asset, a directly stale run, a run
with several inputs), so a walk is a few numpy operations per level.

The networkx graph stays the truth. A node whose edges changed after the build is
*dirty* and is expanded from the graph's own dicts; a node added after the build gets
a code past the base ones and is always expanded that way, and its flags are read
from the graph's sets instead of the arrays.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def _csr(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(src, kind="stable")
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=off[1:])
    return off, dst[order].astype(np.int32)


class NodeIndex:
    def __init__(
        self, names: np.ndarray, order: np.ndarray, src: np.ndarray, dst: np.ndarray
    ) -> None:
        """``names``: node ids by code; ``order``: the codes sorted by id; edges as codes."""
        self.n = n = len(names)
        self.names = names
        self.sorted_names: list[str] = names[order].tolist()
        self.by_rank = order.astype(np.int32)
        self.rank = np.empty(n, dtype=np.int32)
        self.rank[order] = np.arange(n, dtype=np.int32)
        self.succ_off, self.succ_dst = _csr(n, src, dst)
        self.pred_off, self.pred_src = _csr(n, dst, src)
        self.dirty = np.zeros(n, dtype=bool)
        self.extra: list[str] = []
        self.extra_code: dict[str, int] = {}
        self.is_asset = np.zeros(n, dtype=bool)
        self.stale_job = np.zeros(n, dtype=bool)
        self.stale_input = np.zeros(n, dtype=bool)
        self.multi_input = np.zeros(n, dtype=bool)

    # -- ids and codes -------------------------------------------------------

    def code(self, name: str) -> int | None:
        i = bisect_left(self.sorted_names, name)
        if i < self.n and self.sorted_names[i] == name:
            return int(self.by_rank[i])
        return self.extra_code.get(name)

    def touch(self, name: str) -> int:
        """Note that ``name``'s edges changed (adding it when new); returns its code."""
        c = self.code(name)
        if c is None:
            c = self.extra_code[name] = self.n + len(self.extra)
            self.extra.append(name)
        elif c < self.n:
            self.dirty[c] = True
        return c

    def flag(self, mask: np.ndarray, name: str, on: bool) -> None:
        c = self.code(name)
        if c is not None and c < self.n:
            mask[c] = on

    def ids(self, codes: np.ndarray) -> list[str]:
        base = codes < self.n
        if base.all():
            return self.names[codes].tolist()
        return [self.names[c] if c < self.n else self.extra[c - self.n] for c in codes.tolist()]

    def sort(self, codes: np.ndarray) -> np.ndarray:
        """``codes`` ordered by id."""
        if codes.size and (codes >= self.n).any():
            names = self.ids(codes)
            return codes[np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)]
        return codes[np.argsort(self.rank[codes], kind="stable")]

    # -- walks ---------------------------------------------------------------

    def expand(
        self, codes: np.ndarray, upstream: bool, adj: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every edge out of ``codes`` (into them when ``upstream``): (from, to) codes."""
        off, nbr = (self.pred_off, self.pred_src) if upstream else (self.succ_off, self.succ_dst)
        n = self.n
        slow_mask = codes >= n
        slow_mask[~slow_mask] = self.dirty[codes[~slow_mask]]
        fast = codes[~slow_mask] if slow_mask.any() else codes
        starts = off[fast]
        lens = off[fast + 1] - starts
        total = int(lens.sum())
        if total:
            # positions starts[i] .. starts[i]+lens[i]-1, for every i, without a loop
            shift = np.repeat(starts - np.cumsum(lens) + lens, lens)
            to = nbr[shift + np.arange(total)].astype(np.int64)
            frm = np.repeat(fast, lens)
        else:
            to = frm = np.zeros(0, dtype=np.int64)
        if slow_mask.any():
            more_from: list[int] = []
            more_to: list[int] = []
            for c in codes[slow_mask].tolist():
                for v in adj[self.names[c] if c < n else self.extra[c - n]]:
                    more_from.append(c)
                    more_to.append(self.touch(v) if self.code(v) is None else self.code(v))  # type: ignore[arg-type]
            frm = np.concatenate([frm, np.array(more_from, dtype=np.int64)])
            to = np.concatenate([to, np.array(more_to, dtype=np.int64)])
        return frm, to

    def size(self) -> int:
        return self.n + len(self.extra)

    def below(self, start: np.ndarray, adj: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``start`` and every code downstream of it, unsorted, and the same as a mask."""
        seen = np.zeros(self.size(), dtype=bool)
        seen[start] = True
        frontier = start
        while frontier.size:
            _, to = self.expand(frontier, False, adj)
            frontier = np.unique(to[~seen[to]])
            seen[frontier] = True
        return np.flatnonzero(seen), seen

    def mask(self, base: np.ndarray, codes: np.ndarray, names: Callable[[str], bool]) -> np.ndarray:
        """Per code: ``base`` for base codes, ``names(id)`` for codes added later."""
        out = np.zeros(codes.size, dtype=bool)
        inside = codes < self.n
        out[inside] = base[codes[inside]]
        if not inside.all():
            out[~inside] = [names(self.extra[c - self.n]) for c in codes[~inside].tolist()]
        return out

