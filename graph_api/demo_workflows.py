"""The demo's creative workflows, on top of the derived corpus: an approved proxy of the episode
"Departure", notes with drawings on it, a note on its source, a cut of the episode imported from
OpenTimelineIO, a playlist of the series, and then the re-delivery of the episode's source with
different content (version 2), which leaves the approval visibly stale (``Review.stale``,
``reviews(stale: true)``) and the cut stale, until someone derives again and re-approves.

Each piece is written only when it is missing, so a reused demo lake writes nothing and an
interrupted build resumes. The re-delivered source is not derived again by the demo: showing
the stale approval is the point, and ``mediagraph derive`` is the user's next step.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graph_api.lake.cut_runs import cut_recorder
from graph_api.media.synth import PATTERNS, ClipSpec, Shot, Tone, palette, write_clip
from graph_api.pipeline.context import Context
from graph_api.pipeline.derive import subjects_of
from graph_api.pipeline.ingest import external_id_for, ingest
from graph_api.workflows.timelines import TimelineClip, build_timeline

EPISODE = "episode-northern-crossing-s01e01"  # "Departure": reviewed, cut, then re-delivered
OTHER_EPISODE = "episode-northern-crossing-s01e02"
SERIES = "series-northern-crossing"
CUT_NAME = "Departure - editor's cut"
PLAYLIST_NAME = "Northern Crossing dailies"
AUTHOR = "local"  # the contract's reviewer and author with auth off, which is how the demo serves
# drawings in normalized frame coordinates (graph_api.workflows.regions)
BOOM = {"shapes": [{"type": "rect", "x": 0.05, "y": 0.0, "w": 0.3, "h": 0.2, "color": "#ff3b30", "width": 0.01}]}
WAKE = {"shapes": [{"type": "freehand", "points": [[0.2, 0.8], [0.35, 0.72], [0.5, 0.7], [0.7, 0.74]],
                    "color": "#ffd60a"},
                   {"type": "arrow", "from": [0.85, 0.4], "to": [0.72, 0.68], "color": "#ffd60a"}]}
SOURCE_NOTE = "Audio clips from 6.5 s: please fix in the re-delivery"
REDELIVERED_NOTE = "Re-delivered: clipping fixed, the grade changed; proxy and approval need redoing"


def _clip(corpus: Any, key: str) -> Path:
    return next(f for f in corpus.title(key).files if f.suffix == ".mp4")


def _current(ctx: Context, path: Path) -> dict[str, Any] | None:
    key = external_id_for(path)
    return ctx.lake.assets.by_external_id([key]).get(key)


def redelivered_source(ctx: Context, corpus: Any) -> dict[str, Any] | None:
    """The episode's source once the demo has re-delivered it (version 2 or later), else None."""
    row = _current(ctx, _clip(corpus, EPISODE))
    return row if row is not None and row["version"] >= 2 else None


def derive_targets(ctx: Context, title_id: str, redelivered: dict[str, Any] | None) -> Iterator[str]:
    """What to derive for a top-level title: the title itself, or, when it holds the re-delivered
    source, each of its delivered assets but that one (left stale on purpose)."""
    subjects = [s["id"] for s in subjects_of(ctx, title_id)]
    if redelivered is None or redelivered["id"] not in subjects:
        yield title_id
        return
    yield from (s for s in subjects if s != redelivered["id"])


def _proxy(ctx: Context, source: dict[str, Any]) -> dict[str, Any] | None:
    rows = ctx.lake.assets.by_title([source["title_id"]]).get(source["title_id"], [])
    return next((r for r in rows if r["role"] == "proxy" and r["produced_by"]), None)


