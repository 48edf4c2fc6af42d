"""Search over the lake: full-text, vector, by example, and hybrid, returning Arrow.

    lake.search.vector("clip", vec, first=10, kinds=["SHOT"], title_ids=[...])
    lake.search.text("ship -storm", first=10, start=0, end=600)
    lake.search.hybrid("ship", space="minilm", first=10)    # text embedded by the space's model
    lake.search.semantic("a storm at sea", space="minilm", first=10)
    lake.search.like("seg_...", space="clip", first=10)

Lists are ranked in LanceDB with every filter pushed down as a prefilter (``search_filters``):

- full-text: dialogue (``segments.text``) and annotation labels (FTS indexes), BM25;
- vector: the space's table, exact below the ANN threshold, IVF_PQ above it (``indexes``).

One list keeps its own score (BM25, or cosine similarity). Several lists (hybrid, or text
matching both dialogue and labels) are fused by reciprocal rank: score = sum of
1 / (RRF_K + rank). Ties break by subject id, so results are deterministic.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from graph_api.errors import InvalidArgument, NotFound, PageSizeExceeded
from graph_api.lake import fulltext, indexes, sql
from graph_api.lake.annotations import Annotations
from graph_api.lake.assets import Assets
from graph_api.lake.connection import Connection
from graph_api.lake.embeddings import Embeddings
from graph_api.lake.ids import prefix_of
from graph_api.lake.schemas import embeddings_schema
from graph_api.lake.search_filters import SEGMENTS, SPACE, Filters, Resolved
from graph_api.lake.segments import Segments
from graph_api.lake.text_embedders import embed_text

RRF_K = 60
MAX_FIRST = 1_000
# a fused list ranks deeper than `first` in each source, so a hit ranked well by both wins
FUSION_DEPTH = 4
# distinct labels a text query may match (each adds one segments read)
MAX_LABELS = 5
MODES = ("AUTO", "TEXT", "VECTOR", "HYBRID")

RESULT = pa.schema([
    pa.field("score", pa.float64(), nullable=False),
    pa.field("subject_id", pa.string(), nullable=False),
    pa.field("subject_kind", pa.string(), nullable=False),  # ASSET | SEGMENT
    pa.field("title_id", pa.string(), nullable=False),
    pa.field("asset_id", pa.string(), nullable=False),
    pa.field("segment_id", pa.string()),
    pa.field("segment_kind", pa.string()),
    pa.field("start", pa.float64()),
    pa.field("end", pa.float64()),
    pa.field("text", pa.string()),
    pa.field("matched", pa.list_(pa.string()), nullable=False),  # which lists found it: text, label, vector
])
_SEGMENT_COLUMNS = ["id", "asset_id", "title_id", "kind", "start", "end", "text", "produced_by"]
_SPACE_COLUMNS = ["subject_id", "subject_kind", "asset_id", "title_id", "segment_kind", "start", "end", "text",
                  "produced_by", "_distance"]


@dataclass
class SearchRequest:
    text: str | None = None
    vector: Sequence[float] | None = None
    space: str | None = None
    like: str | None = None  # an asset or segment id: search by its vector in ``space``
    mode: str = "AUTO"
    first: int = 10
    filters: Filters = field(default_factory=Filters)


class SearchView(Protocol):
    """What search needs from the view it searches (``graph_api.lake.view.LakeView``): its reads
    apply the view's rules, so every hit is one the view may see."""

    @property
    def connection(self) -> Connection: ...

    @property
    def assets(self) -> Assets: ...

    @property
    def segments(self) -> Segments: ...

    @property
    def annotations(self) -> Annotations: ...

    @property
    def embeddings(self) -> Embeddings: ...

    def scan(self, table: str, where: str | None = None, *, columns: list[str] | None = None,
             limit: int | None = None, title_column: str | None = "title_id") -> pa.Table: ...

    def ranked(self, table: str, start: Callable[[Any], Any], where: str | None, *, limit: int,
               columns: list[str] | None = None, title_column: str | None = "title_id") -> pa.Table: ...


