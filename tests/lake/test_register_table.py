"""``lake.assets.register_table``: an Arrow table registers as the same rows given to ``register`` would,
with the same errors (row and field named, nothing written), re-deliveries and lineage."""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph_api.cli import main
from graph_api.errors import Conflict, InvalidArgument, MediaGraphError, NotFound
from graph_api.lake import Lake
from graph_api.lake.ids import new_id_array, new_ids
from graph_api.lake.lineage import open_lineage
from graph_api.settings import Settings
from tests.conftest import asset_input, checksum, make_title

# what differs between two registrations of the same content
UNLIKE = ("id", "external_id", "row_key", "created_at", "updated_at")


@pytest.fixture
def local_lake(tmp_path: Path) -> Lake:
    """A lake in a tmp dir: these checks are about values, not the backend (``lake`` runs on both)."""
    return Lake(str(tmp_path / "lake"))


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    """The rows as columns: every key any row has (``Table.from_pylist`` takes the first row's keys only)."""
    names = dict.fromkeys(key for row in rows for key in row)
    return pa.table({name: [row.get(name) for row in rows] for name in names})


def problems_of(error: pytest.ExceptionInfo[MediaGraphError]) -> list[tuple[Any, ...]]:
    return [(p["index"], p["field"], p["code"], p["message"]) for p in error.value.details["problems"]]


def test_a_table_registers_as_its_rows_would_and_comes_back_as_arrow(lake: Lake, tmp_path: Path) -> None:
    title = make_title(lake)
    rows = [asset_input(title["id"], uri=f"s3://b/clip-{i}-é.mov", role=" mezzanine " if i == 3 else "source",
                        technical={"codec": "h264", "z": [1, {"b": None}], "a": "π"} if i % 2 else None)
            for i in range(100)]
    for i in (4, 7):
        rows[i].update(checksum=None, width=None, frame_rate=None)
    by_dicts = lake.assets.register([{**r, "external_id": f"d{i}"} for i, r in enumerate(rows)])
    # through Parquet, as a bulk loader would hand it over
    # technical as JSON text: a mixed list has no Arrow type; JSON objects a struct can hold are tested below
    arrow_rows = [{**r, "external_id": f"a{i}", "technical": r["technical"] and json.dumps(r["technical"])}
                  for i, r in enumerate(rows)]
    pq.write_table(table_of(arrow_rows), tmp_path / "in.parquet")
    result = lake.assets.register_table(pq.read_table(tmp_path / "in.parquet"))
    assert isinstance(result, pa.Table) and result.num_rows == 100
    assert {"id", "version", "external_id", "title_id", "is_current"} <= set(result.column_names)
    got = result.to_pylist()
    assert [r["external_id"] for r in got] == [f"a{i}" for i in range(100)]  # input order
    ids = [r["id"] for r in got]
    assert ids == sorted(ids) and all(re.fullmatch(r"asset_[0-9a-f]{28}", i) for i in ids)
    for mine, theirs in zip(got, by_dicts, strict=True):
        assert {k: v for k, v in mine.items() if k not in UNLIKE} == {k: v for k, v in theirs.items() if k not in UNLIKE}
        assert mine["row_key"] == f"{mine['id']}:1"
    stored = {r["id"]: r for r in lake.assets.list().to_pylist()}
    assert all(stored[r["id"]] == r for r in got)  # what came back is what was written
    assert got[1]["technical"] == '{"a": "\\u03c0", "codec": "h264", "z": [1, {"b": null}]}'


def test_json_text_structs_and_whole_floats_are_taken_as_register_takes_them(local_lake: Lake) -> None:
    title = make_title(local_lake)
    base = [asset_input(title["id"], external_id=f"j{i}") for i in range(3)]
    table = table_of(base).drop_columns(["width"]).append_column(
        "width", pa.array([1920.0, None, 640.0])).append_column(  # pandas' nullable ints come as floats
        "technical", pa.array(['{"b": 1, "a": [2]}', None, '{"c": "x"}']))
    got = local_lake.assets.register_table(table).to_pylist()
    assert [r["width"] for r in got] == [1920, None, 640]
    assert [r["technical"] for r in got] == ['{"a": [2], "b": 1}', None, '{"c": "x"}']
    struct = table_of([asset_input(title["id"], technical={"codec": "prores", "bits": 10})])
    assert local_lake.assets.register_table(struct).column("technical").to_pylist() == [
        '{"bits": 10, "codec": "prores"}']


