"""The spaces a batch job can fill: which segments each embeds, from what, with which model.

The models are the ones ``derive`` uses (``graph_api.pipeline.steps``), so a vector backfilled
here and one derived there are the same vector.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graph_api.errors import InvalidArgument
from graph_api.media.embedders import ImageDescriptor, TextEmbedder
from graph_api.pipeline.steps import DIALOGUE_SPACE, FRAME_SPACE


@dataclass(frozen=True)
class BatchSpace:
    """``source`` says what a segment is embedded from: its ``text``, or the ``image`` of its frame."""

    name: str
    segment_kind: str
    source: str
    model: str
    dimension: int

    def load(self) -> Embedder:
        """The embedder, loaded once per process (per Ray actor)."""
        return Embedder(self)

    @property
    def model_version(self) -> str:
        return TextEmbedder().version if self.source == "text" else ImageDescriptor.version


class Embedder:
    def __init__(self, space: BatchSpace) -> None:
        self.space = space
        self._text = _shared_text() if space.source == "text" else None
        self._image = ImageDescriptor() if space.source == "image" else None

    def embed(self, sources: Sequence[str]) -> np.ndarray:
        """Vectors, shape ``(len(sources), dimension)``: ``sources`` are texts or image paths."""
        if self._text is not None:
            return self._text.embed(list(sources))
        assert self._image is not None
        return self._image.describe(list(sources))


@functools.cache
def _shared_text() -> TextEmbedder:
    # loading the weights takes seconds: once per process, however many jobs it runs
    return TextEmbedder()


SPACES: dict[str, BatchSpace] = {
    DIALOGUE_SPACE: BatchSpace(DIALOGUE_SPACE, "DIALOGUE", "text", TextEmbedder.model, TextEmbedder.dimension),
    FRAME_SPACE: BatchSpace(FRAME_SPACE, "FRAME", "image", ImageDescriptor.model, ImageDescriptor.dimension),
}


def space_named(name: str) -> BatchSpace:
    space = SPACES.get(name)
    if space is None:
        raise InvalidArgument(f"unknown space {name!r}: batch embed fills {', '.join(sorted(SPACES))}", space=name)
    return space
