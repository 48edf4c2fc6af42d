"""Editorial cuts from OpenTimelineIO: timelines built with the real otio API, read into a Cut,
refused with every problem named, and written back as OTIO that otio reads."""
from __future__ import annotations

import json
from typing import Any

import opentimelineio as otio
import pytest

from graph_api.errors import InvalidArgument
from graph_api.workflows.cuts import (
    MAX_CLIPS,
    Cut,
    MediaRef,
    ResolvedAsset,
    by_reference,
    cut_to_otio,
    import_cut,
)

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
TAPE = 86_400  # 01:00:00:00 at 24 fps


def clip(name: str, start: float, frames: float, *, rate: float = 24, url: str | None = None,
         tape: bool = True, metadata: dict[str, Any] | None = None, **reference_metadata: Any) -> Any:
    """A clip of ``frames`` frames from ``start`` frames into its source, like an editor's export:
    the media starts at tape timecode 01:00:00:00 (at the clip's rate)."""
    origin = TAPE * rate / 24 if tape else 0
    reference = otio.schema.ExternalReference(
        target_url=url if url is not None else f"file:///media/{name}.mov",
        available_range=TR(RT(origin, rate), RT(rate * 3600, rate)) if tape else None,
        metadata={"mediagraph": reference_metadata} if reference_metadata else {})
    return otio.schema.Clip(name=name, media_reference=reference, metadata=metadata or {},
                            source_range=TR(RT(origin + start, rate), RT(frames, rate)))


def gap(frames: float, rate: float = 24) -> Any:
    return otio.schema.Gap(source_range=TR(RT(0, rate), RT(frames, rate)))


def timeline(*tracks: Any, name: str = "ep101 cut") -> Any:
    tl = otio.schema.Timeline(name=name)
    tl.tracks.extend(tracks)
    return tl


def track(*items: Any, name: str = "V1", kind: str = otio.schema.TrackKind.Video) -> Any:
    t = otio.schema.Track(name=name, kind=kind)
    t.extend(items)
    return t


class Lake:
    """The resolver a test lake gives: assets by uri and by id, each with versions and a duration."""

    def __init__(self, **durations: float | None) -> None:
        # name -> duration; asset_<name> at version 1, uri file:///media/<name>.mov
        self.assets = {f"asset_{n}": (f"file:///media/{n}.mov", 1, d) for n, d in durations.items()}
        self.calls: list[list[MediaRef]] = []

    def redeliver(self, name: str, duration: float | None = None) -> None:
        uri, version, old = self.assets[f"asset_{name}"]
        self.assets[f"asset_{name}"] = (uri, version + 1, old if duration is None else duration)

    def __call__(self, refs: Any) -> dict[MediaRef, ResolvedAsset | None]:
        self.calls.append(list(refs))
        return {ref: self.one(ref) for ref in refs}

    def one(self, ref: MediaRef) -> ResolvedAsset | None:
        for asset_id, (uri, version, duration) in self.assets.items():
            if ref.asset_id == asset_id or (ref.asset_id is None and ref.uri == uri):
                if ref.version is not None and ref.version > version:
                    return None
                return ResolvedAsset(asset_id, ref.version or version, duration, uri)
        return None


