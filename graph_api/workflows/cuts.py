"""Editorial cuts: an OpenTimelineIO timeline read into a Cut record, and a Cut written back.

Reading (:func:`import_cut`) uses the real ``opentimelineio`` package:

- A clip's media reference names an asset by ``metadata.mediagraph.assetId`` (on the media
  reference, or on the clip) or else by its ``target_url``, which is matched to an asset's uri.
  ``metadata.mediagraph.version`` pins the version that was cut in (as :func:`cut_to_otio`
  writes it); without it the resolver answers with the current version.
- Record positions are OTIO's own: a gap takes time, a transition takes none (it overlaps the
  clips beside it), nested stacks and trimmed tracks are mapped to timeline time and clipped to
  what is visible. Every time is converted from its own rate to seconds from the timeline's start
  (``global_start_time`` is not added: an asset's times are seconds from its start, too).
- A source range is in the asset's seconds: the media reference's ``available_range`` start (a
  tape timecode such as 01:00:00:00) is taken off. The media a transition needs beyond the cut
  point (its handles) must exist in the asset as well.
- Disabled tracks and clips, and clips of a generator (bars, slug), are not part of the cut.
  Time effects are not applied, as OTIO's own range computation does not apply them.

Every problem (malformed OTIO, a clip whose media cannot be resolved, a range outside the
asset's duration) is collected and raised as one ``InvalidArgument`` whose ``problems`` name
each clip by track, index (its position among the track's children) and name.

Writing (:func:`cut_to_otio`): one track per track of the cut (a second lane where clips of one
nested track overlapped), gaps where nothing plays, clips as ``ExternalReference(target_url)``
with ``metadata.mediagraph = {assetId, version}`` and the asset's duration as available range;
transitions are not written back.

Other editorial formats, through OTIO's adapter plugins (checked with ``pip download`` and an
install into a scratch environment, OTIO 0.18.1; all install offline from PyPI):

- ``otio-cmx3600-adapter`` 1.0.0 (CMX 3600 EDL), ``otio-fcp-adapter`` 1.0.0 (FCP 7 XML) and
  ``otio-fcpx-xml-adapter`` 1.0.0 (FCP X XML): an exported cut written in the format, read back
  and imported again gives the same picture clips (the EDL keeps one video track).
- ``otio-ale-adapter`` 1.1.0 (Avid ALE) reads and writes a bin of clips, not a timeline: no cut.
- ``otio-aaf-adapter`` 2.0.0 installs (with ``pyaaf2`` 1.7.1) but writes only timelines that
  carry AAF mob ids (an exported cut has none); reading an Avid's AAF was not tried here.

``otio-cmx3600-adapter`` is a core dependency (small, pure Python), so ``mediagraph cut import
FILE.edl`` works out of the box; the others read once installed. ``graph_api.workflows.timelines``
reads a file through the adapter its suffix selects and hands OTIO JSON to :func:`import_cut`.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio

from graph_api.workflows.problems import Problems

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange

MAX_OTIO_CHARS = 32 * 1024 * 1024
MAX_CLIPS = 20_000
MAX_NESTING = 16  # stacks within tracks within stacks
DEFAULT_RATE = 24.0
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class MediaRef:
    """How a clip names its asset: by id, or else by uri; ``version`` when the clip pins one."""

    asset_id: str | None
    uri: str | None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class ResolvedAsset:
    id: str
    version: int
    duration: float | None  # seconds; None: unknown, no range check
    uri: str | None = None  # the version's uri, written back on export


# All references of a timeline at once, so the caller answers with one lake read, not one per clip.
# A reference missing from the answer (or mapped to None) names no asset.
Resolver = Callable[[Sequence[MediaRef]], Mapping[MediaRef, ResolvedAsset | None]]


@dataclass(frozen=True, slots=True)
class CutClip:
    name: str | None
    track: str
    track_index: int  # position of its track in the timeline: two tracks may share a name
    track_kind: str  # "Video" or "Audio", as OTIO names them
    record_start: float  # seconds from the start of the cut
    record_end: float
    asset_id: str
    version: int  # the asset version cut in
    source_start: float  # seconds from the start of the asset
    source_end: float
    rate: float  # the clip's own rate, kept so an export speaks frames again
    uri: str | None = None
    # of the version cut in: an export gives media references an available_range, which the
    # FCP XML adapters need
    asset_duration: float | None = None


@dataclass(frozen=True, slots=True)
class Cut:
    name: str
    duration: float  # seconds
    rate: float  # the timeline's rate
    clips: tuple[CutClip, ...]  # by track, then record position
    id: str | None = None
    title_id: str | None = None

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """The assets the cut uses, each once, in first use order: its inputs in lineage."""
        return tuple(dict.fromkeys(clip.asset_id for clip in self.clips))


def by_reference(resolve_one: Callable[[MediaRef], ResolvedAsset | None]) -> Resolver:
    """A :data:`Resolver` from a function that resolves one reference (for tests and small tools)."""
    return lambda refs: {ref: resolve_one(ref) for ref in refs}


# --- reading -------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Placed:
    clip: Any  # otio.schema.Clip
    index: int  # among the children of its track (or nested composition): how a problem names it
    track_index: int
    track_name: str
    track_kind: str
    record_start: float
    record_end: float
    source_start: float  # seconds from the start of the media (its available range's start taken off)
    head: float  # media needed before source_start by a transition
    tail: float
    placed: bool = True  # False: its track cannot be laid out (a problem says why); only its media is checked

    @property
    def where(self) -> dict[str, Any]:
        return {"track": self.track_name, "clip": self.clip.name or None}


def import_cut(text: str, resolve: Resolver, *, name: str | None = None) -> Cut:
    """The Cut an OTIO JSON timeline describes; ``name`` (the import's) overrides the timeline's."""
    problems = Problems("importCut")
    timeline = _read(text, problems)
    placed = list(_place(timeline, problems))
    if len(placed) > MAX_CLIPS:
        problems.add(None, "otio", f"{len(placed)} clips exceed the maximum of {MAX_CLIPS}")
        problems.raise_if_any()
    refs: list[MediaRef | None] = [_media_ref(p, problems) for p in placed]
    wanted = list(dict.fromkeys(ref for ref in refs if ref is not None))
    found = resolve(wanted) if wanted else {}
    clips: list[CutClip] = []
    for p, ref in zip(placed, refs, strict=True):
        if ref is None:
            continue
        clip = _cut_clip(p, ref, found.get(ref), problems)
        if clip is not None:
            clips.append(clip)
    if not placed and not problems:
        problems.add(None, "otio", "the timeline has no clips")
    # checks run in passes (layout, references, the resolver's answers): name problems in timeline order
    tracks = {p.track_name: p.track_index for p in reversed(placed)}
    problems.items.sort(key=lambda q: (tracks.get(q.get("track", ""), -1), q["index"] if q["index"] is not None else -1))
    problems.raise_if_any()
    clips.sort(key=lambda c: (c.track_index, c.record_start, c.record_end))
    return Cut(name=name or timeline.name or "untitled", duration=_duration(timeline), rate=_rate(timeline, placed),
               clips=tuple(clips))


def _read(text: str, problems: Problems) -> Any:
    if not isinstance(text, str) or not text.strip():
        problems.add(None, "otio", "the OTIO text is empty")
    elif len(text) > MAX_OTIO_CHARS:
        problems.add(None, "otio", f"the OTIO text is {len(text)} characters; the maximum is {MAX_OTIO_CHARS}")
    problems.raise_if_any()
    try:
        # Python's parser first: it refuses nesting past the recursion limit with an error, where
        # OTIO's C++ reader recurses on (a hostile timeline nested 200k deep did not come back)
        json.loads(text)
    except RecursionError:
        problems.add(None, "otio", "the OTIO JSON nests too deeply")
    except ValueError as exc:
        problems.add(None, "otio", f"the OTIO text is not JSON: {exc}")
    problems.raise_if_any()
    try:
        timeline = otio.adapters.read_from_string(text, "otio_json")
    except (ValueError, otio.exceptions.OTIOError) as exc:
        problems.add(None, "otio", f"the OTIO JSON cannot be read: {exc}")
        problems.raise_if_any()
    if not isinstance(timeline, otio.schema.Timeline):
        problems.add(None, "otio", f"an OTIO Timeline is expected, not {_schema_name(timeline)}")
    problems.raise_if_any()
    return timeline


def _schema_name(value: Any) -> str:
    if isinstance(value, otio.core.SerializableObject):
        return f"{value.schema_name()}.{value.schema_version()}"
    return type(value).__name__


def _place(timeline: Any, problems: Problems) -> Iterator[_Placed]:
    root = timeline.tracks
    kinds: dict[str, int] = {}
    for track_index, track in enumerate(root):
        if not isinstance(track, otio.schema.Track):
            problems.add(track_index, "otio", f"the timeline's top level holds a {_schema_name(track)}, not a track",
                         track=f"#{track_index}")
            continue
        kind = str(track.kind)
        kinds[kind] = kinds.get(kind, 0) + 1
        label = track.name or f"{'A' if kind == otio.schema.TrackKind.Audio else 'V'}{kinds[kind]}"
        if not track.enabled:
            continue
        context = (track_index, label, kind)
        if root.source_range is not None:  # a trimmed timeline shows only its trimmed part
            shift = -_seconds(root.source_range.start_time)
            window = (0.0, _seconds(root.source_range.duration))
        else:  # the root's own range needs every track's length: one broken track must not hide the others
            shift, window = 0.0, (float("-inf"), float("inf"))
        yield from _walk(root, track, track_index, shift, window, context, problems, 1)


def _walk(parent: Any, child: Any, index: int, shift: float, window: tuple[float, float],
          context: tuple[int, str, str], problems: Problems, depth: int) -> Iterator[_Placed]:
    """The clips of ``child`` (a composition placed in ``parent``), in timeline seconds.

    ``shift`` maps the parent's time to the timeline's; ``window`` is the part of the timeline
    where the parent is visible."""
    if depth > MAX_NESTING:
        problems.add(index, "otio", f"compositions nest deeper than {MAX_NESTING} levels", track=context[1])
        return
    if not _ranges_known(child, context, problems, depth):
        yield from _unplaced(child, context)
        return
    placed_at = parent.range_of_child_at_index(index)
    start = _seconds(placed_at.start_time) + shift
    lo, hi = max(window[0], start), min(window[1], start + _seconds(placed_at.duration))
    inner_shift = start - _seconds(child.trimmed_range().start_time)
    ranges = child.range_of_all_children()
    for i, item in enumerate(child):
        if not isinstance(item, otio.core.Item) or isinstance(item, otio.schema.Gap) or not item.enabled:
            continue  # transitions take no time; gaps and disabled items play nothing
        at = ranges[item]
        begin = _seconds(at.start_time) + inner_shift
        end = begin + _seconds(at.duration)
        if min(end, hi) - max(begin, lo) <= _EPS:
            continue  # trimmed away by an enclosing track or stack
        if isinstance(item, otio.core.Composition):
            yield from _walk(child, item, i, inner_shift, (lo, hi), context, problems, depth + 1)
        elif isinstance(item, otio.schema.Clip):
            if isinstance(item.media_reference, otio.schema.GeneratorReference):
                continue  # bars, slug, a solid: no asset
            head = tail = 0.0
            visible_start, visible_end = max(begin, lo), min(end, hi)
            if isinstance(child, otio.schema.Track) and visible_start == begin and visible_end == end:
                before, after = child.handles_of_child(item)
                head = _seconds(before) if before is not None else 0.0
                tail = _seconds(after) if after is not None else 0.0
            yield _Placed(item, i, context[0], context[1], context[2], visible_start, visible_end,
                          _source_start(item) + (visible_start - begin), head, tail)


def _source_start(clip: Any) -> float:
    start = clip.trimmed_range().start_time
    available = clip.media_reference.available_range
    # in RationalTime, so that 01:00:00:10 minus 01:00:00:00 at 25 fps is 0.4 s exactly
    return _seconds(start - available.start_time if available is not None else start)


def _unplaced(composition: Any, context: tuple[int, str, str], depth: int = 1) -> Iterator[_Placed]:
    for i, item in enumerate(composition):
        if isinstance(item, otio.core.Composition):
            if depth < MAX_NESTING:
                yield from _unplaced(item, context, depth + 1)
        elif (isinstance(item, otio.schema.Clip) and item.enabled
              and not isinstance(item.media_reference, otio.schema.GeneratorReference)):
            yield _Placed(item, i, context[0], context[1], context[2], 0.0, 0.0, 0.0, 0.0, 0.0, placed=False)


def _ranges_known(composition: Any, context: tuple[int, str, str], problems: Problems, depth: int) -> bool:
    # one clip without a range makes OTIO unable to place any item of its track
    ok = True
    for i, item in enumerate(composition):
        if isinstance(item, otio.core.Composition) and depth < MAX_NESTING:
            ok = _ranges_known(item, context, problems, depth + 1) and ok
        elif isinstance(item, otio.schema.Clip):
            try:
                duration = item.trimmed_range().duration
            except otio.exceptions.OTIOError:
                problems.add(i, "source_range", "the clip has no source_range and its media reference no "
                                                "available_range: its length is unknown",
                             track=context[1], clip=item.name or None)
                ok = False
                continue
            if duration.value < 0:
                problems.add(i, "source_range", f"the clip's duration is negative ({_seconds(duration)} s)",
                             track=context[1], clip=item.name or None)
                ok = False
    return ok


def _media_ref(p: _Placed, problems: Problems) -> MediaRef | None:
    reference = p.clip.media_reference
    meta: dict[str, Any] = {**_mediagraph(p.clip.metadata), **_mediagraph(reference.metadata)}
    asset_id, version = meta.get("assetId"), meta.get("version")
    uri = reference.target_url if isinstance(reference, otio.schema.ExternalReference) else None
    ok = True
    if asset_id is not None and (not isinstance(asset_id, str) or not asset_id):
        problems.add(p.index, "metadata.mediagraph.assetId", f"{asset_id!r} is not an asset id", **p.where)
        ok = False
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        problems.add(p.index, "metadata.mediagraph.version", f"{version!r} is not a version number",
                     **p.where)
        ok = False
    if ok and not asset_id and not uri:
        problems.add(p.index, "media_reference",
                     f"the {_schema_name(reference)} names no asset: give it a target_url or "
                     "metadata.mediagraph.assetId", **p.where)
        ok = False
    return MediaRef(asset_id or None, None if asset_id else uri, version) if ok else None


def _mediagraph(metadata: Any) -> dict[str, Any]:
    # a miss in OTIO's AnyDictionary costs ~35 µs (a C++ exception): most clips carry no metadata at all
    if metadata is None or not len(metadata):
        return {}
    value = metadata.get("mediagraph")
    return dict(value) if isinstance(value, Mapping) else {}


def _cut_clip(p: _Placed, ref: MediaRef, asset: ResolvedAsset | None, problems: Problems) -> CutClip | None:
    index = p.index
    named = f"asset {ref.asset_id!r}" if ref.asset_id else f"uri {ref.uri!r}"
    if asset is None or (ref.version is not None and asset.version != ref.version):
        pinned = f" at version {ref.version}" if ref.version is not None else ""
        problems.add(index, "media_reference", f"{named}{pinned} names no asset in the lake", **p.where)
        return None
    if not p.placed:
        return None
    available = p.clip.media_reference.available_range
    source_start = p.source_start
    source_end = source_start + (p.record_end - p.record_start)
    rate = float(p.clip.trimmed_range().duration.rate)
    # half a frame: a frame-accurate edit and a probed float duration disagree by less
    slack = 0.5 / rate if rate > 0 else _EPS
    ok = True
    if source_start - p.head < -slack:
        needs = f" (with {p.head:g} s of transition handle)" if p.head else ""
        hint = "" if available is not None else "; the media reference has no available_range to say where its media starts"
        problems.add(index, "source_range", f"starts at {source_start - p.head:g} s{needs}, before the start of "
                                            f"{asset.id} v{asset.version}{hint}", **p.where)
        ok = False
    if asset.duration is not None and source_end + p.tail > asset.duration + slack:
        needs = f" (with {p.tail:g} s of transition handle)" if p.tail else ""
        problems.add(index, "source_range", f"ends at {source_end + p.tail:g} s{needs}, past the end of "
                                            f"{asset.id} v{asset.version} ({asset.duration:g} s)", **p.where)
        ok = False
    if not ok:
        return None
    return CutClip(name=p.where["clip"], track=p.track_name, track_index=p.track_index, track_kind=p.track_kind,
                   record_start=_tidy(p.record_start), record_end=_tidy(p.record_end), asset_id=asset.id,
                   version=asset.version, source_start=_tidy(source_start), source_end=_tidy(source_end), rate=rate,
                   uri=asset.uri if asset.uri is not None else ref.uri, asset_duration=asset.duration)


def _duration(timeline: Any) -> float:
    return _tidy(_seconds(timeline.tracks.trimmed_range().duration)) if len(timeline.tracks) else 0.0


def _rate(timeline: Any, placed: Sequence[_Placed]) -> float:
    if timeline.global_start_time is not None:
        return float(timeline.global_start_time.rate)
    return float(placed[0].clip.trimmed_range().duration.rate) if placed else DEFAULT_RATE


def _seconds(value: Any) -> float:
    return float(value.to_seconds())


def _tidy(seconds: float) -> float:
    # sums of frame times carry float noise (0.1 + 0.2); a nanosecond is far below a frame or a sample
    return round(seconds, 9) + 0.0


# --- writing -------------------------------------------------------------------------------------

def cut_to_otio(cut: Cut, *, indent: int = 2) -> str:
    """The cut as OTIO JSON, which ``opentimelineio`` (and :func:`import_cut`) reads back."""
    rate = cut.rate if cut.rate > 0 else DEFAULT_RATE
    metadata = {"mediagraph": {k: v for k, v in (("cutId", cut.id), ("titleId", cut.title_id)) if v}}
    timeline = otio.schema.Timeline(name=cut.name, global_start_time=RationalTime(0, rate),
                                    metadata=metadata if metadata["mediagraph"] else {})
    groups: dict[int, list[CutClip]] = {}
    for clip in cut.clips:
        groups.setdefault(clip.track_index, []).append(clip)
    for _, clips in sorted(groups.items()):
        lanes: list[tuple[Any, list[float]]] = []  # (track, [cursor])
        for clip in sorted(clips, key=lambda c: (c.record_start, c.record_end)):
            lane = next((lane for lane in lanes if lane[1][0] <= clip.record_start + 1e-6), None)
            if lane is None:
                name = clip.track if not lanes else f"{clip.track} ({len(lanes) + 1})"
                lane = (otio.schema.Track(name=name, kind=clip.track_kind), [0.0])
                lanes.append(lane)
                timeline.tracks.append(lane[0])
            track, cursor = lane
            hole = clip.record_start - cursor[0]
            if hole > 1e-6:
                track.append(otio.schema.Gap(source_range=TimeRange(RationalTime(0, rate), _frames(hole, rate))))
            track.append(_otio_clip(clip))
            cursor[0] = clip.record_end
    return str(timeline.to_json_string(indent=indent))


def _otio_clip(clip: CutClip) -> Any:
    rate = clip.rate if clip.rate > 0 else DEFAULT_RATE
    available = (TimeRange(RationalTime(0, rate), _frames(clip.asset_duration, rate))
                 if clip.asset_duration is not None else None)
    reference = otio.schema.ExternalReference(
        target_url=clip.uri or "", available_range=available,
        metadata={"mediagraph": {"assetId": clip.asset_id, "version": clip.version}})
    source = TimeRange(_frames(clip.source_start, rate), _frames(clip.source_end - clip.source_start, rate))
    return otio.schema.Clip(name=clip.name or "", media_reference=reference, source_range=source)


def _frames(seconds: float, rate: float) -> Any:
    # seconds * rate lands a hair off a whole frame (0.1 * 30 = 3.0000000000000004); round the noise away
    value = round(seconds * rate, 6)
    return RationalTime(int(value) if float(value).is_integer() else value, rate)
