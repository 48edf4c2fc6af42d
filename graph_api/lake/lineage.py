"""The lake's lineage: the lineage graph fed with the lake's assets, and the writes that touch
both (recordRun, OpenLineage events).

Commit order of a run: its new asset rows first (they name the run in ``produced_by``), then
the run's edges and job, then its ``runs`` row. Rows whose producing run is not visible are
hidden by ``Lake.scan`` (``Lake.run_visible``), so a crash between commits leaves nothing
half-visible; ``sweep`` deletes such orphans.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph_api.errors import InvalidArgument, MediaGraphError
from graph_api.lake import sql, versions
from graph_api.lake.lake import Lake
from graph_api.lake.runs import EachRun
from graph_api.lake.validate import Problems
from graph_api.lake.view import LakeView
from graph_api.media.kinds import media_type_for
from lineage.errors import InvalidEventError, LineageError, Problem, UnknownEntityError
from lineage.model import EMBEDDING_PREFIX, FINAL_STATUSES, RUN_STATUSES, AssetInfo, InputRef, Job, Run, new_run_id
from lineage.openlineage import OLDataset, OLRunEvent, parse_run_event
from lineage.service import Lineage
from lineage.store import LanceLineageStore
from lineage.traversal import Limits, Step, Traversal

ASSET_COLUMNS = ["id", "version", "title_id", "role", "media_type", "produced_by", "created_at", "updated_at"]
# another process's clock may lag ours: re-read a little of the past when catching up
CLOCK_MARGIN = timedelta(seconds=5)

def info_from_row(row: dict[str, Any]) -> AssetInfo:
    return AssetInfo(id=row["id"], version=row["version"], title_id=row["title_id"], role=row["role"],
                     media_type=row["media_type"], produced_by=row["produced_by"], created_at=row["created_at"])


@dataclass(frozen=True)
class RecordedRun:
    run: Run


class LakeLineage:
    def __init__(self, lake: Lake, limits: Limits) -> None:
        self.lake = lake
        # The asset feed reads through the given lake, whose run rule reads the committed runs rows:
        # through the graph's own rule a rebuild (an empty graph) would hide every derived asset.
        self._feed = lake
        self.limits = limits
        self._assets_lock = threading.Lock()
        self._assets_version = lake.table_version("assets")
        self._assets_since: datetime | None = None
        store = LanceLineageStore(lake.connection.db)
        self.service = Lineage(store, self._all_assets)
        # what ``moved`` watches: the assets table and lineage's own, as Lance datasets whose latest
        # version is the version hint and a file test each (``versions``), without a LanceDB call
        self._watched = [lake.connection.table("assets").to_lance(),
                         *(store.table(name).to_lance() for name, _ in store.table_versions())]
        self._refreshed_at: tuple[int, ...] | None = None
        # run id -> (the outputs it was computed for, the titles the run wrote into): what a
        # reader may see of a run is decided by these, and they do not depend on the reader
        self._run_titles: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}
        # from now on read through a view whose run rule is this graph's (the feed above read
        # through the given lake's, which reads the committed runs rows)
        self.lake = lake.with_runs(EachRun(self.run_exists))

    # --- the asset feed -----------------------------------------------------------
    def _all_assets(self) -> pa.Table:
        """The assets lineage needs at start: derived ones, and delivered ones some run read.

        A delivered asset no run has used yet is not in the graph (a lake of 1M delivered assets
        starts in seconds); it joins when a run reads it (``_ensure_in_graph``).
        """
        rows = self._feed.scan("assets", "is_current = TRUE", columns=ASSET_COLUMNS, title_column=None)
        if rows.num_rows:
            self._assets_since = pc.max(rows.column("updated_at")).as_py()
        used = self._input_asset_ids()
        keep = pc.or_(pc.is_valid(rows.column("produced_by")), pc.is_in(rows.column("id"), value_set=used))
        # as Arrow: lineage builds from columns without an object per asset
        return rows.filter(keep)

    def _input_asset_ids(self) -> pa.Array:
        if "run_inputs" not in self.lake.table_names():
            return pa.array([], pa.string())
        table = self.lake.db.open_table("run_inputs")
        ids = table.search().select(["asset_id"]).limit(None).to_arrow().column("asset_id")
        return pc.unique(ids.combine_chunks() if ids.num_chunks else pa.array([], pa.string()))

    def _ensure_in_graph(self, rows: Iterable[dict[str, Any]]) -> None:
        missing = [r for r in rows if r["id"] not in self.service]
        if missing:
            self.service.upsert_assets(info_from_row(r) for r in missing)

    def _known(self, node_id: str) -> bool:
        """A node id lineage may answer for: in the graph, or a visible asset no run has touched."""
        return node_id in self.service or (node_id.startswith("asset_") and
                                                 self.lake.assets.get(node_id) is not None)

    @property
    def watched_locally(self) -> bool:
        """Whether ``moved`` reads a local disk (not object storage): cheap enough to ask on the
        event loop, sparing a request its worker-thread hop when nothing moved."""
        uri = self.lake.connection.uri
        return "://" not in uri or uri.startswith("file://")

    def moved(self) -> bool:
        """Whether a table lineage follows has a commit the last ``refresh`` did not see (~0.1 ms for
        the six tables on a local lake, however many versions they keep; ``refresh`` asks LanceDB for
        five versions, each a listing of every version the retention keeps)."""
        latest = self._latest()
        return latest is None or latest != self._refreshed_at

    def _latest(self) -> tuple[int, ...] | None:
        try:
            return tuple(versions.latest_of(d) for d in self._watched)
        except Exception:  # noqa: BLE001 - a table dropped and made again, say: the full refresh will tell
            return None

    def refresh(self) -> None:
        """Catch up with writes another process made; cheap when there were none."""
        # read before catching up: a commit landing during the catch-up makes the next ``moved`` true
        latest = self._latest()
        self.service.refresh()
        # the first table ``moved`` watches is the assets table: its version without LanceDB's listing
        version = latest[0] if latest is not None else self.lake.table_version("assets")
        if version != self._assets_version:
            with self._assets_lock:
                # a refresh that held the lock meanwhile read this version or a newer one: read once
                if version > self._assets_version:
                    since = self._assets_since
                    where = "is_current = TRUE"
                    if since is not None:
                        where += (f" AND updated_at >= TIMESTAMP "
                                  f"'{(since - CLOCK_MARGIN).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
                    scanned = self._feed.scan("assets", where, columns=ASSET_COLUMNS, title_column=None)
                    self.note_assets(self._not_held(scanned).to_pylist())
                    if scanned.num_rows:
                        newest = pc.max(scanned.column("updated_at")).as_py()
                        if self._assets_since is None or newest > self._assets_since:
                            self._assets_since = newest
                    self._assets_version = version
        self._refreshed_at = latest

    def _not_held(self, rows: pa.Table) -> pa.Table:
        """The asset rows lineage does not hold at their version. A version's row never changes, and
        this process's own writes were noted as it made them, so after them (the clock margin re-reads
        seconds of writes) only another process's rows are left to turn into Python objects."""
        if rows.num_rows == 0:
            return rows
        held = pa.array(self.service.asset_versions(rows.column("id").to_pylist()), pa.int64())
        fresh = pc.fill_null(pc.not_equal(held, rows.column("version").cast(pa.int64())), True)
        return rows.filter(fresh)

    def note_assets(self, rows: Sequence[dict[str, Any]]) -> None:
        """Tell lineage about asset rows just written (new assets, new versions)."""
        current = [r for r in rows if r.get("is_current", True)]
        if not current:
            return
        self.service.upsert_assets(info_from_row(r) for r in current)
        newest = max(r["updated_at"] for r in current)
        if self._assets_since is None or newest > self._assets_since:
            self._assets_since = newest

    # --- reads ----------------------------------------------------------------------
    def run_exists(self, run_id: str) -> bool:
        return self.service.get_run(run_id) is not None

    def get_run(self, run_id: str) -> Run | None:
        return self.service.get_run(run_id)

    def run_for_external_id(self, external_run_id: str) -> Run | None:
        return self.service.run_for_external_id(external_run_id)

    def job(self, namespace: str, name: str) -> Job | None:
        return self.service.get_job(namespace, name)

    def jobs(self) -> list[Job]:
        return self.service.jobs()

    def runs(self) -> list[Run]:
        return self.service.runs()

    def derivatives(self, asset_id: str) -> list[str]:
        return self.service.derivatives(asset_id)

    def is_stale(self, node_id: str) -> bool:
        return self.service.is_stale(node_id)

    def stale_of(self, node_ids: Iterable[str]) -> frozenset[str]:
        return self.service.stale_of(node_ids)

    def stale_reasons(self, node_id: str) -> list[str]:
        return self.service.stale_reasons(node_id)

    def size(self) -> dict[str, int]:
        return self.service.size()

    def run_titles(self, runs: Sequence[Run]) -> dict[str, frozenset[str]]:
        """The titles each run wrote into (of its outputs; of its inputs while it has none): a run is
        part of those titles, so a reader who may not see one of them may not see the run.

        Asset titles come from the graph; those of segment, annotation and embedding outputs from one
        read per kind over the runs not seen before (kept until a run's outputs change)."""
        found: dict[str, frozenset[str]] = {}
        todo: list[Run] = []
        for run in runs:
            cached = self._run_titles.get(run.id)
            if cached is not None and cached[0] == run.outputs:
                found[run.id] = cached[1]
            else:
                todo.append(run)
        if not todo:
            return found
        members = {run.id: list(run.outputs) or [ref.asset_id for ref in run.inputs] for run in todo}
        titles = self.node_titles([n for ids in members.values() for n in ids])
        for run in todo:
            value = frozenset(titles[n] for n in members[run.id] if n in titles)
            self._run_titles[run.id] = (run.outputs, value)
            found[run.id] = value
        return found

    def node_titles(self, node_ids: Sequence[str]) -> dict[str, str]:
        """The title of each asset, segment, annotation or embedding id that exists (read past access)."""
        subjects = {n: n.split(":", 2)[2] if n.startswith(EMBEDDING_PREFIX) else n for n in dict.fromkeys(node_ids)}
        wanted = set(subjects.values())
        titles = self.service.asset_titles(n for n in wanted if n.startswith("asset_"))
        missing = [n for n in wanted if n.startswith("asset_") and n not in titles]
        for repo, ids in ((self._feed.assets, missing), (self._feed.segments, [n for n in wanted if n.startswith("seg_")]),
                          (self._feed.annotations, [n for n in wanted if n.startswith("ann_")])):
            if ids:
                titles.update({k: r["title_id"] for k, r in repo.get_many(ids).items()})
        return {n: titles[s] for n, s in subjects.items() if s in titles}

    # --- writes ---------------------------------------------------------------------
    def record_run(self, spec: dict[str, Any], view: LakeView | None = None) -> RecordedRun:
        """Record a run from a RunInput-shaped dict: its new output assets, edges, job and run row.

        ``view``: the writer's; inputs and output titles it may not see are unknown to it."""
        lake = self.lake
        seen = view if view is not None else lake
        with lake.write_lock:
            key = spec.get("idempotency_key")
            if key:
                earlier = self.service.runs_for_key(key)
                if earlier:
                    return RecordedRun(earlier[0])
            job = spec.get("job") or {}
            input_ids = list(spec.get("inputs") or [])
            found = seen.assets.get_many(input_ids)
            self._ensure_in_graph(found.values())
            run_id = new_run_id()
            outputs = list(spec.get("outputs") or [])
            # What only the lake can tell (inputs it does not hold, output rows it refuses) is
            # reported with lineage's problems of the run, in one error.
            lake_problems: list[dict[str, Any]] = [
                {"index": i, "field": "inputs", "message": f"unknown input asset {a!r}", "code": "NOT_FOUND"}
                for i, a in enumerate(input_ids) if a not in found]
            prepared = None
            try:
                prepared = seen.assets.prepare(outputs, produced_by=run_id, what="recordRun") if outputs else None
            except MediaGraphError as exc:
                if not exc.details.get("problems"):
                    raise
                lake_problems += exc.details["problems"]
            new_assets = [info_from_row(r) for r in (prepared.results if prepared else [])]
            run = Run(
                id=run_id, namespace=_text(job.get("namespace")), job_name=_text(job.get("name")),
                job_version=job.get("version"), status=spec.get("status") or "COMPLETED",
                parameters=spec.get("parameters"), started_at=_utc(spec.get("started_at")),
                ended_at=_utc(spec.get("ended_at")), recorded_at=datetime.now(UTC),
                # an unknown input has no version: lineage reports it as unknown
                inputs=tuple(InputRef(a, found[a]["version"] if a in found else 1) for a in input_ids),
                outputs=tuple(a.id for a in new_assets), idempotency_key=key,
            )
            current = self.job(run.namespace, run.job_name)
            job_row = Job(run.namespace, run.job_name, run.job_version if run.job_version is not None
                          else (current.version if current else None))

            def write() -> None:
                if lake_problems:
                    _refuse([], lake_problems, lake.max_batch)
                if prepared is not None:
                    lake.assets.write(prepared)

            try:
                self.service.commit_run(run, job_row, new_assets, before_write=write)
            except LineageError as exc:
                if not exc.problems or any(p.code not in PROBLEM_CODES for p in exc.problems):
                    raise  # a cycle keeps its own code
                _refuse(exc.problems, lake_problems, lake.max_batch)
            if prepared is not None:
                self.note_assets(prepared.results)
            return RecordedRun(run)

    def finish_run(self, run_id: str, status: str, outputs: Sequence[dict[str, Any]] = (),
                   ended_at: datetime | None = None, parameters: dict[str, Any] | None = None) -> Run:
        """End a run recorded as RUNNING: register its output assets and set its final status.

        Long work records its run first (RUNNING, no outputs), then finishes it: an interrupted
        run ends FAILED or ABORTED with nothing registered.
        """
        lake = self.lake
        with lake.write_lock:
            run = self.get_run(run_id)
            if run is None:
                raise UnknownEntityError(f"unknown run {run_id}")
            if status not in FINAL_STATUSES:
                raise InvalidArgument(f"a run ends {', '.join(s for s in RUN_STATUSES if s in FINAL_STATUSES)}, "
                                      f"not {status!r}")
            outputs = list(outputs)
            prepared = lake.assets.prepare(outputs, produced_by=run_id, what=f"run {run_id}") if outputs else None
            new_assets = [info_from_row(r) for r in (prepared.results if prepared else [])]
            finished = Run(
                id=run.id, namespace=run.namespace, job_name=run.job_name, job_version=run.job_version,
                status=status, parameters=parameters if parameters is not None else run.parameters,
                started_at=run.started_at, ended_at=_utc(ended_at) or datetime.now(UTC),
                recorded_at=run.recorded_at, inputs=run.inputs,
                outputs=run.outputs + tuple(a.id for a in new_assets if a.id not in run.outputs),
                idempotency_key=run.idempotency_key, external_run_id=run.external_run_id,
            )
            finished = self.service.update_run(finished, new_assets, before_write=_writer(lake, prepared))
            if prepared is not None:
                self.note_assets(prepared.results)
            return finished

    def attach_outputs(self, run_id: str, output_ids: Sequence[str]) -> None:
        """Segments, annotations or embeddings that name the run that produced them."""
        if output_ids:
            self.service.add_outputs(run_id, list(output_ids))

    def set_job_version(self, namespace: str, name: str, version: str | None) -> Job:
        return self.service.set_job_version(namespace, name, version)

    # --- OpenLineage -----------------------------------------------------------------
    def ingest_event(self, payload: Any, view: LakeView | None = None) -> Run:
        """Apply one OpenLineage RunEvent: START creates the run, COMPLETE/FAIL/ABORT update it.

        ``view``: the sender's; a dataset, title or run it may not see is unknown to it."""
        event = parse_run_event(payload)
        lake = self.lake
        seen = view if view is not None else lake
        with lake.write_lock:
            inputs = self._assets_by_uri(seen, event.inputs, must_exist=True)
            self._ensure_in_graph(inputs.values())
            existing = self.service.run_for_external_id(event.run_id)
            if existing is not None and view is not None and not self._sees_run(view, existing):
                raise UnknownEntityError(f"unknown run {event.run_id}")
            outputs = self._assets_by_uri(seen, event.outputs, must_exist=False)
            if view is not None:
                # an output the sender may not see exists for others: it must not be written again
                hidden = set(self._assets_by_uri(lake, event.outputs, must_exist=False)) - set(outputs)
                if hidden:
                    raise UnknownEntityError(f"unknown output dataset (asset uri {sorted(hidden)[0]})")
            run_id = existing.id if existing else new_run_id()
            title_id = self._title_for(seen, event, inputs, existing)
            to_register = [self._output_row(d, title_id) for d in event.outputs if d.uri not in outputs]
            prepared = seen.assets.prepare(to_register, produced_by=run_id, what="OpenLineage event") \
                if to_register else None
            new_assets = [info_from_row(r) for r in (prepared.results if prepared else [])]
            output_ids = [outputs[d.uri]["id"] if d.uri in outputs else None for d in event.outputs]
            fresh = iter(a.id for a in new_assets)
            new_ids: list[str] = [o or next(fresh) for o in output_ids]
            # OTHER (metadata only) keeps the status the run has
            status = event.status or (existing.status if existing else RUN_STATUSES[0])
            started = existing.started_at if existing and existing.started_at else (
                event.event_time if event.status == RUN_STATUSES[0] else None)
            ended = event.event_time if status in FINAL_STATUSES else None
            run = Run(
                id=run_id, namespace=event.job_namespace, job_name=event.job_name,
                job_version=event.job_version or (existing.job_version if existing else None), status=status,
                parameters=event.parameters if event.parameters is not None else (
                    existing.parameters if existing else None),
                started_at=started, ended_at=ended, recorded_at=datetime.now(UTC),
                inputs=tuple(InputRef(r["id"], r["version"]) for r in inputs.values()),
                outputs=tuple(new_ids), external_run_id=event.run_id,
            )
            write = _writer(lake, prepared)
            if existing:
                run = self.service.update_run(run, new_assets, before_write=write)
            else:
                run = self.service.commit_run(run, None, new_assets, before_write=write)
            if prepared is not None:
                self.note_assets(prepared.results)
            return run

    def _sees_run(self, view: LakeView, run: Run) -> bool:
        return all(view.sees_title(t) for t in self.run_titles([run])[run.id])

    def _assets_by_uri(self, seen: LakeView, datasets: Sequence[OLDataset],
                       must_exist: bool) -> dict[str, dict[str, Any]]:
        uris = [d.uri for d in datasets]
        rows = seen.scan("assets", sql.all_of("is_current = TRUE", sql.is_in("uri", uris))).to_pylist() \
            if uris else []
        found = {r["uri"]: r for r in rows}
        if must_exist:
            for d in datasets:
                if d.uri not in found:
                    raise UnknownEntityError(f"unknown input dataset {d.namespace}/{d.name} (asset uri {d.uri}): "
                                             "register it before a run reads it")
        return found

    def _title_for(self, seen: LakeView, event: OLRunEvent, inputs: dict[str, dict[str, Any]],
                   existing: Run | None) -> str | None:
        for d in event.outputs:
            facet = d.facets.get("mediagraph_title") or {}
            if facet.get("titleId"):
                if seen.titles.get(facet["titleId"]) is None:
                    raise InvalidEventError(f"the mediagraph_title facet of {d.namespace}/{d.name} names unknown "
                                            f"title {facet['titleId']!r}")
                return facet["titleId"]
        titles = sorted({r["title_id"] for r in inputs.values()})
        if titles:
            return titles[0]
        if existing and existing.inputs:
            asset = seen.assets.get(existing.inputs[0].asset_id)
            return asset["title_id"] if asset else None
        return None

    def _output_row(self, dataset: OLDataset, title_id: str | None) -> dict[str, Any]:
        if title_id is None:
            raise InvalidEventError(f"cannot tell which title output {dataset.namespace}/{dataset.name} belongs to: "
                                    "the run has no inputs and no mediagraph_title facet names one")
        facet = dataset.facets.get("mediagraph_asset") or {}
        media_type = facet.get("mediaType") or media_type_for(dataset.uri)
        if media_type is None:
            raise InvalidEventError(f"cannot tell the media type of output {dataset.namespace}/{dataset.name} from "
                                    "its extension: name it in a mediagraph_asset facet (mediaType)")
        return {"title_id": title_id, "media_type": media_type, "role": facet.get("role") or "derived",
                "uri": dataset.uri, "checksum": facet.get("checksum"), "size_bytes": facet.get("sizeBytes")}

    # --- queries: the lineage service answers, under its lock ---------------------------------
    def traverse(self, root: str, direction: str, max_depth: int, limit: int,
                 as_of: datetime | None = None) -> Traversal:
        untouched = None
        if root not in self.service and self._known(root):
            # an asset no run has touched: its lineage is itself (bounds are still checked)
            row = self.lake.assets.get(root)
            untouched = info_from_row(row) if row else None
        return self.service.traverse(root, direction, max_depth, limit,  # type: ignore[arg-type]
                                     self.limits, as_of, untouched)

    def provenance(self, asset_id: str, as_of: datetime | None = None) -> tuple[list[Step], list[str]]:
        return self.service.provenance(asset_id, as_of)

    def impact(self, asset_id: str) -> list[str]:
        return self.service.impact(asset_id)

    def impact_groups(self, asset_id: str) -> list[tuple[str, str, list[str]]]:
        return self.service.impact_groups(asset_id)

    def stale_assets(self, root: str | None = None) -> list[tuple[str, list[str]]]:
        if root is not None and root not in self.service:
            if self._known(root):
                return []
            raise UnknownEntityError(f"unknown lineage node {root}")
        return self.service.stale_assets(root)

    def recompute_plan(self, asset_ids: Sequence[str] | None = None) -> list[str]:
        for a in asset_ids or []:
            if not self._known(a):
                raise UnknownEntityError(f"unknown asset {a}")
        return self.service.recompute_plan(asset_ids)

    # --- maintenance --------------------------------------------------------------------
    def sweep(self, older_than: timedelta = timedelta(minutes=10)) -> dict[str, int]:
        """Delete what crashed writes left invisible: run edges without a run, assets of unknown runs."""
        edges = self.service.sweep_orphans(older_than)
        cutoff = (datetime.now(UTC) - older_than).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = self.lake.scan("assets", f"produced_by IS NOT NULL AND created_at < TIMESTAMP '{cutoff}'",
                              columns=["id", "version", "produced_by"], title_column=None, include_invisible=True)
        orphans = [(r["id"], r["version"]) for r in rows.to_pylist() if not self.run_exists(r["produced_by"])]
        if orphans:
            self.lake.delete("assets", " OR ".join(f"(id = {sql.literal(i)} AND version = {v})" for i, v in orphans))
        return {"run_edges": edges, "assets": len(orphans)}


