from pathlib import Path

import numpy as np
import pytest

from graph_api.media.frames import extract_frames, frame_times
from graph_api.media.images import read_image
from graph_api.media.probe import MediaType, probe
from graph_api.media.synth import Shot, palette

from .conftest import MakeClip


def hue_of(rgb: np.ndarray) -> np.ndarray:
    return rgb.reshape(-1, 3).mean(axis=0)


def test_frames_at_interval_and_at_given_times(make_clip: MakeClip, tmp_path: Path) -> None:
    src, truth, _ = make_clip(duration=3.0, fps=24)

    frames = extract_frames(src, tmp_path / "frames", interval=1.0, at=[0.5, 2.25])

    assert [f.time for f in frames] == [0.0, 0.5, 1.0, 2.0, 2.25]
    for f in frames:
        assert f.path.is_file() and f.path.suffix == ".jpg"
        assert (f.width, f.height) == (320, 180)
        assert probe(f.path).media_type is MediaType.IMAGE


def test_frame_times_snap_to_the_nearest_frame(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=2.0, fps=24, tone=None)

    frames = extract_frames(src, tmp_path, interval=0, at=[0.51, 1.98, 5.0])

    assert [f.time for f in frames] == [pytest.approx(0.5), pytest.approx(47 / 24)]  # the last frame; 5.0 is past the end


def test_frame_after_a_cut_shows_the_new_shot(make_clip: MakeClip, tmp_path: Path) -> None:
    shots = [Shot("stripes", *palette(0)), Shot("checker", *palette(1))]
    src, truth, _ = make_clip(duration=2.0, shots=shots, cuts=[1.0], tone=None)
    reference = [
        hue_of(read_image(extract_frames(src, tmp_path / "ref", 0, at=[t])[0].path)) for t in (0.5, 1.5)
    ]

    before, after = extract_frames(src, tmp_path / "cut", 0, at=[1.0 - 1 / 24, 1.0], suffix=".png")

    assert np.abs(hue_of(read_image(before.path)) - reference[0]).max() < 12
    assert np.abs(hue_of(read_image(after.path)) - reference[1]).max() < 12


def test_thumbnail_height_and_seeking_on_a_longer_clip(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=12.0, fps=12, tone=None, video_options={"preset": "ultrafast", "g": "24"})

    frames = extract_frames(src, tmp_path, interval=5.0, at=[11.0, 0.25], height=90)

    assert [f.time for f in frames] == [0.0, 0.25, 5.0, 10.0, 11.0]
    assert all((f.width, f.height) == (160, 90) for f in frames)


def test_interrupted_extraction_removes_its_frames(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=2.0, tone=None)
    out = tmp_path / "frames"

    def interrupt(fraction: float) -> None:
        if fraction >= 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_frames(src, out, interval=0.25, progress=interrupt)

    assert list(out.iterdir()) == []


def test_frame_times() -> None:
    assert frame_times(2.0, 0.5, at=[1.0, 1.7, 3.0, -1]) == [0.0, 0.5, 1.0, 1.5, 1.7]
