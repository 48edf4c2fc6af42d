"""The lake: one LanceDB connection, its tables, reads that honour access, batched writes,
automatic compaction, and the counters tests and metrics read.

``Lake.scan`` is the only read path; visibility (``Access``, and rows produced by runs that
never became visible) is applied there and nowhere else.
"""
from __future__ import annotations

import copy
import logging
import threading
from contextvars import ContextVar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import lancedb
import pyarrow as pa
from lancedb.index import BTree

from graph_api.errors import Unavailable
from graph_api.lake import sql
from graph_api.lake.access import EVERYTHING, Access
from graph_api.lake.schemas import EMBEDDING_INDEXED, TABLES

log = logging.getLogger(__name__)

# the reads of the current request, for the response's extensions.lakeReads (shared by to_thread copies)
REQUEST_READS: ContextVar[list[int] | None] = ContextVar("request_reads", default=None)

# check fragment counts every this many writes to a table, not on every write
COMPACTION_CHECK_EVERY = 8
COMPACTION_ATTEMPTS = 3


@dataclass
class Counters:
    reads: int = 0
    writes: int = 0
    rows_written: int = 0
    compactions: int = 0
    by_table: dict[str, int] = field(default_factory=dict)  # reads per table
    writes_by_table: dict[str, int] = field(default_factory=dict)

    def read(self, table: str) -> None:
        self.reads += 1
        self.by_table[table] = self.by_table.get(table, 0) + 1

    def wrote(self, table: str, rows: int) -> None:
        self.writes += 1
        self.rows_written += rows
        self.writes_by_table[table] = self.writes_by_table.get(table, 0) + 1


