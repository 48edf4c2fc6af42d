"""Audio quality: integrated loudness, true peak, clipping and silence, in one streaming pass.

Loudness follows ITU-R BS.1770-4 / EBU R128: K-weighting, 400 ms blocks with 75 %
overlap, an absolute gate at -70 LKFS and a relative gate 10 LU below. True peak
is the sample peak of a 4x oversampled signal (BS.1770 Annex 2). Decoded audio is
processed in chunks, so memory stays flat however long the programme is.

Everything is accumulated on a 10 ms grid ("ticks"), from which loudness blocks,
silent stretches and clipped stretches are then assembled.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from scipy.signal import firwin, lfilter, upfirdn

from ._av import Progress
from .errors import NoSuitableStreamError
from .onepass import Consumer, run_one

TICKS_PER_SECOND = 100
_CHUNK_SECONDS = 2.0
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_OVERSAMPLE = 4
# 12 taps per phase as in BS.1770's example interpolator, plus one: an odd length has an
# integer delay, so the oversampled grid still lands on the original sample instants.
_TRUE_PEAK_FIR = firwin(12 * _OVERSAMPLE + 1, 1 / _OVERSAMPLE, window=("kaiser", 8.0)) * _OVERSAMPLE
# Inter-sample overshoot of real programme material stays well under 6 dB, so a chunk whose
# sample peak is 6 dB below the true peak found so far cannot raise it: skip oversampling it.
_TRUE_PEAK_MARGIN = 0.5
_FULL_SCALE = 0.999
_PLATEAU = 0.97
_PLATEAU_FRACTION = 0.3
_SURROUND = {"BL", "BR", "SL", "SR", "BC", "TBL", "TBR"}
_LFE = {"LFE", "LFE2", "LOW_FREQUENCY", "LOW_FREQUENCY_2"}


@dataclass(frozen=True)
class AudioQuality:
    integrated_lufs: float | None  # None when every block is gated out (silence)
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    clipping: list[tuple[float, float]] = field(default_factory=list)
    silence: list[tuple[float, float]] = field(default_factory=list)
    duration_seconds: float = 0.0
    sample_rate: int = 0
    channels: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["clipping"] = [list(r) for r in self.clipping]
        out["silence"] = [list(r) for r in self.silence]
        return out


def audio_quality(
    src: str | Path,
    silence_dbfs: float = -60.0,
    min_silence_seconds: float = 0.5,
    clip_level: float = 0.89,
    min_clipped_samples: int = 3,
    progress: Progress | None = None,
) -> AudioQuality:
    """Measure the first audio stream of ``src``.

    Clipping is flagged per 10 ms window and channel, merged when less than 50 ms apart:
    either ``min_clipped_samples`` samples at digital full scale (lossless clipping), or a
    flattened top: the window peaks at or above ``clip_level`` (default -1 dBFS) and at least
    30 % of its samples sit within 3 % of that peak. The second rule is what survives lossy
    coding, which turns a clipped plateau at 1.0 into a rippled one near 0.95; an unclipped
    sine spends only about 15 % of its time that close to its peak.

    Silence: stretches of at least ``min_silence_seconds`` whose 10 ms RMS stays below
    ``silence_dbfs`` in every channel.
    """
    analyser = AudioAnalyser(silence_dbfs, min_silence_seconds, clip_level, min_clipped_samples)
    return cast(AudioQuality, run_one(src, analyser, progress))


class AudioAnalyser(Consumer):
    """``audio_quality`` as a consumer of a decode pass (``onepass``), on its own thread: the
    filters are numpy and scipy work the decoding thread need not wait for."""

    wants_audio = True
    threaded = True

    def __init__(self, silence_dbfs: float = -60.0, min_silence_seconds: float = 0.5, clip_level: float = 0.89,
                 min_clipped_samples: int = 3) -> None:
        self.silence_dbfs, self.min_silence_seconds = silence_dbfs, min_silence_seconds
        self.clip_level, self.min_clipped_samples = clip_level, min_clipped_samples

    def start(self, src: Path, container: av.container.InputContainer, video: av.VideoStream | None,
              audio: av.AudioStream | None) -> None:
        if audio is None:
            raise NoSuitableStreamError("no audio stream", src)
        self._acc = _Accumulator(audio.codec_context.sample_rate, audio.codec_context.layout, self.clip_level)
        self._resampler = av.AudioResampler(format="fltp")
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._chunk = int(self._acc.rate * _CHUNK_SECONDS)

    def on_audio(self, frame: av.AudioFrame) -> None:
        if self._acc.start_time is None:
            self._acc.start_time = max(frame.time or 0.0, 0.0)
        for out in self._resampler.resample(frame):
            self._pending.append(out.to_ndarray())
            self._pending_samples += out.samples
        if self._pending_samples >= self._chunk:
            self._acc.feed(np.concatenate(self._pending, axis=1))
            self._pending, self._pending_samples = [], 0

    def finish(self) -> AudioQuality:
        for out in self._resampler.resample(None):
            self._pending.append(out.to_ndarray())
        if self._pending:
            self._acc.feed(np.concatenate(self._pending, axis=1))
            self._pending = []
        return self._acc.result(self.silence_dbfs, self.min_silence_seconds, self.min_clipped_samples)


class _Accumulator:
    def __init__(self, rate: int, layout: av.AudioLayout, clip_level: float) -> None:
        self.rate = rate
        self.channel_names = [c.name for c in layout.channels]
        self.weights = np.array(
            [0.0 if n in _LFE else 1.41 if n in _SURROUND else 1.0 for n in self.channel_names]
        )
        self.b, self.a = k_weighting(rate)
        self.zi: np.ndarray | None = None
        self.clip_level = clip_level
        self.start_time: float | None = None
        self.total = 0  # samples consumed into ticks
        self.carry: np.ndarray | None = None  # samples not yet filling a whole tick
        self.carry_k: np.ndarray | None = None
        self.k_energy: list[np.ndarray] = []  # per tick: K-weighted sum of squares per channel
        self.raw_energy: list[np.ndarray] = []  # per tick: sum of squares per channel
        self.tick_len: list[np.ndarray] = []
        self.clipped: list[np.ndarray] = []  # per tick: samples at/above clip level, max over channels
        self.sample_peak = 0.0
        self.true_peak = 0.0
        self.tp_history: np.ndarray | None = None

    def feed(self, x: np.ndarray) -> None:
        x = x.astype(np.float64, copy=False)
        if self.zi is None:
            self.zi = np.zeros((x.shape[0], max(len(self.a), len(self.b)) - 1))
        k, self.zi = lfilter(self.b, self.a, x, axis=1, zi=self.zi)
        self._peaks(x)
        if self.carry is not None and self.carry_k is not None:
            x = np.concatenate((self.carry, x), axis=1)
            k = np.concatenate((self.carry_k, k), axis=1)
        # Tick boundaries sit at floor(n * rate / 100) globally, so 22.05 kHz works as well as 48 kHz.
        first = self.total
        last = first + x.shape[1]
        t0 = -(-first * TICKS_PER_SECOND // self.rate)
        edges = [t * self.rate // TICKS_PER_SECOND - first for t in range(t0, last * TICKS_PER_SECOND // self.rate + 1)]
        if len(edges) < 2:
            self.carry, self.carry_k = x, k
            return
        starts = np.array(edges[:-1])
        self.k_energy.append(np.add.reduceat(k[:, : edges[-1]] ** 2, starts, axis=1).T)
        self.raw_energy.append(np.add.reduceat(x[:, : edges[-1]] ** 2, starts, axis=1).T)
        self.clipped.append(self._clipped_ticks(np.abs(x[:, : edges[-1]]), starts, np.diff(np.array(edges))))
        self.tick_len.append(np.diff(np.array(edges)))
        self.carry, self.carry_k = x[:, edges[-1] :], k[:, edges[-1] :]
        self.total = first + edges[-1]

    def _clipped_ticks(self, magnitude: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Per tick: the largest number of full-scale samples in any channel, or a large
        sentinel when a channel has a flattened top near full scale."""
        at_full_scale = np.add.reduceat((magnitude >= _FULL_SCALE).astype(np.int32), starts, axis=1)
        peaks = np.maximum.reduceat(magnitude, starts, axis=1)
        near_peak = magnitude >= _PLATEAU * np.repeat(peaks, lengths, axis=1)
        plateau = np.add.reduceat(near_peak.astype(np.int32), starts, axis=1) >= _PLATEAU_FRACTION * lengths
        flattened = (plateau & (peaks >= self.clip_level)).any(axis=0)
        return np.where(flattened, np.iinfo(np.int32).max, at_full_scale.max(axis=0))

    def _peaks(self, x: np.ndarray) -> None:
        peak = float(np.abs(x).max(initial=0.0))
        self.sample_peak = max(self.sample_peak, peak)
        taps = len(_TRUE_PEAK_FIR)
        padded = x if self.tp_history is None else np.concatenate((self.tp_history, x), axis=1)
        if peak > _TRUE_PEAK_MARGIN * self.true_peak and padded.shape[1] * _OVERSAMPLE >= taps:
            # Only outputs where the filter lies wholly on real samples: at the chunk edges the
            # implicit zeros would add a step, and with it a Gibbs overshoot that is not in the signal.
            up = upfirdn(_TRUE_PEAK_FIR, padded, _OVERSAMPLE, axis=1)[:, taps - 1 : padded.shape[1] * _OVERSAMPLE]
            self.true_peak = max(self.true_peak, peak, float(np.abs(up).max(initial=0.0)))
        self.true_peak = max(self.true_peak, peak)
        self.tp_history = padded[:, -(taps // _OVERSAMPLE + 1) :]

    def result(self, silence_dbfs: float, min_silence: float, min_clipped: int) -> AudioQuality:
        channels = len(self.channel_names)
        if not self.k_energy:
            k_energy = raw = np.zeros((0, channels))
            lengths = np.zeros(0)
            clipped = np.zeros(0, dtype=np.int32)
        else:
            k_energy, raw = np.concatenate(self.k_energy), np.concatenate(self.raw_energy)
            lengths, clipped = np.concatenate(self.tick_len), np.concatenate(self.clipped)
        start = self.start_time or 0.0
        rms = np.sqrt(raw / np.maximum(lengths, 1)[:, None]).max(axis=1) if len(lengths) else np.zeros(0)
        silent = rms < 10 ** (silence_dbfs / 20)
        return AudioQuality(
            integrated_lufs=_integrated(k_energy, lengths, self.weights),
            true_peak_dbtp=_db(self.true_peak),
            sample_peak_dbfs=_db(self.sample_peak),
            clipping=_runs(clipped >= min_clipped, start, min_length=1, max_gap=5),
            silence=_runs(silent, start, min_length=round(min_silence * TICKS_PER_SECOND), max_gap=0),
            duration_seconds=round((self.total + (self.carry.shape[1] if self.carry is not None else 0)) / self.rate, 6),
            sample_rate=self.rate,
            channels=channels,
        )


def k_weighting(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The BS.1770 K-weighting filter (shelf then high-pass) as one 4th-order IIR for ``rate``.

    Analog prototypes as derived in libebur128, which reproduce the standard's 48 kHz
    coefficients exactly and give the matching filter at any other rate.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0])
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    hp_b = np.array([1.0, -2.0, 1.0])
    hp_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return np.convolve(shelf_b, hp_b), np.convolve(shelf_a, hp_a)


def _integrated(k_energy: np.ndarray, lengths: np.ndarray, weights: np.ndarray) -> float | None:
    block, step = 40, 10  # ticks: 400 ms blocks every 100 ms
    n_blocks = (len(lengths) - block) // step + 1 if len(lengths) >= block else 0
    if n_blocks <= 0:
        return None
    cum_e = np.vstack((np.zeros((1, k_energy.shape[1])), np.cumsum(k_energy, axis=0)))
    cum_n = np.concatenate(([0], np.cumsum(lengths)))
    starts = np.arange(n_blocks) * step
    z = (cum_e[starts + block] - cum_e[starts]) / (cum_n[starts + block] - cum_n[starts])[:, None]
    power = z @ weights
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(power)
    gated = z[loudness > _ABSOLUTE_GATE]
    if not len(gated):
        return None
    relative = -0.691 + 10 * math.log10(float(gated.mean(axis=0) @ weights)) + _RELATIVE_GATE
    gated = z[(loudness > _ABSOLUTE_GATE) & (loudness > relative)]
    return round(-0.691 + 10 * math.log10(float(gated.mean(axis=0) @ weights)), 3)


def _db(amplitude: float) -> float | None:
    return round(20 * math.log10(amplitude), 3) if amplitude > 0 else None


def _runs(flags: np.ndarray, start: float, min_length: int, max_gap: int) -> list[tuple[float, float]]:
    """(start, end) seconds of runs of True ticks, bridging gaps up to ``max_gap`` ticks."""
    runs: list[list[int]] = []
    for i in map(int, np.flatnonzero(flags)):
        if runs and i - runs[-1][1] <= max_gap:
            runs[-1][1] = i + 1
        else:
            runs.append([int(i), int(i) + 1])
    return [
        (round(float(start + a / TICKS_PER_SECOND), 3), round(float(start + b / TICKS_PER_SECOND), 3))
        for a, b in runs
        if b - a >= min_length
    ]