class Search:
    def __init__(self, view: SearchView, max_first: int = MAX_FIRST) -> None:
        self.view = view
        self.max_first = max_first

    # --- the data API -------------------------------------------------------------------
    def vector(self, space: str, vector: Sequence[float], *, first: int = 10, **filters: Any) -> pa.Table:
        return self.run(SearchRequest(vector=vector, space=space, mode="VECTOR", first=first,
                                      filters=Filters.of(**filters)))

    def text(self, text: str, *, first: int = 10, **filters: Any) -> pa.Table:
        """Full-text search over dialogue and annotation labels."""
        return self.run(SearchRequest(text=text, mode="TEXT", first=first, filters=Filters.of(**filters)))

    def hybrid(self, text: str, *, space: str, vector: Sequence[float] | None = None, first: int = 10,
               **filters: Any) -> pa.Table:
        """Full-text fused with vector search; without ``vector`` the space's text embedder embeds ``text``."""
        return self.run(SearchRequest(text=text, vector=vector, space=space, mode="HYBRID", first=first,
                                      filters=Filters.of(**filters)))

    def semantic(self, text: str, *, space: str, first: int = 10, **filters: Any) -> pa.Table:
        """Vector search by ``text`` embedded with the space's text embedder."""
        return self.run(SearchRequest(text=text, space=space, mode="VECTOR", first=first,
                                      filters=Filters.of(**filters)))

    def like(self, subject_id: str, *, space: str | None = None, first: int = 10, **filters: Any) -> pa.Table:
        """Subjects nearest to an asset's or segment's vector in ``space`` (itself excluded)."""
        return self.run(SearchRequest(like=subject_id, space=space, mode="VECTOR", first=first,
                                      filters=Filters.of(**filters)))

    # --- one search -----------------------------------------------------------------------
    def run(self, request: SearchRequest) -> pa.Table:
        first, mode = self._check(request)
        clauses = fulltext.parse(request.text) if request.text is not None else None
        resolved = Resolved(request.filters, assets=self.view.assets, annotations=self.view.annotations)
        space, query_vector = self._query_vector(request, mode)
        lists: list[tuple[str, list[dict[str, Any]]]] = []
        fused = (clauses is not None and mode != "VECTOR") and (query_vector is not None and mode != "TEXT")
        depth = min(self.max_first, first * FUSION_DEPTH) if fused else first
        if clauses is not None and mode != "VECTOR":
            lists.append(("text", self._dialogue(clauses, resolved, depth)))
            lists.append(("label", self._labels(clauses, resolved, depth)))
        if query_vector is not None and mode != "TEXT":
            assert space is not None
            lists.append(("vector", self._nearest(space, query_vector, resolved, depth, exclude=request.like)))
        return _fuse([(name, hits) for name, hits in lists if hits], first)

    def _check(self, request: SearchRequest) -> tuple[int, str]:
        first = request.first
        if isinstance(first, bool) or not isinstance(first, int) or first < 1:
            raise InvalidArgument(f"first must be a positive integer, got {first!r}", field="first")
        if first > self.max_first:
            raise PageSizeExceeded(f"first={first} exceeds the maximum of {self.max_first}", field="first")
        mode = (request.mode or "AUTO").upper()
        if mode not in MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(MODES)}", field="mode")
        if request.text is None and request.vector is None and request.like is None:
            raise InvalidArgument("search needs text, a vector or an example (likeSegment / likeAsset)")
        if request.vector is not None and request.like is not None:
            raise InvalidArgument("give either a vector or an example to search by, not both", field="vector")
        if mode == "TEXT" and request.text is None:
            raise InvalidArgument("mode TEXT needs text", field="text")
        if mode == "HYBRID" and request.text is None:
            raise InvalidArgument("mode HYBRID needs text", field="text")
        return first, mode

    # --- the query vector -----------------------------------------------------------------------
    def _query_vector(self, request: SearchRequest, mode: str) -> tuple[dict[str, Any] | None, np.ndarray | None]:
        wants_vector = request.vector is not None or request.like is not None or mode in ("VECTOR", "HYBRID")
        if request.space is None and not wants_vector:
            return None, None
        if mode == "TEXT":
            return None, None
        space = self._space(request)
        if request.vector is not None:
            return space, self._checked_vector(space, request.vector)
        if request.like is not None:
            return space, self._vector_of(space, request.like)
        vector = embed_text(space["model"], request.text) if request.text is not None else None
        if vector is None:
            if mode in ("VECTOR", "HYBRID"):
                raise InvalidArgument(f"space {space['name']!r} (model {space['model']!r}) cannot embed text: "
                                      "pass a vector, or search by text alone", field="space")
            return None, None
        return space, self._checked_vector(space, vector.tolist(), what="the space's text embedder returned a vector")

    def _space(self, request: SearchRequest) -> dict[str, Any]:
        if request.space is not None:
            space = self.view.embeddings.space(request.space)
            if space is None:
                raise NotFound(f"unknown embedding space {request.space!r}", field="space", space=request.space)
            return space
        spaces = list(self.view.embeddings.spaces().values())
        if request.like is not None:
            names = {s["name"] for s in self.view.embeddings.by_subject([request.like]).get(request.like, [])}
            spaces = [s for s in spaces if s["name"] in names]
        elif request.vector is not None:
            spaces = [s for s in spaces if s["dimension"] == len(request.vector)]
        if len(spaces) == 1:
            return spaces[0]
        why = "no space fits" if not spaces else f"{len(spaces)} spaces fit ({', '.join(sorted(s['name'] for s in spaces))})"
        raise InvalidArgument(f"name the embedding space to search: {why}", field="space")

    def _checked_vector(self, space: dict[str, Any], vector: Sequence[float], what: str = "the vector") -> np.ndarray:
        if len(vector) != space["dimension"]:
            raise InvalidArgument(f"{what} has dimension {len(vector)}; space {space['name']!r} has "
                                  f"{space['dimension']}", field="vector")
        array = np.asarray(vector, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise InvalidArgument(f"{what} holds a value that is not a finite number", field="vector")
        if not np.any(array):
            raise InvalidArgument(f"{what} is all zeros: it has no direction to compare by", field="vector")
        return array.astype(np.float32)

    def _vector_of(self, space: dict[str, Any], subject_id: str) -> np.ndarray:
        kind = {"seg": "segment", "asset": "asset"}.get(prefix_of(subject_id) or "")
        if kind is None:
            raise InvalidArgument(f"{subject_id!r} is not an asset or segment id", field="like")
        table = self._open(space)
        rows = self.view.scan(table, sql.eq("subject_id", subject_id), columns=["vector", "produced_by"], limit=1)
        if rows.num_rows == 0:
            raise NotFound(f"{kind} {subject_id!r} has no embedding in space {space['name']!r}", field="like",
                           space=space["name"], id=subject_id)
        return np.asarray(rows.column("vector")[0].as_py(), dtype=np.float32)

    def _open(self, space: dict[str, Any]) -> str:
        self.view.connection.open_embeddings_table(space["table_name"], embeddings_schema(space["dimension"]))
        return space["table_name"]

    # --- ranked lists ---------------------------------------------------------------------------
    def _nearest(self, space: dict[str, Any], vector: np.ndarray, resolved: Resolved, limit: int,
                 exclude: str | None) -> list[dict[str, Any]]:
        table = self._open(space)
        where = resolved.clause(SPACE, exclude=exclude)
        indexed = self.view.connection.cached(table, "vector_index",
                                   lambda: indexes.vector_index(self.view.connection.table(table)) is not None)

        def start(exact: bool) -> Any:
            def begin(t: Any) -> Any:
                query = t.search(vector, vector_column_name=indexes.VECTOR_COLUMN).distance_type(indexes.DISTANCE)
                if exact:
                    return query.bypass_vector_index()
                # maximum_nprobes 0: keep probing partitions while a narrow prefilter leaves too few rows
                return (query.minimum_nprobes(indexes.MIN_NPROBES).maximum_nprobes(0)
                        .refine_factor(indexes.REFINE_FACTOR))
            return begin

        rows = self.view.ranked(table, start(not indexed), where, limit=limit, columns=_SPACE_COLUMNS)
        if indexed and rows.num_rows < limit:
            # the index came up short of the rows that match: rank those rows exactly
            rows = self.view.ranked(table, start(True), where, limit=limit, columns=_SPACE_COLUMNS)
        hits = []
        for row in rows.to_pylist():
            segment = row["subject_kind"] == "SEGMENT"
            hits.append(_hit(1.0 - row["_distance"], row["subject_id"], row, segment, row["segment_kind"]))
        return _ranked(hits)

    def _dialogue(self, clauses: list[fulltext.Clause], resolved: Resolved, limit: int) -> list[dict[str, Any]]:
        query = fulltext.to_query(clauses, "text")
        rows = self.view.ranked("segments", lambda t: t.search(query, query_type="fts"),
                                resolved.clause(SEGMENTS), limit=limit, columns=[*_SEGMENT_COLUMNS, "_score"])
        return _ranked([_hit(row["_score"], row["id"], row, True, row["kind"]) for row in rows.to_pylist()])

    def _labels(self, clauses: list[fulltext.Clause], resolved: Resolved, limit: int) -> list[dict[str, Any]]:
        """Segments carrying an annotation label that matches the text, best-matching label first."""
        query = fulltext.to_query(clauses, "label", phrases=False)
        f = resolved.filters
        where = sql.is_in("title_id", f.title_ids) if f.title_ids is not None else None
        found = self.view.ranked("annotations", lambda t: t.search(query, query_type="fts"), where,
                                 limit=10 * limit + 100, columns=["label", "produced_by", "_score"])
        best: dict[str, float] = {}
        for row in found.to_pylist():
            best[row["label"]] = max(best.get(row["label"], -math.inf), row["_score"])
        labels = sorted(best, key=lambda label: (-best[label], label))[:MAX_LABELS]
        if not labels:
            return []
        resolved.prefetch_labels(labels)
        base = resolved.clause(SEGMENTS)
        hits: list[dict[str, Any]] = []
        seen: set[str] = set()
        for label in labels:
            covered = resolved.cover([label]).clause(SEGMENTS)
            exclude = sql.is_in("id", sorted(seen)) if seen else None
            where = sql.all_of(base, covered, f"NOT ({exclude})" if exclude else None)
            rows = self.view.segments.scan(where, limit=limit - len(hits)).to_pylist()
            rows.sort(key=lambda r: (r["title_id"], r["asset_id"], r["start"], r["id"]))
            for row in rows:
                seen.add(row["id"])
                hits.append(_hit(best[label], row["id"], row, True, row["kind"]))
            if len(hits) >= limit:
                break
        return hits


def _hit(score: float, subject_id: str, row: dict[str, Any], segment: bool, kind: str | None) -> dict[str, Any]:
    return {"score": float(score), "subject_id": subject_id, "subject_kind": "SEGMENT" if segment else "ASSET",
            "title_id": row["title_id"], "asset_id": row["asset_id"], "segment_id": subject_id if segment else None,
            "segment_kind": kind if segment else None, "start": row["start"] if segment else None,
            "end": row["end"] if segment else None, "text": row["text"] if segment else None}


def _ranked(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first; equal scores by subject id, so ranks (and fused scores) are deterministic."""
    return sorted(hits, key=lambda h: (-h["score"], h["subject_id"]))


def _fuse(lists: list[tuple[str, list[dict[str, Any]]]], first: int) -> pa.Table:
    if len(lists) == 1:
        name, hits = lists[0]
        rows = [{**hit, "matched": [name]} for hit in _ranked(hits)]
        return pa.Table.from_pylist(rows[:first], schema=RESULT)
    fused: dict[str, dict[str, Any]] = {}
    for name, hits in lists:
        for rank, hit in enumerate(hits, start=1):
            entry = fused.setdefault(hit["subject_id"], {**hit, "score": 0.0, "matched": []})
            entry["score"] += 1.0 / (RRF_K + rank)
            if name not in entry["matched"]:
                entry["matched"].append(name)
    rows = sorted(fused.values(), key=lambda h: (-h["score"], h["subject_id"]))[:first]
    return pa.Table.from_pylist(rows, schema=RESULT)
