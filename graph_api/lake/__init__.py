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

    settings = Settings.load()
    return Lake(
        uri or settings.lake,
        storage_options=options.pop("storage_options", None) or dict(settings.storage_options),  # type: ignore[arg-type]
        read_consistency_seconds=float(options.pop("read_consistency_seconds", settings.read_consistency_seconds)),  # type: ignore[arg-type]
        compact_small_fragments=int(options.pop("compact_small_fragments", settings.compact_small_fragments)),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


__all__ = ["Access", "Lake", "open_lake"]
