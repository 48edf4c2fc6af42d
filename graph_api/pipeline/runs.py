"""One step on one subject, as a lineage Run.

The run is recorded RUNNING before any work starts, and ended exactly once:

- COMPLETED: output files sit in the run's own directory under the media dir; segments,
  annotations and embeddings are written naming the run, attached to it, and the output
  assets are registered by ``finish_run``. What the previous run of the same job made for
  the same subject (segments, annotations, their embeddings) is then retired: a recompute
  replaces, it does not pile up. Output assets use stable external ids, so they become
  new versions instead of copies.
- ABORTED (KeyboardInterrupt) or FAILED (any other error): the run's directory is removed,
  rows it already wrote are deleted, no asset is registered, and the error goes on up.

``RunIndex`` answers "what did the latest completed run of job J for subject S do", the
question freshness is decided on.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph_api.media import store
from graph_api.pipeline.context import NAMESPACE, Context
from lineage.model import Run, embedding_node_id

Work = Callable[[Path, Callable[[float], None]], "Outputs"]


@dataclass
class Outputs:
    """What a step produced; the runner fills in ``run_id`` and writes it."""

    assets: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    embeddings: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)  # (space, model, rows)

    @property
    def count(self) -> int:
        return len(self.assets) + len(self.segments) + len(self.annotations) + sum(len(r) for _, _, r in self.embeddings)


class StepError(Exception):
    """A step failed; the run is already FAILED. Carries the run and the original error."""

    def __init__(self, run_id: str, cause: BaseException) -> None:
        self.run_id = run_id
        self.cause = cause
        self.code = getattr(cause, "code", type(cause).__name__)
        super().__init__(str(cause))


def normalized(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as they come back from the lineage store (JSON), so comparisons are fair."""
    return json.loads(json.dumps(parameters, sort_keys=True))


class RunIndex:
    """The latest COMPLETED pipeline run per (job, subject), kept up to date as runs finish."""

    def __init__(self, ctx: Context) -> None:
        self._latest: dict[tuple[str, str], Run] = {}
        for run in ctx.lineage.runs():
            self.note(run)

    def note(self, run: Run) -> None:
        subject = (run.parameters or {}).get("subject")
        if run.namespace != NAMESPACE or run.status != "COMPLETED" or not isinstance(subject, str):
            return
        key = (run.job_name, subject)
        old = self._latest.get(key)
        if old is None or _order(run) >= _order(old):
            self._latest[key] = run

    def latest(self, job: str, subject: str) -> Run | None:
        return self._latest.get((job, subject))


def _order(run: Run) -> tuple[datetime, str]:
    return (run.started_at or run.recorded_at, run.id)


def why_redo(ctx: Context, run: Run | None, version: str, inputs: Sequence[str],
             parameters: dict[str, Any]) -> str | None:
    """Why the step must run again, or None when ``run`` is still good."""
    if run is None:
        return "missing"
    if run.job_version != version:
        return f"job version {run.job_version} -> {version}"
    if sorted(r.asset_id for r in run.inputs) != sorted(inputs):
        return "inputs changed"
    if ctx.lineage.is_stale(run.id):
        reasons = ctx.lineage.stale_reasons(run.id)
        return "stale: " + (reasons[0] if reasons else "an input changed")
    recorded = {k: v for k, v in (run.parameters or {}).items() if k != "subject"}
    if recorded != normalized(parameters):
        changed = sorted(k for k in set(recorded) | set(parameters) if recorded.get(k) != normalized(parameters).get(k))
        return "parameters changed: " + ", ".join(changed)
    return None


