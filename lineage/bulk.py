"""Building the parts of a LineageGraph in bulk from the store's Arrow tables.

Every id becomes one integer code (one dictionary encoding over all id columns) and
one shared str object; edges are grouped with numpy; networkx's dicts, the columnar
run and asset tables, the node index and the directly stale sets are then filled in
a few passes, with no per-row Python beyond creating each node's neighbour map.
``build`` returns the parts; ``LineageGraph.from_parts`` holds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lineage.adjacency import CompactDiGraph, bulk_build
from lineage.columns import AssetTable, RunTable, assets_table
from lineage.index import NodeIndex
from lineage.model import EMBEDDING_PREFIX, ID_PREFIXES, AssetInfo, Job

# Outputs a later run of the same job over the same inputs replaces (assets are replaced
# version by version, through their producer instead).
REPLACEABLE_PREFIXES = (ID_PREFIXES["segment"], ID_PREFIXES["annotation"], EMBEDDING_PREFIX)


@dataclass
class Parts:
    """What ``build`` made: everything a bulk-loaded LineageGraph holds besides its jobs."""

    digraph: CompactDiGraph
    index: NodeIndex
    runs: RunTable
    assets: AssetTable
    run_rows: dict[str, int]
    asset_rows: dict[str, int]
    by_key: dict[str, list[str]]
    by_external: dict[str, str]
    stale_job: set[str]
    stale_input: set[str]
    multi_input: set[str]
    replaced: set[str]
    run_node: np.ndarray  # loaded row -> node code


def job_mismatch(rt: RunTable, jobs: Mapping[tuple[str, str], Job], rows: np.ndarray) -> np.ndarray:
    """For loaded rows: is the row's job known and at another version than the row ran?"""
    current = np.full(len(rt.job_keys), -3, dtype=np.int64)  # -3: unknown job
    for j, key in enumerate(rt.job_keys):
        job = jobs.get(key)
        if job is not None:
            current[j] = -1 if job.version is None else rt.jv_index.get(job.version, -2)
    cur = current[rt.job_code[rows]]
    return (cur != -3) & (cur != rt.jv_code[rows])


def build(
    jobs: Mapping[tuple[str, str], Job],
    runs: pa.Table,
    inputs: pa.Table,
    outputs: pa.Table,
    assets: pa.Table | Iterable[AssetInfo],
    unseen: list[np.ndarray] | None,
) -> Parts:
    """The parts of the graph of these tables; see ``LineageGraph.from_tables``."""
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
    replaceable = np.zeros(len(names), dtype=bool)
    for prefix in REPLACEABLE_PREFIXES:
        replaceable |= np.asarray(pc.starts_with(enc_dictionary, prefix).to_numpy(zero_copy_only=False))
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

    run_ids: list[str] = names[r_code].tolist()
    rt = RunTable(
        run_ids,
        runs,
        _offsets(in_pos, nr),
        names[in_asset].tolist(),
        in_versions,
        _offsets(out_pos, nr),
        names[out_code].tolist(),
    )
    replaced = _replaced_rows(rt, in_pos, in_asset)

    # A newer version of an asset derived by another run: that run produces it now.
    out_run = r_code[out_pos]
    out_arow = arow[out_code]
    pb = np.where(out_arow >= 0, a_pb[np.maximum(out_arow, 0)], -1)
    keep = (out_arow < 0) | (pb < 0) | (pb == out_run)
    # Segments, annotations and embeddings of a replaced run were made again by the run that replaced it.
    keep &= ~(replaced[out_pos] & replaceable[out_code])
    # A replaced run that produces nothing any more has nothing to recompute: it is never stale.
    retired = replaced & (np.bincount(out_pos[keep], minlength=nr) == 0)
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
    g = CompactDiGraph()
    bulk_build(g, node_names, np.arange(len(nodes)), src, dst)
    by_id = np.asarray(pc.sort_indices(enc_dictionary).to_numpy(), dtype=np.int64)
    by_id = recode[by_id]
    index = NodeIndex(node_names, by_id[by_id >= 0], src, dst)
    del enc_dictionary

    asset_ids: list[str] = names[a_code].tolist()
    produced_by: list[str | None] = cast(np.ndarray, np.where(a_pb >= 0, names[np.maximum(a_pb, 0)], None)).tolist()
    asset_table = AssetTable(asset_ids, at, produced_by)
    by_key: dict[str, list[str]] = {}
    for i in sorted(rt.keys):
        by_key.setdefault(rt.keys[i], []).append(run_ids[i])
    by_external = {rt.externals[i]: run_ids[i] for i in sorted(rt.externals)}

    ids = np.array(run_ids, dtype=object)
    stale_job = job_mismatch(rt, jobs, np.arange(nr)) & ~retired
    versions = np.asarray(asset_table.version, dtype=np.int64)
    in_arow = arow[in_asset]
    newer = (in_arow >= 0) & (versions[np.maximum(in_arow, 0)] > in_versions)
    stale_input = np.zeros(nr, dtype=bool)
    stale_input[in_pos[newer]] = True
    stale_input &= ~retired
    multi = np.diff(rt.in_offsets) >= 2
    run_node = recode[r_code]
    index.is_asset[recode[a_code]] = True
    index.multi_input[run_node[multi]] = True
    index.stale_job[run_node[stale_job]] = True
    index.stale_input[run_node[stale_input]] = True
    return Parts(
        digraph=g, index=index, runs=rt, assets=asset_table,
        run_rows=dict(zip(run_ids, range(nr))), asset_rows=dict(zip(asset_ids, range(na))),
        by_key=by_key, by_external=by_external,
        stale_job=set(ids[stale_job].tolist()), stale_input=set(ids[stale_input].tolist()),
        multi_input=set(ids[multi].tolist()), replaced=set(ids[replaced].tolist()), run_node=run_node,
    )


def _replaced_rows(rt: RunTable, in_pos: np.ndarray, in_asset: np.ndarray) -> np.ndarray:
    """Rows replaced by a later COMPLETED run of the same job over the same input assets
    (any versions); runs without inputs are never replaced.

    A run's input set is keyed by (count, sum and xor of a 64-bit mix of each input's
    code): order-free, and a collision of all three is not a practical concern.
    """
    nr = rt.n
    out = np.zeros(nr, dtype=bool)
    if nr < 2 or "COMPLETED" not in rt.status_vocab:
        return out
    h = _mix(in_asset.astype(np.uint64))
    total = np.zeros(nr, dtype=np.uint64)
    np.add.at(total, in_pos, h)
    xor = np.zeros(nr, dtype=np.uint64)
    np.bitwise_xor.at(xor, in_pos, h)
    count = np.bincount(in_pos, minlength=nr)
    job = rt.job_code.astype(np.int64)
    order = np.lexsort((rt.recorded, xor, total, count, job))
    keys = (job[order], count[order], total[order], xor[order])
    start = np.ones(nr, dtype=bool)
    start[1:] = np.any([k[1:] != k[:-1] for k in keys], axis=0)
    group = np.cumsum(start) - 1
    completed = rt.status_code[order] == rt.status_vocab.index("COMPLETED")
    recorded = rt.recorded[order]
    latest = np.maximum.reduceat(np.where(completed, recorded, np.iinfo(np.int64).min), np.flatnonzero(start))
    out[order] = (recorded < latest[group]) & (keys[1] > 0)
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64's finaliser: spreads consecutive codes over all 64 bits
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


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