def refused(text: str, resolve: Any, **kw: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        import_cut(text, resolve, **kw)
    assert caught.value.code == "INVALID_ARGUMENT"
    return caught.value


def problems_of(error: InvalidArgument) -> list[dict[str, Any]]:
    return error.details["problems"]


# --- reading -------------------------------------------------------------------------------------

def test_clips_get_record_positions_from_the_timeline_with_gaps_in_seconds() -> None:
    tl = timeline(track(clip("a", 0, 48), gap(24), clip("b", 12, 36)))
    cut = import_cut(tl.to_json_string(), Lake(a=60, b=60))
    assert cut.name == "ep101 cut" and cut.duration == 4.5
    a, b = cut.clips
    assert (a.record_start, a.record_end, a.source_start, a.source_end) == (0, 2, 0, 2)
    assert (b.record_start, b.record_end, b.source_start, b.source_end) == (3, 4.5, 0.5, 2)
    assert (b.asset_id, b.version, b.track, b.track_kind, b.name) == ("asset_b", 1, "V1", "Video", "b")
    assert b.uri == "file:///media/b.mov"


def test_a_transition_takes_no_time_and_its_handles_must_exist_in_the_source() -> None:
    dissolve = otio.schema.Transition(in_offset=RT(6, 24), out_offset=RT(6, 24))
    tl = timeline(track(clip("a", 0, 48), dissolve, clip("b", 24, 48)))
    cut = import_cut(tl.to_json_string(), Lake(a=60, b=60))
    assert [(c.record_start, c.record_end) for c in cut.clips] == [(0, 2), (2, 4)]
    assert cut.duration == 4

    # b starts at its first frame: the dissolve needs 6 frames of b before it
    tl = timeline(track(clip("a", 0, 48), dissolve.clone(), clip("b", 0, 48)))
    (problem,) = problems_of(refused(tl.to_json_string(), Lake(a=60, b=60)))
    assert (problem["track"], problem["index"], problem["clip"], problem["field"]) == ("V1", 2, "b", "source_range")
    assert "transition handle" in problem["message"]
    # a ends on the source's last frame: the dissolve needs 6 frames of a after it
    tl = timeline(track(clip("a", 0, 48), dissolve.clone(), clip("b", 24, 48)))
    (problem,) = problems_of(refused(tl.to_json_string(), Lake(a=2, b=60)))
    assert (problem["index"], problem["clip"]) == (0, "a") and "past the end" in problem["message"]


def test_rates_are_converted_to_seconds_per_clip() -> None:
    tl = timeline(track(clip("pal", 10, 50, rate=25), clip("ntsc", 0, 30000 / 1001 * 2, rate=30000 / 1001),
                        clip("film", 0, 24)))
    cut = import_cut(tl.to_json_string(), Lake(pal=10, ntsc=10, film=10))
    pal, ntsc, film = cut.clips
    assert (pal.record_start, pal.record_end, pal.source_start, pal.source_end) == (0, 2, 0.4, 2.4)
    assert pal.rate == 25
    assert ntsc.record_end == pytest.approx(4) and film.record_start == pytest.approx(4)
    assert film.record_end == pytest.approx(5)


def test_tracks_keep_their_names_kinds_and_order_and_unnamed_ones_get_a_label() -> None:
    tl = timeline(track(clip("a", 0, 24), name=""), track(clip("b", 0, 24), name="FX"),
                  track(clip("s", 0, 48), name="", kind=otio.schema.TrackKind.Audio))
    cut = import_cut(tl.to_json_string(), Lake(a=9, b=9, s=9))
    assert [(c.track, c.track_index, c.track_kind) for c in cut.clips] == [
        ("V1", 0, "Video"), ("FX", 1, "Video"), ("A1", 2, "Audio")]
    assert cut.duration == 2 and cut.asset_ids == ("asset_a", "asset_b", "asset_s")


def test_nested_stacks_and_trimmed_tracks_map_to_timeline_time_and_clip_to_what_is_visible() -> None:
    inner = otio.schema.Stack(name="comp")
    inner.append(track(clip("fx", 0, 48), name="inner"))
    inner.source_range = TR(RT(12, 24), RT(24, 24))  # shows 0.5 s .. 1.5 s of the inner track
    tl = timeline(track(clip("a", 0, 24), inner, clip("b", 0, 24)))
    cut = import_cut(tl.to_json_string(), Lake(a=9, fx=9, b=9))
    a, fx, b = cut.clips
    assert (fx.record_start, fx.record_end, fx.source_start, fx.source_end) == (1, 2, 0.5, 1.5)
    assert (fx.track, b.record_start, cut.duration) == ("V1", 2, 3)


def test_disabled_items_generators_and_tape_timecode_are_handled_as_an_editor_expects() -> None:
    off = clip("off", 0, 24)
    off.enabled = False
    bars = otio.schema.Clip(name="bars", media_reference=otio.schema.GeneratorReference(generator_kind="SMPTEBars"),
                            source_range=TR(RT(0, 24), RT(24, 24)))
    hidden = track(clip("hidden", 0, 24), name="V2")
    hidden.enabled = False
    tl = timeline(track(bars, off, clip("a", 24, 24, tape=False)), hidden)
    resolve = Lake(a=9)
    cut = import_cut(tl.to_json_string(), resolve)
    (a,) = cut.clips
    # the slot of a disabled clip still takes its time; without a tape start the source is as given
    assert (a.record_start, a.source_start, a.source_end) == (2, 1, 2)
    assert resolve.calls == [[MediaRef(None, "file:///media/a.mov", None)]]


def test_an_asset_named_by_metadata_wins_over_the_uri_and_a_pinned_version_is_kept() -> None:
    lake = Lake(a=9, b=9)
    lake.redeliver("a")
    tl = timeline(track(clip("a", 0, 24, url="file:///elsewhere.mov", assetId="asset_a"),
                        clip("b", 0, 24, metadata={"mediagraph": {"assetId": "asset_b"}}),
                        clip("a1", 0, 24, url="", assetId="asset_a", version=1)))
    cut = import_cut(tl.to_json_string(), lake, name="director's cut")
    assert [(c.asset_id, c.version) for c in cut.clips] == [("asset_a", 2), ("asset_b", 1), ("asset_a", 1)]
    assert cut.name == "director's cut"
    # every reference is resolved in one call, each once
    assert len(lake.calls) == 1 and len(lake.calls[0]) == 3


def test_the_resolver_is_called_once_for_all_clips_each_reference_once() -> None:
    tl = timeline(track(*[clip("a", i, 1) for i in range(50)]))
    lake = Lake(a=9)
    cut = import_cut(tl.to_json_string(), lake)
    assert len(cut.clips) == 50 and lake.calls == [[MediaRef(None, "file:///media/a.mov", None)]]


# --- refused -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("not json", "not JSON"),
    ('{"OTIO_SCHEMA": "Timeline.1", "tracks": ' + "[" * 5000 + "]" * 5000 + "}", "nests too deeply"),
    ('{"OTIO_SCHEMA": "Timeline.1", "tracks": 5}', "cannot be read"),
    ("[1, 2]", "Timeline is expected"),
    (otio.schema.Track(name="V1").to_json_string(), "Timeline is expected, not Track.1"),
    (otio.schema.Timeline(name="empty").to_json_string(), "no clips"),
])
def test_malformed_otio_is_refused_with_a_code(text: str, says: str) -> None:
    error = refused(text, Lake())
    assert says in error.message
    assert problems_of(error)[0]["field"] == "otio"


