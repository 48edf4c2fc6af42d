"""Playlists: assets in playing order, each frozen at the version that was current when the
playlist was made, so a review session plays what was chosen even after a re-delivery."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.base import Repo, View, now
from graph_api.lake.ids import new_id
from graph_api.lake.validate import check_strings
from graph_api.workflows.playlists import ListedAsset, check_playlist
from graph_api.workflows.tables import PLAYLISTS, playlist_items


class Playlists(Repo):
    table_name = "playlists"
    schema = PLAYLISTS

    def list(self, *, title_ids: Sequence[str] | None = None) -> pa.Table:
        where = sql.is_in("title_id", title_ids) if title_ids is not None else None
        return self.scan(where).sort_by([("id", "ascending")])

    def create(self, row: Mapping[str, Any], *, created_by: str) -> dict[str, Any]:
        """``row``: ``name``, ``title_id`` (optional), ``asset_ids`` in order."""
        check_strings("createPlaylist", [row], batch=False)
        title_id = row.get("title_id")
        known_title = None
        family: set[str] | None = None
        if isinstance(title_id, str):
            family = self._family(title_id)
            known_title = bool(family)
        ids = [a for a in row.get("asset_ids") or () if isinstance(a, str)]
        found = self.view.assets.get_many(ids)
        assets = {a: ListedAsset(r["id"], r["title_id"], r["version"]) for a, r in found.items()
                  if family is None or r["title_id"] in family}
        checked = check_playlist(row, assets, known_title)
        items, asset_ids = playlist_items(checked.items)
        record = {"id": new_id("pl"), "name": checked.name, "title_id": checked.title_id, "items": items,
                  "asset_ids": asset_ids, "created_by": created_by, "created_at": now()}
        with self.connection.write_lock:
            self.connection.add(self.table_name, self.to_table([record]))
        return record

    def _family(self, title_id: str) -> set[str]:
        """The title and every title below it (seasons, episodes); empty for an unknown title."""
        if not self.view.titles.get_many([title_id]):
            return set()
        return descendants(self.view, title_id)


def descendants(view: View, title_id: str) -> set[str]:
    """``title_id`` and the titles below it, one read per level."""
    family = {title_id}
    level = [title_id]
    while level:
        rows = view.scan("titles", sql.is_in("parent_id", level), columns=["id"], title_column="id").to_pylist()
        level = [r["id"] for r in rows if r["id"] not in family]
        family.update(level)
    return family
