"""Automatic compaction after small writes merges the small fragments and leaves the bulk data alone."""
from __future__ import annotations

import threading

from graph_api.lake import Lake, compaction
from graph_api.lake.connection import COMPACTION_CHECK_EVERY
from tests.conftest import asset_input, checksum, make_title


def _fragments(lake: Lake) -> dict[int, tuple[int, list[str]]]:
    dataset = lake.table("assets").to_lance()
    return {f.fragment_id: (f.count_rows(), [d.path for d in f.data_files()]) for f in dataset.get_fragments()}


def test_small_writes_are_compacted_without_rewriting_the_bulk_load(lake_dir: str) -> None:
    lake = Lake(lake_dir, background_compaction=False, compact_small_fragments=10)
    title = make_title(lake)
    bulk = lake.assets.register([asset_input(title["id"], external_id=f"bulk-{n}") for n in range(2_000)])
    lake.optimize()
    (big_id, big), = _fragments(lake).items()

    for n in range(40):
        if n % 2:  # a re-delivery with new content: version 2 of a bulk-loaded asset
            lake.assets.register([asset_input(title["id"], external_id=f"bulk-{n}", checksum=checksum(f"new {n}"))])
        else:
            lake.assets.register([asset_input(title["id"], external_id=f"single-{n}")])

    assert lake.counters.compactions >= 1
    after = _fragments(lake)
    assert after[big_id][1] == big[1]  # the same data files: the bulk fragment was not rewritten
    assert len(after) < 20, after
    current = lake.assets.list(title_ids=[title["id"]])
    assert current.num_rows == 2_020
    assert lake.assets.get(bulk[1]["id"])["version"] == 2
    assert lake.assets.get_version(bulk[1]["id"], 1)["is_current"] is False
    assert lake.assets.get(bulk[0]["id"])["version"] == 1


def test_a_compaction_merges_the_biggest_full_tier_and_the_smaller_ones_only() -> None:
    target = compaction.TARGET_ROWS_PER_FRAGMENT
    width = compaction.MERGE_WIDTH
    assert [compaction.tier(n) for n in (1, 7, 8, 63, 64, 511, 512)] == [0, 0, 1, 1, 2, 2, 3]
    big = {1: 900_000, 2: target}  # at or above the target: never rewritten
    mid = {10 + k: 20_000 for k in range(width - 1)}  # one short of a full tier
    tiny = {100 + k: 1 for k in range(width)}
    assert compaction.fragments_to_merge({**big, **mid, **tiny}) == set(tiny)
    assert compaction.fragments_to_merge({**big, **mid}) == set()
    assert compaction.fragments_to_merge({**big, **tiny, 200: 1}) == {*tiny, 200}
    full_mid = {**mid, 19: 20_000}
    assert compaction.fragments_to_merge({**big, **full_mid, 300: 3}) == {*full_mid, 300}


def test_the_tail_of_single_writes_is_merged_without_rewriting_the_bigger_small_fragments(lake_dir: str) -> None:
    lake = Lake(lake_dir, background_compaction=False, compact_small_fragments=compaction.MERGE_WIDTH)
    title = make_title(lake)
    lake.assets.register([asset_input(title["id"], external_id=f"batch-{n}") for n in range(500)])
    (batch_id, batch), = _fragments(lake).items()
    singles = 3 * COMPACTION_CHECK_EVERY  # three compaction checks
    for n in range(singles):
        lake.assets.register([asset_input(title["id"], external_id=f"single-{n}")])
    after = _fragments(lake)
    assert lake.counters.compactions >= 2
    assert after[batch_id][1] == batch[1]  # the 500-row fragment is a tier of its own: not rewritten
    assert len(after) <= 1 + 2 * compaction.MERGE_WIDTH, after
    assert lake.assets.list(title_ids=[title["id"]]).num_rows == 500 + singles


