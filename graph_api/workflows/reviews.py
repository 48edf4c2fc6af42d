"""Review decisions and when a review (or a cut) no longer holds.

Staleness is computed, never stored: the caller asks lineage whether a version is stale at the
moment of the read, so the answer is always true to the graph.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graph_api.workflows.problems import Problems

# the one source of the decisions; the GraphQL enum ReviewDecision is built from it
DECISIONS: tuple[str, ...] = ("APPROVED", "CHANGES_REQUESTED", "REJECTED")
MAX_COMMENT = 10_000  # characters


def review_is_stale(reviewed_version: int, current_version: int, version_is_stale: bool) -> bool:
    """A review no longer holds when the asset has moved on from the reviewed version, or when
    lineage says that version is stale (an input re-delivered, a job version changed, an
    ancestor stale): an approval must not silently cover a re-delivered source."""
    return reviewed_version != current_version or version_is_stale


@dataclass(frozen=True, slots=True)
class ClipUse:
    asset_id: str
    version: int  # the version that was cut in


def cut_is_stale(clips: Iterable[ClipUse], current_versions: Mapping[str, int], stale_assets: frozenset[str]) -> bool:
    """A cut no longer holds when a clip's asset has a newer version than the one cut in, or is
    stale in lineage. An asset missing from ``current_versions`` (no longer visible) does not
    make the cut stale: that is a question of access, not of change."""
    for clip in clips:
        current = current_versions.get(clip.asset_id)
        if current is not None and current != clip.version:
            return True
        if clip.asset_id in stale_assets:
            return True
    return False


@dataclass(frozen=True, slots=True)
class ReviewedAsset:
    id: str
    title_id: str
    current_version: int


@dataclass(frozen=True, slots=True)
class CheckedReview:
    asset_id: str
    title_id: str
    version: int
    decision: str
    comment: str | None


def check_review(row: Mapping[str, Any], asset: ReviewedAsset | None) -> CheckedReview:
    """The rules of ``reviewAsset``: a known asset, a version it has (default: the current one),
    a decision of :data:`DECISIONS`, a bounded comment. All problems are raised together."""
    problems = Problems("reviewAsset")
    asset_id = row.get("asset_id")
    if asset is None:
        problems.add(None, "asset_id", f"unknown asset {asset_id!r}", "NOT_FOUND")
    decision = row.get("decision")
    if decision not in DECISIONS:
        problems.add(None, "decision", f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    version = row.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        problems.add(None, "version", f"version {version!r} is not a version number")
    elif version is not None and asset is not None and not 1 <= version <= asset.current_version:
        problems.add(None, "version", f"asset {asset.id!r} has no version {version} "
                                      f"(its versions are 1 to {asset.current_version})", "NOT_FOUND")
    comment = row.get("comment")
    if comment is not None and not isinstance(comment, str):
        problems.add(None, "comment", "the comment must be text")
    elif comment is not None and len(comment) > MAX_COMMENT:
        problems.add(None, "comment", f"the comment is {len(comment)} characters; the maximum is {MAX_COMMENT}")
    problems.raise_if_any()
    assert asset is not None and isinstance(decision, str)
    return CheckedReview(asset.id, asset.title_id, version if version is not None else asset.current_version,
                         decision, comment if comment and comment.strip() else None)
