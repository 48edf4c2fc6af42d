import math

import numpy as np
import pytest
from scipy.signal import freqz

from graph_api.media.audio import audio_quality, k_weighting
from graph_api.media.corpus import Corpus
from graph_api.media.synth import Tone

from .conftest import MakeClip


def expected_lufs(amplitude: float, frequency: float, channels: int, rate: int = 48000) -> float:
    """BS.1770 for a steady sine: mean square A^2/2 per channel, times the K-filter power gain."""
    b, a = k_weighting(rate)
    _, h = freqz(b, a, worN=[frequency], fs=rate)
    return -0.691 + 10 * math.log10(channels * amplitude**2 / 2 * abs(h[0]) ** 2)


def test_k_weighting_matches_the_published_48k_coefficients() -> None:
    # ITU-R BS.1770-4, Tables 1 and 2 (pre-filter and RLB high-pass), cascaded.
    shelf_b = [1.53512485958697, -2.69169618940638, 1.19839281085285]
    shelf_a = [1.0, -1.69065929318241, 0.73248077421585]
    hp_b, hp_a = [1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]
    b, a = k_weighting(48000)
    np.testing.assert_allclose(b, np.convolve(shelf_b, hp_b), atol=1e-7)
    np.testing.assert_allclose(a, np.convolve(shelf_a, hp_a), atol=1e-7)


def test_expected_level_of_a_minus_20_dbfs_stereo_tone_is_minus_20_lufs() -> None:
    # The K-filter adds ~+0.69 dB at 1 kHz, which the -0.691 offset cancels, and two channels
    # add +3 dB to a sine's -3 dB mean square: a -20 dBFS stereo 997 Hz tone reads -20.0 LUFS.
    assert expected_lufs(0.1, 997.0, 2) == pytest.approx(-20.0, abs=0.02)


@pytest.mark.parametrize(
    ("codec", "level", "channels", "rate"),
    [("pcm_s16le", -20.0, 2, 48000), ("aac", -20.0, 2, 48000), ("pcm_s16le", -26.0, 1, 44100)],
)
def test_loudness_and_true_peak_of_a_known_tone(
    make_clip: MakeClip, codec: str, level: float, channels: int, rate: int
) -> None:
    suffix = ".mov" if codec.startswith("pcm") else ".mp4"
    tone = Tone(frequency=997.0, level_dbfs=level, channels=channels, sample_rate=rate)
    src, _, _ = make_clip(f"tone{suffix}", duration=3.0, tone=tone, audio_codec=codec, video_options={"preset": "ultrafast"})

    q = audio_quality(src)

    amplitude = 10 ** (level / 20)
    assert q.integrated_lufs == pytest.approx(expected_lufs(amplitude, 997.0, channels, rate), abs=0.5)
    if codec.startswith("pcm"):
        assert q.integrated_lufs == pytest.approx(expected_lufs(amplitude, 997.0, channels, rate), abs=0.05)
        assert q.true_peak_dbtp == pytest.approx(level, abs=0.1)
    assert q.silence == [] and q.clipping == []
    assert (q.sample_rate, q.channels) == (rate, channels)


def test_silence_and_clipping_are_found_at_their_times(make_clip: MakeClip) -> None:
    tone = Tone(silence=[(1.0, 2.0)], clipped=[(3.0, 3.5)])
    src, truth, _ = make_clip(duration=4.5, tone=tone)

    q = audio_quality(src)

    assert len(q.silence) == 1 and len(q.clipping) == 1
    for (start, end), (want_start, want_end) in [(q.silence[0], truth.silence[0]), (q.clipping[0], truth.clipping[0])]:
        assert start == pytest.approx(want_start, abs=0.05)
        assert end == pytest.approx(want_end, abs=0.05)
    assert q.true_peak_dbtp is not None and q.true_peak_dbtp > -1.0


def test_lossless_digital_clipping(make_clip: MakeClip) -> None:
    tone = Tone(level_dbfs=-3.0, clipped=[(0.5, 1.0)], clip_gain_db=6.0)
    src, truth, _ = make_clip("clip.mov", duration=1.5, tone=tone, audio_codec="pcm_s16le")

    q = audio_quality(src)

    assert q.clipping == [pytest.approx(truth.clipping[0], abs=0.02)]
    assert q.sample_peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_loud_clean_sine_is_not_clipping(make_clip: MakeClip) -> None:
    src, _, _ = make_clip("loud.mov", duration=1.0, tone=Tone(frequency=50.0, level_dbfs=-0.3), audio_codec="pcm_s16le")

    assert audio_quality(src).clipping == []


def test_silent_file_has_no_integrated_loudness(make_clip: MakeClip) -> None:
    src, _, _ = make_clip(duration=1.0, tone=Tone(silence=[(0.0, 1.0)]))

    q = audio_quality(src)

    assert q.integrated_lufs is None
    assert q.silence and q.silence[0][0] == 0.0


def test_true_peak_sees_between_samples() -> None:
    import av

    from graph_api.media.audio import _Accumulator

    n = np.arange(48000)
    x = 0.5 * np.sin(2 * np.pi * 12000 * n / 48000 + np.pi / 4)  # samples all land at 0.354
    acc = _Accumulator(48000, av.AudioLayout("mono"), 0.89)
    for start in range(0, len(x), 4096):  # chunk edges must not add or hide peaks
        acc.feed(x[None, start : start + 4096])

    q = acc.result(-60, 0.5, 3)

    assert q.sample_peak_dbfs == pytest.approx(-9.03, abs=0.01)
    assert q.true_peak_dbtp == pytest.approx(-6.02, abs=0.05)


def test_agrees_with_pyloudnorm(make_clip: MakeClip) -> None:
    pyln = pytest.importorskip("pyloudnorm", reason="pyloudnorm not installed (optional cross-check)")
    import av

    tone = Tone(frequency=440.0, level_dbfs=-14.0, silence=[(0.5, 1.5)])
    src, _, _ = make_clip("x.mov", duration=4.0, tone=tone, audio_codec="pcm_s16le")
    with av.open(str(src)) as c:
        samples = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    data = samples.reshape(-1, 2).astype(np.float64) / 32768  # packed s16

    assert audio_quality(src).integrated_lufs == pytest.approx(pyln.Meter(48000).integrated_loudness(data), abs=0.1)


def test_demo_corpus_audio_ground_truth(corpus: Corpus) -> None:
    for title in corpus.titles:
        if title.truth is None:
            continue
        q = audio_quality(title.files[0])
        assert [pytest.approx(r, abs=0.05) for r in title.truth.silence] == q.silence
        assert [pytest.approx(r, abs=0.05) for r in title.truth.clipping] == q.clipping