# codes a batch's extensions.problems can carry (graph_api.lake.validate)
PROBLEM_CODES = frozenset({"INVALID_ARGUMENT", "NOT_FOUND", "CONFLICT"})


def _refuse(problems: Sequence[Problem], more: Sequence[dict[str, Any]], max_batch: int | None) -> None:
    """Raise lineage's problems of a recordRun (and the lake's, of its outputs) as one batch error."""
    batch = Problems("recordRun", max_batch)
    for p in problems:
        field, _, index = p.path.partition("[")
        batch.add(int(index.rstrip("]")) if index else None, field, p.message, p.code)
    seen = {(p["index"], p["field"], p["code"]) for p in batch.items}
    batch.items.extend(p for p in more if (p["index"], p["field"], p["code"]) not in seen)
    batch.raise_if_any()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _writer(lake: Lake, prepared: Any) -> Callable[[], None] | None:
    """Writes a run's new asset rows once lineage has found the run valid (they name the run)."""
    if prepared is None:
        return None
    return lambda: lake.assets.write(prepared)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def open_lineage(lake: Lake, settings: Any) -> LakeLineage:
    return LakeLineage(lake, Limits(max_depth=settings.lineage_max_depth, max_nodes=settings.lineage_max_nodes))


__all__ = ["LakeLineage", "RecordedRun", "open_lineage"]
