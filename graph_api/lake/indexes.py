"""Search indexes: full-text on dialogue and annotation labels, and one ANN index per space.

Below ``Connection.ann_index_min_rows`` rows a space has no ANN index and vector search is exact
(flat). Once a write takes a space past the threshold, an IVF_PQ index is trained (in the
background when the lake compacts in the background). Rows written after that stay
searchable: LanceDB searches unindexed rows flat, and ``Connection.optimize`` folds them into the
index, or retrains it once more rows are unindexed than indexed (the centroids no longer
describe the data). Scalar (BTREE) indexes on the filter columns come from ``schemas``.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Literal, Protocol

from lancedb.index import FTS, IvfPq, LabelList

from graph_api.lake.schemas import TABLE_PREFIX

log = logging.getLogger(__name__)

VECTOR_COLUMN = "vector"
DISTANCE: Literal["cosine"] = "cosine"
# table -> (column, FTS config); phrases need positions, labels are a word or two
TEXT_INDEXES = {
    "segments": ("text", FTS(with_position=True)),
    "annotations": ("label", FTS()),
}
# table -> list column whose array_has_any filters a LABEL_LIST index answers: Asset.cuts (the cuts
# using an asset) read ~5 ms instead of scanning every cut's clips (~50 ms at 200k cuts)
LIST_INDEXES = {
    "cuts": ("asset_ids", LabelList()),
}
# query-time knobs of the IVF_PQ index: probe at least this many partitions (more when a
# narrow prefilter leaves too few rows in them), then re-rank this many times `first`
# candidates by their full vectors
MIN_NPROBES = 24
# re-rank 50x `first` candidates by their full vectors: at 1M x 384 a factor of 10 gave recall@10 0.66,
# 50 gave 0.98 for about the same latency (the candidates' vectors are read in one pass)
REFINE_FACTOR = 50

# creating an index that another process is creating too: retries of the commit conflict
INDEX_ATTEMPTS = 5

_building: set[tuple[str, str]] = set()
_building_lock = threading.Lock()


class Tables(Protocol):
    def table(self, name: str) -> Any: ...


def ensure_index(table: Any, column: str, config: Any, index_type: str | None = None) -> None:
    """Create ``table``'s index on ``column`` unless it has one (of ``index_type``, when given).

    Processes opening a new lake together (``serve --workers N``) race to create the same
    indexes: the loser's commit conflicts, and then finds the winner's index."""
    for attempt in range(INDEX_ATTEMPTS):
        if any(ix.columns == [column] and (index_type is None or ix.index_type == index_type)
               for ix in table.list_indices()):
            return
        try:
            table.create_index(column, config=config)
            return
        except Exception as exc:  # noqa: BLE001 - only a commit conflict is retried
            if attempt + 1 == INDEX_ATTEMPTS or "conflict" not in str(exc).lower():
                raise
            table.checkout_latest()


def ensure_text_indexes(tables: Tables) -> None:
    """The full-text indexes, and the label-list ones (the other indexes that are not BTREE)."""
    for table_name, (column, config) in TEXT_INDEXES.items():
        ensure_index(tables.table(table_name), column, config, "FTS")
    for table_name, (column, label_list) in LIST_INDEXES.items():
        ensure_index(tables.table(table_name), column, label_list, "LabelList")


def is_space_table(name: str) -> bool:
    return name.startswith(TABLE_PREFIX)


def vector_index(table: Any) -> Any | None:
    for ix in table.list_indices():
        if ix.columns == [VECTOR_COLUMN]:
            return ix
    return None


def sub_vectors(dimension: int) -> int:
    # 8 dimensions per PQ code; the refine step re-ranks candidates by their full vectors
    for per in (8, 4, 2, 16, 1):
        if dimension % per == 0 and dimension // per >= 1:
            return dimension // per
    return 1


def partitions(rows: int) -> int:
    # sqrt(rows) partitions, capped: k-means training time grows with partitions x sample (2 cores here)
    return max(1, min(256, int(math.sqrt(rows))))


def build_vector_index(table: Any, *, replace: bool = True) -> float:
    """Train the space's IVF_PQ index on its current rows; returns seconds spent."""
    started = time.perf_counter()
    rows = table.count_rows()
    dimension = table.schema.field(VECTOR_COLUMN).type.list_size
    table.create_index(VECTOR_COLUMN, config=IvfPq(distance_type=DISTANCE, num_partitions=partitions(rows),
                                                   num_sub_vectors=sub_vectors(dimension)), replace=replace)
    return time.perf_counter() - started


def after_write(table: Any, table_name: str, *, min_rows: int, key: tuple[str, str], background: bool) -> None:
    """Train a space's ANN index once it passes ``min_rows`` (called by the connection after each
    write to a space's table); ``key`` names the table across connections, so one build runs."""
    if not is_space_table(table_name):
        return
    if vector_index(table) is not None or table.count_rows() < min_rows:
        return
    with _building_lock:
        if key in _building:
            return
        _building.add(key)
    if background:
        threading.Thread(target=_build, args=(table, key), daemon=True, name=f"ann-{table_name}").start()
    else:
        _build(table, key)


def _build(table: Any, key: tuple[str, str]) -> None:
    try:
        seconds = build_vector_index(table, replace=False)
        log.info("built the ANN index of %s in %.1f s", key[1], seconds)
    except Exception:  # noqa: BLE001 - a failed build leaves search exact, never fails a write
        log.exception("building the ANN index of %s failed", key[1])
    finally:
        with _building_lock:
            _building.discard(key)


def refresh(table_name: str, table: Any, *, min_rows: int) -> str | None:
    """Before ``table.optimize()``: build a missing ANN index, or retrain a stale one.

    What remains (new rows under an index that still fits) ``optimize`` appends to the index.
    """
    if not is_space_table(table_name):
        return None
    index = vector_index(table)
    rows = table.count_rows()
    if index is None:
        if rows < min_rows:
            return None
        build_vector_index(table)
        return "built"
    stats = table.index_stats(index.name)
    if stats is not None and stats.num_unindexed_rows > stats.num_indexed_rows:
        build_vector_index(table)
        return "rebuilt"
    return None
