"""Factories for tiny generated clips. Every clip is encoded for real with PyAV in a tmp dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graph_api.media.corpus import Corpus, generate_corpus
from graph_api.media.synth import ClipSpec, ClipTruth, Shot, Tone, palette, write_clip

MakeClip = Callable[..., tuple[Path, ClipTruth, ClipSpec]]


def shots(n: int, patterns: tuple[str, ...] = ("stripes", "checker", "rings", "gradient")) -> list[Shot]:
    return [Shot(patterns[i % len(patterns)], *palette(i), speed=2.0 + i) for i in range(n)]


@pytest.fixture
def make_clip(tmp_path: Path) -> MakeClip:
    counter = iter(range(1_000_000))

    def make(name: str | None = None, **overrides: Any) -> tuple[Path, ClipTruth, ClipSpec]:
        defaults: dict[str, Any] = dict(width=320, height=180, fps=24, duration=2.0, tone=Tone())
        spec = ClipSpec(**{**defaults, **overrides})
        path = tmp_path / (name or f"clip{next(counter)}.mp4")
        return path, write_clip(path, spec), spec

    return make


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return generate_corpus(tmp_path_factory.mktemp("corpus"))