def demo_workflows(ctx: Context, titles: dict[str, str], corpus: Any) -> int:
    """The review, notes, cut and playlist of the demo, each written when missing; returns how many
    were written."""
    lake = ctx.lake
    source = _current(ctx, _clip(corpus, EPISODE))
    other_source = _current(ctx, _clip(corpus, OTHER_EPISODE))
    proxy = _proxy(ctx, source) if source else None
    other = _proxy(ctx, other_source) if other_source else None
    if source is None or proxy is None or other_source is None or other is None:
        return 0  # a failed derive was reported already; the workflows need its proxies
    made = 0
    if not lake.reviews.by_asset([proxy["id"]])[proxy["id"]]:
        lake.reviews.add({"asset_id": proxy["id"], "decision": "APPROVED",
                          "comment": "Grade and framing approved for the broadcast master"}, reviewer=AUTHOR)
        made += 1
    notes = lake.notes.by_asset([proxy["id"], source["id"]])
    if not notes[proxy["id"]]:
        boom, _ = lake.notes.add([
            {"asset_id": proxy["id"], "text": "Boom mic dips into frame, top left", "start": 1.5, "end": 3.0,
             "region": BOOM},
            {"asset_id": proxy["id"], "text": "Follow the ferry's wake into the next shot", "start": 4.0, "end": 5.5,
             "region": WAKE}], author=AUTHOR)
        lake.notes.add([{"asset_id": proxy["id"], "text": "Agreed: reframe in the grade", "start": 2.0,
                         "reply_to": boom["id"]}], author=AUTHOR)
        made += 1
    if not any(n["text"] == SOURCE_NOTE for n in notes[source["id"]]):
        lake.notes.add([{"asset_id": source["id"], "version": 1, "text": SOURCE_NOTE, "start": 6.5, "end": 7.0}],
                       author=AUTHOR)
        made += 1
    episode = titles[EPISODE]
    if not any(name == CUT_NAME for name in lake.cuts.list(title_ids=[episode]).column("name").to_pylist()):
        # as an editor's OTIO export: clips named by asset id, and one by its file's uri
        otio = build_timeline(CUT_NAME, [
            TimelineClip("cold open", 0.0, 1.5, asset_id=proxy["id"]),
            TimelineClip("storm tease", 2.0, 2.0, asset_id=other["id"], gap_before=0.5),
            TimelineClip("departure", 3.25, 2.25, uri=source["uri"]),
        ])
        lake.cuts.import_otio(episode, CUT_NAME, otio, created_by=AUTHOR, record=cut_recorder(ctx.lineage))
        made += 1
    series = titles[SERIES]
    if not any(name == PLAYLIST_NAME for name in lake.playlists.list(title_ids=[series]).column("name").to_pylist()):
        lake.playlists.create({"name": PLAYLIST_NAME, "title_id": series,
                               "asset_ids": [proxy["id"], other["id"], source["id"]]}, created_by=AUTHOR)
        made += 1
    return made


def redeliver(ctx: Context, titles: dict[str, str], corpus: Any) -> int:
    """The episode's source delivered again with different content (a new grade, the clipping
    fixed) at the same path: ingest makes it version 2, and everything derived from version 1,
    the approved proxy and the cut among it, turns stale. Returns 1 when it was re-delivered."""
    entry = corpus.title(EPISODE)
    path = _clip(corpus, EPISODE)
    cuts = entry.truth.cuts if entry.truth else [1.5, 3.25, 5.5]
    duration = entry.truth.duration if entry.truth else 8.0
    # the same length and shot boundaries (notes and the cut's ranges still fit), other colours
    shots = [Shot(PATTERNS[(i + 1) % len(PATTERNS)], *palette(40 + i), speed=1.0 + i) for i in range(len(cuts) + 1)]
    write_clip(path, ClipSpec(width=320, height=180, fps=24, duration=duration, shots=shots, cuts=cuts,
                              tone=Tone(frequency=440.0, level_dbfs=-20.0), language="eng"))
    report = ingest(ctx, [path], titles[EPISODE])
    if not report.updated:
        raise RuntimeError(f"re-delivering {path} made no new version: {report.summary()}")
    ctx.reporter.note(f"re-delivered {path.name} (version {report.updated[0][2]}): its approved proxy is now stale")
    return 1


def after_redelivery(ctx: Context, corpus: Any) -> int:
    """The note on the re-delivered version, so that "notes on this version and the last" has both."""
    source = redelivered_source(ctx, corpus)
    if source is None:
        return 0
    notes = ctx.lake.notes.by_asset([source["id"]])[source["id"]]
    if any(n["text"] == REDELIVERED_NOTE for n in notes):
        return 0
    ctx.lake.notes.add([{"asset_id": source["id"], "version": source["version"], "text": REDELIVERED_NOTE,
                         "start": 6.5, "end": 7.0}], author=AUTHOR)
    return 1
