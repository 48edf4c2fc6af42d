"""Building a LineageGraph in bulk from the store's Arrow tables.

Every id becomes one integer code (one dictionary encoding over all id columns) and
one shared str object; edges are grouped with numpy; networkx's dicts, the columnar
run and asset tables, the node index and the directly stale sets are then filled in
a few passes, with no per-row Python beyond creating each node's neighbour map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lineage.adjacency import bulk_build
from lineage.columns import AssetTable, RunTable, assets_table
from lineage.index import NodeIndex
from lineage.model import AssetInfo

if TYPE_CHECKING:
    from lineage.graph import LineageGraph


def fill(
    graph: LineageGraph,
    runs: pa.Table,
    inputs: pa.Table,
    outputs: pa.Table,
    assets: pa.Table | Iterable[AssetInfo],
    unseen: list[np.ndarray] | None,
) -> None:
    """Fill an empty graph (jobs already set); see ``LineageGraph.from_tables``."""
    at = assets_table(assets)
    parts = [at["id"], runs["id"], inputs["run_id"], inputs["asset_id"],
             outputs["run_id"], outputs["output_id"], at["produced_by"]]
    arrays = [p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in parts]
    arrays = [a if a.type == pa.string() else a.cast(pa.string()) for a in arrays]
    # One integer code per distinct id: every id becomes one shared str object.
    enc = pc.dictionary_encode(pa.concat_arrays(arrays))
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    enc_dictionary = enc.dictionary
    names = np.array(enc_dictionary.to_pylist(), dtype=object)
    del enc
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    a_code, r_code, i_run, i_asset, o_run, o_out, a_pb = (
        codes[bounds[k] : bounds[k + 1]] for k in range(len(arrays))
    )
    n, nr, na = len(names), len(r_code), len(a_code)
    run_pos = np.full(n, -1, dtype=np.int64)
    run_pos[r_code] = np.arange(nr)
    in_pos, in_rows = _edge_rows(run_pos[i_run], _col(inputs, "ordinal"))
    out_pos, out_rows = _edge_rows(run_pos[o_run], _col(outputs, "ordinal"))
    if unseen is not None:
        unseen[:] = [np.flatnonzero(run_pos[i_run] < 0), np.flatnonzero(run_pos[o_run] < 0)]
    in_asset = i_asset[in_rows]
    in_versions = _col(inputs, "version")[in_rows]
    out_code = o_out[out_rows]
    arow = np.full(n, -1, dtype=np.int64)
    arow[a_code] = np.arange(na)

    # A newer version of an asset derived by another run: that run produces it now.
    out_run = r_code[out_pos]
    out_arow = arow[out_code]
    pb = np.where(out_arow >= 0, a_pb[np.maximum(out_arow, 0)], -1)
    keep = (out_arow < 0) | (pb < 0) | (pb == out_run)
    src = np.concatenate([in_asset, out_run[keep]])
    dst = np.concatenate([r_code[in_pos], out_code[keep]])
    seq = np.concatenate([a_code, r_code, in_asset, out_code])
    first = np.unique(seq, return_index=True)[1]
    nodes = seq[np.sort(first)]
    # renumber: node codes 0..len(nodes)-1, in node order
    recode = np.full(n, -1, dtype=np.int64)
    recode[nodes] = np.arange(len(nodes))
    src, dst = recode[src], recode[dst]
    node_names = names[nodes]
    bulk_build(graph._g, node_names, np.arange(len(nodes)), src, dst)
    by_id = np.asarray(pc.sort_indices(enc_dictionary).to_numpy(), dtype=np.int64)
    by_id = recode[by_id]
    graph._index = index = NodeIndex(node_names, by_id[by_id >= 0], src, dst)
    del enc_dictionary

    run_ids: list[str] = names[r_code].tolist()
    graph._rt = rt = RunTable(
        run_ids,
        runs,
        _offsets(in_pos, nr),
        names[in_asset].tolist(),
        in_versions,
        _offsets(out_pos, nr),
        names[out_code].tolist(),
    )
    graph._superseded = np.zeros(nr, dtype=bool)
    graph._runs = dict(zip(run_ids, range(nr)))
    asset_ids: list[str] = names[a_code].tolist()
    produced_by = np.where(a_pb >= 0, names[np.maximum(a_pb, 0)], None).tolist()
    graph._at = AssetTable(asset_ids, at, produced_by)
    graph._assets = dict(zip(asset_ids, range(na)))
    for i in sorted(rt.keys):
        graph._by_key.setdefault(rt.keys[i], []).append(run_ids[i])
    for i in sorted(rt.externals):
        graph._by_external[rt.externals[i]] = run_ids[i]

    ids = np.array(run_ids, dtype=object)
    graph._stale_job = set(ids[graph._job_mismatch(np.arange(nr))].tolist())
    versions = np.asarray(graph._at.version, dtype=np.int64)
    in_arow = arow[in_asset]
    newer = (in_arow >= 0) & (versions[np.maximum(in_arow, 0)] > in_versions)
    graph._stale_input = set(ids[np.unique(in_pos[newer])].tolist())
    multi = np.diff(rt.in_offsets) >= 2
    graph._multi_input = set(ids[multi].tolist())
    graph._run_node = run_node = recode[r_code]
    index.is_asset[recode[a_code]] = True
    index.multi_input[run_node[multi]] = True
    index.stale_job[run_node[graph._job_mismatch(np.arange(nr))]] = True
    index.stale_input[run_node[np.unique(in_pos[newer])]] = True


def _col(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table[name].to_numpy(), dtype=np.int64)


def _edge_rows(pos: np.ndarray, ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge rows of visible runs, ordered by (run, ordinal), one row per ordinal:
    (run position per kept row, row indices)."""
    order = np.lexsort((ordinals, pos))
    order = order[pos[order] >= 0]
    p, o = pos[order], ordinals[order]
    # A retried write may repeat an ordinal: keep one row per ordinal.
    first = np.ones(len(order), dtype=bool)
    first[1:] = (p[1:] != p[:-1]) | (o[1:] != o[:-1])
    return p[first], order[first]


def _offsets(pos: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pos, minlength=n), out=out[1:])
    return out
