"""Reviews: one decision on one asset version, by one reviewer. History: a new decision adds a
row, nothing is overwritten, so the latest row of a version is its approval."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph_api.lake import sql
from graph_api.lake.assets import CURRENT
from graph_api.lake.base import IN_CHUNK, Repo, now
from graph_api.lake.ids import new_id
from graph_api.lake.validate import check_strings
from graph_api.workflows.reviews import ReviewedAsset, check_review
from graph_api.workflows.tables import REVIEWS


class Reviews(Repo):
    table_name = "reviews"
    schema = REVIEWS

    def by_asset(self, asset_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every review of each asset (all versions), oldest first."""
        return self.group_by("asset_id", asset_ids)

    def list(self, *, title_ids: Sequence[str] | None = None, asset_ids: Sequence[str] | None = None,
             decision: str | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        """Reviews as Arrow in id (= creation) order; ``columns`` (with ``id``) to read less."""
        where = sql.all_of(
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.is_in("asset_id", asset_ids) if asset_ids is not None else None,
            sql.eq("decision", decision) if decision else None,
        )
        return self.scan(where, columns=list(columns) if columns else None).sort_by([("id", "ascending")])

    def with_current(self, reviews: pa.Table, *, title_ids: Sequence[str] | None = None) -> pa.Table:
        """``reviews`` (with ``asset_id``), in their order, with two columns about each one's asset:
        ``current_version`` (null where the reader does not see the asset) and ``produced`` (a run
        produced that version). The assets are read with only those columns, by title when the
        reviews are a title's (one indexed read, however many reviews), else by id; the match is
        an Arrow lookup, not a Python loop over the reviews. A delivered asset (no producing run)
        has no inputs, so lineage never calls it stale and need not be asked."""
        columns = ["id", "version", "produced_by"]
        if title_ids is not None:
            tables = [self.view.scan("assets", sql.all_of(sql.is_in("title_id", title_ids), CURRENT), columns=columns)]
        else:
            unique = sorted(pc.unique(reviews.column("asset_id")).to_pylist())
            tables = [self.view.scan("assets", sql.all_of(sql.is_in("id", unique[start : start + IN_CHUNK]), CURRENT),
                                     columns=columns) for start in range(0, len(unique), IN_CHUNK)]
        assets = pa.concat_tables(tables)
        # one current row per asset: index_in finds it (null: not visible), take reads its columns
        at = pc.index_in(reviews.column("asset_id"), value_set=assets.column("id").combine_chunks())
        current = assets.column("version").take(at)
        produced = pc.is_valid(assets.column("produced_by").take(at))  # a null index takes a null
        return reviews.append_column("current_version", current).append_column("produced", produced)

    def add(self, row: Mapping[str, Any], *, reviewer: str) -> dict[str, Any]:
        """Record one decision (``asset_id``, ``version`` or the current one, ``decision``, ``comment``)."""
        check_strings("reviewAsset", [row], batch=False)
        asset_id = row.get("asset_id")
        found = self.view.assets.get_many([asset_id]) if isinstance(asset_id, str) else {}
        current = found.get(asset_id) if isinstance(asset_id, str) else None
        asset = None if current is None else ReviewedAsset(current["id"], current["title_id"], current["version"])
        checked = check_review(row, asset)
        record = {
            "id": new_id("rev"), "asset_id": checked.asset_id, "version": checked.version,
            "title_id": checked.title_id, "decision": checked.decision, "reviewer": reviewer,
            "comment": checked.comment, "created_at": now(),
        }
        with self.connection.write_lock:
            self.connection.add(self.table_name, self.to_table([record]))
        return record

