"""The lake as one reader sees it: every repository and search, bound to one ``Access`` and
one run-visibility rule.

The access rule is applied by each table's title column (``id`` for titles, ``title_id`` for
every other table tied to a title), so a repository added to ``Repositories`` whose table has
that column is covered without more code.

``LakeView.scan`` and ``ranked`` are the only read paths, and both apply the two rules. A view
is built from ``Repositories``, the one list of repositories: each field is bound to the view
when the view is built (``Repositories.bound_to``), so a repository added to the list is bound
like the others and no repository exists outside a view.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, get_type_hints

import pyarrow as pa

from graph_api.lake import snapshots, sql
from graph_api.lake.access import Access
from graph_api.lake.annotations import Annotations
from graph_api.lake.assets import Assets
from graph_api.lake.connection import Connection
from graph_api.lake.cuts import Cuts
from graph_api.lake.embeddings import Embeddings
from graph_api.lake.notes import Notes
from graph_api.lake.playlists import Playlists
from graph_api.lake.reviews import Reviews
from graph_api.lake.runs import RunVisibility
from graph_api.lake.search import Search
from graph_api.lake.segments import Segments
from graph_api.lake.titles import Titles, TitleTree, title_tree

REDACTED_PREFIX = "redacted_"


@dataclass(frozen=True)
class Repositories:
    """Every repository a view has, one per table family."""

    titles: Titles
    assets: Assets
    segments: Segments
    annotations: Annotations
    embeddings: Embeddings
    reviews: Reviews
    notes: Notes
    cuts: Cuts
    playlists: Playlists

    @classmethod
    def bound_to(cls, view: LakeView) -> Repositories:
        return cls(**{name: repo(view) for name, repo in _CLASSES.items()})


# each field's type is its repository class (resolved once: a view is built per request)
_CLASSES: dict[str, Callable[[LakeView], Any]] = {
    f.name: get_type_hints(Repositories)[f.name] for f in fields(Repositories)
}


class LakeView:
    def __init__(self, connection: Connection, access: Access, runs: RunVisibility) -> None:
        self.connection = connection
        self.access = access
        self.runs = runs
        self.repositories = Repositories.bound_to(self)
        self.search = Search(self)
        self._hidden: tuple[TitleTree, frozenset[str]] | None = None
        # keys the opaque ids of what this view redacts: stable for the view (a request's), and
        # useless for telling ids apart across views
        self._redaction_key = secrets.token_bytes(16)

    def with_access(self, access: Access) -> LakeView:
        """A view of the same lake under ``access`` (which replaces this view's: build a narrower
        view from the lake's unlimited one), with the same run rule."""
        return LakeView(self.connection, access, self.runs)

    def with_runs(self, runs: RunVisibility) -> LakeView:
        """The same view with another run-visibility rule (lineage's, once it is loaded)."""
        return LakeView(self.connection, self.access, runs)

    # --- the repositories -----------------------------------------------------------
    @property
    def titles(self) -> Titles:
        return self.repositories.titles

    @property
    def assets(self) -> Assets:
        return self.repositories.assets

    @property
    def segments(self) -> Segments:
        return self.repositories.segments

    @property
    def annotations(self) -> Annotations:
        return self.repositories.annotations

    @property
    def embeddings(self) -> Embeddings:
        return self.repositories.embeddings

    @property
    def reviews(self) -> Reviews:
        return self.repositories.reviews

    @property
    def notes(self) -> Notes:
        return self.repositories.notes

    @property
    def cuts(self) -> Cuts:
        return self.repositories.cuts

    @property
    def playlists(self) -> Playlists:
        return self.repositories.playlists

    # --- reads ------------------------------------------------------------------------
    def scan(
        self,
        table: str,
        where: str | None = None,
        *,
        columns: list[str] | None = None,
        limit: int | None = None,
        title_column: str | None = "title_id",
        include_invisible: bool = False,
        keyed: bool = False,
    ) -> pa.Table:
        """Rows of ``table`` matching ``where`` that this view may see.

        ``title_column`` None reads past the access rule (ids a write must not duplicate);
        ``include_invisible`` keeps rows of runs that never became visible (for maintenance);
        ``keyed``: ``where`` picks rows by an indexed key (few rows), see ``snapshots.scan``."""
        clause = sql.all_of(where, self._access_clause(title_column))
        self.connection.count_read(table)
        # through pylance, not LanceDB's query builder: the same scan at a third of the fixed cost
        result = snapshots.scan(self.connection, table, clause, columns, limit, keyed=keyed)
        return result if include_invisible else self._hide_invisible_runs(result)

    def ranked(self, table: str, start: Callable[[Any], Any], where: str | None, *, limit: int,
               columns: list[str] | None = None, title_column: str | None = "title_id") -> pa.Table:
        """The ranked counterpart of ``scan``: ``start(table)`` begins a vector or full-text query;
        ``where`` and the access rule are pushed down as a prefilter, so ranking sees only visible rows."""
        clause = sql.all_of(where, self._access_clause(title_column))
        query = start(self.connection.table(table))
        if clause:
            query = query.where(clause, prefilter=True)
        if columns is not None:
            query = query.select(columns)
        self.connection.count_read(table)
        return self._hide_invisible_runs(query.limit(limit).to_arrow())

    # --- the access rule ------------------------------------------------------------------
    def hidden_titles(self) -> frozenset[str]:
        """The titles this view may not see: restricted (also by inheritance) and not granted.
        Derived from the lake's title tree, recomputed when the titles table moves."""
        if self.access.restricted:
            return frozenset()
        tree = title_tree(self.connection)
        cached = self._hidden
        if cached is None or cached[0] is not tree:
            cached = (tree, self.access.hidden(tree))
            self._hidden = cached
        return cached[1]

    def sees_title(self, title_id: str | None) -> bool:
        """Whether rows of ``title_id`` exist for this view (None: rows tied to no title)."""
        return self.access.unlimited or self.access.sees(title_id, self.hidden_titles())

    def visible_titles(self, title_ids: Iterable[str | None]) -> set[str | None]:
        hidden = self.hidden_titles() if not self.access.unlimited else frozenset()
        return {t for t in title_ids if self.access.unlimited or self.access.sees(t, hidden)}

    def redacted_id(self, node_id: str) -> str:
        """The opaque id that stands for ``node_id`` where this view may not see it: a keyed hash,
        the same for the same id throughout this view, telling nothing of the id itself."""
        digest = hmac.new(self._redaction_key, node_id.encode(), hashlib.sha256).hexdigest()
        return REDACTED_PREFIX + digest[:24]

    def _access_clause(self, title_column: str | None) -> str | None:
        if self.access.unlimited or title_column is None:
            return None
        return self.access.clause(title_column, self.hidden_titles())

    def _hide_invisible_runs(self, rows: pa.Table) -> pa.Table:
        if "produced_by" not in rows.column_names or rows.num_rows == 0:
            return rows
        produced = rows.column("produced_by").to_pylist()
        runs = {p for p in produced if p is not None}
        if not runs:
            return rows
        visible = self.runs.visible_runs(runs)
        if len(visible) == len(runs):
            return rows
        return rows.filter(pa.array([p is None or p in visible for p in produced]))
