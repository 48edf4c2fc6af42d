import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from graph_api.media.images import write_image
from graph_api.media.probe import MediaType, probe
from graph_api.media.synth import Tone

from .conftest import MakeClip


def test_video_fields_match_what_was_encoded(make_clip: MakeClip) -> None:
    path, truth, _ = make_clip(width=320, height=180, fps=25, duration=2.0, tone=Tone(sample_rate=44100), language="eng")

    p = probe(path)

    assert p.media_type is MediaType.VIDEO
    assert p.container == "mp4"
    assert (p.width, p.height, p.frame_rate) == (320, 180, 25.0)
    assert p.duration_seconds == pytest.approx(truth.duration, abs=0.05)
    assert p.size_bytes == path.stat().st_size
    assert p.checksum == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    video, audio = p.streams
    assert video["codec"] == "h264" and video["profile"] == "High" and video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"], video["frame_rate"]) == (320, 180, 25.0)
    assert video["hdr"] == "none"
    assert video["language"] == "eng"
    assert audio["codec"] == "aac"
    assert (audio["channels"], audio["sample_rate"], audio["layout"]) == (2, 44100, "stereo")
    assert audio["bit_rate"] > 0
    json.dumps(p.technical())  # what the lake stores must be JSON-able


@pytest.mark.parametrize(("transfer", "hdr"), [("smpte2084", "PQ"), ("arib-std-b67", "HLG"), ("bt709", "none")])
def test_hdr_is_derived_from_the_transfer_function(make_clip: MakeClip, transfer: str, hdr: str) -> None:
    path, _, _ = make_clip(
        duration=0.5, tone=None, pix_fmt="yuv420p10le", video_options={"preset": "ultrafast"},
        color_primaries="bt2020", color_transfer=transfer, color_matrix="bt2020nc",
    )

    video = probe(path).streams[0]

    assert video["color_transfer"] == transfer
    assert video["color_primaries"] == "bt2020" and video["color_matrix"] == "bt2020nc"
    assert video["pix_fmt"] == "yuv420p10le" and video["profile"] == "High 10"
    assert video["hdr"] == hdr


def test_prores_in_mov_with_pcm_audio(make_clip: MakeClip) -> None:
    path, _, _ = make_clip(
        "master.mov", duration=0.5, video_codec="prores_ks", pix_fmt="yuv422p10le", video_options={},
        audio_codec="pcm_s16le", tone=Tone(channels=1),
    )

    p = probe(path)

    assert p.container == "mov"
    assert [s["codec"] for s in p.streams] == ["prores", "pcm_s16le"]
    assert p.streams[1]["channels"] == 1 and p.streams[1]["layout"] == "mono"


def test_audio_only_file_is_audio(make_clip: MakeClip, tmp_path: Path) -> None:
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=48000)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 48000 * 2), dtype=np.int16), format="s16", layout="stereo")
        frame.sample_rate = 48000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    p = probe(path)

    assert p.media_type is MediaType.AUDIO
    assert p.width is None and p.frame_rate is None
    assert p.duration_seconds == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_still_image_is_image(tmp_path: Path, suffix: str) -> None:
    path = write_image(tmp_path / f"poster{suffix}", np.full((90, 160, 3), 200, dtype=np.uint8))

    p = probe(path)

    assert p.media_type is MediaType.IMAGE
    assert (p.width, p.height) == (160, 90)
    assert p.duration_seconds is None


def test_subtitles_are_text_with_a_cue_count(tmp_path: Path) -> None:
    path = tmp_path / "film.en.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,500\nBye\n")

    p = probe(path)

    assert p.media_type is MediaType.TEXT
    assert p.cue_count == 2 and p.technical()["cue_count"] == 2
    assert p.duration_seconds == 4.5
    assert p.streams[0]["language"] == "en"
