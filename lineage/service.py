"""The lineage facade: one graph, one store, one lock. Every caller outside ``lineage/``
asks this service (queries, writes, sizes) and never touches the graph itself.

Writes are validated against the graph before anything is written, then written
to the store (runs row last), then applied to the graph. ``refresh`` notices
commits made by another process from the Lance table versions and reads only the
rows committed since (by Lance row address), falling back to a rebuild when the
tables were rewritten under it (a compaction by another process).
Reads take the same lock: networkx dicts must not change under a traversal.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lineage import history, staleness, traversal
from lineage.errors import UnknownEntityError
from lineage.graph import LineageGraph
from lineage.model import AssetInfo, InputRef, Job, Run
from lineage.store import LineageStore, Marks, Versions, run_from_row

# Catching up on more rows than this share of the graph is slower than a rebuild
# (and is what a compaction by another process looks like: every row in new fragments).
CATCH_UP_SHARE = 0.25


class Lineage:
    def __init__(
        self,
        store: LineageStore,
        assets: Callable[[], Iterable[AssetInfo] | pa.Table],
        *,
        compact_every: int = 200,
    ) -> None:
        """``assets`` lists every asset's current info (read on every rebuild), as
        AssetInfo records or, faster, an Arrow table with their fields. Assets another
        process writes reach the graph through ``upsert_assets``."""
        self._store = store
        self._assets = assets
        self._compact_every = compact_every
        self._writes = 0
        self._lock = threading.RLock()
        self._seen: dict[str, int] = {}
        self._graph = LineageGraph()
        self._marks: Marks = {}
        self._pending: dict[str, list[pa.Table]] = {"run_inputs": [], "run_outputs": []}
        self.rebuilds = 0
        self.rebuild()

    # -- graph lifecycle -----------------------------------------------------

    def rebuild(self) -> None:
        with self._lock:
            # Versions are read before loading: a commit that lands during the load
            # leaves them behind, and the next refresh reads it.
            seen = dict(self._store.table_versions())
            self._graph = LineageGraph()  # let the old graph go before building the new
            gc.collect()  # ... and collect it now, while there is little else to scan
            self.rebuilds += 1
            gc.disable()
            try:
                # Building allocates millions of containers; with the collector on,
                # each of its generation-2 passes rescans all of them (~2x load time).
                snap = self._store.load_tables()
                unseen: list[Any] = []
                self._graph = LineageGraph.from_tables(
                    snap.jobs, snap.runs, snap.inputs, snap.outputs, self._assets(), unseen
                )
                # Edges of runs not visible yet: their runs row may come later.
                self._pending = {
                    "run_inputs": [snap.inputs.take(unseen[0])],
                    "run_outputs": [snap.outputs.take(unseen[1])],
                }
                self._marks = dict(snap.marks)
                del snap, unseen
            finally:
                gc.enable()
            pa.default_memory_pool().release_unused()
            _trim()
            # Move the graph out of the collector's sight: it never forms reference
            # cycles worth collecting, and a full pass over it would stall a request.
            gc.freeze()
            self._seen = seen

    def refresh(self) -> bool:
        """Catch up with what another process wrote; True when something moved. Cheap
        when nothing did (one version check per table)."""
        with self._lock:
            current = dict(self._store.table_versions())
            if current == self._seen:
                return False
            if not self._catch_up(current):
                self.rebuild()
            return True

    def _catch_up(self, current: dict[str, int]) -> bool:
        """Apply the rows committed since the marks; False when only a rebuild can."""
        marks = self._marks
        store = self._store
        g = self._graph
        moved = {t for t, v in current.items() if self._seen.get(t) != v}
        reads: dict[str, pa.Table] = {}
        new_marks = dict(marks)
        for name in ("runs", "run_inputs", "run_outputs"):
            if name in moved:
                reads[name], new_marks[name] = store.read_since(name, marks[name])
                if reads[name].num_rows > max(1_000, CATCH_UP_SHARE * g.run_count):
                    return False
        if "jobs" in moved:
            for job in store.read_jobs():
                g.upsert_job(job)
        edges = {}
        for name in ("run_inputs", "run_outputs"):
            parts = [t for t in self._pending[name] if t.num_rows]
            if name in reads:
                parts.append(reads[name])
            edges[name] = _by_run(pa.concat_tables(parts)) if parts else {}
        ins, outs = edges["run_inputs"], edges["run_outputs"]
        if "runs" in reads:
            rows = reads["runs"].sort_by([("recorded_at", "ascending"), ("id", "ascending")]).to_pylist()
            for row in rows:
                rid = row["id"]
                old = g.get_run(rid)
                n_in = len(old.inputs) if old else 0
                n_out = len(old.outputs) if old else 0
                more_in = tuple(InputRef(a, v) for o, a, v in ins.pop(rid, ()) if o >= n_in)
                more_out = tuple(a for o, a, _ in outs.pop(rid, ()) if o >= n_out)
                if old is None:
                    g.apply_run(run_from_row(row, more_in, more_out))
                    continue
                merged = dataclasses.replace(
                    run_from_row(row, old.inputs + more_in, old.outputs + more_out),
                    recorded_at=old.recorded_at,
                    idempotency_key=row["idempotency_key"] or old.idempotency_key,
                    external_run_id=row["external_run_id"] or old.external_run_id,
                )
                if merged != old:
                    g.apply_update(merged)
        # Edges added to known runs without a new runs row (outputs named later).
        for group, is_input in ((ins, True), (outs, False)):
            for rid in [r for r in group if g.has_run(r)]:
                old = g.get_run(rid)
                assert old is not None
                if is_input:
                    more = tuple(InputRef(a, v) for o, a, v in group.pop(rid) if o >= len(old.inputs))
                    merged = dataclasses.replace(old, inputs=old.inputs + more)
                else:
                    more_o = tuple(a for o, a, _ in group.pop(rid) if o >= len(old.outputs))
                    merged = dataclasses.replace(old, outputs=old.outputs + more_o)
                if merged != old:
                    g.apply_update(merged)
        # What is left belongs to runs not visible yet.
        self._pending = {
            "run_inputs": [_rows_of(reads.get("run_inputs"), self._pending["run_inputs"], ins)],
            "run_outputs": [_rows_of(reads.get("run_outputs"), self._pending["run_outputs"], outs)],
        }
        self._marks = new_marks
        self._seen = dict(current)
        return True

    @contextmanager
    def read(self) -> Iterator[LineageGraph]:
        """Hold the lock while running pure queries on the graph (lineage's own tests and bench)."""
        with self._lock:
            yield self._graph

    @property
    def graph(self) -> LineageGraph:
        """The current graph, for lineage's own tests and benchmarks; everyone else asks the service."""
        return self._graph

    # -- queries ---------------------------------------------------------------

    def __contains__(self, node_id: object) -> bool:
        with self._lock:
            return node_id in self._graph

    def size(self) -> dict[str, int]:
        """Nodes, edges, runs and assets in the graph (for metrics)."""
        with self._lock:
            g = self._graph
            return {"nodes": g.node_count, "edges": g.edge_count, "runs": g.run_count, "assets": g.asset_count}

    def get_run(self, run_id: str) -> Run | None:
        with self._lock:
            return self._graph.get_run(run_id)

    def run_for_external_id(self, external_run_id: str) -> Run | None:
        with self._lock:
            return self._graph.run_for_external_id(external_run_id)

    def runs_for_key(self, idempotency_key: str) -> list[Run]:
        with self._lock:
            return self._graph.runs_for_key(idempotency_key)

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._graph.runs())

    def get_job(self, namespace: str, name: str) -> Job | None:
        with self._lock:
            return self._graph.get_job(namespace, name)

    def jobs(self) -> list[Job]:
        """Every job, sorted by (namespace, name)."""
        with self._lock:
            return self._graph.jobs()

    def asset_titles(self, asset_ids: Iterable[str]) -> dict[str, str]:
        """The title of each of ``asset_ids`` the graph holds (who may see a node is decided by it)."""
        with self._lock:
            g = self._graph
            found: dict[str, str] = {}
            for asset_id in asset_ids:
                info = g.asset(asset_id)
                if info is not None:
                    found[asset_id] = info.title_id
            return found

    def derivatives(self, asset_id: str) -> list[str]:
        """The assets made directly from ``asset_id`` (by the runs that read it), sorted."""
        with self._lock:
            g = self._graph
            out: set[str] = set()
            for run_id in g.consumers_of(asset_id):
                out.update(o for o in g.digraph.successors(run_id) if o.startswith("asset_"))
            return sorted(out)

    def traverse(self, root: str, direction: traversal.Direction, max_depth: int, limit: int,
                 limits: traversal.Limits, as_of: datetime | None = None,
                 untouched: AssetInfo | None = None) -> traversal.Traversal:
        """``untouched``: the info of ``root`` when it is an asset no run has touched (its lineage is itself)."""
        with self._lock:
            if as_of is not None:
                found = history.traverse_as_of(self._graph, root, direction, max_depth, limit, limits, as_of)
                if found is not None:
                    return found
            graph = self._at(as_of)
            if root not in graph and untouched is not None:
                graph = LineageGraph(assets=[untouched])
            return traversal.traverse(graph, root, direction, max_depth, limit, limits)

    def provenance(self, asset_id: str, as_of: datetime | None = None) -> tuple[list[traversal.Step], list[str]]:
        """The recipe of ``asset_id`` and its delivered sources; empty for a node lineage does not hold."""
        with self._lock:
            graph = self._at(as_of)
            if asset_id not in graph:
                return [], []
            return traversal.provenance(graph, asset_id), traversal.sources(graph, asset_id)

    def impact(self, asset_id: str) -> list[str]:
        with self._lock:
            g = self._graph
            return [a.id for a in traversal.impact(g, asset_id)] if asset_id in g else []

    def impact_groups(self, asset_id: str) -> list[tuple[str, str, list[str]]]:
        """(title id, role, asset ids) per group of the assets downstream of ``asset_id``."""
        with self._lock:
            g = self._graph
            if asset_id not in g:
                return []
            return [(x.title_id, x.role, [a.id for a in x.assets]) for x in traversal.impact_groups(g, asset_id)]

    def is_stale(self, node_id: str) -> bool:
        """False for a node lineage does not hold."""
        with self._lock:
            return node_id in self._graph and staleness.is_stale(self._graph, node_id)

    def stale_of(self, node_ids: Iterable[str]) -> frozenset[str]:
        """The stale ones among ``node_ids`` (``is_stale`` of each; a node lineage does not hold
        is not stale), under one lock acquisition: a page of reviews asks once, not per asset."""
        with self._lock:
            g = self._graph
            return frozenset(n for n in dict.fromkeys(node_ids) if n in g and staleness.is_stale(g, n))

    def asset_versions(self, asset_ids: Sequence[str]) -> list[int | None]:
        """The version lineage holds of each asset (None: not held), under one lock acquisition."""
        with self._lock:
            g = self._graph
            return [g.asset_version(a) for a in asset_ids]

    def stale_reasons(self, node_id: str) -> list[str]:
        with self._lock:
            return staleness.stale_reasons(self._graph, node_id) if node_id in self._graph else []

    def stale_assets(self, root: str | None = None) -> list[tuple[str, list[str]]]:
        """(asset id, reasons) of every stale asset, or of those at and below ``root``."""
        with self._lock:
            g = self._graph
            return [(a, staleness.stale_reasons(g, a)) for a in staleness.stale_assets(g, root)
                    if a.startswith("asset_")]

    def recompute_plan(self, node_ids: Sequence[str] | None = None) -> list[str]:
        """The runs to redo, in topological order; ``node_ids`` lineage does not hold are skipped."""
        with self._lock:
            g = self._graph
            ids = None if node_ids is None else [n for n in node_ids if n in g]
            return staleness.recompute_plan(g, ids)

    def _at(self, as_of: datetime | None) -> LineageGraph:
        return self._graph if as_of is None else history.as_of(self._graph, as_of)

    def _committed(self, versions: Versions) -> None:
        # Our own commit moves a table by exactly one version. Anything else means
        # another process committed in between: leave _seen behind so that the next
        # refresh rebuilds and picks its writes up.
        for table, version in versions.items():
            if self._seen.get(table) == version - 1:
                self._seen[table] = version
        self._writes += 1
        if self._compact_every and self._writes % self._compact_every == 0:
            for table, (before, after) in self._store.compact().items():
                if self._seen.get(table) == before:
                    self._seen[table] = after
                    # Compaction rewrote every row into new fragments: nothing new to read.
                    if table in self._marks and after != before:
                        self._marks[table] = self._store.fragment_mark(table)

    # -- writes ----------------------------------------------------------------

    def check_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> None:
        """Raise if ``run`` could not be recorded; writes nothing."""
        with self._lock:
            self._graph.check_run(run, new_assets)

    def commit_run(
        self, run: Run, job: Job | None = None, new_assets: Sequence[AssetInfo] = (),
        before_write: Callable[[], None] | None = None,
    ) -> Run:
        """Validate and record a run. ``job`` defaults to the run's job at the version it ran;
        ``before_write`` runs once the run is valid and before anything of it is written (the
        caller writes the rows of ``new_assets`` there).

        A run whose idempotency key is already recorded returns the first run and
        writes nothing.
        """
        with self._lock:
            if run.idempotency_key is not None:
                previous = self._graph.runs_for_key(run.idempotency_key)
                if previous:
                    return previous[0]
            self._graph.check_run(run, new_assets)
            if before_write is not None:
                before_write()
            job = job or Job(run.namespace, run.job_name, run.job_version)
            self._committed(self._store.write_run(run, job))
            self._graph.upsert_job(job)
            self._graph.apply_run(run, new_assets)
            return run

    def update_run(self, run: Run, new_assets: Sequence[AssetInfo] = (),
                   before_write: Callable[[], None] | None = None) -> Run:
        """A later state of an existing run, validated and merged (see ``LineageGraph.merge_update``);
        returns the merged run as stored. ``before_write`` as for ``commit_run``."""
        with self._lock:
            previous = self._graph.get_run(run.id)
            merged = self._graph.merge_update(run, new_assets)
            if before_write is not None:
                before_write()
            self._committed(self._store.update_run(merged, previous))
            self._graph.apply_update(merged, new_assets)
            return merged

    def add_outputs(self, run_id: str, output_ids: Sequence[str]) -> Run:
        """Attach segments, annotations or embeddings to the run that produced them."""
        with self._lock:
            added = self._graph.check_outputs(run_id, output_ids)
            previous = self._graph.get_run(run_id)
            assert previous is not None
            self._committed(self._store.add_outputs(run_id, added, len(previous.outputs)))
            return self._graph.add_outputs(run_id, added)

    def upsert_assets(self, infos: Iterable[AssetInfo]) -> None:
        """Tell lineage about assets the caller wrote (new ones, new versions)."""
        with self._lock:
            self._graph.upsert_assets(infos)

    def set_job_version(self, namespace: str, name: str, version: str | None) -> Job:
        with self._lock:
            if self._graph.get_job(namespace, name) is None:
                raise UnknownEntityError(f"unknown job {namespace}/{name}")
            job = Job(namespace, name, version)
            self._committed(self._store.set_job_version(job))
            return self._graph.set_job_version(namespace, name, version)

    def sweep_orphans(self, older_than: timedelta = timedelta(minutes=10)) -> int:
        with self._lock:
            return self._store.sweep_orphans(older_than)