def execute(ctx: Context, index: RunIndex, *, job: str, version: str, subject: str, inputs: Sequence[str],
            parameters: dict[str, Any], work: Work, label: str) -> tuple[Run, Outputs]:
    """Run ``work`` as one lineage run; see the module docstring for what each ending leaves."""
    lineage = ctx.lineage
    previous = index.latest(job, subject)
    recorded = lineage.record_run({
        "job": {"namespace": NAMESPACE, "name": job, "version": version},
        "inputs": list(inputs), "outputs": [], "status": "RUNNING",
        "parameters": normalized({**parameters, "subject": subject}),
        "started_at": datetime.now(UTC),
    })
    run_id = recorded.run.id
    run_dir = ctx.media_dir / subject / f"{job}-{run_id.removeprefix('run_')[:12]}"
    reporter = ctx.reporter
    wrote: dict[str, list[str]] = {}
    try:
        outputs = work(run_dir, lambda fraction: reporter(label, fraction))
        reporter(label, 1.0)
        if ctx.media_uri:
            _publish(ctx, run_dir, outputs)
        _write(ctx, run_id, outputs, wrote)
        run = lineage.finish_run(run_id, "COMPLETED", outputs=outputs.assets)
    except BaseException as exc:
        status = "FAILED" if isinstance(exc, Exception) else "ABORTED"
        _undo(ctx, run_dir, wrote)
        lineage.finish_run(run_id, status, parameters=normalized(
            {**parameters, "subject": subject, "error": f"{type(exc).__name__}: {exc}"[:500]}))
        if isinstance(exc, Exception):
            raise StepError(run_id, exc) from exc
        raise
    index.note(run)
    if previous is not None:
        _retire(ctx, previous, keep=set(run.outputs))
    return run, outputs


def _write(ctx: Context, run_id: str, outputs: Outputs, wrote: dict[str, list[str]]) -> None:
    lake, lineage = ctx.lake, ctx.lineage
    attached: list[str] = []
    if outputs.segments:
        rows = lake.segments.add([{**s, "run_id": run_id} for s in outputs.segments])
        wrote["segments"] = [r["id"] for r in rows]
        attached += wrote["segments"]
    if outputs.annotations:
        rows = lake.annotations.add([{**a, "run_id": run_id} for a in outputs.annotations])
        wrote["annotations"] = [r["id"] for r in rows]
        attached += wrote["annotations"]
    for space, model, rows in outputs.embeddings:
        if rows:
            lake.embeddings.upsert(space, model, [{**r, "run_id": run_id} for r in rows])
            wrote.setdefault("spaces", []).append(space)
            attached += [embedding_node_id(space, r["subject_id"]) for r in rows]
    wrote["run"] = [run_id]
    lineage.attach_outputs(run_id, attached)


def _remote(ctx: Context, local: Path) -> str:
    return store.join(ctx.media_uri, local.relative_to(ctx.media_dir).as_posix())


def _publish(ctx: Context, run_dir: Path, outputs: Outputs) -> None:
    """Upload the run's files to the object-store media dir and point its assets there; the local
    copies go (the scratch dir only holds a run while it works)."""
    for asset in outputs.assets:
        local = Path(asset["uri"])
        if local.is_relative_to(run_dir) and local.is_file():
            remote = _remote(ctx, local)
            store.upload(local, remote, ctx.storage_options)
            asset["uri"] = remote
    shutil.rmtree(run_dir, ignore_errors=True)


def _undo(ctx: Context, run_dir: Path, wrote: dict[str, list[str]]) -> None:
    shutil.rmtree(run_dir, ignore_errors=True)
    if ctx.media_uri:
        store.delete_tree(_remote(ctx, run_dir), ctx.storage_options)
    run_id = next(iter(wrote.get("run", ())), None)
    _delete_rows(ctx, wrote.get("segments", []), wrote.get("annotations", []))
    if run_id is not None:
        _delete_vectors(ctx, wrote.get("spaces", []), produced_by=run_id)


def _retire(ctx: Context, previous: Run, keep: set[str]) -> None:
    """Delete the segments and annotations the previous run made, every vector of those segments,
    and vectors it wrote that the new run did not overwrite."""
    old = [o for o in previous.outputs if o not in keep]
    segments = [o for o in old if o.startswith("seg_")]
    _delete_rows(ctx, segments, [o for o in old if o.startswith("ann_")])
    spaces = {o.split(":")[1] for o in old if o.startswith("emb:")}
    _delete_vectors(ctx, sorted(spaces), produced_by=previous.id)
    if segments:
        _delete_vectors(ctx, sorted(ctx.lake.embeddings.spaces()), subject_ids=segments)


def _delete_rows(ctx: Context, segment_ids: Sequence[str], annotation_ids: Sequence[str]) -> None:
    if segment_ids:
        ctx.lake.segments.delete(segment_ids)
    if annotation_ids:
        ctx.lake.annotations.delete(annotation_ids)


def _delete_vectors(ctx: Context, spaces: Sequence[str], *, produced_by: str | None = None,
                    subject_ids: Sequence[str] = ()) -> None:
    ctx.lake.embeddings.delete(spaces, produced_by=produced_by, subject_ids=subject_ids)
