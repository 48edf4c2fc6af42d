"""Persistence of jobs, runs and run edges in LanceDB, behind a small protocol.

Tables (created on open, BTREE-indexed on their ids):
    jobs         namespace, name, version
    runs         one row per run; parameters as a JSON string
    run_inputs   run_id, ordinal, asset_id, version, written_at
    run_outputs  run_id, ordinal, output_id, written_at

Visibility rule: LanceDB commits one table at a time, so a run is written edges
first, then its job, then its ``runs`` row. The runs row is what makes a run
visible; ``load`` ignores edges whose run row is missing (a crash between
commits), and ``sweep_orphans`` deletes them once they are old enough that no
writer can still be about to commit the row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import lancedb
import lancedb.index
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from lineage.model import InputRef, Job, Run

_TS = pa.timestamp("us", tz="UTC")

JOBS_SCHEMA = pa.schema(
    [
        pa.field("namespace", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("version", pa.string()),
    ]
)
RUNS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("namespace", pa.string(), nullable=False),
        pa.field("job_name", pa.string(), nullable=False),
        pa.field("job_version", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("parameters", pa.string()),  # JSON
        pa.field("started_at", _TS),
        pa.field("ended_at", _TS),
        pa.field("recorded_at", _TS, nullable=False),
        pa.field("idempotency_key", pa.string()),
        pa.field("external_run_id", pa.string()),
    ]
)
RUN_INPUTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int32(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("written_at", _TS, nullable=False),
    ]
)
RUN_OUTPUTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int32(), nullable=False),
        pa.field("output_id", pa.string(), nullable=False),
        pa.field("written_at", _TS, nullable=False),
    ]
)

TABLES: Mapping[str, tuple[pa.Schema, tuple[str, ...]]] = {
    # name: (schema, BTREE-indexed columns)
    "jobs": (JOBS_SCHEMA, ("name",)),
    "runs": (RUNS_SCHEMA, ("id", "idempotency_key", "external_run_id")),
    "run_inputs": (RUN_INPUTS_SCHEMA, ("run_id",)),
    "run_outputs": (RUN_OUTPUTS_SCHEMA, ("run_id",)),
}

Versions = dict[str, int]  # table name -> Lance version a write committed
# Rows are read back by Lance row address, (fragment id << 32) | offset: appends and the
# rows merge_insert rewrites land in fragments with higher ids than any read before,
# so "rows at or above fragment M" is what was committed since a read that ended at M.
Marks = dict[str, int]  # table name -> first fragment id not read yet
NARROW = {"jobs": "name", "runs": "status", "run_inputs": "ordinal", "run_outputs": "ordinal"}


@dataclass(frozen=True)
class Snapshot:
    """The lineage tables as Arrow, runs read first, and where each read ended."""

    jobs: list[Job]
    runs: pa.Table
    inputs: pa.Table
    outputs: pa.Table
    marks: Marks


class LineageStore(Protocol):
    """Everything ``lineage.service.Lineage`` asks of its store."""

    def load_tables(self) -> Snapshot: ...
    def read_since(self, name: str, mark: int) -> tuple[pa.Table, int]: ...
    def fragment_mark(self, name: str) -> int: ...
    def read_jobs(self) -> list[Job]: ...
    def write_run(self, run: Run, job: Job | None) -> Versions: ...
    def update_run(self, run: Run, previous: Run | None = None) -> Versions: ...
    def add_outputs(self, run_id: str, output_ids: Sequence[str], first_ordinal: int) -> Versions: ...
    def set_job_version(self, job: Job) -> Versions: ...
    def table_versions(self) -> tuple[tuple[str, int], ...]: ...
    def sweep_orphans(self, older_than: timedelta = ...) -> int: ...
    def compact(self) -> dict[str, tuple[int, int]]: ...


def runs_to_arrow(runs: Sequence[Run]) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in RUNS_SCHEMA.names}
    for r in runs:
        cols["id"].append(r.id)
        cols["namespace"].append(r.namespace)
        cols["job_name"].append(r.job_name)
        cols["job_version"].append(r.job_version)
        cols["status"].append(r.status)
        cols["parameters"].append(
            None if r.parameters is None else json.dumps(r.parameters, sort_keys=True)
        )
        cols["started_at"].append(r.started_at)
        cols["ended_at"].append(r.ended_at)
        cols["recorded_at"].append(r.recorded_at)
        cols["idempotency_key"].append(r.idempotency_key)
        cols["external_run_id"].append(r.external_run_id)
    return pa.table(cols, schema=RUNS_SCHEMA)


def inputs_to_arrow(
    rows: Iterable[tuple[str, int, InputRef]], now: datetime | None = None
) -> pa.Table:
    now = now or datetime.now(UTC)
    run_ids, ordinals, assets, versions = [], [], [], []
    for run_id, ordinal, ref in rows:
        run_ids.append(run_id)
        ordinals.append(ordinal)
        assets.append(ref.asset_id)
        versions.append(ref.version)
    return pa.table(
        [run_ids, ordinals, assets, versions, pa.array([now] * len(run_ids), _TS)],
        schema=RUN_INPUTS_SCHEMA,
    )


def outputs_to_arrow(rows: Iterable[tuple[str, int, str]], now: datetime | None = None) -> pa.Table:
    now = now or datetime.now(UTC)
    run_ids, ordinals, outs = [], [], []
    for run_id, ordinal, out in rows:
        run_ids.append(run_id)
        ordinals.append(ordinal)
        outs.append(out)
    return pa.table(
        [run_ids, ordinals, outs, pa.array([now] * len(run_ids), _TS)],
        schema=RUN_OUTPUTS_SCHEMA,
    )


def jobs_to_arrow(jobs: Sequence[Job]) -> pa.Table:
    return pa.table(
        [[j.namespace for j in jobs], [j.name for j in jobs], [j.version for j in jobs]],
        schema=JOBS_SCHEMA,
    )


class LanceLineageStore:
    """Lineage tables in an open LanceDB connection owned by the lake."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        self._db = db
        self._tables: dict[str, Any] = {}
        for name, (schema, indexed) in TABLES.items():
            try:
                table = db.open_table(name)
            except ValueError:  # not found
                try:
                    table = db.create_table(name, schema=schema)
                except ValueError:
                    # Another process created it between our open and our create.
                    table = db.open_table(name)
            have = {tuple(ix.columns) for ix in table.list_indices()}
            for column in indexed:
                if (column,) not in have:
                    table.create_index(column, config=lancedb.index.BTree())
            self._tables[name] = table

    def table(self, name: str) -> Any:
        return self._tables[name]

    # -- reads -------------------------------------------------------------

    def table_versions(self) -> tuple[tuple[str, int], ...]:
        out = []
        for name, table in self._tables.items():
            # checkout_latest costs ~1 ms on a local lake and is what lets this
            # process see commits made by another one.
            table.checkout_latest()
            out.append((name, table.version))
        return tuple(out)

    def load_tables(self) -> Snapshot:
        """Every table as Arrow, for a bulk build (``LineageGraph.from_tables``)."""
        # Runs first: a run row visible now implies its edges were committed
        # before it, so the edge reads that follow are sure to contain them.
        marks: Marks = {}
        runs_t, marks["runs"] = self.read_since("runs", 0)
        jobs = self.read_jobs()
        inputs_t, marks["run_inputs"] = self.read_since("run_inputs", 0)
        outputs_t, marks["run_outputs"] = self.read_since("run_outputs", 0)
        return Snapshot(jobs, runs_t, inputs_t, outputs_t, marks)

    def read_since(self, name: str, mark: int) -> tuple[pa.Table, int]:
        """Rows in fragments >= ``mark`` (all rows for 0) and the mark after them."""
        table = self._tables[name]
        table.checkout_latest()
        query = table.search().with_row_id(True).limit(None)
        if mark:
            query = query.where(f"_rowid >= {mark << 32}")
        t = query.to_arrow()
        return t.drop_columns(["_rowid"]), _next_mark(t, mark)

    def fragment_mark(self, name: str) -> int:
        """The mark after every row now in ``name`` (after a compaction, say)."""
        table = self._tables[name]
        table.checkout_latest()
        t = table.search().with_row_id(True).select([NARROW[name]]).limit(None).to_arrow()
        return _next_mark(t, 0)

    def read_jobs(self) -> list[Job]:
        jobs_t = self._read("jobs")
        return [
            Job(ns, name, version)
            for ns, name, version in zip(
                jobs_t["namespace"].to_pylist(),
                jobs_t["name"].to_pylist(),
                jobs_t["version"].to_pylist(),
            )
        ]

    def load(self) -> tuple[list[Job], list[Run]]:
        # Runs first: a run row visible now implies its edges were committed
        # before it, so the edge reads that follow are sure to contain them.
        runs_t = self._read("runs")
        jobs_t = self._read("jobs")
        inputs_t = self._read("run_inputs").sort_by([("run_id", "ascending"), ("ordinal", "ascending")])
        outputs_t = self._read("run_outputs").sort_by(
            [("run_id", "ascending"), ("ordinal", "ascending")]
        )
        jobs = [
            Job(ns, name, version)
            for ns, name, version in zip(
                jobs_t["namespace"].to_pylist(),
                jobs_t["name"].to_pylist(),
                jobs_t["version"].to_pylist(),
            )
        ]
        # One str object per distinct id: an asset id appears as an output of one
        # run and an input of many, and a million duplicates cost ~90 MB.
        canon: dict[str, str] = {}
        run_ids = [canon.setdefault(s, s) for s in runs_t["id"].to_pylist()]
        wanted = set(run_ids)
        inputs = _group(
            inputs_t["run_id"].to_pylist(),
            inputs_t["ordinal"].to_pylist(),
            [
                InputRef(canon.setdefault(a, a), v)
                for a, v in zip(inputs_t["asset_id"].to_pylist(), inputs_t["version"].to_pylist())
            ],
            wanted,
        )
        outputs = _group(
            outputs_t["run_id"].to_pylist(),
            outputs_t["ordinal"].to_pylist(),
            [canon.setdefault(o, o) for o in outputs_t["output_id"].to_pylist()],
            wanted,
        )
        del canon
        small: dict[str | None, str | None] = {None: None}  # interns repeated short strings
        params: dict[str, dict[str, Any]] = {}

        def text(s: str | None) -> str | None:
            return small.setdefault(s, s)

        def parse(s: str | None) -> dict[str, Any] | None:
            # Identical parameter sets are shared (jobs reuse presets); treat them as read-only.
            if s is None:
                return None
            p = params.get(s)
            if p is None:
                p = params[s] = json.loads(s)
            return p

        empty_in: tuple[InputRef, ...] = ()
        empty_out: tuple[str, ...] = ()
        runs = [
            Run(
                rid,
                text(ns),  # type: ignore[arg-type]
                text(job),  # type: ignore[arg-type]
                text(jv),
                text(st),  # type: ignore[arg-type]
                parse(pj),
                sa,
                ea,
                ra,
                inputs.get(rid, empty_in),
                outputs.get(rid, empty_out),
                key,
                ext,
            )
            for rid, ns, job, jv, st, pj, sa, ea, ra, key, ext in zip(
                run_ids,
                runs_t["namespace"].to_pylist(),
                runs_t["job_name"].to_pylist(),
                runs_t["job_version"].to_pylist(),
                runs_t["status"].to_pylist(),
                runs_t["parameters"].to_pylist(),
                _naive(runs_t["started_at"]),
                _naive(runs_t["ended_at"]),
                _naive(runs_t["recorded_at"]),
                runs_t["idempotency_key"].to_pylist(),
                runs_t["external_run_id"].to_pylist(),
            )
        ]
        return jobs, runs

    def _read(self, name: str) -> pa.Table:
        table = self._tables[name]
        table.checkout_latest()
        return table.to_arrow()

    # -- writes: one Arrow batch per table, the runs row last ---------------

    def write_run(self, run: Run, job: Job | None = None) -> Versions:
        versions: Versions = {}
        if run.inputs:
            rows = inputs_to_arrow((run.id, i, ref) for i, ref in enumerate(run.inputs))
            versions["run_inputs"] = self._tables["run_inputs"].add(rows).version
        if run.outputs:
            rows = outputs_to_arrow((run.id, i, o) for i, o in enumerate(run.outputs))
            versions["run_outputs"] = self._tables["run_outputs"].add(rows).version
        if job is not None:
            versions.update(self.set_job_version(job))
        versions["runs"] = self._tables["runs"].add(runs_to_arrow([run])).version
        return versions

    def update_run(self, run: Run, previous: Run | None = None) -> Versions:
        """Rewrite a run's row; edges new since ``previous`` are appended first.

        ``run.inputs``/``run.outputs`` must extend ``previous``'s (LineageGraph.update_run
        returns them that way), so ordinals stay stable.
        """
        versions: Versions = {}
        n_in = len(previous.inputs) if previous else len(run.inputs)
        n_out = len(previous.outputs) if previous else len(run.outputs)
        if len(run.inputs) > n_in:
            rows = inputs_to_arrow(
                (run.id, i, run.inputs[i]) for i in range(n_in, len(run.inputs))
            )
            versions["run_inputs"] = self._tables["run_inputs"].add(rows).version
        if len(run.outputs) > n_out:
            rows = outputs_to_arrow(
                (run.id, i, run.outputs[i]) for i in range(n_out, len(run.outputs))
            )
            versions["run_outputs"] = self._tables["run_outputs"].add(rows).version
        result = (
            self._tables["runs"]
            .merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(runs_to_arrow([run]))
        )
        versions["runs"] = result.version
        return versions

    def add_outputs(self, run_id: str, output_ids: Sequence[str], first_ordinal: int) -> Versions:
        if not output_ids:
            return {}
        rows = outputs_to_arrow((run_id, first_ordinal + i, o) for i, o in enumerate(output_ids))
        return {"run_outputs": self._tables["run_outputs"].add(rows).version}

    def set_job_version(self, job: Job) -> Versions:
        result = (
            self._tables["jobs"]
            .merge_insert(["namespace", "name"])
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(jobs_to_arrow([job]))
        )
        return {"jobs": result.version}

    # -- bulk and maintenance ----------------------------------------------

    def write_bulk(self, jobs: Sequence[Job], runs: Sequence[Run]) -> Versions:
        """Append many new runs at once (imports, the benchmark): same commit order."""
        versions: Versions = {}
        versions["run_inputs"] = self._tables["run_inputs"].add(
            inputs_to_arrow((r.id, i, ref) for r in runs for i, ref in enumerate(r.inputs))
        ).version
        versions["run_outputs"] = self._tables["run_outputs"].add(
            outputs_to_arrow((r.id, i, o) for r in runs for i, o in enumerate(r.outputs))
        ).version
        if jobs:
            versions["jobs"] = (
                self._tables["jobs"]
                .merge_insert(["namespace", "name"])
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(jobs_to_arrow(jobs))
                .version
            )
        versions["runs"] = self._tables["runs"].add(runs_to_arrow(runs)).version
        return versions

    def sweep_orphans(self, older_than: timedelta = timedelta(minutes=10)) -> int:
        """Delete edge rows whose run row never appeared; returns rows deleted.

        Only rows older than ``older_than`` go: a younger orphan may belong to a
        writer that has not yet committed its runs row.
        """
        known = set(self._read("runs")["id"].to_pylist())
        cutoff = datetime.now(UTC) - older_than
        deleted = 0
        for name in ("run_inputs", "run_outputs"):
            t = self._read(name).select(["run_id", "written_at"])
            rows = [
                rid
                for rid, at in zip(t["run_id"].to_pylist(), t["written_at"].to_pylist())
                if rid not in known and at <= cutoff
            ]
            orphans = sorted(set(rows))
            for i in range(0, len(orphans), 500):
                quoted = ", ".join("'" + rid.replace("'", "''") + "'" for rid in orphans[i : i + 500])
                self._tables[name].delete(f"run_id IN ({quoted})")
            deleted += len(rows)
        return deleted

    def compact(self) -> dict[str, tuple[int, int]]:
        """Fold small fragments and refresh indexes; returns (before, after) versions."""
        out = {}
        for name, table in self._tables.items():
            table.checkout_latest()
            before = table.version
            table.optimize()
            out[name] = (before, table.version)
        return out


