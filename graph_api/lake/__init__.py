"""The media lake in LanceDB, and its Python data API.

    from graph_api.lake import open_lake
    lake = open_lake("./lake")
    lake.assets.list(media_type="VIDEO")          # -> pyarrow.Table
"""
from __future__ import annotations

from graph_api.lake.access import Access
from graph_api.lake.lake import Lake


def open_lake(uri: str | None = None, **options: object) -> Lake:
    """Open (creating if needed) the lake at ``uri``, or where settings say (``MEDIAGRAPH_LAKE``, then ./lake)."""
    from graph_api.settings import Settings

    settings = Settings.load(**({"lake": uri} if uri else {}))
    return Lake.from_settings(settings, **options)  # type: ignore[arg-type]


__all__ = ["Access", "Lake", "open_lake"]