class Lake:
    def __init__(
        self,
        uri: str,
        *,
        storage_options: dict[str, str] | None = None,
        read_consistency_seconds: float = 0.0,
        compact_small_fragments: int = 24,
        version_retention_minutes: float = 10.0,
        background_compaction: bool = True,
        max_batch: int = 10_000,
        ann_index_min_rows: int = 50_000,
    ) -> None:
        self.uri = uri
        try:
            self.db = lancedb.connect(
                uri,
                storage_options=dict(storage_options or {}) or None,
                read_consistency_interval=timedelta(seconds=read_consistency_seconds),
            )
        except Exception as exc:  # noqa: BLE001 - any backend failure is "unreachable"
            raise Unavailable(f"cannot open lake {uri!r}: {exc}") from exc
        self.access: Access = EVERYTHING
        self.counters = Counters()
        self.compact_small_fragments = compact_small_fragments
        # Lance keeps every version's files until a cleanup; compaction rewrites data, so without
        # one a stream of small writes fills the disk (seen: 74 GB after 8,500 writes at 1M rows)
        self.version_retention = timedelta(minutes=version_retention_minutes)
        self.max_batch = max_batch
        # a space gets an ANN index once it holds this many vectors; below, vector search is exact
        self.ann_index_min_rows = ann_index_min_rows
        self.background_compaction = background_compaction
        # rows whose producing run is not visible are hidden; set by the lineage layer
        self.run_visible: Callable[[str], bool] | None = None
        self.write_lock = threading.RLock()
        self._tables: dict[str, Any] = {}
        self._derived: dict[tuple[str, str], tuple[int, Any]] = {}
        self._table_lock = threading.Lock()
        self._writes_since_check: dict[str, int] = {}
        self._compacting: set[str] = set()
        for name, (schema, indexed) in TABLES.items():
            self._open_or_create(name, schema, indexed)
        from graph_api.lake.repos import Annotations, Assets, Embeddings, Segments, Titles

        self.titles = Titles(self)
        self.assets = Assets(self)
        self.segments = Segments(self)
        self.annotations = Annotations(self)
        self.embeddings = Embeddings(self)
        from graph_api.lake import indexes
        from graph_api.lake.search import Search

        indexes.ensure_text_indexes(self)
        self.search = Search(self)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> Lake:
        """The lake the settings name, configured by them (the one way commands and the server open it)."""
        options: dict[str, Any] = dict(
            storage_options=dict(settings.storage_options),
            read_consistency_seconds=settings.read_consistency_seconds,
            compact_small_fragments=settings.compact_small_fragments,
            version_retention_minutes=settings.version_retention_minutes,
            max_batch=settings.max_batch,
        )
        options.update(overrides)
        return cls(settings.lake, **options)

    # --- views ------------------------------------------------------------------
    def with_access(self, access: Access) -> Lake:
        """A view of the same lake (same connection, tables and counters) limited to ``access``."""
        view = copy.copy(self)
        view.access = access
        from graph_api.lake.repos import Annotations, Assets, Embeddings, Segments, Titles

        view.titles, view.assets, view.segments = Titles(view), Assets(view), Segments(view)
        view.annotations, view.embeddings = Annotations(view), Embeddings(view)
        from graph_api.lake.search import Search

        view.search = Search(view, self.search.max_first)
        return view

    # --- tables -------------------------------------------------------------------
    def _open_or_create(self, name: str, schema: pa.Schema, indexed: Iterable[str]) -> Any:
        with self._table_lock:
            if name in self._tables:
                return self._tables[name]
            try:
                table = self.db.open_table(name)
            except (FileNotFoundError, ValueError):
                table = self.db.create_table(name, schema=schema, exist_ok=True)
            except Exception as exc:  # noqa: BLE001
                raise Unavailable(f"cannot open table {name!r} in lake {self.uri!r}: {exc}") from exc
            existing = {tuple(ix.columns) for ix in table.list_indices()}
            for column in indexed:
                if (column,) not in existing:
                    table.create_index(column, config=BTree())
            self._tables[name] = table
            return table

    def table(self, name: str) -> Any:
        table = self._tables.get(name)
        if table is None:
            table = self._open_or_create(name, *self._schema_for(name))
        return table

    def _schema_for(self, name: str) -> tuple[pa.Schema, tuple[str, ...]]:
        if name in TABLES:
            return TABLES[name]
        raise KeyError(name)

    def open_embeddings_table(self, name: str, schema: pa.Schema) -> Any:
        return self._open_or_create(name, schema, EMBEDDING_INDEXED)

    def table_names(self) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            page = self.db.list_tables(page_token=token)
            names.extend(page.tables)
            token = page.page_token
            if not token:
                return sorted(names)

    def drop_table(self, name: str) -> None:
        with self._table_lock:
            self._tables.pop(name, None)
            self.db.drop_table(name)

    # --- reads ------------------------------------------------------------------------
    def scan(
        self,
        table: str,
        where: str | None = None,
        *,
        columns: list[str] | None = None,
        limit: int | None = None,
        title_column: str | None = "title_id",
        include_invisible: bool = False,
    ) -> pa.Table:
        """Read rows of ``table`` matching ``where``, limited to what ``self.access`` may see.

        ``include_invisible`` keeps rows of runs that never committed: for maintenance only."""
        clause = sql.all_of(where, self._visibility_clause(title_column))
        query = self.table(table).search()
        if clause:
            query = query.where(clause)
        if columns is not None:
            query = query.select(columns)
        query = query.limit(limit) if limit is not None else query.limit(None)
        self._count_read(table)
        result = query.to_arrow()
        return result if include_invisible else self._hide_invisible_runs(result)

    def ranked(self, table: str, start: Callable[[Any], Any], where: str | None, *, limit: int,
               columns: list[str] | None = None, title_column: str | None = "title_id") -> pa.Table:
        """The ranked counterpart of ``scan``: ``start(table)`` begins a vector or full-text query;
        ``where`` and the access rules are pushed down as a prefilter, so ranking sees only visible rows."""
        clause = sql.all_of(where, self._visibility_clause(title_column))
        query = start(self.table(table))
        if clause:
            query = query.where(clause, prefilter=True)
        if columns is not None:
            query = query.select(columns)
        self._count_read(table)
        return self._hide_invisible_runs(query.limit(limit).to_arrow())

    def _count_read(self, table: str) -> None:
        self.counters.read(table)
        request_reads = REQUEST_READS.get()
        if request_reads is not None:
            request_reads[0] += 1

    def _visibility_clause(self, title_column: str | None) -> str | None:
        access = self.access
        if access.unlimited or title_column is None:
            return None
        clauses: list[str] = []
        if access.title_ids is not None:
            clauses.append(sql.is_in(title_column, sorted(access.title_ids)))
        if not access.restricted and title_column == "id":
            clauses.append("restricted = FALSE")
        return sql.all_of(*clauses)

    def _hide_invisible_runs(self, rows: pa.Table) -> pa.Table:
        if self.run_visible is None or "produced_by" not in rows.column_names or rows.num_rows == 0:
            return rows
        produced = rows.column("produced_by").to_pylist()
        if all(p is None for p in produced):
            return rows
        keep = [p is None or self.run_visible(p) for p in produced]
        return rows if all(keep) else rows.filter(pa.array(keep))

    # --- writes ------------------------------------------------------------------------
    def add(self, table: str, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        self.table(table).add(rows)
        self._wrote(table, rows.num_rows)

    def merge(self, table: str, rows: pa.Table, on: str | list[str]) -> None:
        if rows.num_rows == 0:
            return
        (
            self.table(table)
            .merge_insert(on)
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(rows)
        )
        self._wrote(table, rows.num_rows)

    def delete(self, table: str, where: str) -> None:
        self.table(table).delete(where)
        self._wrote(table, 0)

    def _wrote(self, table: str, rows: int) -> None:
        self.counters.wrote(table, rows)
        count = self._writes_since_check.get(table, 0) + 1
        self._writes_since_check[table] = count
        if count >= COMPACTION_CHECK_EVERY:
            self._writes_since_check[table] = 0
            self.maybe_compact(table)
        from graph_api.lake import indexes

        indexes.after_write(self, table)

    # --- maintenance --------------------------------------------------------------------
    def maybe_compact(self, table: str) -> bool:
        """Compact ``table`` when small fragments have piled up (many small writes slow reads)."""
        stats = self.table(table).stats()
        small = stats["fragment_stats"]["num_small_fragments"]
        if small < self.compact_small_fragments or table in self._compacting:
            return False
        if self.background_compaction:
            self._compacting.add(table)
            threading.Thread(target=self._compact, args=(table,), daemon=True, name=f"compact-{table}").start()
        else:
            self._compacting.add(table)
            self._compact(table)
        return True

    def _compact(self, table: str) -> None:
        # A write committed during a compaction makes the compaction's commit conflict and fail, so
        # under steady small writes it would never win: hold this process's write lock meanwhile
        # (writes wait for it), and retry when another process's write got in between.
        try:
            for attempt in range(COMPACTION_ATTEMPTS):
                try:
                    with self.write_lock:
                        self.table(table).optimize(cleanup_older_than=self.version_retention)
                    self.counters.compactions += 1
                    log.info("compacted table %s", table)
                    return
                except Exception as exc:  # noqa: BLE001 - a failed compaction must not fail a write
                    if attempt + 1 == COMPACTION_ATTEMPTS or "conflict" not in str(exc).lower():
                        log.warning("compaction of table %s failed: %s", table, exc)
                        return
        finally:
            self._compacting.discard(table)

    def optimize(self, progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
        """Compact every table and bring its indexes up to date."""
        report = {}
        for name in self.table_names():
            if progress:
                progress(name)
            table = self.table(name) if name in self._tables or name in TABLES else self.db.open_table(name)
            before = table.stats()["fragment_stats"]["num_fragments"]
            from graph_api.lake import indexes

            ann = indexes.refresh(self, name, table)  # build or retrain first; optimize() extends the rest
            table.optimize(cleanup_older_than=self.version_retention)
            after = table.stats()["fragment_stats"]["num_fragments"]
            report[name] = {"fragments_before": before, "fragments_after": after}
            if ann:
                report[name]["ann_index"] = ann
        return report

    def stats(self) -> dict[str, dict[str, Any]]:
        report = {}
        for name in self.table_names():
            table = self._tables.get(name) or self.db.open_table(name)
            stats = table.stats()
            report[name] = {
                "rows": stats["num_rows"],
                "fragments": stats["fragment_stats"]["num_fragments"],
                "small_fragments": stats["fragment_stats"]["num_small_fragments"],
                "versions": len(table.list_versions()),
                "version": table.version,
                "bytes": stats["total_bytes"],
                "indexes": sorted(f"{ix.name}({ix.index_type})" for ix in table.list_indices()),
            }
        return report

    def cached(self, table: str, key: str, compute: Callable[[], Any]) -> Any:
        """A value derived from ``table`` (its space rows, its indexes), recomputed when the table's
        version moves: hot read paths such as search then skip a read per request."""
        version = self.table(table).version
        entry = self._derived.get((table, key))
        if entry is not None and entry[0] == version:
            return entry[1]
        value = compute()
        self._derived[(table, key)] = (version, value)
        return value

    def table_version(self, name: str) -> int:
        return self.table(name).version
