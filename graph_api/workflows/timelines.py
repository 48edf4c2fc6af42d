"""Editorial timelines as files and as built by hand, through the real ``opentimelineio``.

``build_timeline`` makes the OTIO JSON an editor's export would hold (the demo's cut, the
GraphiQL example, tests), so nothing hand-writes OTIO's schema. ``read_timeline_file`` turns a
file into OTIO JSON for ``graph_api.workflows.cuts.import_cut``: ``.otio`` as it is, any other
format through an installed OTIO adapter plugin chosen by the file's suffix (``.edl`` with
``otio-cmx3600-adapter``, a core dependency; FCP XML, AAF with theirs).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from graph_api.errors import InvalidArgument

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


@dataclass(frozen=True, slots=True)
class TimelineClip:
    """One clip of a built timeline: ``duration`` seconds of an asset from ``start`` (seconds into it)."""

    name: str
    start: float
    duration: float
    asset_id: str | None = None  # written as metadata.mediagraph.assetId
    uri: str = ""  # the media reference's target_url: names the asset when there is no asset_id
    gap_before: float = 0.0  # seconds of nothing before the clip in the track


def build_timeline(name: str, clips: Sequence[TimelineClip], *, rate: float = 24.0, track: str = "V1") -> str:
    """An OTIO JSON timeline of one video track holding ``clips`` in order, times snapped to frames."""
    timeline = otio.schema.Timeline(name=name)
    picture = otio.schema.Track(name=track, kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(picture)
    for clip in clips:
        if clip.gap_before > 0:
            picture.append(otio.schema.Gap(source_range=TR(RT(0, rate), _frames(clip.gap_before, rate))))
        reference = otio.schema.ExternalReference(target_url=clip.uri)
        if clip.asset_id:
            reference.metadata["mediagraph"] = {"assetId": clip.asset_id}
        picture.append(otio.schema.Clip(name=clip.name, media_reference=reference,
                                        source_range=TR(_frames(clip.start, rate), _frames(clip.duration, rate))))
    return str(otio.adapters.write_to_string(timeline, "otio_json"))


def _frames(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return RT(round(seconds * rate), rate)


def read_timeline_file(path: str | Path) -> str:
    """The OTIO JSON of an editorial file: ``.otio`` read as text (its problems are import_cut's to
    name), anything else read by the OTIO adapter its suffix selects; INVALID_ARGUMENT when no
    installed adapter reads it or it does not parse."""
    path = Path(path)
    if path.suffix.lower() == ".otio":
        return path.read_text(encoding="utf-8")
    try:
        timeline = otio.adapters.read_from_file(str(path))
    except otio.exceptions.NoKnownAdapterForExtensionError as exc:
        known = sorted({s for a in otio.plugins.ActiveManifest().adapters for s in a.suffixes})
        raise InvalidArgument(f"{path.name}: no installed OpenTimelineIO adapter reads {path.suffix or 'it'} "
                              f"files (installed: {', '.join(known)})", argument="file") from exc
    except Exception as exc:  # noqa: BLE001 - each adapter raises its own errors for a malformed file
        raise InvalidArgument(f"{path.name}: not a readable {path.suffix} timeline: {exc}", argument="file") from exc
    if not isinstance(timeline, otio.schema.Timeline):
        raise InvalidArgument(f"{path.name}: holds a {type(timeline).__name__}, not a timeline", argument="file")
    return str(otio.adapters.write_to_string(timeline, "otio_json"))
