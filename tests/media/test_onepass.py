"""One decode feeds every consumer: the same results as each step reading the file alone, each
consumer's failure its own, and an interrupted pass leaves no files."""
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph_api.media.audio import AudioAnalyser, audio_quality
from graph_api.media.errors import NoSuitableStreamError
from graph_api.media.frames import FrameGrabber, extract_frames
from graph_api.media.onepass import Consumer, Picture, run_pass
from graph_api.media.probe import probe
from graph_api.media.shots import _WINDOW, CutPicker, ShotDetector, detect_shots
from graph_api.media.transcode import ProxyWriter

from .conftest import MakeClip, shots


def test_one_pass_gives_what_each_step_gives_alone(make_clip: MakeClip, tmp_path: Path) -> None:
    src, truth, _ = make_clip(duration=4.0, shots=shots(4), cuts=[0.75, 1.5, 2.875])
    detector = ShotDetector()
    seen: list[float] = []

    results = run_pass(src, {
        "proxy": ProxyWriter(tmp_path / "proxy.mp4", height=90),
        "shots": detector,
        "frames": FrameGrabber(tmp_path / "pass-frames", interval=1.0, at=[0.0], height=90, shots=detector),
        "audio": AudioAnalyser(),
    }, progress=seen.append)

    alone_shots = detect_shots(src)
    assert results["shots"] == alone_shots and len(alone_shots) == len(truth.cuts) + 1
    alone_frames = extract_frames(src, tmp_path / "alone-frames", interval=1.0, at=[s.start for s in alone_shots],
                                  height=90)
    assert [(f.time, f.width, f.height) for f in results["frames"]] == [
        (f.time, f.width, f.height) for f in alone_frames]
    assert [f.path.name for f in results["frames"]] == [f.path.name for f in alone_frames]
    assert results["audio"] == audio_quality(src)
    proxy = probe(results["proxy"])
    assert (proxy.width, proxy.height) == (160, 90) and [s["type"] for s in proxy.streams] == ["video", "audio"]
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_a_consumer_that_cannot_run_fails_alone(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=1.0, tone=None)

    results = run_pass(src, {"audio": AudioAnalyser(), "shots": ShotDetector()})

    assert isinstance(results["audio"], NoSuitableStreamError)
    assert len(results["shots"]) == 1


def test_an_interrupted_pass_leaves_no_files(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=2.0)
    out = tmp_path / "out"

    def interrupt(fraction: float) -> None:
        if fraction > 0.5:
            raise KeyboardInterrupt

    detector = ShotDetector()
    with pytest.raises(KeyboardInterrupt):
        run_pass(src, {"proxy": ProxyWriter(out / "proxy.mp4", height=90), "shots": detector,
                       "frames": FrameGrabber(out, interval=0.25, shots=detector)}, progress=interrupt)

    assert list(out.iterdir()) == []


def test_cuts_are_handed_out_once_final_and_never_taken_back() -> None:
    rng = np.random.default_rng(5)
    scores = rng.random(400) * 0.1
    scores[rng.choice(400, 40, replace=False)] = rng.uniform(0.3, 1.0, 40)
    picker = CutPicker(min_gap=6)
    handed: list[list[int]] = []
    first_seen: dict[int, int] = {}
    for n, s in enumerate(scores, start=1):
        picker.push(float(s))
        handed.append(list(picker.cuts))
        for c in picker.cuts:
            first_seen.setdefault(c, n)
    picker.finish()
    assert all(picker.cuts[: len(h)] == h for h in handed)  # only ever appended to
    # a frame grabber keeps this many frames to write the first frame of each shot
    assert max(n - c for c, n in first_seen.items()) <= _WINDOW + 6 + 1
    assert picker.cuts and all(b - a >= 6 for a, b in zip(picker.cuts, picker.cuts[1:]))


class Failing(Consumer):
    """A threaded consumer that fails on its thread after a few pictures."""

    wants_video = True
    threaded = True

    def __init__(self) -> None:
        self.seen = 0
        self.aborted = False

    def start(self, src: Path, container: Any, video: Any, audio: Any) -> None:
        return None

    def on_video(self, picture: Picture) -> None:
        self.seen += 1
        if self.seen == 5:
            raise ValueError("broken on its thread")

    def finish(self) -> None:
        raise AssertionError("a failed consumer is not finished")

    def abort(self) -> None:
        self.aborted = True


def test_a_consumer_failing_on_its_own_thread_fails_alone(make_clip: MakeClip, tmp_path: Path) -> None:
    src, truth, _ = make_clip(duration=2.0, shots=shots(2), cuts=[1.0])
    failing = Failing()

    results = run_pass(src, {"failing": failing, "shots": ShotDetector(),
                             "proxy": ProxyWriter(tmp_path / "proxy.mp4", height=90)})

    assert isinstance(results["failing"], ValueError) and failing.aborted
    assert len(results["shots"]) == 2 and results["proxy"].is_file()
