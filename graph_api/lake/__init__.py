"""The media lake in LanceDB, and its Python data API.

    from graph_api.lake import open_lake
    lake = open_lake("./lake")
    lake.assets.list(media_type="VIDEO")          # -> pyarrow.Table

A ``Lake`` is a ``LakeView`` (every repository and search, under one access and one run rule)
over a ``Connection`` (tables, batched writes, compaction, counters).
"""
from __future__ import annotations

from typing import Any

from graph_api.lake.access import Access
from graph_api.lake.connection import Connection
from graph_api.lake.counters import ReadCount, count_reads
from graph_api.lake.lake import Lake
from graph_api.lake.view import LakeView
from graph_api.settings import Settings


def open_lake(uri: str | None = None, **options: Any) -> Lake:
    """Open (creating if needed) the lake at ``uri``, or where settings say (``MEDIAGRAPH_LAKE``, then ./lake)."""
    settings = Settings.load(lake=uri) if uri else Settings.load()
    return Lake.from_settings(settings, **options)


__all__ = ["Access", "Connection", "Lake", "LakeView", "ReadCount", "count_reads", "open_lake"]