BAD: list[tuple[str, dict[str, Any]]] = [
    ("role", {"role": "   "}),
    ("role", {"role": None}),
    ("uri", {"uri": "s3://a/\x85b.mov"}),
    ("media_type", {"media_type": "HOLOGRAM"}),
    ("checksum", {"checksum": "md5:abc"}),
    ("size_bytes", {"size_bytes": -1}),
    ("width", {"width": 2**31}),
    ("duration_seconds", {"duration_seconds": float("nan")}),
    ("frame_rate", {"frame_rate": 0.0}),
    ("technical", {"technical": "not json"}),
    ("technical", {"technical": "[1, 2]"}),
    ("label", {"label": "x" * 2000}),
    ("title_id", {"title_id": None}),
]


def test_a_bad_row_writes_nothing_and_gets_registers_error(local_lake: Lake) -> None:
    title = make_title(local_lake)
    for field, change in BAD:
        batch = [asset_input(title["id"], external_id=f"e{i}", label="ok") for i in range(3)]
        batch[1].update(change)
        with pytest.raises(MediaGraphError) as by_dicts:
            local_lake.assets.register(batch)
        with pytest.raises(MediaGraphError) as by_table:
            local_lake.assets.register_table(table_of(batch))
        assert problems_of(by_table) == problems_of(by_dicts), field
        assert [(p[0], p[1]) for p in problems_of(by_table)] == [(1, field)]
        assert str(by_table.value) == str(by_dicts.value)
        assert type(by_table.value) is type(by_dicts.value) is InvalidArgument
    assert local_lake.assets.list().num_rows == 0


def test_a_fraction_in_an_integer_column_is_named_by_row(local_lake: Lake) -> None:
    title = make_title(local_lake)
    table = table_of([asset_input(title["id"]) for _ in range(3)]).drop_columns(["size_bytes"]).append_column(
        "size_bytes", pa.array([1.0, 2.5, 3.0]))
    with pytest.raises(InvalidArgument) as error:
        local_lake.assets.register_table(table)
    assert [(p[0], p[1]) for p in problems_of(error)] == [(1, "size_bytes")]
    assert local_lake.assets.list().num_rows == 0


def test_unknown_titles_are_not_found_by_row(local_lake: Lake) -> None:
    title = make_title(local_lake)
    table = table_of([asset_input(title["id"]), asset_input("title_nope"), asset_input("title_nope2")])
    with pytest.raises(NotFound) as error:
        local_lake.assets.register_table(table)
    assert [(p[0], p[1], p[2]) for p in problems_of(error)] == [(1, "title_id", "NOT_FOUND"),
                                                               (2, "title_id", "NOT_FOUND")]
    assert "unknown title 'title_nope'" in str(error.value)
    assert local_lake.assets.list().num_rows == 0


def test_repeated_external_ids_in_one_table_conflict(local_lake: Lake) -> None:
    title = make_title(local_lake)
    rows = [asset_input(title["id"], external_id="same"), asset_input(title["id"], external_id="other"),
            asset_input(title["id"], external_id="same")]
    with pytest.raises(Conflict) as error:
        local_lake.assets.register_table(table_of(rows))
    assert [(p[0], p[1], p[2]) for p in problems_of(error)] == [(2, "external_id", "CONFLICT")]
    assert local_lake.assets.list().num_rows == 0


def test_an_external_id_of_another_title_conflicts(local_lake: Lake) -> None:
    one, two = make_title(local_lake), make_title(local_lake)
    local_lake.assets.register_table(table_of([asset_input(one["id"], external_id="taken")]))
    rows = [asset_input(two["id"], external_id="fresh"), asset_input(two["id"], external_id="taken")]
    with pytest.raises(Conflict) as error:
        local_lake.assets.register_table(table_of(rows))
    assert [(p[0], p[1], p[2]) for p in problems_of(error)] == [(1, "external_id", "CONFLICT")]
    assert local_lake.assets.list().column("external_id").to_pylist() == ["taken"]


