"""Per-request context: the caller's view of the lake, the DataLoaders, and settings.

Every by-id read in a request goes through a loader here, so a query's number of lake
reads does not grow with the number of objects it returns.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from graph_api.lake import Access, LakeView, ReadCount, count_reads
from graph_api.settings import Settings

K = TypeVar("K")
V = TypeVar("V")


def _loader(fetch: Callable[[list[K]], dict[K, V]], default: Callable[[], V] | None = None) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await asyncio.to_thread(fetch, keys)
        return [found.get(k, default() if default else None) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    lake: LakeView
    title: DataLoader = field(init=False)
    asset: DataLoader = field(init=False)
    asset_versions: DataLoader = field(init=False)
    segment: DataLoader = field(init=False)
    annotation: DataLoader = field(init=False)
    assets_by_title: DataLoader = field(init=False)
    titles_by_parent: DataLoader = field(init=False)
    segments_by_asset: DataLoader = field(init=False)
    annotations_by_asset: DataLoader = field(init=False)
    annotations_by_segment: DataLoader = field(init=False)
    embeddings_by_subject: DataLoader = field(init=False)
    assets_by_producer: DataLoader = field(init=False)

    def __post_init__(self) -> None:
        lake = self.lake
        self.title = _loader(lake.titles.get_many)
        self.asset = _loader(lake.assets.get_many)
        self.asset_versions = _loader(lake.assets.versions, list)
        self.segment = _loader(lake.segments.get_many)
        self.annotation = _loader(lake.annotations.get_many)
        self.assets_by_title = _loader(lake.assets.by_title, list)
        self.titles_by_parent = _loader(self._titles_by_parent, list)
        self.segments_by_asset = _loader(lake.segments.by_asset, list)
        self.annotations_by_asset = _loader(lake.annotations.by_asset, list)
        self.annotations_by_segment = _loader(lake.annotations.by_segment, list)
        self.embeddings_by_subject = _loader(lake.embeddings.by_subject, list)
        self.assets_by_producer = _loader(lake.assets.by_producer, list)

    def _titles_by_parent(self, parent_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        grouped = self.lake.titles.group_by("parent_id", parent_ids)
        for rows in grouped.values():
            rows.sort(key=lambda r: (r["name_lower"], r["id"]))
        return grouped

    def prime_assets(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.asset.prime(row["id"], row)


@dataclass
class Context:
    settings: Settings
    lake: LakeView
    lineage: Any = None  # lineage.service.Lineage once the lake has lineage attached
    request_id: str = ""
    loaders: Loaders = field(init=False)
    # counts the lake reads of this request, for extensions.lakeReads (from creation, in the request's context)
    reads: ReadCount = field(default_factory=count_reads)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.lake)

    async def run(self, fn: Callable[..., V], *args: Any, **kwargs: Any) -> V:
        """Run blocking lake work off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)


def make_context(settings: Settings, lake: LakeView, lineage: Any = None, access: Access | None = None,
                 request_id: str = "") -> Context:
    view = lake if access is None or access.unlimited else lake.with_access(access)
    return Context(settings=settings, lake=view, lineage=lineage, request_id=request_id)
