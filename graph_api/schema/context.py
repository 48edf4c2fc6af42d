"""Per-request context: the caller's view of the lake, its lineage, the DataLoaders, and settings.

Every by-id read in a request goes through a loader here, so a query's number of lake
reads does not grow with the number of objects it returns.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from graph_api.lake import Access, LakeView, ReadCount, count_reads
from graph_api.lake.lineage import LakeLineage
from graph_api.lake.lineage_view import LineageView
from graph_api.lake.notes import Window
from graph_api.lake.search import Search
from graph_api.lake.tokens import LOCAL, Principal
from graph_api.settings import Settings
from graph_api.threads import run_sync

Row = dict[str, Any]
K = TypeVar("K", bound=Hashable)  # a loader's key: an id, or a tuple such as a notes window


def _one(fetch: Callable[[list[str]], dict[str, Row]]) -> DataLoader[str, Row | None]:
    """A loader of one row per id; None for ids the caller cannot see."""
    async def load(keys: list[str]) -> list[Row | None]:
        found = await run_sync(fetch, keys)
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


def _many(fetch: Callable[[list[K]], dict[K, list[Row]]]) -> DataLoader[K, list[Row]]:
    """A loader of the rows grouped under each key; an empty list for keys with none."""
    async def load(keys: list[K]) -> list[list[Row]]:
        found = await run_sync(fetch, keys)
        return [found.get(k, []) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    lake: LakeView
    title: DataLoader[str, Row | None] = field(init=False)
    asset: DataLoader[str, Row | None] = field(init=False)
    asset_versions: DataLoader[str, list[Row]] = field(init=False)
    segment: DataLoader[str, Row | None] = field(init=False)
    annotation: DataLoader[str, Row | None] = field(init=False)
    assets_by_title: DataLoader[str, list[Row]] = field(init=False)
    titles_by_parent: DataLoader[str, list[Row]] = field(init=False)
    segments_by_asset: DataLoader[str, list[Row]] = field(init=False)
    annotations_by_asset: DataLoader[str, list[Row]] = field(init=False)
    annotations_by_segment: DataLoader[str, list[Row]] = field(init=False)
    embeddings_by_subject: DataLoader[str, list[Row]] = field(init=False)
    review: DataLoader[str, Row | None] = field(init=False)
    note: DataLoader[str, Row | None] = field(init=False)
    cut: DataLoader[str, Row | None] = field(init=False)
    playlist: DataLoader[str, Row | None] = field(init=False)
    reviews_by_asset: DataLoader[str, list[Row]] = field(init=False)
    cuts_by_asset: DataLoader[str, list[Row]] = field(init=False)
    notes_in_window: DataLoader[Window, list[Row]] = field(init=False)

    def __post_init__(self) -> None:
        lake = self.lake
        self.title = _one(lake.titles.get_many)
        self.asset = _one(lake.assets.get_many)
        self.asset_versions = _many(lake.assets.versions)
        self.segment = _one(lake.segments.get_many)
        self.annotation = _one(lake.annotations.get_many)
        self.assets_by_title = _many(lake.assets.by_title)
        self.titles_by_parent = _many(self._titles_by_parent)
        self.segments_by_asset = _many(lake.segments.by_asset)
        self.annotations_by_asset = _many(lake.annotations.by_asset)
        self.annotations_by_segment = _many(lake.annotations.by_segment)
        self.embeddings_by_subject = _many(lake.embeddings.by_subject)
        self.review = _one(lake.reviews.get_many)
        self.note = _one(lake.notes.get_many)
        self.cut = _one(lake.cuts.get_many)
        self.playlist = _one(lake.playlists.get_many)
        self.reviews_by_asset = _many(lake.reviews.by_asset)
        self.cuts_by_asset = _many(lake.cuts.by_asset)
        self.notes_in_window = _many(lake.notes.in_windows)

    def _titles_by_parent(self, parent_ids: Sequence[str]) -> dict[str, list[Row]]:
        grouped = self.lake.titles.group_by("parent_id", parent_ids)
        for rows in grouped.values():
            rows.sort(key=lambda r: (r["name_lower"], r["id"]))
        return grouped

    def prime_assets(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self.asset.prime(row["id"], row)


@dataclass
class Context:
    settings: Settings
    lake: LakeView  # the caller's view: every read through it applies the caller's access
    lineage: LineageView | None = None  # the lineage under the caller's view; None until the lake has lineage
    request_id: str = ""
    # who is asking (a token's name and scopes; LOCAL with auth off): e.g. the reviewer of a review
    principal: Principal = LOCAL
    # the request's ``Idempotency-Key`` header: the key of its mutation when the document gives none
    idempotency_key: str | None = None
    loaders: Loaders = field(init=False)
    # counts the lake reads of this request, for extensions.lakeReads (from creation, in the request's context)
    reads: ReadCount = field(default_factory=count_reads)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.lake)

    @property
    def search(self) -> Search:
        """The view's search, bounded by this server's maximum page size."""
        search = self.lake.search
        if search.max_first != self.settings.max_page_size:
            search = Search(self.lake, self.settings.max_page_size)
        return search


def make_context(settings: Settings, lake: LakeView, lineage: LakeLineage | None = None, access: Access | None = None,
                 request_id: str = "", principal: Principal = LOCAL, idempotency_key: str | None = None) -> Context:
    view = lake if access is None or access.unlimited else lake.with_access(access)
    seen = LineageView(lineage, view) if lineage is not None else None
    return Context(settings=settings, lake=view, lineage=seen, request_id=request_id, principal=principal,
                   idempotency_key=idempotency_key)
