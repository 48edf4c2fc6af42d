"""Visibility is decided on the lake read path: a limited view never returns other titles' rows."""
from __future__ import annotations

from graph_api.lake import Access, Lake
from tests.conftest import make_assets, make_title


def test_a_view_limited_to_some_titles_sees_only_their_rows(lake: Lake) -> None:
    mine, other = make_title(lake), make_title(lake)
    a = make_assets(lake, mine["id"])[0]
    b = make_assets(lake, other["id"])[0]
    view = lake.with_access(Access(title_ids=frozenset({mine["id"]})))
    assert set(view.assets.get_many([a["id"], b["id"]])) == {a["id"]}
    assert view.titles.get(other["id"]) is None
    assert view.assets.list().column("title_id").to_pylist() == [mine["id"]]


def test_restricted_titles_are_hidden_unless_allowed(lake: Lake) -> None:
    secret = make_title(lake, restricted=True, name="Secret")
    make_title(lake, name="Public")
    view = lake.with_access(Access(restricted=False))
    assert view.titles.list().column("name").to_pylist() == ["Public"]
    assert lake.titles.get(secret["id"]) is not None
