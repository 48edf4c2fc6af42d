import pytest

from graph_api.media.corpus import Corpus
from graph_api.media.shots import Shot, detect_shots
from graph_api.media.synth import Shot as ShotSpec
from graph_api.media.synth import palette

from .conftest import MakeClip, shots

FPS = 24


def assert_cuts_match(found: list[Shot], truth: list[float], duration: float) -> None:
    assert found[0].start == 0.0
    assert found[-1].end == pytest.approx(duration, abs=1 / FPS)
    assert all(a.end == b.start for a, b in zip(found, found[1:]))  # contiguous, whole clip
    cuts = [s.start for s in found[1:]]
    assert len(cuts) == len(truth), (cuts, truth)
    for got, want in zip(cuts, truth):
        assert abs(got - want) <= 1 / FPS + 1e-6


def test_hard_cuts_between_moving_patterns(make_clip: MakeClip) -> None:
    src, truth, _ = make_clip(duration=5.0, shots=shots(5), cuts=[0.75, 1.5, 2.875, 4.0], tone=None)

    assert_cuts_match(detect_shots(src), truth.cuts, truth.duration)


def test_cut_between_same_pattern_in_different_colours(make_clip: MakeClip) -> None:
    same = [ShotSpec("stripes", *palette(0)), ShotSpec("stripes", *palette(1))]
    src, truth, _ = make_clip(duration=2.0, shots=same, cuts=[1.25], tone=None)

    assert_cuts_match(detect_shots(src), truth.cuts, truth.duration)


@pytest.mark.parametrize("pattern", ["stripes", "checker", "rings", "gradient"])
def test_fast_moving_pattern_without_a_cut_is_one_shot(make_clip: MakeClip, pattern: str) -> None:
    src, truth, _ = make_clip(duration=3.0, shots=[ShotSpec(pattern, *palette(2), speed=7.0)], tone=None)

    assert detect_shots(src) == [Shot(0.0, pytest.approx(truth.duration, abs=1 / FPS))]


def test_progress_reaches_one(make_clip: MakeClip) -> None:
    src, _, _ = make_clip(duration=1.0, tone=None)
    seen: list[float] = []

    detect_shots(src, progress=seen.append)

    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_demo_corpus_cuts_are_found(corpus: Corpus) -> None:
    for title in corpus.titles:
        if title.truth is not None:
            assert_cuts_match(detect_shots(title.files[0]), title.truth.cuts, title.truth.duration)


def test_audio_only_input_is_rejected(tmp_path) -> None:
    import av
    import numpy as np

    from graph_api.media.errors import NoSuitableStreamError

    path = tmp_path / "a.wav"
    with av.open(str(path), "w") as out:
        s = out.add_stream("pcm_s16le", rate=8000)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        f.sample_rate = 8000
        out.mux(s.encode(f))
    with pytest.raises(NoSuitableStreamError):
        detect_shots(path)
