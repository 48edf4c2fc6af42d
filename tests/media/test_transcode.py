from pathlib import Path

import av
import pytest

from graph_api.media.onepass import run_one
from graph_api.media.probe import probe
from graph_api.media.synth import Tone
from graph_api.media.transcode import ProxyWriter, make_proxy, proxy_size

from .conftest import MakeClip


def test_proxy_is_h264_and_aac_at_the_target_height(make_clip: MakeClip, tmp_path: Path) -> None:
    src, truth, _ = make_clip(width=640, height=360, duration=2.0)
    seen: list[float] = []

    out = make_proxy(src, tmp_path / "proxy.mp4", height=180, progress=seen.append)

    p = probe(out)
    video, audio = p.streams
    assert video["codec"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert (p.width, p.height) == (320, 180)
    assert p.frame_rate == 24.0
    assert audio["codec"] == "aac" and audio["channels"] == 2
    assert p.duration_seconds == pytest.approx(truth.duration, abs=0.1)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_proxy_keeps_aspect_with_even_dimensions(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(width=400, height=300, duration=0.5, tone=None)

    p = probe(make_proxy(src, tmp_path / "proxy.mp4", height=100))

    assert (p.width, p.height) == (134, 100)  # 133.3 rounded to even
    assert [s["type"] for s in p.streams] == ["video"]  # no audio in, no audio out


def test_proxy_is_never_upscaled() -> None:
    assert proxy_size(320, 180, None, 720) == (320, 180)


def test_interrupted_transcode_leaves_no_file(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=2.0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def interrupt(fraction: float) -> None:
        if fraction > 0.3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_proxy(src, out_dir / "proxy.mp4", height=90, progress=interrupt)

    assert list(out_dir.iterdir()) == []


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def test_source_aac_goes_into_the_proxy_as_it_is(make_clip: MakeClip, tmp_path: Path) -> None:
    src, truth, _ = make_clip(duration=1.0)
    writer = ProxyWriter(tmp_path / "proxy.mp4", height=90)

    out = run_one(src, writer)

    assert writer.copied_audio and audio_packets(out) == audio_packets(src)
    assert probe(out).duration_seconds == pytest.approx(truth.duration, abs=0.1)


def test_audio_a_browser_may_not_play_is_encoded_again(make_clip: MakeClip, tmp_path: Path) -> None:
    src, _, _ = make_clip(duration=1.0, tone=Tone(sample_rate=22050))
    writer = ProxyWriter(tmp_path / "proxy.mp4", height=90)

    [_, audio] = probe(run_one(src, writer)).streams

    assert not writer.copied_audio and (audio["codec"], audio["sample_rate"]) == ("aac", 48000)
