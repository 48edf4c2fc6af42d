"""The lake's entities as GraphQL types. Each holds its lake row privately (``from_record``);
resolvers are a few lines that go through the request's loaders."""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graph_api.schema.enums import MediaType, SegmentKind, TitleKind
from graph_api.schema.node import Node
from graph_api.schema.pagination import Connection, paginate
from graph_api.schema.scalars import JSON, Long

if TYPE_CHECKING:
    from graph_api.schema.lineage_types import Run
    from graph_api.schema.search import SearchHit

RunRef = Annotated["Run", strawberry.lazy("graph_api.schema.lineage_types")]
SearchHitRef = Annotated["SearchHit", strawberry.lazy("graph_api.schema.search")]


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _page(info: Info, rows: list[dict[str, Any]], key: Any, build: Any, first: int | None, after: str | None) -> Any:
    s = info.context.settings
    return paginate(rows, key=key, build=build, first=first, after=after, default=s.default_page_size,
                    maximum=s.max_page_size)


by_id = lambda r: (r["id"],)  # noqa: E731
by_name = lambda r: (r["name_lower"], r["id"])  # noqa: E731
by_time = lambda r: (r["start"], r["end"], r["id"])  # noqa: E731


@strawberry.federation.type(keys=["id"])
class Title(Node):
    _row: strawberry.Private[dict[str, Any]]
    id: strawberry.ID
    name: str
    kind: TitleKind
    external_id: str | None
    release_year: int | None
    restricted: bool

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Title:
        return cls(_row=row, id=strawberry.ID(row["id"]), name=row["name"], kind=TitleKind(row["kind"]),
                   external_id=row["external_id"], release_year=row["release_year"], restricted=row["restricted"])

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Title | None:
        row = await info.context.loaders.title.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field
    def created_at(self) -> datetime:
        return self._row["created_at"]

    @strawberry.field
    async def parent(self, info: Info) -> Title | None:
        if not self._row["parent_id"]:
            return None
        row = await info.context.loaders.title.load(self._row["parent_id"])
        return Title.from_record(row) if row else None

    @strawberry.field
    async def children(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Title]:
        rows = await info.context.loaders.titles_by_parent.load(self._row["id"])
        return _page(info, rows, by_name, Title.from_record, first, after)

    @strawberry.field
    async def assets(self, info: Info, media_type: MediaType | None = None, role: str | None = None,
                     first: int | None = None, after: str | None = None) -> Connection[Asset]:
        rows = await info.context.loaders.assets_by_title.load(self._row["id"])
        rows = [r for r in rows if (media_type is None or r["media_type"] == media_type.value)
                and (role is None or r["role"] == role)]
        info.context.loaders.prime_assets(rows)
        return _page(info, rows, by_id, Asset.from_record, first, after)


@strawberry.federation.type(keys=["id"])
class Asset(Node):
    _row: strawberry.Private[dict[str, Any]]
    id: strawberry.ID
    media_type: MediaType
    role: str = strawberry.field(description="what the asset is for: source, proxy, frame, subtitle, audio-stem, ...")
    uri: str
    checksum: str | None = strawberry.field(description="sha256:<hex>")
    size_bytes: Long | None
    version: int
    is_current: bool = strawberry.field(description="false for an older version kept readable")
    external_id: str | None
    duration_seconds: float | None
    width: int | None
    height: int | None
    frame_rate: float | None

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Asset:
        return cls(_row=row, id=strawberry.ID(row["id"]), media_type=MediaType(row["media_type"]), role=row["role"],
                   uri=row["uri"], checksum=row["checksum"], size_bytes=row["size_bytes"], version=row["version"],
                   is_current=row["is_current"], external_id=row["external_id"],
                   duration_seconds=row["duration_seconds"], width=row["width"], height=row["height"],
                   frame_rate=row["frame_rate"])

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Asset | None:
        row = await info.context.loaders.asset.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field(description="everything the prober found, per stream")
    def technical(self) -> JSON | None:
        return _json(self._row["technical"])

    @strawberry.field
    def created_at(self) -> datetime:
        return self._row["created_at"]

    @strawberry.field
    async def title(self, info: Info) -> Title:
        row = await info.context.loaders.title.load(self._row["title_id"])
        return Title.from_record(row)

    @strawberry.field(description="every version of this asset, oldest first")
    async def versions(self, info: Info) -> list[Asset]:
        rows = await info.context.loaders.asset_versions.load(self._row["id"])
        return [Asset.from_record(r) for r in rows]

    @strawberry.field(description="the run that derived this asset; null for delivered assets")
    async def produced_by(self, info: Info) -> RunRef | None:
        from graph_api.schema.lineage_types import load_run

        return await load_run(info, self._row["produced_by"])

    @strawberry.field(description="the direct inputs of producedBy")
    async def derived_from(self, info: Info) -> list[Asset]:
        from graph_api.schema.lineage_types import derived_from

        return await derived_from(info, self._row)

    @strawberry.field(description="assets whose producing run used this asset directly")
    async def derivatives(self, info: Info, role: str | None = None, first: int | None = None,
                          after: str | None = None) -> Connection[Asset]:
        from graph_api.schema.lineage_types import derivatives

        rows = await derivatives(info, self._row, role)
        return _page(info, rows, by_id, Asset.from_record, first, after)

    @strawberry.field(description="an input has a newer version, a producing job has a newer version, "
                                  "or an ancestor is stale")
    async def stale(self, info: Info) -> bool:
        from graph_api.schema.lineage_types import is_stale

        return await is_stale(info, self._row)

    @strawberry.field
    async def segments(self, info: Info, kind: SegmentKind | None = None, from_: Annotated[
        float | None, strawberry.argument(name="from")] = None, to: float | None = None,
                       first: int | None = None, after: str | None = None) -> Connection[Segment]:
        rows = await info.context.loaders.segments_by_asset.load(self._row["id"])
        rows = [r for r in rows if (kind is None or r["kind"] == kind.value)
                and (from_ is None or r["end"] >= from_) and (to is None or r["start"] <= to)]
        return _page(info, rows, by_time, Segment.from_record, first, after)

    @strawberry.field
    async def annotations(self, info: Info, label: str | None = None, category: str | None = None,
                          first: int | None = None, after: str | None = None) -> Connection[Annotation]:
        rows = await info.context.loaders.annotations_by_asset.load(self._row["id"])
        rows = [r for r in rows if (label is None or r["label"] == label)
                and (category is None or r["category"] == category)]
        return _page(info, rows, by_id, Annotation.from_record, first, after)

    @strawberry.field
    async def embeddings(self, info: Info) -> list[Embedding]:
        rows = await info.context.loaders.embeddings_by_subject.load(self._row["id"])
        return [Embedding.from_record(r) for r in rows]

    @strawberry.field(description="the nearest assets and segments in an embedding space (needed when several hold this)")
    async def similar(self, info: Info, first: int | None = None, space: str | None = None) -> list[SearchHitRef]:
        from graph_api.schema.search import similar

        return await similar(info, self._row["id"], first, space)  # type: ignore[return-value]


