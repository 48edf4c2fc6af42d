"""Automatic compaction after small writes: merge the small fragments, never the big ones.

LanceDB's ``table.optimize()`` compacts towards ~1M rows per fragment and merges every index
into one segment, so on a large table each automatic compaction rewrote the bulk-loaded
fragment and every BTREE index (~20 MB at 200k rows, ~200 MB at 1M) and a stream of single
writes filled the disk. Through Lance's own API (``pylance``) this compaction instead

1. merges fragments below ``target_rows`` (the stream's tail) and leaves the big ones alone;
2. indexes the new rows as a delta segment and folds the deltas into one, keeping the base
   segment; the base is rewritten only once the deltas grow past a share of it, so the index
   cost of a compaction follows the rows written since the last fold, not the table size;
3. removes the files of versions older than the retention (``Connection`` asks for this at most once a
   minute per table: the listing it needs is costly on S3), so readers still on a version
   younger than that keep working while disk use stays bounded.

``mediagraph lake optimize`` (``Connection.optimize``) still runs the full ``optimize()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# fragments below this many rows are merged; bigger ones are left as they are
TARGET_ROWS_PER_FRAGMENT = 65_536
# fold the delta index segments into the base once they hold this share of its bytes: a base
# rewrite then costs about as much as the deltas written since the previous one
FOLD_DELTAS_AT = 0.25


@dataclass
class CompactionReport:
    fragments_removed: int
    fragments_added: int
    indexes_folded: list[str]
    bytes_removed: int


def compact_small(table: Any, *, retention: timedelta,
                  target_rows: int = TARGET_ROWS_PER_FRAGMENT) -> CompactionReport:
    """Compact the LanceDB ``table`` after small writes (the caller holds the write lock)."""
    report = merge_small_fragments(table, target_rows=target_rows)
    tidy = update_indexes(table, retention=retention)
    return CompactionReport(report.fragments_removed, report.fragments_added, tidy.indexes_folded, tidy.bytes_removed)


def merge_small_fragments(table: Any, *, target_rows: int = TARGET_ROWS_PER_FRAGMENT) -> CompactionReport:
    """Step 1 alone: rewrite the small fragments into bigger ones. It commits a rewrite of those fragments,
    which an update or delete of their rows committed meanwhile makes fail: hold the write lock."""
    table.checkout_latest()
    metrics = table.to_lance().optimize.compact_files(target_rows_per_fragment=target_rows)
    table.checkout_latest()
    return CompactionReport(metrics.fragments_removed, metrics.fragments_added, [], 0)


def update_indexes(table: Any, *, retention: timedelta, cleanup: bool = True) -> CompactionReport:
    """Steps 2 and 3: index the rows the indexes do not cover yet, then (with ``cleanup``) remove old
    versions' files.

    Needs no write lock: an index commit does not change rows, so LanceDB rebases it over appends, and a
    data write that an index commit beat is retried (``Connection._commit``); files of versions younger
    than ``retention`` stay, so readers on them keep working."""
    table.checkout_latest()
    dataset = table.to_lance()
    folded = _update_indexes(dataset)
    removed = 0
    if cleanup:
        stats = dataset.cleanup_old_versions(older_than=retention, error_if_tagged_old_versions=False)
        removed = int(stats.bytes_removed)
    table.checkout_latest()
    return CompactionReport(0, 0, folded, removed)


def _update_indexes(dataset: Any) -> list[str]:
    """Index the unindexed rows of every index; returns the indexes whose base was rewritten."""
    folded: list[str] = []
    for index in dataset.describe_indices():
        segments = list(index.segments)
        if not segments:
            continue
        base = max(segments, key=lambda s: s.size_bytes)
        deltas = sum(s.size_bytes for s in segments if s is not base)
        if deltas > FOLD_DELTAS_AT * base.size_bytes:
            merge = len(segments)  # everything into one segment: the base is rewritten
            folded.append(index.name)
        else:
            # the newest segments, i.e. every delta, into one with the new rows; the base is kept
            merge = len(segments) - 1
        dataset.optimize.optimize_indices(index_names=[index.name], num_indices_to_merge=merge)
    return folded
