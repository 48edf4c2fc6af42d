"""A compact networkx DiGraph: shared attribute dicts, tuple-sized neighbour maps, bulk build.

A million-node lineage graph spends most of its memory in networkx's per-node
neighbour dicts (~190 B for a one-entry dict). Almost every node here has one to a
few neighbours (an asset has one producer, a run one or two inputs), so small
neighbour maps are ``Neighbours``: a read-only tuple of neighbour ids that behaves as
a mapping ``{neighbour: {}}`` (48 B for one entry). Large ones stay plain dicts.
networkx's read paths (``succ``, ``pred``, ``edges``, ``adjacency``, algorithms) only
need a Mapping; writes go through ``link``/``unlink``/``add_node`` here, and a
networkx mutator called on a tuple-backed node fails loudly instead of corrupting.
"""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from typing import Any

import networkx as nx
import numpy as np

SMALL = 8  # neighbour maps up to this size are tuples; larger ones are dicts


class _NoAttrs(dict[str, Any]):
    """One shared, read-only attribute dict for every node and edge."""

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("lineage graph nodes and edges carry no attributes")

    def update(self, *args: Any, **kwargs: Any) -> None:
        # networkx calls update({}) when it adds a node or an edge: that is harmless.
        if kwargs or any(args):
            raise TypeError("lineage graph nodes and edges carry no attributes")


NO_ATTRS = _NoAttrs()


def _no_attrs() -> dict[str, Any]:
    return NO_ATTRS


class Neighbours(tuple):
    """A small read-only neighbour map: the ids are the keys, every value is ``NO_ATTRS``.

    Iteration, ``len`` and ``in`` are the tuple's own (C speed); ``set.update`` and
    ``sorted`` over it run as fast as over a dict's keys.
    """

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        if tuple.__contains__(self, key):
            return NO_ATTRS
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return NO_ATTRS if tuple.__contains__(self, key) else default

    def keys(self) -> KeysView[Any]:
        return KeysView(self)

    def items(self) -> ItemsView[Any, Any]:
        return ItemsView(self)

    def values(self) -> ValuesView[Any]:
        return ValuesView(self)

    def copy(self) -> dict[Any, Any]:
        return dict.fromkeys(self, NO_ATTRS)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return len(self) == len(other) and all(k in other for k in tuple.__iter__(self))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.copy())


Mapping.register(Neighbours)
EMPTY = Neighbours()


class CompactDiGraph(nx.DiGraph):
    """A DiGraph whose nodes and edges share one empty attribute dict (saves ~64 B each)."""

    node_attr_dict_factory = staticmethod(_no_attrs)
    edge_attr_dict_factory = staticmethod(_no_attrs)


def add_node(g: CompactDiGraph, n: str) -> None:
    if n not in g._node:
        g._node[n] = NO_ATTRS
        g._succ[n] = EMPTY
        g._pred[n] = EMPTY


def _put(adj: dict[str, Any], u: str, v: str) -> None:
    nb = adj[u]
    if type(nb) is dict:
        nb[v] = NO_ATTRS
    elif v not in nb:
        if len(nb) < SMALL:
            adj[u] = Neighbours(nb + (v,))
        else:
            d = dict.fromkeys(nb, NO_ATTRS)
            d[v] = NO_ATTRS
            adj[u] = d


def _drop(adj: dict[str, Any], u: str, v: str) -> None:
    nb = adj[u]
    if type(nb) is dict:
        nb.pop(v, None)
    elif v in nb:
        rest = tuple(x for x in tuple.__iter__(nb) if x != v)
        adj[u] = Neighbours(rest) if rest else EMPTY


def link(g: CompactDiGraph, u: str, v: str) -> None:
    """Add the edge u -> v (and both nodes)."""
    add_node(g, u)
    add_node(g, v)
    _put(g._succ, u, v)
    _put(g._pred, v, u)


def unlink(g: CompactDiGraph, u: str, v: str) -> None:
    _drop(g._succ, u, v)
    _drop(g._pred, v, u)


def _neighbour_maps(
    n: int, src: np.ndarray, dst: np.ndarray, names: np.ndarray, nodes: np.ndarray
) -> list[Any]:
    """One neighbour map per code in ``nodes``: the ``dst`` of edges from it, in edge order."""
    order = np.argsort(src, kind="stable")
    counts = np.bincount(src, minlength=n)
    ends = np.cumsum(counts)
    nbrs: list[str] = names[dst[order]].tolist()
    out: list[Any] = []
    append = out.append
    empty = EMPTY
    for c, b in zip(counts[nodes].tolist(), ends[nodes].tolist()):
        if c == 0:
            append(empty)
        elif c <= SMALL:
            append(Neighbours(nbrs[b - c : b]))
        else:
            append(dict.fromkeys(nbrs[b - c : b], NO_ATTRS))
    return out


def bulk_build(
    g: CompactDiGraph, names: np.ndarray, nodes: np.ndarray, src: np.ndarray, dst: np.ndarray
) -> None:
    """Fill an empty graph: ``names`` (object array of ids) indexed by integer codes;
    ``nodes`` the codes that are nodes, in order; ``src``/``dst`` the edges as codes.

    Filling networkx's dicts directly, with neighbour lists grouped by numpy, is what
    makes a 2M-node start take seconds instead of half a minute.
    """
    n = len(names)
    keys: list[str] = names[nodes].tolist()
    g._node.update(dict.fromkeys(keys, NO_ATTRS))
    g._succ.update(zip(keys, _neighbour_maps(n, src, dst, names, nodes)))
    g._pred.update(zip(keys, _neighbour_maps(n, dst, src, names, nodes)))
    nx._clear_cache(g)
