"""The real text model loads without writing to its library user's stderr."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph_api.media.embedders import TextEmbedder, text_embeddings_available

pytestmark = pytest.mark.skipif(not text_embeddings_available(), reason="needs the ml extra")
ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_model_prints_no_progress_bar(capfd: pytest.CaptureFixture[str]) -> None:
    from transformers.utils import logging as hf_logging

    before = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()  # as for a user who imported transformers first: bars on
    try:
        capfd.readouterr()
        vectors = TextEmbedder().embed(["a storm at sea"])  # a fresh instance loads its weights
        err = capfd.readouterr().err
        assert vectors.shape == (1, 384)
        assert "Loading weights" not in err and "it/s" not in err, err
        assert hf_logging.is_progress_bar_enabled()  # the user's own setting is left as it was
    finally:
        if not before:
            hf_logging.disable_progress_bar()


def test_semantic_search_through_the_lake_loads_the_model_quietly() -> None:
    """The lake's path: the embedder registry checks the ML packages (importing transformers) first."""
    code = ("from graph_api.lake.text_embedders import embed_text\n"
            "v = embed_text('sentence-transformers/all-MiniLM-L6-v2', 'a storm at sea')\n"
            "print(v.shape)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(384,)"
    assert "Loading weights" not in result.stderr and "it/s" not in result.stderr, result.stderr
