"""Columnar side tables for runs and asset infos loaded in bulk; records made on demand.

A million ``Run`` objects with their tuples, ``InputRef``s and datetimes cost ~450 MB
and seconds to create. Loaded runs and assets instead live here as numpy arrays and
lists of ids shared with the graph's nodes; ``run(i)`` / ``asset(i)`` build the frozen
record when a caller asks for one. Rows are never changed: a later state of a run or
an asset is held as an object by the graph, which then ignores the row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lineage.model import AssetInfo, InputRef, Run

NULL_TS = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(us: int) -> datetime | None:
    return None if us == NULL_TS else _EPOCH + timedelta(microseconds=us)


def micros(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A timestamp column as int64 microseconds since the epoch, NULL_TS for null."""
    ints = pc.cast(column, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(pc.fill_null(ints, NULL_TS).to_numpy(zero_copy_only=False), dtype=np.int64)


def encode(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Dictionary-encode: (int32 codes, -1 for null; the distinct values)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    enc = pc.dictionary_encode(column)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, enc.dictionary.to_pylist()


class RunTable:
    """Runs as rows: ids, job and status codes, JSON parameters, times, CSR inputs/outputs."""

    def __init__(
        self,
        ids: list[str],
        runs: pa.Table,
        in_offsets: np.ndarray,
        in_assets: list[str],
        in_versions: np.ndarray,
        out_offsets: np.ndarray,
        out_ids: list[str],
    ) -> None:
        self.ids = ids
        self.n = len(ids)
        ns_codes, ns_vocab = encode(runs["namespace"])
        name_codes, name_vocab = encode(runs["job_name"])
        # One code per (namespace, name): the job a run belongs to.
        pair = ns_codes.astype(np.int64) * max(len(name_vocab), 1) + name_codes
        uniq, self.job_code = np.unique(pair, return_inverse=True)
        self.job_code = self.job_code.astype(np.int32)
        nn = max(len(name_vocab), 1)
        self.job_keys: list[tuple[str, str]] = [
            (ns_vocab[int(p) // nn], name_vocab[int(p) % nn]) for p in uniq
        ]
        self.job_index = {k: i for i, k in enumerate(self.job_keys)}
        self.jv_code, self.jv_vocab = encode(runs["job_version"])
        self.jv_index = {v: i for i, v in enumerate(self.jv_vocab)}
        self.status_code, self.status_vocab = encode(runs["status"])
        self.param_code, self.param_vocab = encode(runs["parameters"])
        self._params: dict[int, dict[str, Any]] = {}
        self.started = micros(runs["started_at"])
        self.ended = micros(runs["ended_at"])
        self.recorded = micros(runs["recorded_at"])
        self.keys: dict[int, str] = _sparse(runs["idempotency_key"])
        self.externals: dict[int, str] = _sparse(runs["external_run_id"])
        self.in_offsets = in_offsets
        self.in_assets = in_assets
        self.in_versions = in_versions
        self.out_offsets = out_offsets
        self.out_ids = out_ids

    def job_key(self, i: int) -> tuple[str, str]:
        return self.job_keys[self.job_code[i]]

    def job_version(self, i: int) -> str | None:
        c = self.jv_code[i]
        return None if c < 0 else self.jv_vocab[c]

    def parameters(self, i: int) -> dict[str, Any] | None:
        c = int(self.param_code[i])
        if c < 0:
            return None
        # Identical parameter sets are shared (jobs reuse presets); treat them as read-only.
        p = self._params.get(c)
        if p is None:
            p = self._params[c] = json.loads(self.param_vocab[c])
        return p

    def inputs(self, i: int) -> list[tuple[str, int]]:
        a, b = int(self.in_offsets[i]), int(self.in_offsets[i + 1])
        return list(zip(self.in_assets[a:b], self.in_versions[a:b].tolist()))

    def outputs(self, i: int) -> tuple[str, ...]:
        return tuple(self.out_ids[int(self.out_offsets[i]) : int(self.out_offsets[i + 1])])

    def run(self, i: int) -> Run:
        ns, name = self.job_key(i)
        return Run(
            self.ids[i],
            ns,
            name,
            self.job_version(i),
            self.status_vocab[self.status_code[i]],
            self.parameters(i),
            _ts(int(self.started[i])),
            _ts(int(self.ended[i])),
            _ts(int(self.recorded[i])),  # type: ignore[arg-type]
            tuple(InputRef(a, v) for a, v in self.inputs(i)),
            self.outputs(i),
            self.keys.get(i),
            self.externals.get(i),
        )


def _sparse(column: pa.ChunkedArray) -> dict[int, str]:
    valid = pc.is_valid(column)
    rows = pc.indices_nonzero(valid).to_pylist()
    if not rows:
        return {}
    return dict(zip(rows, column.filter(valid).to_pylist()))


class AssetTable:
    """Asset infos as rows; ``produced_by`` holds the graph's own run id strings."""

    def __init__(self, ids: list[str], assets: pa.Table, produced_by: list[str | None]) -> None:
        self.ids = ids
        self.version: list[int] = assets["version"].to_pylist()
        self.title_code, self.title_vocab = encode(assets["title_id"])
        self.role_code, self.role_vocab = encode(assets["role"])
        self.media_code, self.media_vocab = encode(assets["media_type"])
        self.produced_by = produced_by
        self.created = micros(assets["created_at"])

    def asset(self, i: int) -> AssetInfo:
        return AssetInfo(
            self.ids[i],
            self.version[i],
            self.title_vocab[self.title_code[i]],
            self.role_vocab[self.role_code[i]],
            self.media_vocab[self.media_code[i]],
            self.produced_by[i],
            _ts(int(self.created[i])),  # type: ignore[arg-type]
        )


ASSET_COLUMNS = ("id", "version", "title_id", "role", "media_type", "produced_by", "created_at")
_ASSETS_SCHEMA = pa.schema(
    [("id", pa.string()), ("version", pa.int64()), ("title_id", pa.string()), ("role", pa.string()),
     ("media_type", pa.string()), ("produced_by", pa.string()), ("created_at", pa.timestamp("us", tz="UTC"))]
)


def assets_table(infos: Any) -> pa.Table:
    """Asset infos as an Arrow table: passed through when already one, else converted."""
    if isinstance(infos, pa.Table):
        return infos.select(list(ASSET_COLUMNS))
    infos = list(infos)
    return pa.table(
        [[a.id for a in infos], [a.version for a in infos], [a.title_id for a in infos],
         [a.role for a in infos], [a.media_type for a in infos], [a.produced_by for a in infos],
         [a.created_at for a in infos]],
        schema=_ASSETS_SCHEMA,
    )
