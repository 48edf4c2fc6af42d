"""Review decisions, staleness of reviews and cuts, and the rules of one review and one playlist."""
from __future__ import annotations

from typing import Any

import pytest

from graph_api.errors import InvalidArgument, MediaGraphError, NotFound
from graph_api.workflows.playlists import MAX_ITEMS, ListedAsset, check_playlist
from graph_api.workflows.reviews import (
    DECISIONS,
    MAX_COMMENT,
    CheckedReview,
    ClipUse,
    ReviewedAsset,
    check_review,
    cut_is_stale,
    review_is_stale,
)

PROXY = ReviewedAsset("asset_proxy", "title_1", 3)


def test_the_decisions_are_the_contracts_enum_in_its_order() -> None:
    assert DECISIONS == ("APPROVED", "CHANGES_REQUESTED", "REJECTED")


@pytest.mark.parametrize("reviewed, current, lineage_stale, stale", [
    (3, 3, False, False),  # approved as it is
    (2, 3, False, True),  # the asset was re-delivered since
    (3, 3, True, True),  # an input of the reviewed version changed
    (2, 3, True, True),
])
def test_a_review_is_stale_when_the_version_moved_on_or_lineage_says_so(
        reviewed: int, current: int, lineage_stale: bool, stale: bool) -> None:
    assert review_is_stale(reviewed, current, lineage_stale) is stale


def test_a_cut_is_stale_when_a_clip_asset_moved_on_or_is_stale() -> None:
    clips = [ClipUse("asset_a", 1), ClipUse("asset_b", 2), ClipUse("asset_a", 1)]
    current = {"asset_a": 1, "asset_b": 2}
    assert not cut_is_stale(clips, current, frozenset())
    assert cut_is_stale(clips, {**current, "asset_b": 3}, frozenset())
    assert cut_is_stale(clips, current, frozenset({"asset_a"}))
    assert not cut_is_stale(clips, {"asset_b": 2}, frozenset())  # a hidden asset is not a change
    assert not cut_is_stale([], {}, frozenset())


def review(**kw: Any) -> dict[str, Any]:
    return {"asset_id": "asset_proxy", "decision": "APPROVED", **kw}


def test_a_review_defaults_to_the_current_version() -> None:
    assert check_review(review(comment="lovely"), PROXY) == CheckedReview(
        "asset_proxy", "title_1", 3, "APPROVED", "lovely")
    assert check_review(review(version=1, decision="REJECTED", comment="  "), PROXY).version == 1
    assert check_review(review(comment="  "), PROXY).comment is None


def test_every_problem_of_a_review_is_named_at_once() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_review(review(decision="MAYBE", version="2", comment=5), PROXY)
    assert [p["field"] for p in caught.value.details["problems"]] == ["decision", "version", "comment"]
    assert "decision 'MAYBE' is not one of APPROVED, CHANGES_REQUESTED, REJECTED" in caught.value.message


@pytest.mark.parametrize("row, asset, error, field", [
    (review(asset_id="asset_nope"), None, NotFound, "asset_id"),
    (review(version=4), PROXY, NotFound, "version"),
    (review(version=0), PROXY, NotFound, "version"),
    (review(version=True), PROXY, InvalidArgument, "version"),
    (review(decision=None), PROXY, InvalidArgument, "decision"),
    (review(decision="approved"), PROXY, InvalidArgument, "decision"),
    (review(comment="x" * (MAX_COMMENT + 1)), PROXY, InvalidArgument, "comment"),
])
def test_bad_reviews_are_refused_with_a_code(row: dict[str, Any], asset: ReviewedAsset | None,
                                             error: type[MediaGraphError], field: str) -> None:
    with pytest.raises(error) as caught:
        check_review(row, asset)
    assert caught.value.details["problems"][0]["field"] == field
    assert caught.value.message.startswith("reviewAsset: ")


LISTED = {"asset_a": ListedAsset("asset_a", "title_1", 2), "asset_b": ListedAsset("asset_b", "title_1", 1)}


def test_a_playlist_freezes_each_asset_at_its_current_version_in_order() -> None:
    playlist = check_playlist({"name": " dailies ", "title_id": "title_1",
                               "asset_ids": ["asset_b", "asset_a", "asset_b"]}, LISTED, known_title=True)
    assert playlist.name == "dailies" and playlist.title_id == "title_1"
    assert playlist.items == (("asset_b", 1), ("asset_a", 2), ("asset_b", 1))


@pytest.mark.parametrize("row, known_title, found", [
    ({"name": "", "asset_ids": ["asset_a"]}, None, [(None, "name", "INVALID_ARGUMENT")]),
    ({"name": "x" * 201, "asset_ids": ["asset_a"]}, None, [(None, "name", "INVALID_ARGUMENT")]),
    ({"name": "d", "asset_ids": []}, None, [(None, "asset_ids", "INVALID_ARGUMENT")]),
    ({"name": "d", "asset_ids": ["asset_a", "asset_x", 3]}, None,
     [(None, "asset_ids[1]", "NOT_FOUND"), (None, "asset_ids[2]", "NOT_FOUND")]),
    ({"name": "d", "title_id": "title_x", "asset_ids": ["asset_a"]}, False, [(None, "title_id", "NOT_FOUND")]),
    ({"name": "d", "asset_ids": ["asset_a"] * (MAX_ITEMS + 1)}, None, [(None, "asset_ids", "INVALID_ARGUMENT")]),
])
def test_bad_playlists_are_refused(row: dict[str, Any], known_title: bool | None,
                                   found: list[tuple[int | None, str, str]]) -> None:
    with pytest.raises(MediaGraphError) as caught:
        check_playlist(row, LISTED, known_title)
    assert [(p["index"], p["field"], p["code"]) for p in caught.value.details["problems"]] == found


def test_an_unknown_playlist_asset_is_named_by_its_position() -> None:
    with pytest.raises(NotFound, match=r"asset_ids\[1\]: unknown asset 'asset_x'"):
        check_playlist({"name": "d", "asset_ids": ["asset_a", "asset_x"]}, LISTED)