def test_the_index_update_adds_a_delta_and_keeps_the_base_segment(lake_dir: str) -> None:
    lake = Lake(lake_dir, background_compaction=False, compact_small_fragments=1_000)
    title = make_title(lake)
    retention = lake.connection.version_retention
    lake.assets.register([asset_input(title["id"], external_id=f"bulk-{n}") for n in range(2_000)])
    compaction.update_indexes(lake.table("assets"), retention=retention, cleanup=False)

    def segments() -> list[tuple[str, int]]:
        index = next(ix for ix in lake.table("assets").to_lance().describe_indices() if ix.name == "id_idx")
        return sorted((s.uuid, s.size_bytes) for s in index.segments)

    # the index was made on the empty table: its first, empty segment is older than the base
    assert len(segments()) == 2
    base = max(segments(), key=lambda s: s[1])
    for round_ in range(2):
        lake.assets.register([asset_input(title["id"], external_id=f"more-{round_}")])
        compaction.update_indexes(lake.table("assets"), retention=retention, cleanup=False)
        assert base in segments()  # the base segment was kept, not rewritten with the new rows
    after = segments()
    assert len(after) == len([s for s in after if s[1] < base[1]]) + 1
    found = lake.assets.by_external_id(["more-0", "more-1"])
    assert sorted(found) == ["more-0", "more-1"]


BESIDE = 25  # writes of each kind beside the merges


def test_fragment_merges_beside_new_deliveries_and_redeliveries_lose_nothing(lake_dir: str) -> None:
    """The merge runs without the write lock: appends are rebased over it, and an update of a row being
    merged makes one side's commit conflict and try again; no writer sees an error, nothing is lost."""
    lake = Lake(lake_dir, background_compaction=False, compact_small_fragments=10**6)
    title = make_title(lake)
    first = lake.assets.register([asset_input(title["id"], external_id=f"old-{n}") for n in range(BESIDE)])
    errors: list[BaseException] = []
    stop = threading.Event()
    merges = [0]

    def merge() -> None:
        while not stop.is_set():
            try:
                merges[0] += compaction.merge_small_fragments(lake.table("assets")).fragments_removed > 0
            except Exception as exc:  # noqa: BLE001 - a conflicting merge is retried by its caller; count the rest
                if "conflict" not in str(exc).lower():
                    errors.append(exc)

    def deliver(kind: str) -> None:
        try:
            for n in range(BESIDE):
                if kind == "new":
                    lake.assets.register([asset_input(title["id"], external_id=f"new-{n}")])
                else:  # version 2 of an asset of the first batch: an update of its row, wherever it lies
                    lake.assets.register([asset_input(title["id"], external_id=f"old-{n}",
                                                      checksum=checksum(f"v2 {n}"))])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    merger = threading.Thread(target=merge)
    writers = [threading.Thread(target=deliver, args=(kind,)) for kind in ("new", "again")]
    merger.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    merger.join()
    assert errors == []
    assert merges[0] >= 1
    current = lake.assets.list(title_ids=[title["id"]]).to_pylist()
    assert len(current) == 2 * BESIDE and len({r["id"] for r in current}) == 2 * BESIDE
    assert {r["id"]: r["version"] for r in current if r["external_id"].startswith("old-")} == {
        a["id"]: 2 for a in first}
    every = lake.assets.list(title_ids=[title["id"]], all_versions=True)
    assert every.num_rows == 3 * BESIDE


def test_settle_waits_for_the_background_compactions_and_drops_the_idle_ones(lake_dir: str) -> None:
    lake = Lake(lake_dir, compact_small_fragments=2)  # background compaction on, as a server runs it
    title = make_title(lake)
    for n in range(2 * COMPACTION_CHECK_EVERY):
        lake.assets.register([asset_input(title["id"], external_id=f"settle-{n}")])
    assert lake.connection.compaction_pending
    lake.connection.settle()
    assert not lake.connection.compaction_pending
    assert lake.counters.compactions >= 1


def test_the_merged_run_is_contiguous_so_a_bigger_fragment_between_does_not_split_it() -> None:
    # Lance merges only adjacent fragments: a 20k-row fragment between the tiny ones is taken along
    rows = {1: 900_000, 2: 1, 3: 20_000, 4: 1, 5: 1, 6: 1, 7: 30_000, 8: 2}
    assert compaction.fragments_to_merge(rows) == {2, 3, 4, 5, 6, 7, 8}
    assert compaction.fragments_to_merge({1: 900_000, 7: 30_000, 2: 1, 4: 1, 5: 1, 6: 1}) == {2, 4, 5, 6}
