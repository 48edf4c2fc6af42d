"""The rules of ``createPlaylist``: each asset frozen at its current version, in the order given."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph_api.workflows.problems import Problems

MAX_ITEMS = 1_000
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class ListedAsset:
    id: str
    title_id: str
    current_version: int


@dataclass(frozen=True, slots=True)
class CheckedPlaylist:
    name: str
    title_id: str | None
    items: tuple[tuple[str, int], ...]  # (asset id, version), in playing order


def check_playlist(row: Mapping[str, Any], assets: Mapping[str, ListedAsset],
                   known_title: bool | None = None) -> CheckedPlaylist:
    """``row`` is a PlaylistInput (``name``, ``title_id``, ``asset_ids``); ``assets`` what the lake
    found of its asset ids; ``known_title`` whether ``title_id`` exists (None: not asked).

    An asset may appear more than once (a shot played again after its alternate). With a title,
    every asset must belong to it or to one of its episodes, which the caller says by giving
    ``assets`` of those only; an asset of another title is then unknown."""
    problems = Problems("createPlaylist")
    name = row.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(None, "name", "a playlist needs a name")
    elif len(name) > MAX_NAME:
        problems.add(None, "name", f"the name is {len(name)} characters; the maximum is {MAX_NAME}")
    title_id = row.get("title_id")
    if title_id is not None and known_title is False:
        problems.add(None, "title_id", f"unknown title {title_id!r}", "NOT_FOUND")
    asset_ids: Sequence[Any] = row.get("asset_ids") or ()
    if not asset_ids:
        problems.add(None, "asset_ids", "a playlist needs at least one asset")
    elif len(asset_ids) > MAX_ITEMS:
        problems.add(None, "asset_ids", f"{len(asset_ids)} assets exceed the maximum of {MAX_ITEMS}")
    items: list[tuple[str, int]] = []
    for i, asset_id in enumerate(asset_ids[:MAX_ITEMS]):
        asset = assets.get(asset_id) if isinstance(asset_id, str) else None
        if asset is None:
            problems.add(None, f"asset_ids[{i}]", f"unknown asset {asset_id!r}", "NOT_FOUND")
        else:
            items.append((asset.id, asset.current_version))
    problems.raise_if_any()
    assert isinstance(name, str)
    return CheckedPlaylist(name.strip(), title_id, tuple(items))
