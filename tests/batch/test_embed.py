"""batch embed: every segment without a vector gets one, one lineage run per batch, on either engine;
a second run does nothing; bad input is exit status 2."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from graph_api.batch.spaces import SPACES
from graph_api.media.embedders import TextEmbedder
from graph_api.pipeline.steps import DIALOGUE_SPACE, FRAME_SPACE
from tests.batch.checks import batch_runs, check_frames, embed, vectors


def test_local_engine_backfills_frames_once(small_lake: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    check_frames(small_lake, "local", capsys)


def test_only_the_missing_dialogue_is_embedded(small_lake: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    lake_dir, lake = small_lake["lake_dir"], small_lake["lake"]
    first = small_lake["open"]["dialogue"][0]
    # one line already has a vector (derive made it, say): it is left alone
    lake.embeddings.upsert(DIALOGUE_SPACE, TextEmbedder.model, [{"subject_id": first["id"], "vector": [1.0] * 384}])
    assert embed(lake_dir, "--space", DIALOGUE_SPACE) == 0
    assert "5 DIALOGUE segments lack a vector" in capsys.readouterr().err
    found = vectors(lake_dir, DIALOGUE_SPACE)
    lines = [s for t in ("open", "secret") for s in small_lake[t]["dialogue"]]
    assert set(found) == {s["id"] for s in lines}
    assert found[first["id"]].tolist() == [1.0] * 384
    # the command's own model, loaded once per process
    expected = SPACES[DIALOGUE_SPACE].load().embed([s["text"] for s in lines[1:]])
    for segment, vector in zip(lines[1:], expected):
        np.testing.assert_allclose(found[segment["id"]], vector, atol=1e-5)
    [run] = batch_runs(lake_dir)
    assert run.parameters["model"] == TextEmbedder.model and run.parameters["model_version"] == TextEmbedder().version


@pytest.mark.parametrize(("args", "named"), [
    (["--space", "clip-vit"], "unknown space 'clip-vit'"),
    (["--space", FRAME_SPACE, "--batch-size", "0"], "--batch-size must be 1 to"),
    (["--space", FRAME_SPACE, "--engine", "ray", "--actors", "0"], "--actors must be at least 1"),
])
def test_bad_input_is_exit_status_2(small_lake: dict[str, Any], args: list[str], named: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert embed(small_lake["lake_dir"], *args) == 2
    assert named in capsys.readouterr().err
    assert batch_runs(small_lake["lake_dir"]) == []


def test_a_missing_lake_is_exit_status_2(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert embed(str(tmp_path / "nowhere"), "--space", FRAME_SPACE) == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_the_server_and_the_command_line_never_import_ray() -> None:
    script = ("import sys, graph_api.http.app, graph_api.cli as cli; cli.build_parser(); "
              "import graph_api.batch.command; print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
