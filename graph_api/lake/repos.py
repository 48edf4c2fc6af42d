"""The repositories a ``Lake`` exposes, one per table family."""
from graph_api.lake.annotations import Annotations
from graph_api.lake.assets import Assets
from graph_api.lake.embeddings import Embeddings
from graph_api.lake.segments import Segments
from graph_api.lake.titles import Titles

__all__ = ["Annotations", "Assets", "Embeddings", "Segments", "Titles"]
