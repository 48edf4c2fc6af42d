"""What the embed tests of both engines check."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from graph_api.batch.commit import JOB, JOB_VERSION
from graph_api.cli import main
from graph_api.lake import Lake
from graph_api.lake.lineage import open_lineage
from graph_api.media.embedders import ImageDescriptor
from graph_api.pipeline.steps import FRAME_SPACE
from graph_api.settings import Settings


def vectors(lake_dir: str, space: str) -> dict[str, np.ndarray]:
    table = Lake(lake_dir, background_compaction=False).embeddings.list(space)
    return {r["subject_id"]: np.asarray(r["vector"]) for r in table.to_pylist()}


def batch_runs(lake_dir: str) -> list[Any]:
    lineage = open_lineage(Lake(lake_dir, background_compaction=False), Settings.load(lake=lake_dir))
    return sorted((r for r in lineage.runs() if r.job_name == JOB), key=lambda r: r.parameters["batch"])


def frames_of(small_lake: dict[str, Any]) -> dict[str, Any]:
    return {s["id"]: s for t in ("open", "secret") for s in small_lake[t]["frames"]}


def image_of(small_lake: dict[str, Any], segment: dict[str, Any]) -> str:
    index = [s["id"] for s in frames_of(small_lake).values() if s["asset_id"] == segment["asset_id"]].index(segment["id"])
    return str(small_lake["media"] / f"{segment['asset_id']}-{index}.png")


def embed(lake_dir: str, *args: str) -> int:
    return main(["batch", "embed", "--lake", lake_dir, *args])


def check_frames(small_lake: dict[str, Any], engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    lake_dir = small_lake["lake_dir"]
    assert embed(lake_dir, "--space", FRAME_SPACE, "--engine", engine, "--batch-size", "3") == 0
    err = capsys.readouterr().err
    assert "8 FRAME segments lack a vector" in err and "batch 3: 2 vectors" in err
    frames = frames_of(small_lake)
    found = vectors(lake_dir, FRAME_SPACE)
    assert set(found) == set(frames)
    descriptor = ImageDescriptor()
    for segment_id, segment in frames.items():
        [expected] = descriptor.describe([image_of(small_lake, segment)])
        np.testing.assert_allclose(found[segment_id], expected, rtol=1e-6)
    runs = batch_runs(lake_dir)
    assert len(runs) == math.ceil(8 / 3)
    sources = {small_lake["open"]["source"]["id"], small_lake["secret"]["source"]["id"]}
    for i, run in enumerate(runs):
        assert run.status == "COMPLETED" and run.namespace == "mediagraph" and run.job_version == JOB_VERSION
        assert {k: run.parameters[k] for k in ("space", "model", "batch", "batch_size", "engine")} == {
            "space": FRAME_SPACE, "model": ImageDescriptor.model, "batch": i, "batch_size": 3, "engine": engine}
        assert {r.asset_id for r in run.inputs} <= sources
    assert sum(len(r.outputs) for r in runs) == 8
    # a vector names the run of its batch
    table = Lake(lake_dir, background_compaction=False).embeddings.list(FRAME_SPACE)
    assert set(table.column("produced_by").to_pylist()) == {r.id for r in runs}

    # nothing is missing any more: a second run writes nothing and records no run
    assert embed(lake_dir, "--space", FRAME_SPACE, "--engine", engine) == 0
    assert "0 FRAME segments lack a vector" in capsys.readouterr().err
    assert len(batch_runs(lake_dir)) == len(runs)