def test_compositions_nested_past_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("graph_api.workflows.cuts.MAX_NESTING", 3)
    inner: Any = track(clip("a", 0, 24), name="deep")
    for _ in range(4):
        stack = otio.schema.Stack()
        stack.append(inner)
        inner = track(stack, name="deep")
    error = refused(timeline(inner).to_json_string(), Lake(a=9))
    assert "nest deeper than 3" in error.message


def test_every_unresolvable_clip_is_named_by_track_index_and_name_all_at_once() -> None:
    tl = timeline(track(clip("a", 0, 24), gap(5), clip("ghost", 0, 24), clip("lost", 0, 24, assetId="asset_x")),
                  track(clip("gone", 0, 24, url=""), name="A1", kind=otio.schema.TrackKind.Audio))
    error = refused(tl.to_json_string(), Lake(a=9))
    found = [(p["track"], p["index"], p["clip"], p["field"]) for p in problems_of(error)]
    assert found == [("V1", 2, "ghost", "media_reference"), ("V1", 3, "lost", "media_reference"),
                     ("A1", 0, "gone", "media_reference")]
    assert "nothing was written" in error.message and "track 'V1' [2] 'ghost'" in error.message
    assert "'asset_x'" in problems_of(error)[1]["message"]
    json.dumps(error.details)  # the GraphQL layer carries details as JSON


def test_a_source_range_outside_the_asset_is_refused() -> None:
    tl = timeline(track(clip("long", 0, 48), clip("early", 0, 24, tape=False), clip("ok", 0, 24)))
    early = tl.tracks[0][1]
    early.source_range = TR(RT(-12, 24), RT(24, 24))
    error = refused(tl.to_json_string(), Lake(long=1.5, early=9, ok=9))
    by_clip = {p["clip"]: p["message"] for p in problems_of(error)}
    assert set(by_clip) == {"long", "early"}
    assert "past the end of asset_long v1 (1.5 s)" in by_clip["long"]
    assert "before the start" in by_clip["early"]


def test_half_a_frame_of_slack_lets_a_frame_accurate_edit_meet_a_probed_duration() -> None:
    tl = timeline(track(clip("a", 0, 240)))
    assert import_cut(tl.to_json_string(), Lake(a=9.99)).clips[0].source_end == 10
    refused(tl.to_json_string(), Lake(a=9.9))


def test_an_asset_of_unknown_duration_is_not_range_checked() -> None:
    cut = import_cut(timeline(track(clip("still", 0, 240))).to_json_string(), Lake(still=None))
    assert cut.clips[0].source_end == 10


def test_a_clip_without_a_length_is_named_and_its_track_still_checked_for_media() -> None:
    tl = timeline(track(clip("ghost", 0, 24), otio.schema.Clip(name="nolength"), clip("a", 0, 24)))
    found = [(p["index"], p["clip"], p["field"]) for p in problems_of(refused(tl.to_json_string(), Lake(a=9)))]
    assert (1, "nolength", "source_range") in found and (0, "ghost", "media_reference") in found


