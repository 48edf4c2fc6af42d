"""The lineage facade the GraphQL layer talks to: one graph, one store, one lock.

Writes are validated against the graph before anything is written, then written
to the store (runs row last), then applied to the graph. ``refresh`` notices
commits made by another process from the Lance table versions and rebuilds.
Reads take the same lock: networkx dicts must not change under a traversal.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from lineage.errors import UnknownEntityError
from lineage.graph import LineageGraph
from lineage.model import AssetInfo, Job, Run
from lineage.store import LineageStore, Versions


class Lineage:
    def __init__(
        self,
        store: LineageStore,
        assets: Callable[[], Iterable[AssetInfo]],
        *,
        assets_version: Callable[[], object] | None = None,
        compact_every: int = 200,
    ) -> None:
        """``assets`` lists every asset's current info (read on every rebuild);
        ``assets_version``, when given, makes ``refresh`` also notice assets that
        another process wrote (e.g. the assets table's Lance version)."""
        self._store = store
        self._assets = assets
        self._assets_version = assets_version
        self._compact_every = compact_every
        self._writes = 0
        self._lock = threading.RLock()
        self._seen: dict[str, int] = {}
        self._seen_assets: object = None
        self._graph = LineageGraph()
        self.rebuild()

    # -- graph lifecycle -----------------------------------------------------

    def rebuild(self) -> None:
        with self._lock:
            # Versions are read before loading: a commit that lands during the load
            # leaves them behind, and the next refresh simply rebuilds again.
            seen = dict(self._store.table_versions())
            seen_assets = self._assets_version() if self._assets_version else None
            self._graph = LineageGraph()  # let the old graph go before building the new
            gc.disable()
            try:
                # Building allocates millions of containers; with the collector on,
                # each of its generation-2 passes rescans all of them (~2x load time).
                jobs, runs = self._store.load()
                self._graph = LineageGraph(jobs, runs, self._assets())
                del jobs, runs
            finally:
                gc.enable()
            gc.collect()
            # Move the graph out of the collector's sight: it never forms reference
            # cycles worth collecting, and a full pass over it would stall a request.
            gc.freeze()
            self._seen = seen
            self._seen_assets = seen_assets

    def refresh(self) -> bool:
        """Rebuild if another process wrote; True when it did. Cheap otherwise."""
        with self._lock:
            current = dict(self._store.table_versions())
            assets_now = self._assets_version() if self._assets_version else None
            if current == self._seen and assets_now == self._seen_assets:
                return False
            if current == self._seen:
                # Only assets moved: refresh their infos, the edges are unchanged.
                self._graph.upsert_assets(self._assets())
                self._seen_assets = assets_now
                return True
            self.rebuild()
            return True

    @contextmanager
    def read(self) -> Iterator[LineageGraph]:
        """Hold the lock while running pure queries on the graph."""
        with self._lock:
            yield self._graph

    @property
    def graph(self) -> LineageGraph:
        """The current graph, for callers that hold ``read()`` or run single-threaded."""
        return self._graph

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

    # -- writes ----------------------------------------------------------------

    def check_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> None:
        """Validate a run before the caller writes its asset rows."""
        with self._lock:
            self._graph.check_run(run, new_assets)

    def commit_run(
        self, run: Run, job: Job | None = None, new_assets: Sequence[AssetInfo] = ()
    ) -> Run:
        """Record a validated run. ``job`` defaults to the run's job at the version it ran.

        A run whose idempotency key is already recorded returns the first run and
        writes nothing.
        """
        with self._lock:
            if run.idempotency_key is not None:
                previous = self._graph.runs_for_key(run.idempotency_key)
                if previous:
                    return previous[0]
            self._graph.check_run(run, new_assets)
            job = job or Job(run.namespace, run.job_name, run.job_version)
            self._committed(self._store.write_run(run, job))
            self._graph.upsert_job(job)
            self._graph.add_run(run, new_assets)
            return run

    def update_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> Run:
        """A later state of an existing run; returns the merged run as stored."""
        with self._lock:
            previous = self._graph.get_run(run.id)
            merged = self._graph.merge_update(run, new_assets)
            self._committed(self._store.update_run(merged, previous))
            return self._graph.update_run(merged, new_assets)

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
