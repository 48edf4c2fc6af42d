"""Editorial cuts imported from OpenTimelineIO (``graph_api.workflows.cuts``), one row each.

A cut is recorded in lineage as a run of the editorial job whose inputs are its clips' assets
and whose output is the cut, so impact and staleness reach it. Commit order: the run first
(nothing of it is visible as a cut), the cut's row last, so a failed import leaves no cut.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from graph_api.errors import NotFound
from graph_api.lake import sql
from graph_api.lake.base import Repo, now
from graph_api.lake.ids import new_id
from graph_api.lake.validate import check_strings
from graph_api.workflows.cuts import MediaRef, ResolvedAsset, import_cut
from graph_api.workflows.tables import CUTS, cut_rows

# (cut id, the assets it uses) -> the lineage run that recorded it, or None without lineage
RecordCut = Callable[[str, Sequence[str]], str | None]

EDITORIAL_JOB = ("editorial", "cut-import")


class Cuts(Repo):
    table_name = "cuts"
    schema = CUTS

    def by_asset(self, asset_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The cuts that use each asset, oldest first, in one read."""
        unique = list(dict.fromkeys(asset_ids))
        grouped: dict[str, list[dict[str, Any]]] = {a: [] for a in unique}
        if not unique:
            return grouped
        values = ", ".join(sql.literal(a) for a in unique)
        for row in self.rows(f"array_has_any(asset_ids, [{values}])"):
            for asset_id in row["asset_ids"]:
                if asset_id in grouped:
                    grouped[asset_id].append(row)
        for rows in grouped.values():
            rows.sort(key=lambda r: r["id"])
        return grouped

    def list(self, *, title_ids: Sequence[str] | None = None) -> pa.Table:
        where = sql.is_in("title_id", title_ids) if title_ids is not None else None
        return self.scan(where).sort_by([("id", "ascending")])

    def resolve(self, refs: Sequence[MediaRef]) -> Mapping[MediaRef, ResolvedAsset | None]:
        """The asset versions a timeline's media references name, in one read of the assets."""
        ids = [r.asset_id for r in refs if r.asset_id]
        uris = [r.uri for r in refs if not r.asset_id and r.uri]
        where = " OR ".join(f"({c})" for c in (sql.is_in("id", ids) if ids else None,
                                                sql.is_in("uri", uris) if uris else None) if c)
        rows = self.view.scan("assets", where or "FALSE",
                              columns=["id", "version", "is_current", "uri", "duration_seconds"]).to_pylist()
        by_id: dict[str, dict[int, dict[str, Any]]] = {}
        for version_row in rows:
            by_id.setdefault(version_row["id"], {})[version_row["version"]] = version_row
        current = {a: max(v) for a, v in by_id.items()}
        by_uri: dict[str, dict[str, Any]] = {}
        for version_row in rows:
            # a uri delivered again (same path, new content) names its newest version
            seen = by_uri.get(version_row["uri"])
            if seen is None or version_row["version"] > seen["version"]:
                by_uri[version_row["uri"]] = version_row
        out: dict[MediaRef, ResolvedAsset | None] = {}
        for ref in refs:
            row: dict[str, Any] | None
            if ref.asset_id:
                versions = by_id.get(ref.asset_id, {})
                row = versions.get(ref.version if ref.version is not None else current.get(ref.asset_id, 0))
            else:
                row = by_uri.get(ref.uri or "")
                if row is not None and ref.version is not None:
                    row = by_id[row["id"]].get(ref.version)
            out[ref] = None if row is None else ResolvedAsset(row["id"], row["version"], row["duration_seconds"],
                                                              row["uri"])
        return out

    def import_otio(self, title_id: str, name: str, otio: str, *, created_by: str,
                    record: RecordCut | None = None) -> dict[str, Any]:
        """Import one OTIO timeline as a cut of ``title_id``; every problem refuses it, nothing written."""
        check_strings("importCut", [{"title_id": title_id, "name": name}], batch=False)
        if self.view.titles.get_many([title_id]).get(title_id) is None:
            raise NotFound(f"importCut: unknown title {title_id!r}", argument="titleId")
        cut = import_cut(otio, self.resolve, name=name.strip() or None)
        cut = dataclasses.replace(cut, id=new_id("cut"), title_id=title_id)
        assert cut.id is not None
        with self.connection.write_lock:
            run_id = record(cut.id, cut.asset_ids) if record is not None else None
            table = cut_rows([cut], created_by=created_by, created_at=now(), run_ids=[run_id])
            self.connection.add(self.table_name, table)
        return table.to_pylist()[0]