@pytest.mark.parametrize("metadata, field", [
    ({"assetId": 7}, "metadata.mediagraph.assetId"),
    ({"assetId": "asset_a", "version": 0}, "metadata.mediagraph.version"),
    ({"assetId": "asset_a", "version": "2"}, "metadata.mediagraph.version"),
])
def test_bad_mediagraph_metadata_is_named(metadata: dict[str, Any], field: str) -> None:
    tl = timeline(track(clip("a", 0, 24, **metadata)))
    (problem,) = problems_of(refused(tl.to_json_string(), Lake(a=9)))
    assert problem["field"] == field


def test_a_pinned_version_the_asset_does_not_have_is_refused() -> None:
    tl = timeline(track(clip("a", 0, 24, assetId="asset_a", version=3)))
    (problem,) = problems_of(refused(tl.to_json_string(), Lake(a=9)))
    assert "at version 3" in problem["message"]


def test_a_timeline_over_the_clip_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("graph_api.workflows.cuts.MAX_CLIPS", 3)
    tl = timeline(track(*[clip("a", i, 1) for i in range(4)]))
    assert "maximum of 3" in refused(tl.to_json_string(), Lake(a=9)).message
    assert MAX_CLIPS > 3


# --- writing -------------------------------------------------------------------------------------

def test_a_cut_round_trips_through_otio_json() -> None:
    dissolve = otio.schema.Transition(in_offset=RT(6, 24), out_offset=RT(6, 24))
    tl = timeline(track(clip("a", 10, 48), gap(24), clip("b", 30, 50, rate=25), dissolve, clip("c", 30, 24)),
                  track(gap(12), clip("s", 0, 96), name="A1", kind=otio.schema.TrackKind.Audio))
    lake = Lake(a=60, b=60, c=60, s=60)
    cut = import_cut(tl.to_json_string(), lake)
    text = cut_to_otio(cut)

    back = otio.adapters.read_from_string(text, "otio_json")
    assert isinstance(back, otio.schema.Timeline) and back.name == "ep101 cut"
    refs = [c.media_reference for c in back.find_clips()]
    assert all(isinstance(r, otio.schema.ExternalReference) for r in refs)
    assert [(r.target_url, dict(r.metadata["mediagraph"])) for r in refs][0] == (
        "file:///media/a.mov", {"assetId": "asset_a", "version": 1})
    # the asset's duration, which the FCP XML adapters need
    assert refs[0].available_range == TR(RT(0, 24), RT(60 * 24, 24))
    assert import_cut(text, lake) == cut


def test_an_exported_cut_keeps_the_versions_it_was_cut_with() -> None:
    lake = Lake(a=60)
    cut = import_cut(timeline(track(clip("a", 0, 24))).to_json_string(), lake)
    lake.redeliver("a")
    again = import_cut(cut_to_otio(cut), lake)
    assert [(c.asset_id, c.version) for c in again.clips] == [("asset_a", 1)]


def test_export_carries_ids_and_puts_overlapping_clips_of_one_track_on_a_second_lane() -> None:
    base = import_cut(timeline(track(clip("a", 0, 48))).to_json_string(), Lake(a=60))
    (a,) = base.clips
    from dataclasses import replace
    cut = replace(base, id="cut_1", title_id="title_1",
                  clips=(a, replace(a, name="over", record_start=1.0, record_end=3.0)))
    back = otio.adapters.read_from_string(cut_to_otio(cut), "otio_json")
    assert dict(back.metadata["mediagraph"]) == {"cutId": "cut_1", "titleId": "title_1"}
    assert [t.name for t in back.tracks] == ["V1", "V1 (2)"]
    assert [type(i).__name__ for i in back.tracks[1]] == ["Gap", "Clip"]


def test_an_empty_cut_exports_an_empty_timeline() -> None:
    back = otio.adapters.read_from_string(cut_to_otio(Cut("nothing", 0.0, 24.0, ())), "otio_json")
    assert back.name == "nothing" and len(back.tracks) == 0


def test_by_reference_adapts_a_one_at_a_time_resolver() -> None:
    resolve = by_reference(lambda ref: ResolvedAsset("asset_a", 1, 9.0) if ref.uri else None)
    cut = import_cut(timeline(track(clip("a", 0, 24))).to_json_string(), resolve)
    assert cut.clips[0].asset_id == "asset_a"
