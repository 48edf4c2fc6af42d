"""``derive``: run the standard steps over a title (with its episodes) or one delivered asset,
recomputing only what is missing or stale.

Subjects are processed one at a time, steps in pipeline order, so a step sees what the steps
before it just made. For each subject derive first works out which steps will run (a step
runs when it is missing or stale, or when a step it needs runs), so that one decode of the
source (``SharedPass``) serves all the decode-based ones among them, and a fresh step is
neither decoded for nor recomputed. A failed step is reported and the steps that need it
are skipped for that subject; the other subjects go on. Ctrl-C ends the run in progress
ABORTED and stops.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_api.errors import InvalidArgument, NotFound
from graph_api.pipeline.context import Context, local_path
from graph_api.pipeline.runs import RunIndex, StepError, execute, why_redo
from graph_api.pipeline.shared_pass import PASS_STEPS, SharedPass
from graph_api.pipeline.steps import Step, select, shot_starts


@dataclass(frozen=True)
class Done:
    step: str
    subject: str
    run_id: str
    reason: str
    outputs: int


@dataclass(frozen=True)
class Failed:
    step: str
    subject: str
    code: str
    message: str
    run_id: str | None = None


@dataclass
class DeriveReport:
    done: list[Done] = field(default_factory=list)
    fresh: int = 0
    failed: list[Failed] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (step, subject, why)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        if not self.done and not self.failed:
            return f"nothing to do: all {self.fresh} step(s) are up to date"
        parts = [f"{len(self.done)} step(s) run", f"{self.fresh} up to date"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed: " + "; ".join(
                f"{f.step} of {f.subject}: {f.code}: {f.message}" for f in self.failed))
        return ", ".join(parts)


def subjects_of(ctx: Context, target: str) -> list[dict[str, Any]]:
    """The delivered assets a derive of ``target`` works on: a title's (and its children's), or one asset."""
    lake = ctx.lake
    if target.startswith("asset_"):
        asset = lake.assets.get(target)
        if asset is None:
            raise NotFound(f"unknown asset {target!r}")
        if asset["produced_by"] is not None:
            raise InvalidArgument(f"asset {target} is derived (by run {asset['produced_by']}): derive its "
                                  "source, or its title")
        return [asset]
    if lake.titles.get(target) is None:
        raise NotFound(f"unknown title or asset {target!r}")
    titles = [target]
    frontier = [target]
    while frontier:
        children = [r["id"] for parent in frontier for r in lake.titles.list(parent_id=parent).to_pylist()]
        frontier = [c for c in children if c not in titles]
        titles += frontier
    assets = lake.assets.by_title(titles)
    return sorted((a for t in titles for a in assets.get(t, []) if a["produced_by"] is None),
                  key=lambda a: (titles.index(a["title_id"]), a["uri"]))


def derive(ctx: Context, target: str, steps: list[str] | None = None) -> DeriveReport:
    chosen = select(steps)
    subjects = subjects_of(ctx, target)
    report = DeriveReport()
    index = RunIndex(ctx)
    for subject in subjects:
        _derive_subject(ctx, index, subject, chosen, report)
    return report


def will_run(ctx: Context, index: RunIndex, subject: dict[str, Any], chosen: list[Step],
             shared: SharedPass) -> list[str]:
    """The keys of the chosen steps that derive would run for ``subject`` now, before any of them runs."""
    running: list[str] = []
    for step in chosen:
        if not step.applies(subject):
            continue
        if any(n in running for n in step.needs):
            running.append(step.key)  # what it needs is redone, so its inputs or parameters change
            continue
        plan = step.plan(ctx, index, subject, shared)
        if isinstance(plan, str):
            continue
        if why_redo(ctx, index.latest(step.job, subject["id"]), step.version, plan.inputs, plan.parameters):
            running.append(step.key)
    return running


def _derive_subject(ctx: Context, index: RunIndex, subject: dict[str, Any], chosen: list[Step],
                    report: DeriveReport) -> None:
    shared = SharedPass(ctx, subject, [], lambda: shot_starts(ctx, index, subject) or [])
    shared.keys = [k for k in will_run(ctx, index, subject, chosen, shared) if k in PASS_STEPS]
    try:
        _run_steps(ctx, index, subject, chosen, report, shared)
    finally:
        shared.close()


def _run_steps(ctx: Context, index: RunIndex, subject: dict[str, Any], chosen: list[Step],
               report: DeriveReport, shared: SharedPass) -> None:
    name = local_path(subject).name
    broken: set[str] = set()
    for step in chosen:
        if not step.applies(subject):
            continue
        blocked = [n for n in step.needs if n in broken]
        if blocked:
            report.skipped.append((step.key, name, f"{', '.join(blocked)} failed"))
            broken.add(step.key)
            continue
        plan = step.plan(ctx, index, subject, shared)
        if isinstance(plan, str):
            report.skipped.append((step.key, name, plan))
            ctx.reporter.note(f"  skip {step.key:<20} {name}: {plan}")
            broken.add(step.key)
            continue
        reason = why_redo(ctx, index.latest(step.job, subject["id"]), step.version, plan.inputs, plan.parameters)
        if reason is None:
            report.fresh += 1
            continue
        label = f"{step.key} {name}"
        try:
            run, outputs = execute(ctx, index, job=step.job, version=step.version, subject=subject["id"],
                                   inputs=plan.inputs, parameters=plan.parameters, work=plan.work, label=label)
        except StepError as exc:
            report.failed.append(Failed(step.key, name, exc.code, str(exc.cause), exc.run_id))
            ctx.reporter.note(f"  FAILED {step.key:<18} {name}: {exc.code}: {exc.cause} (run {exc.run_id})")
            broken.add(step.key)
            continue
        report.done.append(Done(step.key, name, run.id, reason, outputs.count))
        ctx.reporter.note(f"  {step.key:<20} {name}: {outputs.count} output(s), run {run.id} ({reason})")
