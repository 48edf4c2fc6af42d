"""Prometheus metrics for ``/metrics``.

Counted as requests happen: GraphQL requests and latency per operation name, errors per
``extensions.code``, HTTP requests per route and status, persisted-query outcomes, and the
lake's reads and writes per table (copied from ``Lake.counters``, which counts below the GraphQL
layer). Measured when scraped: fragments and rows per table and the lineage graph's size.

With ``--workers N`` each worker writes its counters to ``PROMETHEUS_MULTIPROC_DIR`` (the CLI
sets it) and a scrape, whichever worker answers it, adds them all up.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# the *_created series double the output and no dashboard here reads them
disable_created_metrics()

# operation names come from clients: beyond this many distinct ones, the rest count as "other"
MAX_OPERATION_NAMES = 500
# table stats open every table: at most once per this many seconds
STATS_TTL_SECONDS = 15.0
ROUTES = ("/graphql", "/metrics", "/healthz", "/api/v1/lineage", "/static")


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Metrics:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("mediagraph_graphql_requests", "GraphQL requests by operation name and type",
                                ["operation", "type"], registry=r)
        self.latency = Histogram("mediagraph_graphql_request_duration_seconds",
                                 "GraphQL request latency by operation name", ["operation"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.errors = Counter("mediagraph_graphql_errors", "GraphQL errors by operation name and extensions.code",
                              ["operation", "code"], registry=r)
        self.http = Counter("mediagraph_http_requests", "HTTP requests by route and status",
                            ["route", "method", "status"], registry=r)
        self.persisted = Counter("mediagraph_persisted_queries", "persisted query lookups by outcome",
                                 ["outcome"], registry=r)
        self.lake_reads = Counter("mediagraph_lake_reads", "lake scans by table", ["table"], registry=r)
        self.lake_writes = Counter("mediagraph_lake_writes", "lake write commits by table", ["table"], registry=r)
        self.lake_rows_written = Counter("mediagraph_lake_rows_written", "rows written to the lake", registry=r)
        self.lake_compactions = Counter("mediagraph_lake_compactions", "automatic table compactions", registry=r)
        self.lake_conflict_retries = Counter("mediagraph_lake_commit_conflict_retries", "lake commits that conflicted with "
                                           "another writer's and were retried after a backoff", registry=r)
        self._names: set[str] = set()
        self._synced: dict[str, Any] = {"reads": {}, "writes": {}, "rows": 0, "compactions": 0, "conflict_retries": 0}
        self._sync_lock = threading.Lock()
        self._gauges = LakeGauges(services)

    def operation_label(self, name: str) -> str:
        if name in self._names:
            return name
        if len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    def observe_operation(self, name: str, kind: str, seconds: float, codes: Iterable[str]) -> None:
        label = self.operation_label(name)
        self.requests.labels(label, kind).inc()
        self.latency.labels(label).observe(seconds)
        for code in codes:
            self.errors.labels(label, code).inc()

    def observe_http(self, path: str, method: str, status: int) -> None:
        route = next((r for r in ROUTES if path == r or path.startswith(r + "/")), "other")
        self.http.labels(route, method, str(status)).inc()

    def sync_lake(self) -> None:
        """Copy what Lake.counters counted since the last call into the Prometheus counters."""
        counters = self.services.lake.counters
        with self._sync_lock:
            seen = self._synced
            for kind, current, metric in (("reads", dict(counters.by_table), self.lake_reads),
                                          ("writes", dict(counters.writes_by_table), self.lake_writes)):
                for table, count in current.items():
                    delta = count - seen[kind].get(table, 0)
                    if delta > 0:
                        metric.labels(table).inc(delta)
                seen[kind] = current
            for key, value, metric in (("rows", counters.rows_written, self.lake_rows_written),
                                       ("compactions", counters.compactions, self.lake_compactions),
                                       ("conflict_retries", counters.conflict_retries, self.lake_conflict_retries)):
                if value > seen[key]:
                    metric.inc(value - seen[key])
                    seen[key] = value

    def render(self) -> tuple[bytes, str]:
        self.sync_lake()
        if multiprocess():
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
        else:
            registry = CollectorRegistry()
            registry.register(_Forward(self.registry))
        registry.register(self._gauges)
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Any]:
        return self.registry.collect()


class LakeGauges(Collector):
    """Measured at scrape time, from the lake itself: the same whichever worker answers."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self._cached: tuple[float, dict[str, dict[str, Any]]] = (0.0, {})
        self._lock = threading.Lock()

    def _table_stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            at, stats = self._cached
            if time.monotonic() - at < STATS_TTL_SECONDS:
                return stats
            lake = self.services.lake
            stats = {}
            for name in lake.table_names():
                try:
                    table = lake.table(name)
                    s = table.stats()
                    stats[name] = {"rows": s["num_rows"], "fragments": s["fragment_stats"]["num_fragments"],
                                   "small": s["fragment_stats"]["num_small_fragments"]}
                except Exception:  # noqa: BLE001 - a table that vanished mid-scrape is skipped
                    log.debug("no stats for table %s", name, exc_info=True)
            self._cached = (time.monotonic(), stats)
            return stats

    def collect(self) -> Iterable[Any]:
        fragments = GaugeMetricFamily("mediagraph_lake_fragments", "Lance fragments per table", labels=["table"])
        small = GaugeMetricFamily("mediagraph_lake_small_fragments", "small Lance fragments per table "
                                  "(compaction folds them)", labels=["table"])
        rows = GaugeMetricFamily("mediagraph_lake_rows", "rows per table", labels=["table"])
        try:
            stats = self._table_stats()
        except Exception:  # noqa: BLE001 - an unreachable lake must not break the scrape
            log.warning("lake stats unavailable for /metrics", exc_info=True)
            stats = {}
        for name, s in sorted(stats.items()):
            fragments.add_metric([name], s["fragments"])
            small.add_metric([name], s["small"])
            rows.add_metric([name], s["rows"])
        yield from (fragments, small, rows)
        lineage = self.services.lineage
        if lineage is None:
            return
        try:
            sizes = lineage.size()
        except Exception:  # noqa: BLE001 - lineage's shape may change under us; report what we can
            log.debug("lineage size unavailable", exc_info=True)
            return
        for what, value in sizes.items():
            gauge = GaugeMetricFamily(f"mediagraph_lineage_{what}", f"{what} in the lineage graph")
            gauge.add_metric([], value)
            yield gauge
