"""What ``batch embed`` has to do: every segment of the space's kind that has no vector in the
space yet, with what it is embedded from, cut into batches.

The plan is made on the driver through the lake view (so segments of runs that never became
visible are not embedded), and names the segments table version it was made at: an engine
reads that version, not whatever a concurrent writer has committed since.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from graph_api.batch.spaces import BatchSpace
from graph_api.lake import sql
from graph_api.lake.schemas import embeddings_schema
from graph_api.lake.view import LakeView
from graph_api.pipeline.steps import frame_external_id

SEGMENT_COLUMNS = ["id", "asset_id", "kind", "start", "text", "produced_by"]


@dataclass(frozen=True)
class EmbedPlan:
    space: BatchSpace
    segments_uri: str
    segments_version: int
    storage_options: dict[str, str]
    # segment id -> (its asset, what it is embedded from: its text, or its frame image's path)
    todo: dict[str, tuple[str, str]]
    # segments of the kind that cannot be embedded (a frame whose image is not in the lake), by id
    skipped: list[str] = field(default_factory=list)

    @property
    def read_filter(self) -> str:
        """The Lance filter an engine reads the segments table with (the todo list narrows it further)."""
        clause = sql.eq("kind", self.space.segment_kind)
        return clause if self.space.source != "text" else f"{clause} AND `text` IS NOT NULL"

    def batches(self, size: int) -> Iterator[list[str]]:
        ids = sorted(self.todo)
        for start in range(0, len(ids), size):
            yield ids[start : start + size]


def plan_embed(view: LakeView, space: BatchSpace, storage_options: dict[str, str]) -> EmbedPlan:
    table = view.connection.table("segments")
    version = int(table.version)
    segments = view.scan("segments", sql.eq("kind", space.segment_kind), columns=SEGMENT_COLUMNS)
    done = _embedded(view, space)
    todo: dict[str, tuple[str, str]] = {}
    skipped: list[str] = []
    rows = [r for r in segments.to_pylist() if r["id"] not in done]
    if space.source == "text":
        todo = {r["id"]: (r["asset_id"], r["text"]) for r in rows if r["text"] and r["text"].strip()}
    else:
        wanted = {r["id"]: (r["asset_id"], frame_external_id(r["asset_id"], r["start"])) for r in rows}
        images = view.assets.by_external_id(sorted({e for _, e in wanted.values()}))
        for segment_id, (asset_id, external_id) in wanted.items():
            image = images.get(external_id)
            if image is None:
                skipped.append(segment_id)
            else:
                todo[segment_id] = (asset_id, image["uri"].removeprefix("file://"))
    return EmbedPlan(space, _dataset_uri(view.connection.uri, "segments"), version, storage_options, todo,
                     sorted(skipped))


def _embedded(view: LakeView, space: BatchSpace) -> set[str]:
    """Subjects that already have a vector in the space (none while the space does not exist)."""
    row = view.embeddings.space(space.name)
    if row is None:
        return set()
    view.connection.open_embeddings_table(row["table_name"], embeddings_schema(row["dimension"]))
    rows = view.scan(row["table_name"], sql.eq("segment_kind", space.segment_kind),
                     columns=["subject_id", "produced_by"])
    return set(rows.column("subject_id").to_pylist())


def _dataset_uri(lake_uri: str, table: str) -> str:
    """Where LanceDB keeps a table: ``<lake>/<table>.lance`` (absolute: Ray workers have their own cwd)."""
    if "://" not in lake_uri or lake_uri.startswith("file://"):
        return str(Path(lake_uri.removeprefix("file://")).expanduser().resolve() / f"{table}.lance")
    return f"{lake_uri.rstrip('/')}/{table}.lance"