def _next_mark(t: pa.Table, mark: int) -> int:
    if t.num_rows == 0:
        return mark
    top = pa.compute.max(t["_rowid"]).as_py()
    return max(mark, (top >> 32) + 1)


def run_from_row(
    row: Mapping[str, Any], inputs: Sequence[InputRef], outputs: Sequence[str]
) -> Run:
    """A run from one ``runs`` row (``to_pylist`` form) and its edges."""
    params = row["parameters"]
    return Run(
        row["id"], row["namespace"], row["job_name"], row["job_version"], row["status"],
        None if params is None else json.loads(params), row["started_at"], row["ended_at"],
        row["recorded_at"], tuple(inputs), tuple(outputs), row["idempotency_key"],
        row["external_run_id"],
    )


def _naive(column: pa.ChunkedArray) -> list[datetime | None]:
    # to_pylist on a tz-aware column converts value by value through Python tz
    # code (~20x slower); naive values come out in C, and Run marks them UTC.
    return column.cast(pa.timestamp("us")).to_pylist()


def _group(
    run_ids: list[str], ordinals: list[int], values: list[Any], wanted: set[str]
) -> dict[str, tuple[Any, ...]]:
    """Rows sorted by (run_id, ordinal) -> {run_id: values in ordinal order}."""
    out: dict[str, tuple[Any, ...]] = {}
    n = len(run_ids)
    i = 0
    while i < n:
        rid = run_ids[i]
        j = i + 1
        while j < n and run_ids[j] == rid:
            j += 1
        if rid in wanted:
            if j - i == 1:
                out[rid] = (values[i],)
            else:
                # A retried write may repeat an ordinal: keep one row per ordinal.
                vals = []
                last = None
                for k in range(i, j):
                    if ordinals[k] != last:
                        vals.append(values[k])
                        last = ordinals[k]
                out[rid] = tuple(vals)
        i = j
    return out
