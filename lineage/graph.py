"""The in-memory lineage graph: a networkx DiGraph asset -> run -> output, plus side tables.

Nodes are ids; the kind comes from the id prefix (``run_`` or anything else). Runs,
jobs and asset infos live in side tables, not as node attributes. A graph loaded in
bulk (``from_tables``) keeps runs and asset infos as columns (``lineage.columns``) and
makes records on demand; whatever is written afterwards is held as records. Every
mutation is validated first and applied only when valid, so a rejected write changes
nothing.

Beside the graph sit the *directly stale* runs (a job at another version, an input
with a newer version), kept up to date by every write, so that staleness queries are
set lookups plus a walk instead of a check of every run they pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa

from lineage.adjacency import CompactDiGraph, add_node, link, unlink
from lineage.bulk import REPLACEABLE_PREFIXES, Parts, build, job_mismatch
from lineage.columns import AssetTable, RunTable
from lineage.errors import (
    CONFLICT,
    CYCLE,
    INVALID,
    NOT_FOUND,
    Problem,
    UnknownEntityError,
    run_error,
)
from lineage.index import NodeIndex
from lineage.model import (
    RUN_PREFIX,
    RUN_STATUSES,
    STATUSES,
    AssetInfo,
    InputRef,
    Job,
    Run,
    node_kind,
)

__all__ = ["CompactDiGraph", "LineageGraph", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(ts: datetime) -> int:
    """Microseconds since the epoch (a naive time is UTC), as the bulk-loaded run times are held."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - _EPOCH) // timedelta(microseconds=1)


