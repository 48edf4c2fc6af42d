"""batch export: an ML corpus with a manifest of the table versions it was cut from; the manifest
cuts the same corpus again after more writes; a token sees only its titles; bad input is exit 2."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from graph_api.cli import main
from graph_api.lake.datasets import read_lance
from graph_api.lake.tokens import open_tokens
from graph_api.pipeline.steps import FRAME_SPACE
from tests.batch.checks import embed


def export(lake_dir: str, *args: str) -> int:
    return main(["batch", "export", "--lake", lake_dir, *args])


def corpus(directory: Path) -> Any:
    return pq.read_table(directory / "segments.parquet")


@pytest.fixture
def embedded(small_lake: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert embed(small_lake["lake_dir"], "--space", FRAME_SPACE) == 0
    capsys.readouterr()
    return small_lake


def test_the_corpus_joins_segments_with_their_asset_title_and_vectors(embedded: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    assert export(embedded["lake_dir"], "--to", str(out)) == 0
    table = corpus(out)
    assert table.num_rows == 14  # 2 titles x (3 lines + 4 frames)
    assert table.column_names[:13] == ["segment_id", "kind", "start", "end", "text", "asset_id", "asset_version",
                                       "asset_uri", "media_type", "role", "title_id", "title_name", "title_kind"]
    assert table.column("segment_id").to_pylist() == sorted(table.column("segment_id").to_pylist())
    rows = {r["segment_id"]: r for r in table.to_pylist()}
    frame = embedded["open"]["frames"][0]
    assert rows[frame["id"]]["title_name"] == "Harbour" and rows[frame["id"]]["media_type"] == "VIDEO"
    assert len(rows[frame["id"]]["vector_frames_color_edge"]) == 160
    assert rows[embedded["open"]["dialogue"][0]["id"]]["vector_frames_color_edge"] is None
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == {"segments": 14}
    assert manifest["spaces"][FRAME_SPACE]["column"] == "vector_frames_color_edge"
    assert {"titles", "assets", "segments", "spaces", "runs", manifest["spaces"][FRAME_SPACE]["table"]} == set(
        manifest["tables"])
    assert all(isinstance(v, int) for v in manifest["tables"].values())


def test_the_manifest_cuts_the_same_corpus_after_more_writes(embedded: dict[str, Any], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    lake_dir, lake = embedded["lake_dir"], embedded["lake"]
    first, again, now = tmp_path / "first", tmp_path / "again", tmp_path / "now"
    where = "kind IN ('FRAME', 'DIALOGUE') AND start >= 1 AND title_name != 'Nope'"
    assert export(lake_dir, "--where", where, "--to", str(first)) == 0
    # more of everything: new dialogue, new vectors over it, a new title
    source = embedded["open"]["source"]
    lake.segments.add([{"asset_id": source["id"], "kind": "FRAME", "start": 5.0, "end": 5.0},
                       {"asset_id": source["id"], "kind": "DIALOGUE", "start": 6.0, "end": 7.0, "text": "More."}])
    lake.embeddings.upsert(FRAME_SPACE, "classical/color-edge-hist-v1",
                           [{"subject_id": embedded["open"]["dialogue"][1]["id"], "vector": [0.5] * 160}])
    lake.titles.create([{"name": "Later", "kind": "MOVIE"}])
    assert export(lake_dir, "--manifest", str(first / "manifest.json"), "--to", str(again)) == 0
    assert export(lake_dir, "--where", where, "--to", str(now)) == 0
    assert corpus(again).equals(corpus(first))
    assert corpus(now).num_rows == corpus(first).num_rows + 2
    before, after = (json.loads((d / "manifest.json").read_text()) for d in (first, again))
    assert after["tables"] == before["tables"] and after["filter"] == where and after["rows"] == before["rows"]


def test_lance_format(embedded: dict[str, Any], tmp_path: Path) -> None:
    assert export(embedded["lake_dir"], "--format", "lance", "--where", "kind = 'FRAME'",
                  "--to", str(tmp_path / "lance")) == 0
    assert export(embedded["lake_dir"], "--where", "kind = 'FRAME'", "--to", str(tmp_path / "parquet")) == 0
    assert read_lance(str(tmp_path / "lance" / "segments.lance")).equals(corpus(tmp_path / "parquet"))


def test_a_token_exports_only_its_titles(embedded: dict[str, Any], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lake_dir, lake = embedded["lake_dir"], embedded["lake"]
    _, plain = open_tokens(lake.connection).create("trainer", ["read"])
    _, granted = open_tokens(lake.connection).create("editor", ["read"], title_ids=[embedded["secret"]["title"]["id"]])
    assert export(lake_dir, "--token", plain, "--to", str(tmp_path / "plain")) == 0
    assert set(corpus(tmp_path / "plain").column("title_name").to_pylist()) == {"Harbour"}
    monkeypatch.setenv("MEDIAGRAPH_TOKEN", granted)
    assert export(lake_dir, "--to", str(tmp_path / "granted")) == 0
    assert set(corpus(tmp_path / "granted").column("title_name").to_pylist()) == {"Harbour", "Secret Cut"}
    # the manifest was cut with the granted token: another one cannot cut it again
    assert export(lake_dir, "--token", plain, "--manifest", str(tmp_path / "granted" / "manifest.json"),
                  "--to", str(tmp_path / "other")) == 2
    assert "was cut with token" in capsys.readouterr().err
    assert export(lake_dir, "--token", "mgt_not-a-token", "--to", str(tmp_path / "bad")) == 2
    assert "not a live token" in capsys.readouterr().err


@pytest.mark.parametrize(("where", "named"), [
    ("kind = 'FRAME' OR 1 = 1", "expected AND, not 'OR'"),
    ("kind = 'FRAME'; DROP TABLE segments", "unexpected ';"),
    ("secret_column = 'x'", "'secret_column' is not a column"),
    ("start >= 'soon'", "start compares with a number"),
    ("kind = FRAME", "'FRAME' is not a value"),
    ("kind IN ('FRAME'", "it ends where"),
])
def test_a_bad_filter_is_exit_status_2(small_lake: dict[str, Any], tmp_path: Path, where: str, named: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert export(small_lake["lake_dir"], "--where", where, "--to", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert "bad --where filter" in err and named in err
    assert not (tmp_path / "out").exists()


def test_a_quote_in_a_filter_is_a_value(small_lake: dict[str, Any], tmp_path: Path) -> None:
    assert export(small_lake["lake_dir"], "--where", "text = 'x'' OR ''1''=''1'", "--to", str(tmp_path / "out")) == 0
    assert corpus(tmp_path / "out").num_rows == 0


def test_an_unwritable_target_is_exit_status_2(small_lake: dict[str, Any], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert export(small_lake["lake_dir"], "--to", str(blocker / "corpus")) == 2
    assert f"cannot write to --to {blocker / 'corpus'}" in capsys.readouterr().err
    assert export(small_lake["lake_dir"], "--to", str(tmp_path / "once")) == 0
    assert export(small_lake["lake_dir"], "--to", str(tmp_path / "once")) == 2
    assert "already holds a corpus" in capsys.readouterr().err
