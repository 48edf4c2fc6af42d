"""Automatic compaction after small writes merges the small fragments and leaves the bulk data alone."""
from __future__ import annotations

from graph_api.lake import Lake
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
