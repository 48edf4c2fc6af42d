"""Automatic compaction after small writes: merge the small fragments, never the big ones.

LanceDB's ``table.optimize()`` compacts towards ~1M rows per fragment and merges every index
into one segment, so on a large table each automatic compaction rewrote the bulk-loaded
fragment and every BTREE index (~20 MB at 200k rows, ~200 MB at 1M) and a stream of single
writes filled the disk. Through Lance's own API (``pylance``) this compaction instead

1. merges fragments below ``target_rows`` (the stream's tail) and leaves the big ones alone, tier
   by tier: fragments are grouped by size (tiers growing by ``TIER_FACTOR``) and one compaction
   merges the biggest tier holding ``MERGE_WIDTH`` fragments with the smaller ones, so a row is rewritten
   about once per tier on its way to ``target_rows`` (5 times from a single-row write), not once per
   compaction. Merging every small fragment each time rewrote the whole tail again and again: at 1M
   rows with a 54k-row tail, 2.4 s under the write lock for 24 single-row writes, against 0.02 s
   for their tier alone (the profile of 10k single registers: 83% of the calls overlapped one);
2. indexes the new rows as a delta segment and folds the deltas into one, keeping the base
   segment (the biggest; deltas are the segments newer than it; at most ``MAX_DELTAS`` are kept apart
   before they are merged); the base is rewritten only once
   the deltas grow past a share of it, so the index cost of a compaction follows the rows written
   since the last fold, not the table size;
3. removes the files of versions older than the retention (``Connection`` asks for this at most once a
   minute per table: the listing it needs is costly on S3), so readers still on a version
   younger than that keep working while disk use stays bounded.

``mediagraph lake optimize`` (``Connection.optimize``) still runs the full ``optimize()``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# fragments below this many rows are merged; bigger ones are left as they are
TARGET_ROWS_PER_FRAGMENT = 65_536
# fragments whose row counts are within this factor of each other are one tier
TIER_FACTOR = 8
# a tier is merged once it holds this many fragments; fewer are left as they are (indexed all the same)
MERGE_WIDTH = 4
# fold the delta index segments into the base once they hold this share of its bytes: a base
# rewrite then costs about as much as the deltas written since the previous one
FOLD_DELTAS_AT = 0.25
# the new rows of a compaction become a delta segment of their own until the base has this many; then the
# deltas are merged into one. Merging them every time rewrote the one growing delta on every compaction (up
# to a quarter of the base, for each of 7 indexes), files the retention keeps: gigabytes in a burst of writes.
MAX_DELTAS = 4


@dataclass
class CompactionReport:
    fragments_removed: int
    fragments_added: int
    indexes_folded: list[str]
    bytes_removed: int


def needs_compaction(table: Any, *, min_merged: int, index_tail: bool,
                     target_rows: int = TARGET_ROWS_PER_FRAGMENT) -> bool:
    """Whether a compaction of the LanceDB ``table`` would merge at least ``min_merged`` fragments or, with
    ``index_tail``, index fragments no index covers yet (reads scan those row by row)."""
    dataset = table.to_lance()
    rows = _fragment_rows(dataset)
    if len(fragments_to_merge(rows, target_rows=target_rows)) >= min_merged:
        return True
    if not index_tail:
        return False
    for index in dataset.describe_indices():
        covered: set[int] = set()
        for segment in index.segments:
            covered.update(segment.fragment_ids)
        if set(rows) - covered:
            return True
    return False


def _fragment_rows(dataset: Any) -> dict[int, int]:
    # physical rows, deleted ones included: metadata only (counting live rows reads deletion files)
    return {f.fragment_id: f.metadata.physical_rows for f in dataset.get_fragments()}


def merge_small_fragments(table: Any, *, target_rows: int = TARGET_ROWS_PER_FRAGMENT) -> CompactionReport:
    """Step 1 alone: rewrite the small fragments into bigger ones, tier by tier. It commits a rewrite of
    those fragments: appends committed meanwhile are rebased over it, an update or delete of their rows
    makes one of the two commits conflict (the caller retries)."""
    table.checkout_latest()
    dataset = table.to_lance()
    rows = _fragment_rows(dataset)
    merged = fragments_to_merge(rows, target_rows=target_rows)
    if not merged:
        return CompactionReport(0, 0, [], 0)
    metrics = dataset.optimize.compact_files(target_rows_per_fragment=target_rows,
                                             excluded_fragment_ids=sorted(set(rows) - merged))
    table.checkout_latest()
    return CompactionReport(metrics.fragments_removed, metrics.fragments_added, [], 0)


def tier(rows: int) -> int:
    """The size tier of a fragment of ``rows`` rows: 0 below ``TIER_FACTOR`` rows, then one per factor."""
    level, bound = 0, TIER_FACTOR
    while rows >= bound:
        level, bound = level + 1, bound * TIER_FACTOR
    return level


def fragments_to_merge(rows: Mapping[int, int], *, target_rows: int = TARGET_ROWS_PER_FRAGMENT) -> set[int]:
    """The fragments (ids; ``rows`` in the dataset's order, oldest first) one compaction rewrites: from the
    first fragment of the biggest tier holding ``MERGE_WIDTH`` small ones (below ``target_rows``) and the
    smaller tiers, every small fragment after it; none when no tier is that full (a few small fragments stay
    as they are: the index update still covers them).

    The run is contiguous because Lance merges only adjacent fragments: a bigger fragment between two
    chosen ones split the run, left singletons no compaction ever merged, and kept the count of mergeable
    fragments above the threshold, so every check compacted again (1,130 compactions for 10k writes)."""
    small = {fragment: n for fragment, n in rows.items() if n < target_rows}
    counts: dict[int, int] = {}
    for n in small.values():
        counts[tier(n)] = counts.get(tier(n), 0) + 1
    full = [level for level, count in counts.items() if count >= MERGE_WIDTH]
    if not full:
        return set()
    top = max(full)
    order = list(rows)
    first = min(order.index(fragment) for fragment, n in small.items() if tier(n) <= top)
    return {fragment for fragment in order[first:] if fragment in small}


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
        # oldest first: optimize_indices merges the newest ``num_indices_to_merge`` with the new rows
        segments = sorted(index.segments, key=lambda s: s.dataset_version_at_last_update)
        if not segments:
            continue
        base = max(segments, key=lambda s: s.size_bytes)
        newer = segments[segments.index(base) + 1 :]
        if sum(s.size_bytes for s in segments if s is not base) > FOLD_DELTAS_AT * base.size_bytes:
            merge = len(segments)  # everything into one segment: the base is rewritten
            folded.append(index.name)
        else:
            # the new rows as a delta of their own, or (``MAX_DELTAS`` of them) every delta, i.e. every
            # segment newer than the base, into one with the new rows; the base is kept. (Taking ``len - 1``
            # newest rewrote the base whenever an older, smaller segment sat before it, e.g. the empty one of
            # an index made on an empty table.)
            merge = 0 if len(newer) < MAX_DELTAS else len(newer)
        dataset.optimize.optimize_indices(index_names=[index.name], num_indices_to_merge=merge)
    return folded
