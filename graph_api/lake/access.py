"""Who may see which title: decided here, applied by the lake view (``LakeView.scan`` and
``ranked``) to every read.

A reader sees every unrestricted title, plus the restricted titles it was granted (or every
title). Restriction is inherited: an episode of a restricted series is restricted, and a grant
of a series covers its episodes (``graph_api.lake.titles.TitleTree``). What a reader may not
see is a set of title ids, the *hidden* set, which the view turns into one prefilter on each
table's title column: a hidden title's rows do not exist for that reader.
"""
from __future__ import annotations

from dataclasses import dataclass

from graph_api.lake import sql
from graph_api.lake.titles import TitleTree
from graph_api.lake.tokens import Principal


@dataclass(frozen=True)
class Access:
    """A reader's view of the lake.

    ``title_ids`` None means every title, else only these (a narrowing, e.g. for a notebook).
    ``restricted`` true sees restricted titles; false hides them, except those in ``granted``
    and the titles under those.
    """

    title_ids: frozenset[str] | None = None
    restricted: bool = True
    granted: frozenset[str] = frozenset()

    @classmethod
    def everything(cls) -> Access:
        return cls()

    @property
    def unlimited(self) -> bool:
        return self.title_ids is None and self.restricted

    def hidden(self, tree: TitleTree) -> frozenset[str]:
        """The titles this access may not see, among those ``tree`` holds (restricted, not granted)."""
        if self.restricted or not tree.restricted:
            return frozenset()
        return tree.restricted - tree.with_descendants(self.granted)

    def sees(self, title_id: str | None, hidden: frozenset[str]) -> bool:
        """Whether a row of ``title_id`` is visible, given this access's ``hidden`` set."""
        if title_id is None:
            return True
        if self.title_ids is not None and title_id not in self.title_ids:
            return False
        return title_id not in hidden

    def clause(self, title_column: str | None, hidden: frozenset[str] = frozenset()) -> str | None:
        """The filter that keeps a table's rows to what this access may see; ``title_column`` names
        the table's title column (``id`` for titles itself), None for tables not tied to a title;
        ``hidden`` is ``self.hidden(tree)`` of the lake's current titles."""
        if self.unlimited or title_column is None:
            return None
        clauses: list[str | None] = []
        if self.title_ids is not None:
            clauses.append(sql.is_in(title_column, sorted(self.title_ids)))
        if hidden:
            clauses.append(sql.not_in(title_column, sorted(hidden)))
        return sql.all_of(*clauses)


EVERYTHING = Access.everything()


def access_for(principal: Principal) -> Access:
    """What a token (or the local user) may see: every title with ``all_titles``, else the
    unrestricted ones plus its grants."""
    if principal.all_titles:
        return EVERYTHING
    return Access(restricted=False, granted=frozenset(principal.title_ids))


__all__ = ["EVERYTHING", "Access", "access_for"]
