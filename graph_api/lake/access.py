"""Who may see which title: decided here, applied by ``Lake.scan`` to every read."""
from __future__ import annotations

from dataclasses import dataclass


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


EVERYTHING = Access.everything()
