"""Fixtures for the pipeline: tiny real clips (160x90, 3 s), a real LanceDB lake in a tmp dir,
and a pipeline context whose text embedder is a small stand-in (the real model is exercised by
the CLI test), so most tests stay well under a second of model time."""
from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph_api.lake import Lake
from graph_api.media.images import write_image
from graph_api.media.synth import ClipSpec, ClipTruth, Shot, Tone, palette, write_clip
from graph_api.pipeline.context import Context, Options
from graph_api.pipeline.progress import Silent
from graph_api.settings import Settings

CUT = 1.5
SUBTITLE = """1
00:00:00,200 --> 00:00:01,000
The storm is coming over the harbour.

2
00:00:01,200 --> 00:00:02,000
Pour me another coffee.

3
00:00:02,100 --> 00:00:02,900
Cast off the lines!
"""


def clip_spec(seed: int = 0) -> ClipSpec:
    return ClipSpec(
        width=160, height=90, fps=24, duration=3.0, cuts=[CUT],
        shots=[Shot("stripes", *palette(seed)), Shot("checker", *palette(seed + 5))],
        tone=Tone(frequency=440.0 + 100 * seed, silence=[(0.5, 1.25)], clipped=[(2.25, 2.75)]),
        video_options={"preset": "ultrafast", "crf": "28"},
    )


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One delivery (clip, subtitles, poster) and a second cut of the same clip, made once per session."""
    root = tmp_path_factory.mktemp("media")
    delivery = root / "delivery"
    delivery.mkdir()
    truth = write_clip(delivery / "clip.mp4", clip_spec(0))
    (delivery / "clip.en.srt").write_text(SUBTITLE)
    write_image(delivery / "poster.png", np.full((60, 40, 3), (200, 90, 30), dtype=np.uint8))
    second = root / "second-cut.mp4"
    write_clip(second, clip_spec(1))
    return {"delivery": delivery, "truth": truth, "second_cut": second}


@pytest.fixture
def delivery(media: dict[str, Any], tmp_path: Path) -> Path:
    """A private copy of the delivery, so a test may change its files."""
    return Path(shutil.copytree(media["delivery"], tmp_path / "delivery"))


@pytest.fixture
def truth(media: dict[str, Any]) -> ClipTruth:
    return media["truth"]


class HashedWords:
    """A stand-in text embedder: a hashed bag of words, 32 dimensions."""

    model = "test/hashed-words-32"
    version = "1"
    dimension = 32

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z']+", text.lower()):
                out[i, hashlib.sha1(word.encode()).digest()[0] % self.dimension] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


def make_context(lake_dir: Path, media_dir: Path, progress: Any = None) -> Context:
    lake = Lake(str(lake_dir), background_compaction=False)
    ctx = Context.open(lake, Settings.load(env={}, lake=str(lake_dir)), media_dir,
                       options=Options(proxy_height=90, frame_interval=1.0, frame_height=90),
                       reporter=Silent(progress))
    ctx._text_embedder = HashedWords()
    return ctx


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return make_context(tmp_path / "lake", tmp_path / "lake-media")


@pytest.fixture
def title(ctx: Context) -> str:
    return ctx.lake.titles.create([{"name": "Harbour Test", "kind": "MOVIE"}])[0]["id"]
