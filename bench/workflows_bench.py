"""Importing an editorial cut: an OTIO timeline of N clips read into a Cut, and written back.

    python bench/workflows_bench.py                # 2,000 clips (the target: import <= 2 s)
    python bench/workflows_bench.py --clips 10000

The timeline is built with the opentimelineio API the way an editor's export looks: a picture
track of clips cut from tape-timecoded sources with gaps and dissolves, and an audio track. The
resolver answers from a dict, so the figure is the import's own cost (parse, layout, checks),
not a lake read.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import opentimelineio as otio  # noqa: E402

from graph_api.workflows.cuts import MediaRef, ResolvedAsset, cut_to_otio, import_cut  # noqa: E402

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
TAPE = 86_400  # 01:00:00:00 at 24 fps


def timeline(clips: int, sources: int = 200) -> str:
    tl = otio.schema.Timeline(name=f"bench cut {clips}", global_start_time=RT(TAPE, 24))
    picture = otio.schema.Track(name="V1")
    sound = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    tl.tracks.extend([picture, sound])
    for i in range(clips):
        track = picture if i % 4 else sound
        source = i % sources
        if i % 10 == 5:
            track.append(otio.schema.Gap(source_range=TR(RT(0, 24), RT(12, 24))))
        reference = otio.schema.ExternalReference(
            target_url=f"s3://studio/media/src_{source:04d}.mov",
            available_range=TR(RT(TAPE, 24), RT(24 * 600, 24)))
        track.append(otio.schema.Clip(name=f"shot_{i:05d}", media_reference=reference,
                                      source_range=TR(RT(TAPE + 24 + (i * 7) % 5000, 24), RT(24 + i % 48, 24))))
        if i % 10 == 7 and len(track) > 1:
            track.append(otio.schema.Transition(in_offset=RT(6, 24), out_offset=RT(6, 24)))
    # a track may not end on a transition
    for track in (picture, sound):
        if isinstance(track[-1], otio.schema.Transition):
            track.pop()
    return str(tl.to_json_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    text = timeline(args.clips)
    assets = {f"s3://studio/media/src_{i:04d}.mov": ResolvedAsset(f"asset_src{i:04d}", 1, 600.0,
                                                                 f"s3://studio/media/src_{i:04d}.mov")
              for i in range(200)}

    def resolve(refs: list[MediaRef]) -> dict[MediaRef, ResolvedAsset | None]:
        return {ref: assets.get(ref.uri or "") for ref in refs}

    imports, exports = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        cut = import_cut(text, resolve)
        imports.append(time.perf_counter() - started)
        started = time.perf_counter()
        cut_to_otio(cut)
        exports.append(time.perf_counter() - started)
    print(f"OTIO timeline: {args.clips} clips, {len(text) / 1e6:.1f} MB of JSON; cut: {len(cut.clips)} clips, "
          f"{cut.duration:.1f} s")
    print(f"import_cut   median {statistics.median(imports):.3f} s  max {max(imports):.3f} s  (target <= 2 s)")
    print(f"cut_to_otio  median {statistics.median(exports):.3f} s  max {max(exports):.3f} s")


if __name__ == "__main__":
    main()