class LineageGraph:
    """Jobs, runs and asset infos, and the DiGraph that links them."""

    def __init__(
        self,
        jobs: Iterable[Job] = (),
        runs: Iterable[Run] = (),
        assets: Iterable[AssetInfo] = (),
    ) -> None:
        self._g = CompactDiGraph()
        self._jobs: dict[tuple[str, str], Job] = {(j.namespace, j.name): j for j in jobs}
        # id -> a row of the bulk-loaded table (int) or the record itself
        self._assets: dict[str, int | AssetInfo] = {a.id: a for a in assets}
        self._runs: dict[str, int | Run] = {}
        self._rt: RunTable | None = None
        self._at: AssetTable | None = None
        self._superseded: np.ndarray = np.zeros(0, dtype=bool)  # rows now held as records
        self._by_key: dict[str, list[str]] = {}
        self._by_external: dict[str, str] = {}
        self._job_records: dict[tuple[str, str], set[str]] = {}  # record-held runs by job
        # Directly stale runs, by cause; a run is stale iff it or an ancestor run is in either.
        self._stale_job: set[str] = set()
        self._stale_input: set[str] = set()
        # Runs with several inputs: the only ones a subtree can reach while an input comes from outside.
        self._multi_input: set[str] = set()
        # Runs replaced by a later COMPLETED run of the same job over the same input assets: their
        # segments, annotations and embeddings were made again by that run. A replaced run that
        # produces nothing any more (its assets moved on to newer versions) is never stale.
        self._replaced: set[str] = set()
        self._index: NodeIndex | None = None  # built by from_tables
        self._run_node: np.ndarray = np.zeros(0, dtype=np.int64)  # loaded row -> node code
        runs = list(runs)
        for run in runs:
            self._hold(run)
        g = self._g
        for aid in self._assets:
            add_node(g, aid)
        for run in runs:
            add_node(g, run.id)
            for ref in run.inputs:
                link(g, ref.asset_id, run.id)
            for out in run.outputs:
                # a newer version of this asset was derived by another run: that run produces it now
                info = self.asset(out)
                if info is None or info.produced_by in (None, run.id):
                    link(g, run.id, out)
                else:
                    add_node(g, out)
        self._supersede_all(runs)
        for run in runs:
            self._restale(run)

    @classmethod
    def from_tables(
        cls,
        jobs: Iterable[Job],
        runs: pa.Table,
        inputs: pa.Table,
        outputs: pa.Table,
        assets: pa.Table | Iterable[AssetInfo],
        unseen: list[np.ndarray] | None = None,
    ) -> LineageGraph:
        """Build in bulk from the store's Arrow tables (``lineage.store`` schemas) and the
        assets (an Arrow table with AssetInfo's fields, or AssetInfo records).

        Edge rows whose run row is absent are ignored (a crash between commits); a
        repeated (run, ordinal) keeps its first row. The result equals the graph built
        from the same records. ``unseen``, when given, receives the indices of the
        ignored input and output rows.
        """
        jobs = list(jobs)
        parts = build({(j.namespace, j.name): j for j in jobs}, runs, inputs, outputs, assets, unseen)
        return cls.from_parts(jobs, parts)

    @classmethod
    def from_parts(cls, jobs: Iterable[Job], parts: Parts) -> LineageGraph:
        """Hold what ``lineage.bulk.build`` made (built for these jobs)."""
        self = cls(jobs)
        self._g = parts.digraph
        self._index = parts.index
        self._rt = parts.runs
        self._at = parts.assets
        self._runs = dict(parts.run_rows)
        self._assets = dict(parts.asset_rows)
        self._superseded = np.zeros(parts.runs.n, dtype=bool)
        self._by_key = parts.by_key
        self._by_external = parts.by_external
        self._stale_job = parts.stale_job
        self._stale_input = parts.stale_input
        self._multi_input = parts.multi_input
        self._replaced = parts.replaced
        self._run_node = parts.run_node
        return self

    # -- reads -------------------------------------------------------------

    @property
    def digraph(self) -> nx.DiGraph:
        """The underlying DiGraph; treat it as read-only."""
        return self._g

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._g._node

    def get_run(self, run_id: str) -> Run | None:
        r = self._runs.get(run_id)
        if r is None or type(r) is Run:
            return r
        return self._rt.run(r)  # type: ignore[union-attr, arg-type]

    def runs(self) -> Iterator[Run]:
        rt = self._rt
        for r in self._runs.values():
            yield r if type(r) is Run else rt.run(r)  # type: ignore[union-attr, arg-type]

    def has_run(self, run_id: str) -> bool:
        return run_id in self._runs

    def get_job(self, namespace: str, name: str) -> Job | None:
        return self._jobs.get((namespace, name))

    def jobs(self) -> list[Job]:
        return [self._jobs[k] for k in sorted(self._jobs)]

    def runs_for_key(self, idempotency_key: str) -> list[Run]:
        return [self.get_run(r) for r in self._by_key.get(idempotency_key, ())]  # type: ignore[misc]

    def run_for_external_id(self, external_run_id: str) -> Run | None:
        rid = self._by_external.get(external_run_id)
        return None if rid is None else self.get_run(rid)

    def asset(self, asset_id: str) -> AssetInfo | None:
        a = self._assets.get(asset_id)
        if a is None or type(a) is AssetInfo:
            return a
        return self._at.asset(a)  # type: ignore[union-attr, arg-type]

    def asset_version(self, asset_id: str) -> int | None:
        a = self._assets.get(asset_id)
        if a is None:
            return None
        if type(a) is AssetInfo:
            return a.version
        return self._at.version[a]  # type: ignore[union-attr, index]

    def assets(self) -> Iterator[AssetInfo]:
        at = self._at
        for a in self._assets.values():
            yield a if type(a) is AssetInfo else at.asset(a)  # type: ignore[union-attr, arg-type]

    def asset_ids(self) -> Any:
        """The ids lineage holds an AssetInfo for (a set-like view)."""
        return self._assets.keys()

    def run_inputs(self, run_id: str) -> list[tuple[str, int]]:
        """(asset id, version used) of a run's inputs, without building the Run."""
        r = self._runs.get(run_id)
        if r is None:
            return []
        if type(r) is Run:
            return [(ref.asset_id, ref.version) for ref in r.inputs]
        return self._rt.inputs(r)  # type: ignore[union-attr, arg-type]

    def producer_of(self, node_id: str) -> str | None:
        pred = self._g._pred.get(node_id)
        if not pred or node_id.startswith(RUN_PREFIX):
            return None
        return next(iter(pred))

    def consumers_of(self, asset_id: str) -> list[str]:
        """Runs that read this asset, sorted."""
        succ = self._g._succ.get(asset_id)
        if succ is None or asset_id.startswith(RUN_PREFIX):
            return []
        return sorted(succ)

    def directly_stale(self, run_id: str) -> bool:
        """The run itself is out of date: its job moved on, or an input has a newer version."""
        return run_id in self._stale_job or run_id in self._stale_input

    def recorded_at_micros(self, run_id: str) -> int | None:
        """When the run was recorded, in microseconds since the epoch (None: not a run here)."""
        r = self._runs.get(run_id)
        if r is None:
            return None
        if type(r) is Run:
            return to_micros(r.recorded_at)
        return int(self._rt.recorded[r])  # type: ignore[union-attr, index]

    def is_replaced(self, run_id: str) -> bool:
        """A later COMPLETED run of the same job over the same input assets replaced this run."""
        return run_id in self._replaced

    def is_retired(self, run_id: str) -> bool:
        """Replaced, and producing nothing any more: there is nothing left to recompute."""
        return run_id in self._replaced and not self._g._succ.get(run_id)

    @property
    def node_count(self) -> int:
        return self._g.number_of_nodes()

    @property
    def edge_count(self) -> int:
        return sum(map(len, self._g._succ.values()))

    @property
    def run_count(self) -> int:
        return len(self._runs)

    @property
    def asset_count(self) -> int:
        return len(self._assets)

    # -- validation --------------------------------------------------------

    def check_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> None:
        """Raise if ``run`` could not be added (the error lists every problem); never changes anything."""
        problems = self.run_problems(run, new_assets)
        if problems:
            raise run_error(run.id, problems)

    def run_problems(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> list[Problem]:
        """Every reason ``run`` could not be added, as (path, code, message); never changes anything."""
        problems: list[Problem] = []
        if not run.id.startswith(RUN_PREFIX):
            problems.append(Problem("id", INVALID, f"run id {run.id!r} must start with {RUN_PREFIX!r}"))
        if run.id in self._runs:
            problems.append(Problem("id", INVALID, f"run {run.id} already exists"))
        self._check_fields(run, problems)
        new = {a.id: a for a in new_assets}
        self._check_inputs(run.inputs, new, problems)
        self._check_outputs(run.id, run.outputs, new, problems)
        if not problems:
            self._check_acyclic(run.inputs, run.outputs, problems)
        return problems

    def _check_fields(self, run: Run, problems: list[Problem]) -> None:
        for path, value in (("job.namespace", run.namespace), ("job.name", run.job_name)):
            if not value.strip():
                problems.append(Problem(path, INVALID, f"{path} is required"))
        if run.status not in STATUSES:
            problems.append(Problem("status", INVALID, f"unknown status {run.status!r} "
                                                       f"(expected one of {', '.join(RUN_STATUSES)})"))
        if run.started_at is not None and run.ended_at is not None and run.ended_at < run.started_at:
            problems.append(Problem("ended_at", INVALID, f"endedAt {run.ended_at.isoformat()} is before "
                                                         f"startedAt {run.started_at.isoformat()}"))

    def _check_inputs(self, inputs: Sequence[InputRef], new: dict[str, AssetInfo], problems: list[Problem]) -> None:
        ids = [ref.asset_id for ref in inputs]
        if len(set(ids)) != len(ids):
            problems.append(Problem("inputs", INVALID, "an input is listed twice"))
        for i, ref in enumerate(inputs):
            aid, path = ref.asset_id, f"inputs[{i}]"
            if aid.startswith(RUN_PREFIX):
                problems.append(Problem(path, INVALID, f"input {aid} is a run, not an asset"))
                continue
            # a segment, annotation or embedding is a node too, but only an asset has versions to read
            if (aid not in self._g._node and aid not in new) or node_kind(aid) != "asset":
                problems.append(Problem(path, NOT_FOUND, f"unknown input asset {aid!r}"))
                continue
            info = new.get(aid) or self.asset(aid)
            if ref.version < 1 or (info is not None and ref.version > info.version):
                current = "unknown" if info is None else str(info.version)
                problems.append(Problem(path, INVALID, f"input {aid} version {ref.version} does not exist "
                                                       f"(current version {current})"))

    def _check_outputs(self, run_id: str, outputs: Sequence[str], new: dict[str, AssetInfo],
                       problems: list[Problem]) -> None:
        if len(set(outputs)) != len(outputs):
            problems.append(Problem("outputs", INVALID, "an output is listed twice"))
        for i, out in enumerate(outputs):
            path = f"outputs[{i}]"
            if out.startswith(RUN_PREFIX):
                problems.append(Problem(path, INVALID, f"output {out} is a run"))
                continue
            info = new.get(out)
            producer = self.producer_of(out)
            if producer is not None and producer != run_id and not self._is_new_version(out, info, run_id):
                problems.append(Problem(path, CONFLICT, f"{out} is already produced by {producer}"))
            elif info is not None and info.produced_by not in (None, run_id):
                problems.append(Problem(path, CONFLICT, f"{out} is already produced by {info.produced_by}"))
            elif out not in self._g._node and info is None and node_kind(out) == "asset":
                problems.append(Problem(path, NOT_FOUND, f"unknown output asset {out}: register it with the run"))

    def _is_new_version(self, asset_id: str, info: AssetInfo | None, run_id: str) -> bool:
        """A run may derive an asset again: its output is then a newer version, produced by it.

        An asset is produced by at most one run *per version*; the newest version's run is
        the asset's producer in the graph.
        """
        current = self.asset(asset_id)
        return (info is not None and info.produced_by == run_id and current is not None
                and info.version > current.version)

    def _replace_producers(self, run_id: str, outputs: Sequence[str]) -> None:
        for out in outputs:
            producer = self.producer_of(out)
            if producer is not None and producer != run_id:
                self._unlink(producer, out)
                self._retire_if_done(producer)

    def _supersede(self, run: Run) -> None:
        """Among ``run`` and the runs of its job over the same input assets, every run recorded
        before the latest COMPLETED one is replaced (``lineage.bulk`` applies the same rule)."""
        if not run.inputs:
            return
        ids = {ref.asset_id for ref in run.inputs}
        group = [run]
        succ = self._g._succ
        # every run of the group reads each input: walk the one with the fewest readers
        fewest = min(ids, key=lambda a: len(succ.get(a, ())))
        for rid in succ.get(fewest, ()):
            if rid == run.id or not rid.startswith(RUN_PREFIX):
                continue
            if self._job_key_of(rid) != run.job_key or {a for a, _ in self.run_inputs(rid)} != ids:
                continue
            other = self.get_run(rid)
            if other is not None:
                group.append(other)
        self._replace_before_latest(group)

    def _supersede_all(self, runs: Sequence[Run]) -> None:
        """``_supersede`` for many runs at once, in one pass over them."""
        groups: dict[tuple[tuple[str, str], frozenset[str]], list[Run]] = {}
        for run in runs:
            if run.inputs:
                key = (run.job_key, frozenset(ref.asset_id for ref in run.inputs))
                groups.setdefault(key, []).append(run)
        for group in groups.values():
            if len(group) > 1:
                self._replace_before_latest(group)

    def _replace_before_latest(self, group: Sequence[Run]) -> None:
        done = [r.recorded_at for r in group if r.status == "COMPLETED"]
        if not done:
            return
        latest = max(done)
        for r in group:
            if r.recorded_at < latest and r.id not in self._replaced:
                self._replace(r.id)

    def _job_key_of(self, run_id: str) -> tuple[str, str] | None:
        r = self._runs.get(run_id)
        if r is None:
            return None
        if type(r) is Run:
            return r.job_key
        return self._rt.job_key(r)  # type: ignore[union-attr, arg-type]

    def _replace(self, run_id: str) -> None:
        self._replaced.add(run_id)
        for out in list(self._g._succ.get(run_id, ())):
            if out.startswith(REPLACEABLE_PREFIXES):
                self._unlink(run_id, out)
        self._retire_if_done(run_id)

    def _retire_if_done(self, run_id: str) -> None:
        if self.is_retired(run_id):
            self._mark(self._stale_job, run_id, False)
            self._mark(self._stale_input, run_id, False)

    def _check_acyclic(self, inputs: Sequence[InputRef], outputs: Sequence[str], problems: list[Problem]) -> None:
        input_ids = {ref.asset_id for ref in inputs}
        for i, out in enumerate(outputs):
            if out in input_ids:
                problems.append(Problem(f"outputs[{i}]", CYCLE, f"{out} is both an input and an output"))
                return
        # Only an output already in the graph can have descendants, so only such an
        # output can close a loop. Walking up from the inputs stays small: ancestor
        # sets are bounded by pipeline depth, descendant sets are not.
        existing = {o for o in outputs if self._g._succ.get(o)}
        if not existing:
            return
        pred = self._g._pred
        seen = set(input_ids)
        stack = [a for a in input_ids if a in pred]
        while stack:
            node = stack.pop()
            if node in existing:
                problems.append(Problem(f"outputs[{list(outputs).index(node)}]", CYCLE,
                                        f"output {node} is an ancestor of its inputs"))
                return
            for p in pred[node]:
                if p not in seen:
                    seen.add(p)
                    stack.append(p)

    # -- mutations ---------------------------------------------------------

    def add_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> None:
        self.check_run(run, new_assets)
        self.apply_run(run, new_assets)

    def apply_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> None:
        """Add a run validated elsewhere (by ``check_run``, or by the process that wrote it)."""
        self._replace_producers(run.id, run.outputs)
        self.upsert_assets(new_assets)
        self._hold(run)
        self._add_node(run.id)
        for ref in run.inputs:
            self._link(ref.asset_id, run.id)
        for out in run.outputs:
            self._link(run.id, out)
        self._supersede(run)
        self._restale(run)

    def merge_update(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> Run:
        """Validate a later state of an existing run and return it merged; changes nothing.

        Status, times and parameters are replaced; inputs and outputs can only grow
        (an OpenLineage COMPLETE event often names outputs that START did not) and
        keep their first order, so stored ordinals stay stable.
        """
        old = self.get_run(run.id)
        if old is None:
            raise UnknownEntityError(f"unknown run {run.id}")
        problems: list[Problem] = []
        self._check_fields(run, problems)
        old_in = {ref.asset_id: ref for ref in old.inputs}
        for i, ref in enumerate(run.inputs):
            if ref.asset_id in old_in and old_in[ref.asset_id].version != ref.version:
                problems.append(Problem(f"inputs[{i}]", INVALID, f"input {ref.asset_id} was recorded at version "
                                                                 f"{old_in[ref.asset_id].version}, not {ref.version}"))
        added_in = tuple(ref for ref in run.inputs if ref.asset_id not in old_in)
        old_out = set(old.outputs)
        added_out = tuple(o for o in dict.fromkeys(run.outputs) if o not in old_out)
        new = {a.id: a for a in new_assets}
        self._check_inputs(added_in, new, problems)
        self._check_outputs(run.id, added_out, new, problems)
        if not problems:
            self._check_acyclic(old.inputs + added_in, added_out, problems)
        if problems:
            raise run_error(run.id, problems)
        return dataclasses.replace(
            run,
            inputs=old.inputs + added_in,
            outputs=old.outputs + added_out,
            idempotency_key=run.idempotency_key or old.idempotency_key,
            external_run_id=run.external_run_id or old.external_run_id,
            recorded_at=old.recorded_at,
        )

    def update_run(self, run: Run, new_assets: Sequence[AssetInfo] = ()) -> Run:
        """Apply ``merge_update``; returns the run as now held."""
        merged = self.merge_update(run, new_assets)
        self.apply_update(merged, new_assets)
        return merged

    def apply_update(self, merged: Run, new_assets: Sequence[AssetInfo] = ()) -> None:
        """Replace a run by a later state whose inputs and outputs extend the held ones."""
        old = self.get_run(merged.id)
        assert old is not None
        self._replace_producers(merged.id, merged.outputs[len(old.outputs) :])
        self.upsert_assets(new_assets)
        self._hold(merged)
        for ref in merged.inputs[len(old.inputs) :]:
            self._link(ref.asset_id, merged.id)
        for out in merged.outputs[len(old.outputs) :]:
            self._link(merged.id, out)
        self._supersede(merged)
        self._restale(merged)

    def check_outputs(self, run_id: str, output_ids: Sequence[str]) -> tuple[str, ...]:
        """Validate outputs named later; returns those not yet attached. Changes nothing."""
        old = self.get_run(run_id)
        if old is None:
            raise UnknownEntityError(f"unknown run {run_id}")
        known = set(old.outputs)
        added = tuple(o for o in dict.fromkeys(output_ids) if o not in known)
        problems: list[Problem] = []
        self._check_outputs(run_id, added, {}, problems)
        if not problems:
            self._check_acyclic(old.inputs, added, problems)
        if problems:
            raise run_error(run_id, problems)
        return added

    def add_outputs(self, run_id: str, output_ids: Sequence[str]) -> Run:
        """Attach outputs named later (segments, annotations, embeddings) to a run."""
        added = self.check_outputs(run_id, output_ids)
        old = self.get_run(run_id)
        assert old is not None
        merged = dataclasses.replace(old, outputs=old.outputs + added)
        self._hold(merged)
        for out in added:
            self._link(run_id, out)
        return merged

    def upsert_assets(self, infos: Iterable[AssetInfo]) -> None:
        """Record assets or their new versions; a newer version makes consumers stale."""
        g = self._g
        for info in infos:
            aid = info.id
            old = self.asset(aid)
            self._assets[aid] = info
            self._add_node(aid)
            if old is None and self._index is not None:
                self._index.flag(self._index.is_asset, aid, True)
            if old is None or old.version != info.version:
                for rid in list(g._succ[aid]):
                    self._restale_inputs(rid)
            if info.produced_by is not None and (old is None or old.produced_by != info.produced_by):
                self._follow_producer(info)

    def _follow_producer(self, info: AssetInfo) -> None:
        # A newer version derived by another run, learnt after that run's edges (another
        # process wrote both): the run the info names produces the asset now.
        rid = info.produced_by
        assert rid is not None
        current = self.producer_of(info.id)
        if current == rid or rid not in self._runs:
            return
        run = self.get_run(rid)
        if run is not None and info.id in run.outputs:
            if current is not None:
                self._unlink(current, info.id)
            self._link(rid, info.id)

    def upsert_job(self, job: Job) -> None:
        key = (job.namespace, job.name)
        old = self._jobs.get(key)
        self._jobs[key] = job
        if old is None or old.version != job.version:
            self._restale_job(key)

    def set_job_version(self, namespace: str, name: str, version: str | None) -> Job:
        if (namespace, name) not in self._jobs:
            raise UnknownEntityError(f"unknown job {namespace}/{name}")
        job = Job(namespace, name, version)
        self.upsert_job(job)
        return job

    # -- bookkeeping ---------------------------------------------------------

    def _hold(self, run: Run) -> None:
        """Keep ``run`` as a record (it replaces a loaded row or an older record)."""
        prev = self._runs.get(run.id)
        if isinstance(prev, int):
            self._superseded[prev] = True
        self._runs[run.id] = run
        self._job_records.setdefault(run.job_key, set()).add(run.id)
        if len(run.inputs) >= 2:
            self._multi_input.add(run.id)
            if self._index is not None:
                self._index.flag(self._index.multi_input, run.id, True)
        if run.idempotency_key is not None:
            ids = self._by_key.setdefault(run.idempotency_key, [])
            if run.id not in ids:
                ids.append(run.id)
        if run.external_run_id is not None:
            self._by_external[run.external_run_id] = run.id

    def _restale(self, run: Run) -> None:
        job = self._jobs.get(run.job_key)
        self._mark(self._stale_job, run.id, job is not None and job.version != run.job_version)
        self._restale_inputs(run.id)

    def _restale_inputs(self, run_id: str) -> None:
        version = self.asset_version
        for aid, used in self.run_inputs(run_id):
            current = version(aid)
            if current is not None and current > used:
                self._mark(self._stale_input, run_id, True)
                return
        self._mark(self._stale_input, run_id, False)

    def _mark(self, stale: set[str], run_id: str, on: bool) -> None:
        on = on and not self.is_retired(run_id)
        if on:
            stale.add(run_id)
        else:
            stale.discard(run_id)
        if self._index is not None:
            mask = self._index.stale_job if stale is self._stale_job else self._index.stale_input
            self._index.flag(mask, run_id, on)

    def _add_node(self, n: str) -> None:
        if n not in self._g._node:
            add_node(self._g, n)
            if self._index is not None:
                self._index.touch(n)

    def _link(self, u: str, v: str) -> None:
        link(self._g, u, v)
        if self._index is not None:
            self._index.touch(u)
            self._index.touch(v)

    def _unlink(self, u: str, v: str) -> None:
        unlink(self._g, u, v)
        if self._index is not None:
            self._index.touch(u)
            self._index.touch(v)

    def _restale_job(self, key: tuple[str, str]) -> None:
        rt = self._rt
        if rt is not None and key in rt.job_index:
            rows = np.flatnonzero((rt.job_code == rt.job_index[key]) & ~self._superseded)
            ids = np.array(rt.ids, dtype=object) if len(rows) > 64 else None
            pick = (lambda r: ids[r].tolist()) if ids is not None else (lambda r: [rt.ids[i] for i in r])
            stale = rows[job_mismatch(rt, self._jobs, rows)]
            if self._replaced:
                    stale = stale[np.array([not self.is_retired(rt.ids[r]) for r in stale.tolist()], dtype=bool)]
            self._stale_job.difference_update(pick(rows))
            self._stale_job.update(pick(stale))
            if self._index is not None:
                self._index.stale_job[self._run_node[rows]] = False
                self._index.stale_job[self._run_node[stale]] = True
        job = self._jobs.get(key)
        for rid in self._job_records.get(key, ()):
            run = self._runs[rid]
            assert type(run) is Run
            self._mark(self._stale_job, rid, job is not None and job.version != run.job_version)


