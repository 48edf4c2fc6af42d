"""The lineage as one reader sees it: ``LineageView`` = the lake's ``LakeLineage`` under a ``LakeView``.

This is the one place where lineage answers are cut to what the reader may see (the resolvers
and the OpenLineage endpoint read lineage only through it):

- a run that wrote into a title the reader may not see does not exist for it;
- ids of assets, segments, annotations and embeddings it may not see are left out of lists;
- a traversal keeps the nodes it may not see as *redacted* nodes: an opaque id
  (``LakeView.redacted_id``) in place of the real one, edges kept, so the shape shows and
  ``degree`` / ``isPartial`` say nothing the redacted nodes do not already show;
- staleness reasons name what the reader may not see by its opaque id.

With an unlimited view every answer passes through unchanged.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from graph_api.lake.lineage import LakeLineage, RecordedRun
from graph_api.lake.view import REDACTED_PREFIX, LakeView
from lineage.model import Job, Run, node_kind
from lineage.traversal import Step, Traversal

# the ids staleness reasons mention: "input asset_... is at version 2, run run_... used version 1"
_IDS_IN_TEXT = re.compile(r"\b(?:asset|seg|ann|run)_[0-9A-Za-z]+")


def is_redacted(node_id: str) -> bool:
    return node_id.startswith(REDACTED_PREFIX)


class LineageView:
    def __init__(self, lineage: LakeLineage, view: LakeView) -> None:
        self.lineage = lineage
        self.lake = view
        self._open = view.access.unlimited

    # --- who may see what ----------------------------------------------------------------
    def visible(self, node_ids: Iterable[str]) -> set[str]:
        """Those of ``node_ids`` (any kind, as lineage names them) that this view may see; ids that
        name nothing known are kept: only the title of a known node hides it."""
        ids = list(dict.fromkeys(node_ids))
        if self._open:
            return set(ids)
        runs = [n for n in ids if node_kind(n) == "run"]
        others = [n for n in ids if node_kind(n) != "run"]
        titles = self.lineage.node_titles(others)
        seen = {n for n in others if n not in titles or self.lake.sees_title(titles[n])}
        records = [r for r in (self.lineage.get_run(n) for n in runs) if r is not None]
        written = self.lineage.run_titles(records)
        seen.update(n for n in runs if all(self.lake.sees_title(t) for t in written.get(n, ())))
        return seen

    def known(self, node_id: str) -> bool:
        """Whether lineage has this node and this view may see it."""
        return node_id in self.lineage.service and node_id in self.visible([node_id])

    def _run(self, run: Run | None) -> Run | None:
        if run is None or self._open:
            return run
        return run if run.id in self.visible([run.id]) else None

    # --- reads ------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run | None:
        return self._run(self.lineage.get_run(run_id))

    def run_for_external_id(self, external_run_id: str) -> Run | None:
        return self._run(self.lineage.run_for_external_id(external_run_id))

    def runs(self) -> list[Run]:
        runs = self.lineage.runs()
        if self._open:
            return runs
        seen = self.visible(r.id for r in runs)
        return [r for r in runs if r.id in seen]

    def job(self, namespace: str, name: str) -> Job | None:
        # jobs are recipes shared by every title (transcode, shot detection), not a title's data
        return self.lineage.job(namespace, name)

    def jobs(self) -> list[Job]:
        return self.lineage.jobs()

    def derivatives(self, asset_id: str) -> list[str]:
        return self._only_visible(self.lineage.derivatives(asset_id))

    def is_stale(self, node_id: str) -> bool:
        return self.lineage.is_stale(node_id)

    def stale_of(self, node_ids: Iterable[str]) -> frozenset[str]:
        return self.lineage.stale_of(node_ids)

    def stale_reasons(self, node_id: str) -> list[str]:
        return self._reasons(self.lineage.stale_reasons(node_id))

    def size(self) -> dict[str, int]:
        return self.lineage.size()

    def traverse(self, root: str, direction: str, max_depth: int, limit: int,
                 as_of: datetime | None = None) -> Traversal:
        """The traversal with every node this view may not see redacted (see the module docstring)."""
        found = self.lineage.traverse(root, direction, max_depth, limit, as_of)
        if self._open:
            return found
        seen = self.visible(n for n, _ in found.nodes)
        name = {n: n if n in seen else self.lake.redacted_id(n) for n, _ in found.nodes}
        # sorted again by (degree, id): the order of the real ids must not show through
        nodes = sorted(((name[n], d) for n, d in found.nodes), key=lambda nd: (nd[1], nd[0]))
        edges = sorted((name[a], name[b]) for a, b in found.edges)  # edges join returned nodes only
        return Traversal(root=found.root, nodes=nodes, edges=edges,
                         is_partial=found.is_partial)

    def provenance(self, asset_id: str, as_of: datetime | None = None) -> tuple[list[Step], list[str]]:
        """The recipe, less the steps whose run this view may not see, and the sources it may see."""
        steps, sources = self.lineage.provenance(asset_id, as_of)
        if self._open:
            return steps, sources
        seen = self.visible([*(s.run_id for s in steps), *sources])
        return [s for s in steps if s.run_id in seen], [s for s in sources if s in seen]

    def impact(self, asset_id: str) -> list[str]:
        return self._only_visible(self.lineage.impact(asset_id))

    def impact_groups(self, asset_id: str) -> list[tuple[str, str, list[str]]]:
        groups = self.lineage.impact_groups(asset_id)
        if self._open:
            return groups
        return [(t, role, ids) for t, role, ids in groups if self.lake.sees_title(t)]

    def stale_assets(self, root: str | None = None) -> list[tuple[str, list[str]]]:
        stale = self.lineage.stale_assets(root)
        if self._open:
            return stale
        seen = self.visible(a for a, _ in stale)
        return [(a, self._reasons(reasons)) for a, reasons in stale if a in seen]

    def recompute_plan(self, asset_ids: Sequence[str] | None = None) -> list[str]:
        """The runs to redo that this view may see (the others are not its to redo)."""
        return self._only_visible(self.lineage.recompute_plan(asset_ids))

    def _only_visible(self, ids: list[str]) -> list[str]:
        if self._open:
            return ids
        seen = self.visible(ids)
        return [i for i in ids if i in seen]

    def _reasons(self, reasons: list[str]) -> list[str]:
        if self._open or not reasons:
            return reasons
        mentioned = {m for r in reasons for m in _IDS_IN_TEXT.findall(r)}
        hidden = mentioned - self.visible(mentioned)
        if not hidden:
            return reasons
        return [_IDS_IN_TEXT.sub(lambda m: self.lake.redacted_id(m.group(0)) if m.group(0) in hidden
                                 else m.group(0), r) for r in reasons]

    # --- writes: under the writer's view (what it may not see is unknown to it) ---------------
    def refresh(self) -> None:
        self.lineage.refresh()

    def record_run(self, spec: dict[str, Any]) -> RecordedRun:
        return self.lineage.record_run(spec, view=None if self._open else self.lake)

    def ingest_event(self, payload: Any) -> Run:
        return self.lineage.ingest_event(payload, view=None if self._open else self.lake)

    def note_assets(self, rows: Sequence[dict[str, Any]]) -> None:
        self.lineage.note_assets(rows)

    def attach_outputs(self, run_id: str, output_ids: Sequence[str]) -> None:
        self.lineage.attach_outputs(run_id, output_ids)

    def set_job_version(self, namespace: str, name: str, version: str | None) -> Job:
        return self.lineage.set_job_version(namespace, name, version)


__all__ = ["LineageView", "is_redacted"]