@strawberry.federation.type(keys=["id"])
class Segment(Node):
    _row: strawberry.Private[dict[str, Any]]
    id: strawberry.ID
    kind: SegmentKind
    start: float
    end: float
    text: str | None = strawberry.field(description="dialogue line or caption text")

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Segment:
        return cls(_row=row, id=strawberry.ID(row["id"]), kind=SegmentKind(row["kind"]), start=row["start"],
                   end=row["end"], text=row["text"])

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Segment | None:
        row = await info.context.loaders.segment.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field
    async def asset(self, info: Info) -> Asset:
        return Asset.from_record(await info.context.loaders.asset.load(self._row["asset_id"]))

    @strawberry.field
    async def annotations(self, info: Info) -> list[Annotation]:
        rows = await info.context.loaders.annotations_by_segment.load(self._row["id"])
        return [Annotation.from_record(r) for r in rows]

    @strawberry.field
    async def embeddings(self, info: Info) -> list[Embedding]:
        rows = await info.context.loaders.embeddings_by_subject.load(self._row["id"])
        return [Embedding.from_record(r) for r in rows]

    @strawberry.field(description="the nearest assets and segments in an embedding space (needed when several hold this)")
    async def similar(self, info: Info, first: int | None = None, space: str | None = None) -> list[SearchHitRef]:
        from graph_api.schema.search import similar

        return await similar(info, self._row["id"], first, space)  # type: ignore[return-value]

    @strawberry.field
    async def produced_by(self, info: Info) -> RunRef | None:
        from graph_api.schema.lineage_types import load_run

        return await load_run(info, self._row["produced_by"])


@strawberry.type
class Annotation(Node):
    _row: strawberry.Private[dict[str, Any]]
    id: strawberry.ID
    label: str = strawberry.field(description="smoking, gore, loudness-lufs, ...")
    category: str | None = strawberry.field(description="compliance, audio-quality, ...")
    confidence: float | None
    start: float | None
    end: float | None

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Annotation:
        return cls(_row=row, id=strawberry.ID(row["id"]), label=row["label"], category=row["category"],
                   confidence=row["confidence"], start=row["start"], end=row["end"])

    @strawberry.field
    def value(self) -> JSON | None:
        return _json(self._row["value"])

    @strawberry.field
    async def asset(self, info: Info) -> Asset:
        return Asset.from_record(await info.context.loaders.asset.load(self._row["asset_id"]))

    @strawberry.field
    async def segment(self, info: Info) -> Segment | None:
        if not self._row["segment_id"]:
            return None
        row = await info.context.loaders.segment.load(self._row["segment_id"])
        return Segment.from_record(row) if row else None

    @strawberry.field
    async def produced_by(self, info: Info) -> RunRef | None:
        from graph_api.schema.lineage_types import load_run

        return await load_run(info, self._row["produced_by"])


@strawberry.type
class Embedding:
    _row: strawberry.Private[dict[str, Any]]
    space: str
    model: str
    dimension: int

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> Embedding:
        return cls(_row=row, space=row["name"], model=row["model"], dimension=row["dimension"])

    @strawberry.field
    async def produced_by(self, info: Info) -> RunRef | None:
        from graph_api.schema.lineage_types import load_run

        return await load_run(info, self._row["produced_by"])
