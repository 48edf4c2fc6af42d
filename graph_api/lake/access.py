"""Who may see which title: decided here, applied by the lake view (``LakeView.scan`` and
``ranked``) to every read."""
from __future__ import annotations

from dataclasses import dataclass

from graph_api.lake import sql
from graph_api.lake.tokens import Principal


@dataclass(frozen=True)
class Access:
    """A reader's view of the lake.

    ``title_ids`` None means every title. Restricted titles are hidden unless
    ``restricted`` is true or the title is named explicitly in ``title_ids``.
    """

    title_ids: frozenset[str] | None = None
    restricted: bool = True

    @classmethod
    def everything(cls) -> Access:
        return cls()

    @property
    def unlimited(self) -> bool:
        return self.title_ids is None and self.restricted

    def clause(self, title_column: str | None) -> str | None:
        """The filter that keeps a table's rows to what this access may see; ``title_column`` names
        the table's title column (``id`` for titles itself), None for tables not tied to a title."""
        if self.unlimited or title_column is None:
            return None
        clauses: list[str] = []
        if self.title_ids is not None:
            clauses.append(sql.is_in(title_column, sorted(self.title_ids)))
        if not self.restricted and title_column == "id":
            clauses.append("restricted = FALSE")
        return sql.all_of(*clauses)


EVERYTHING = Access.everything()


# provisional: the authz branch replaces this
def access_for(principal: Principal) -> Access:
    """The lake view a principal gets: every title with ``all_titles``, else the unrestricted ones."""
    if principal.all_titles:
        return EVERYTHING
    return Access(title_ids=None, restricted=False)
