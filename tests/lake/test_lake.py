"""The lake on a real LanceDB in a tmp dir: ids, idempotent registration, versions, batches, indexes."""
from __future__ import annotations

import pytest

from graph_api.errors import Conflict, InvalidArgument, NotFound
from graph_api.lake import Lake
from tests.conftest import asset_input, checksum, make_assets, make_title


def test_ids_are_prefixed_by_type_and_generated_by_the_lake(lake: Lake) -> None:
    title = make_title(lake)
    asset = make_assets(lake, title["id"])[0]
    segment = lake.segments.add([{"asset_id": asset["id"], "kind": "SHOT", "start": 0, "end": 1}])[0]
    annotation = lake.annotations.add([{"asset_id": asset["id"], "label": "smoking"}])[0]
    assert title["id"].startswith("title_")
    assert asset["id"].startswith("asset_")
    assert segment["id"].startswith("seg_")
    assert annotation["id"].startswith("ann_")


def test_registering_the_same_external_id_twice_updates_instead_of_duplicating(lake: Lake) -> None:
    title = make_title(lake)
    first = lake.assets.register([asset_input(title["id"], external_id="ext-1", checksum=checksum("a"), role="source")])
    again = lake.assets.register([asset_input(title["id"], external_id="ext-1", checksum=checksum("a"), role="master")])
    assert again[0]["id"] == first[0]["id"]
    assert again[0]["version"] == 1
    rows = lake.assets.list(all_versions=True).to_pylist()
    assert len(rows) == 1
    assert rows[0]["role"] == "master"


def test_titles_with_an_external_id_are_idempotent(lake: Lake) -> None:
    a = make_title(lake, external_id="imdb:tt1", name="First name")
    b = make_title(lake, external_id="imdb:tt1", name="Renamed")
    assert a["id"] == b["id"]
    assert lake.titles.list().column("name").to_pylist() == ["Renamed"]


def test_redelivery_with_a_new_checksum_creates_version_two_and_keeps_version_one(lake: Lake) -> None:
    title = make_title(lake)
    v1 = lake.assets.register([asset_input(title["id"], external_id="src", checksum=checksum("cut 1"))])[0]
    v2 = lake.assets.register([asset_input(title["id"], external_id="src", checksum=checksum("cut 2"))])[0]
    assert (v2["id"], v2["version"]) == (v1["id"], 2)
    assert lake.assets.get(v1["id"])["checksum"] == checksum("cut 2")
    old = lake.assets.get_version(v1["id"], 1)
    assert old["checksum"] == checksum("cut 1") and old["is_current"] is False
    assert [r["version"] for r in lake.assets.versions([v1["id"]])[v1["id"]]] == [1, 2]
    assert lake.assets.list().num_rows == 1


def test_a_batch_with_one_bad_row_writes_no_row(lake: Lake) -> None:
    title = make_title(lake)
    batch = [asset_input(title["id"]) for _ in range(5)] + [asset_input("title_does_not_exist")]
    with pytest.raises(NotFound) as err:
        lake.assets.register(batch)
    assert "input[5].title_id" in str(err.value)
    assert lake.assets.list().num_rows == 0


def test_duplicate_external_id_within_a_batch_is_a_conflict(lake: Lake) -> None:
    title = make_title(lake)
    with pytest.raises(Conflict):
        lake.assets.register([asset_input(title["id"], external_id="x"), asset_input(title["id"], external_id="x")])
    assert lake.assets.list().num_rows == 0


@pytest.mark.parametrize(
    "segment",
    [
        {"kind": "SHOT", "start": 5.0, "end": 2.0},
        {"kind": "SHOT", "start": -1.0, "end": 2.0},
        {"kind": "NOT_A_KIND", "start": 0.0, "end": 2.0},
    ],
)
def test_bad_segments_are_refused_and_nothing_is_written(lake: Lake, segment: dict) -> None:
    asset = make_assets(lake, make_title(lake)["id"])[0]
    good = {"asset_id": asset["id"], "kind": "SHOT", "start": 0.0, "end": 1.0}
    with pytest.raises(InvalidArgument):
        lake.segments.add([good, {"asset_id": asset["id"], **segment}])
    assert lake.segments.list().num_rows == 0