def _trim() -> None:
    # The build frees ~0.8 GB of temporaries (Arrow reads, numpy work arrays) that glibc
    # keeps in its heap; hand them back so that RSS is what the graph holds.
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _by_run(edges: pa.Table) -> dict[str, list[tuple[int, str, int]]]:
    """Edge rows grouped by run: (ordinal, asset or output id, version), one per ordinal."""
    column = "asset_id" if "asset_id" in edges.column_names else "output_id"
    versions = edges["version"].to_pylist() if "version" in edges.column_names else [0] * edges.num_rows
    out: dict[str, dict[int, tuple[int, str, int]]] = {}
    for rid, o, a, v in zip(edges["run_id"].to_pylist(), edges["ordinal"].to_pylist(),
                            edges[column].to_pylist(), versions):
        out.setdefault(rid, {}).setdefault(o, (o, a, v))
    return {rid: sorted(rows.values()) for rid, rows in out.items()}


def _rows_of(read: pa.Table | None, pending: list[pa.Table], left: dict[str, Any]) -> pa.Table:
    parts = [t for t in pending if t.num_rows] + ([read] if read is not None else [])
    if not parts:
        return pa.table({"run_id": pa.array([], pa.string())})
    both = pa.concat_tables(parts)
    return both.filter(pc.is_in(both["run_id"], value_set=pa.array(list(left), pa.string())))
