"""Arrow schemas of the lake's tables, defined once.

Every table has an ``id`` (or ``name`` for spaces) with a BTREE index; filter columns
(``title_id``, ``asset_id``, ``external_id``) are indexed too. JSON-valued columns are
stored as JSON text. Times inside media are seconds from the start of the asset.
"""
from __future__ import annotations

import pyarrow as pa

from graph_api.workflows.tables import CUTS, NOTES, PLAYLISTS, REVIEWS

TS = pa.timestamp("us", tz="UTC")

TITLES = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("external_id", pa.string()),
        pa.field("name", pa.string(), nullable=False),
        # lower-cased name: case-insensitive search without a function call per row
        pa.field("name_lower", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("release_year", pa.int32()),
        pa.field("parent_id", pa.string()),
        pa.field("restricted", pa.bool_(), nullable=False),
        pa.field("created_at", TS, nullable=False),
        pa.field("updated_at", TS, nullable=False),
    ]
)

# The Media Table: one row per (id, version); exactly one row per id has is_current.
ASSETS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        # "<id>:<version>": the one-column key a re-delivery merges on (an index serves it; a pair would not)
        pa.field("row_key", pa.string(), nullable=False),
        pa.field("is_current", pa.bool_(), nullable=False),
        pa.field("external_id", pa.string()),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("media_type", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("checksum", pa.string()),
        pa.field("size_bytes", pa.int64()),
        pa.field("duration_seconds", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("frame_rate", pa.float64()),
        pa.field("technical", pa.string()),
        pa.field("produced_by", pa.string()),
        pa.field("created_at", TS, nullable=False),
        pa.field("updated_at", TS, nullable=False),
    ]
)

SEGMENTS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("start", pa.float64(), nullable=False),
        pa.field("end", pa.float64(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("produced_by", pa.string()),
        pa.field("created_at", TS, nullable=False),
    ]
)

ANNOTATIONS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string()),
        pa.field("label", pa.string(), nullable=False),
        pa.field("category", pa.string()),
        pa.field("value", pa.string()),
        pa.field("confidence", pa.float64()),
        pa.field("start", pa.float64()),
        pa.field("end", pa.float64()),
        pa.field("produced_by", pa.string()),
        pa.field("created_at", TS, nullable=False),
    ]
)

SPACES = pa.schema(
    [
        pa.field("name", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("dimension", pa.int32(), nullable=False),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("created_at", TS, nullable=False),
    ]
)


# the tables of embedding spaces are named emb_<slug>_<hash> (``embeddings.table_name_for``)
TABLE_PREFIX = "emb_"


def embeddings_schema(dimension: int) -> pa.Schema:
    """One table per space; filter columns are copied from the subject so search can prefilter."""
    return pa.schema(
        [
            pa.field("subject_id", pa.string(), nullable=False),
            pa.field("subject_kind", pa.string(), nullable=False),  # ASSET | SEGMENT
            pa.field("asset_id", pa.string(), nullable=False),
            pa.field("title_id", pa.string(), nullable=False),
            pa.field("media_type", pa.string()),
            pa.field("role", pa.string()),
            pa.field("segment_kind", pa.string()),
            pa.field("start", pa.float64()),
            pa.field("end", pa.float64()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dimension), nullable=False),
            pa.field("produced_by", pa.string()),
            pa.field("created_at", TS, nullable=False),
        ]
    )


# table name -> (schema, columns that get a BTREE index)
TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "titles": (TITLES, ("id", "external_id", "parent_id")),
    # updated_at: lineage catches up with other processes' writes by it (graph_api.lake.lineage.refresh)
    "assets": (ASSETS, ("id", "row_key", "external_id", "title_id", "produced_by", "uri", "updated_at")),
    "segments": (SEGMENTS, ("id", "asset_id", "title_id", "kind", "start", "end")),
    "annotations": (ANNOTATIONS, ("id", "asset_id", "segment_id", "title_id")),
    "spaces": (SPACES, ("name",)),
    # creative workflows (schemas in graph_api.workflows.tables): each has title_id, so access covers it
    "reviews": (REVIEWS, ("id", "asset_id", "title_id")),
    "notes": (NOTES, ("id", "asset_id", "title_id", "reply_to")),
    "cuts": (CUTS, ("id", "title_id")),
    "playlists": (PLAYLISTS, ("id", "title_id")),
}
# search prefilters on every denormalized column (graph_api.lake.search_filters)
EMBEDDING_INDEXED = ("subject_id", "asset_id", "title_id", "segment_kind", "media_type", "role", "start", "end")

# the values the lake stores for each kind column; GraphQL enums are built from these
TITLE_KINDS = ("MOVIE", "SERIES", "SEASON", "EPISODE", "TRAILER", "OTHER")
SEGMENT_KINDS = ("SHOT", "SCENE", "FRAME", "DIALOGUE")