def test_embedding_dimension_is_fixed_by_the_space(lake: Lake) -> None:
    asset = make_assets(lake, make_title(lake)["id"], 2)
    assert lake.embeddings.upsert("frames", "m1", [{"subject_id": asset[0]["id"], "vector": [0.1, 0.2, 0.3]}]) == 1
    with pytest.raises(InvalidArgument, match="dimension 2"):
        lake.embeddings.upsert("frames", "m1", [{"subject_id": asset[1]["id"], "vector": [0.1, 0.2]}])
    assert lake.embeddings.list("frames").num_rows == 1
    with pytest.raises(Conflict):
        lake.embeddings.upsert("frames", "other-model", [{"subject_id": asset[1]["id"], "vector": [0.1, 0.2, 0.3]}])


def test_upserting_an_embedding_again_replaces_it(lake: Lake) -> None:
    asset = make_assets(lake, make_title(lake)["id"])[0]
    lake.embeddings.upsert("s", "m", [{"subject_id": asset["id"], "vector": [1.0, 0.0]}])
    lake.embeddings.upsert("s", "m", [{"subject_id": asset["id"], "vector": [0.0, 1.0]}])
    rows = lake.embeddings.list("s").to_pylist()
    assert len(rows) == 1 and rows[0]["vector"] == [0.0, 1.0]


def test_title_search_is_case_insensitive_and_matches_inside_names(lake: Lake) -> None:
    for name in ("Ocean Voyage", "The OCEAN floor", "Desert Run"):
        make_title(lake, name=name)
    assert lake.titles.list(search="ocean").column("name").to_pylist() == ["Ocean Voyage", "The OCEAN floor"]
    assert lake.titles.list(search="it's").num_rows == 0  # quotes are data, not SQL


def test_reads_by_id_use_btree_indexes(lake: Lake) -> None:
    asset = make_assets(lake, make_title(lake)["id"], 3)[1]
    lake.optimize()
    for name in ("titles", "assets", "segments", "annotations"):
        indexes = {(tuple(ix.columns), ix.index_type) for ix in lake.table(name).list_indices()}
        assert (("id",), "BTree") in indexes, name
    plan = lake.table("assets").search().where(f"id = '{asset['id']}'").explain_plan()
    assert "ScalarIndexQuery" in plan, plan


def test_many_small_writes_are_compacted_automatically(lake_dir: str) -> None:
    lake = Lake(lake_dir, background_compaction=False, compact_small_fragments=10)
    title = make_title(lake)
    for _ in range(40):
        make_assets(lake, title["id"])
    stats = lake.stats()["assets"]
    assert stats["rows"] == 40
    assert stats["fragments"] < 20, stats
    assert lake.counters.compactions >= 1


def test_stats_and_optimize_report_every_table(lake: Lake) -> None:
    title = make_title(lake)
    for _ in range(3):
        make_assets(lake, title["id"])
    before = lake.stats()
    assert before["assets"]["fragments"] == 3 and before["assets"]["rows"] == 3
    report = lake.optimize()
    assert report["assets"] == {"fragments_before": 3, "fragments_after": 1}
    assert lake.stats()["assets"]["rows"] == 3


def test_reopening_the_lake_reads_what_was_written(lake_dir: str) -> None:
    lake = Lake(lake_dir)
    title = make_title(lake, name="Persisted")
    make_assets(lake, title["id"], 3)
    again = Lake(lake_dir)
    assert again.titles.get(title["id"])["name"] == "Persisted"
    assert again.assets.list(title_ids=[title["id"]]).num_rows == 3


def test_ids_of_one_batch_sort_in_the_order_given(lake: Lake) -> None:
    # keyset pagination sorts by id: a batch made within one millisecond must still page in order
    title = make_title(lake)
    rows = lake.assets.register([asset_input(title["id"], external_id=f"order-{i}") for i in range(200)])
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert [r["external_id"] for r in rows] == [f"order-{i}" for i in range(200)]
