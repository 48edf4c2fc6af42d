"""The Lance dataset behind each of a connection's tables, at the version the LanceDB table reads.

A filtered scan through LanceDB's query builder costs 5-10 ms of fixed overhead on this machine
(a hop to its event-loop thread, planning through its query layer) where the same scan through
pylance costs 2-3 ms, and the hot reads (an asset by id, a title's assets, their annotations)
are one small indexed scan each. ``LakeView.scan`` reads through here.

The dataset follows the LanceDB table's version (its latest, or the one a caller checked it out
at, as an export pins its tables), and moves with ``checkout_version``, which keeps the dataset's
index cache: a write does not make the next read load the B-tree pages again.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

import lance
import pyarrow as pa

from graph_api.lake.connection import Connection

# per connection (weakly: a lake closed and dropped takes its datasets with it): table name ->
# (the LanceDB table the dataset was opened from, the dataset)
_OPEN: weakref.WeakKeyDictionary[Connection, dict[str, tuple[Any, lance.LanceDataset]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def dataset_of(connection: Connection, name: str) -> lance.LanceDataset:
    """``connection``'s table ``name`` as a Lance dataset, at the version its LanceDB table reads."""
    table = connection.table(name)
    version = int(table.version)  # latest (read consistency 0), or the version a caller pinned
    with _LOCK:
        opened = _OPEN.setdefault(connection, {})
        entry = opened.get(name)
    if entry is not None and entry[0] is table:
        dataset = entry[1]
        if dataset.version == version:
            return dataset
        dataset = dataset.checkout_version(version)
    else:  # first read, or the table was dropped and opened again
        dataset = table.to_lance()
        if dataset.version != version:
            dataset = dataset.checkout_version(version)
    with _LOCK:
        opened[name] = (table, dataset)
    return dataset


def scan(connection: Connection, name: str, where: str | None, columns: list[str] | None, limit: int | None,
         *, keyed: bool = False) -> pa.Table:
    """The rows of table ``name`` matching ``where`` (a LanceDB/Lance SQL filter), as Arrow.

    ``keyed``: ``where`` picks its rows by an indexed key (ids, a title's assets), so the index leaves few
    candidates: read them in one pass. Lance's late materialization (read the filter's columns, then take
    the rest of the matching rows) pays off when a filter drops most of a big scan; after an index lookup it
    is a second pass: at 1M assets a lookup by id costs 5.3 instead of 7.7 ms of CPU, a title's current
    assets 3.3 instead of 5.7 ms."""
    dataset = dataset_of(connection, name)
    result: pa.Table = dataset.to_table(columns=columns, filter=where or None, limit=limit,
                                        late_materialization=False if keyed else None)
    return result