def test_a_redelivery_makes_version_two_and_lineage_learns_it(local_lake: Lake) -> None:
    lineage = open_lineage(local_lake, Settings.load(env={}))
    title = make_title(local_lake)
    rows = [asset_input(title["id"], external_id=f"r{i}", checksum=checksum(f"r{i}")) for i in range(80)]
    first = local_lake.assets.register_table(table_of(rows)).to_pylist()
    again = [{**rows[0], "checksum": checksum("new content")}, rows[1], asset_input(title["id"], external_id="new")]
    second = local_lake.assets.register_table(table_of(again)).to_pylist()
    assert [(r["id"], r["version"]) for r in second[:2]] == [(first[0]["id"], 2), (first[1]["id"], 1)]
    assert second[2]["version"] == 1 and second[2]["id"] not in {r["id"] for r in first}
    assert second[0]["checksum"] == checksum("new content")
    assert local_lake.assets.get_version(first[0]["id"], 1)["is_current"] is False
    assert local_lake.assets.list(all_versions=True).num_rows == 80 + 2
    # lineage as after register: it catches up on refresh, or a caller notes the rows at once
    lineage.refresh()
    assert lineage.service.asset_versions([first[0]["id"], second[2]["id"]]) == [2, 1]
    third = local_lake.assets.register_table(table_of([{**rows[0], "checksum": checksum("third")}]))
    lineage.note_assets(third.to_pylist())
    assert lineage.service.asset_versions([first[0]["id"]]) == [3]


def test_nulls_are_absent_values_and_required_ones_are_named(local_lake: Lake) -> None:
    title = make_title(local_lake)
    table = pa.table({"title_id": [title["id"]] * 3, "media_type": ["VIDEO", "AUDIO", "IMAGE"],
                      "role": ["source", "stem", "poster"], "uri": ["s3://x/1", "s3://x/2", "s3://x/3"],
                      "external_id": ["n1", None, None], "checksum": pa.array([None] * 3, pa.string()),
                      "width": pa.array([None, None, 10], pa.int16()), "technical": pa.nulls(3)})
    got = local_lake.assets.register_table(table).to_pylist()
    assert [r["external_id"] for r in got] == ["n1", None, None]
    assert [r["width"] for r in got] == [None, None, 10] and {r["checksum"] for r in got} == {None}
    assert all(r["size_bytes"] is None and r["technical"] is None for r in got)  # a missing column: nulls
    missing = pa.table({"title_id": [title["id"], None], "media_type": ["VIDEO", "VIDEO"], "uri": ["s3://a", None]})
    with pytest.raises(InvalidArgument) as error:
        local_lake.assets.register_table(missing)
    assert [(p[0], p[1]) for p in problems_of(error)] == [(0, "role"), (1, "title_id"), (1, "role"), (1, "uri")]
    assert local_lake.assets.list().num_rows == 3


@pytest.mark.parametrize(("field", "column"), [
    ("width", pa.array(["1920", "1080"])),
    ("title_id", pa.array([1, 2])),
    ("external_id", pa.array([True, False])),
    ("technical", pa.array([[1], [2]])),
    ("duration_seconds", pa.array(["1.0", "2.0"])),
])
def test_a_column_of_the_wrong_type_is_named_and_nothing_is_written(local_lake: Lake, field: str,
                                                                     column: pa.Array) -> None:
    title = make_title(local_lake)
    table = table_of([asset_input(title["id"]) for _ in range(2)])
    table = table.drop_columns([field]) if field in table.column_names else table
    with pytest.raises(InvalidArgument) as error:
        local_lake.assets.register_table(table.append_column(field, column))
    assert [(p[0], p[1]) for p in problems_of(error)] == [(None, field)]
    assert f"column {field!r} is of Arrow type {column.type}" in str(error.value)
    assert local_lake.assets.list().num_rows == 0


