"""A small lake for the batch jobs: two titles (one restricted), each with a source video,
dialogue lines and frames whose tiny images are real files; Ray started once per session."""
from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph_api.lake import Lake
from graph_api.media.images import write_image
from graph_api.pipeline.steps import frame_external_id
from tests.conftest import asset_input, checksum, make_title

LINES = ["The storm is coming over the harbour.", "Pour me another coffee.", "Cast off the lines!"]
FRAME_TIMES = [0.0, 1.0, 2.0, 3.0]


def fill(lake: Lake, media: Path, name: str, *, restricted: bool = False, seed: int = 0) -> dict[str, Any]:
    """A title with a source video, its dialogue and its frames (images on disk, as derive makes them)."""
    title = make_title(lake, name=name, restricted=restricted)
    [source] = lake.assets.register([asset_input(title["id"], duration_seconds=10.0)])
    images = []
    for i, t in enumerate(FRAME_TIMES):
        path = media / f"{source['id']}-{i}.png"
        colour = ((seed * 70 + i * 50) % 256, (seed * 30 + i * 90) % 256, 120)
        write_image(path, np.full((18, 32, 3), colour, dtype=np.uint8))
        images.append({"title_id": title["id"], "media_type": "IMAGE", "role": "frame", "uri": str(path),
                       "checksum": checksum(f"{source['id']}-{i}"), "size_bytes": path.stat().st_size,
                       "width": 32, "height": 18, "external_id": frame_external_id(source["id"], t),
                       "technical": {"container": "png", "time": t, "source_asset": source["id"]}})
    lake.assets.register(images)
    dialogue = lake.segments.add([{"asset_id": source["id"], "kind": "DIALOGUE", "start": i * 1.0,
                                   "end": i * 1.0 + 0.8, "text": f"{line} ({name})"} for i, line in enumerate(LINES)])
    frames = lake.segments.add([{"asset_id": source["id"], "kind": "FRAME", "start": t, "end": t}
                                for t in FRAME_TIMES])
    return {"title": title, "source": source, "dialogue": dialogue, "frames": frames}


@pytest.fixture
def small_lake(tmp_path: Path) -> dict[str, Any]:
    lake_dir = tmp_path / "lake"
    media = tmp_path / "media"
    media.mkdir()
    lake = Lake(str(lake_dir), background_compaction=False)
    open_title = fill(lake, media, "Harbour", seed=0)
    secret = fill(lake, media, "Secret Cut", restricted=True, seed=1)
    return {"lake_dir": str(lake_dir), "lake": lake, "media": media, "open": open_title, "secret": secret}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster of 2 CPUs for the whole session (RAY_ADDRESS would join a real one instead)."""
    ray = pytest.importorskip("ray")
    # a short path: Ray's socket paths under it must stay within the OS limit of 107 bytes
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