def test_empty_and_oversized_tables_are_refused_as_register_refuses_them(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"), max_batch=3)
    title = make_title(lake)
    rows = [asset_input(title["id"]) for _ in range(4)]
    for given in ([], rows):
        with pytest.raises(InvalidArgument) as by_dicts:
            lake.assets.register(given)
        with pytest.raises(InvalidArgument) as by_table:
            lake.assets.register_table(table_of(given) if given else table_of(rows).slice(0, 0))
        assert str(by_table.value) == str(by_dicts.value)
    assert lake.assets.list().num_rows == 0


def test_concurrent_tables_are_all_written_once(local_lake: Lake) -> None:
    title = make_title(local_lake)
    tables = [table_of([asset_input(title["id"], external_id=f"w{w}-{i}") for i in range(50)]) for w in range(4)]
    # one writer repeats another's external id (under its GraphQL name, dictionary-encoded): it must see that
    # one's commit, never add a second asset of that external id beside it
    lone = table_of([asset_input(title["id"], external_id="w0-0")])
    tables.append(lone.drop_columns(["external_id"]).append_column(
        "externalId", lone.column("external_id").dictionary_encode()))
    results: list[pa.Table | BaseException] = [pa.table({})] * len(tables)

    def run(k: int) -> None:
        try:
            results[k] = local_lake.assets.register_table(tables[k])
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(tables))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, pa.Table) for r in results), results
    current = local_lake.assets.list()
    assert sorted(current.column("external_id").to_pylist()) == sorted(f"w{w}-{i}" for w in range(4) for i in range(50))
    lone = results[-1]
    assert isinstance(lone, pa.Table)
    assert lone.column("id").to_pylist() == [r["id"] for r in current.to_pylist() if r["external_id"] == "w0-0"]


def test_bulk_ids_keep_the_format_and_order_of_single_ids() -> None:
    ids = [*new_ids("asset", 2), *new_id_array("asset", 70_000).to_pylist(), *new_ids("asset", 100),
           *new_ids("seg", 1)]
    assert ids[:-1] == sorted(ids[:-1]) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"asset_[0-9a-f]{28}", i) for i in ids[:-1]) and re.fullmatch(r"seg_[0-9a-f]{28}", ids[-1])
    # more ids than one millisecond orders move on to the next millisecond, in order
    assert len({i[6:18] for i in ids[2:70_002]}) >= 2



def test_mediagraph_assets_import_registers_a_parquet_file_in_atomic_batches(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    lake_dir = str(tmp_path / "lake")
    title = make_title(Lake(lake_dir))
    rows = [asset_input(title["id"], external_id=f"f{i}") for i in range(5)]
    # the GraphQL names, as a file written for registerAssets has them
    pq.write_table(table_of(rows).rename_columns(
        [{"title_id": "titleId", "media_type": "mediaType", "external_id": "externalId"}.get(n, n)
         for n in table_of(rows).column_names]), tmp_path / "good.parquet")
    assert main(["assets", "import", str(tmp_path / "good.parquet"), "--lake", lake_dir, "--batch", "2",
                 "-o", str(tmp_path / "out.parquet")]) == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("external_id").to_pylist() == [f"f{i}" for i in range(5)]
    assert Lake(lake_dir).assets.list().num_rows == 5
    bad = [asset_input(title["id"], external_id=f"g{i}") for i in range(4)]
    bad[3]["media_type"] = "HOLOGRAM"
    pq.write_table(table_of(bad), tmp_path / "bad.parquet")
    capsys.readouterr()
    assert main(["assets", "import", str(tmp_path / "bad.parquet"), "--lake", lake_dir, "--batch", "2"]) == 2
    err = capsys.readouterr().err
    assert "rows 2-3" in err and "input[1].media_type" in err and "the 2 rows before them were registered" in err
    assert sorted(Lake(lake_dir).assets.list().column("external_id").to_pylist()) == [
        *(f"f{i}" for i in range(5)), "g0", "g1"]


def test_tables_naming_one_external_id_commit_one_after_the_other(local_lake: Lake) -> None:
    title = make_title(local_lake)
    first = table_of([asset_input(title["id"], external_id=f"x{i}") for i in range(3)])
    again = table_of([asset_input(title["id"], external_id="x1")])
    again = again.set_column(again.column_names.index("external_id"), "external_id",
                             again.column("external_id").dictionary_encode())
    # what a group commit gets when both callers queue meanwhile: the second must see the first's commit
    outcomes = local_lake.assets._register_tables([first, again])
    assert all(isinstance(o, pa.Table) for o in outcomes), outcomes
    assert outcomes[1].column("id").to_pylist() == [outcomes[0].column("id")[1].as_py()]
    assert outcomes[1].column("version").to_pylist() == [2]  # its checksum differs: a new version, not a twin
    assert sorted(local_lake.assets.list().column("external_id").to_pylist()) == ["x0", "x1", "x2"]
