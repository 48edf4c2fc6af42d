"""Each kind of bad input gets its own stable error code and names the offending file."""

import struct
from pathlib import Path

import pytest

from graph_api.media.errors import MediaError
from graph_api.media.probe import probe
from graph_api.media.subtitles import read_subtitles

from .conftest import MakeClip


def assert_error(path: Path, code: str, *, call=probe) -> MediaError:
    with pytest.raises(MediaError) as info:
        call(path)
    assert info.value.code == code
    assert info.value.path == path
    assert str(path) in str(info.value)
    return info.value


def test_truncated_mp4_is_corrupt(make_clip: MakeClip, tmp_path: Path) -> None:
    path, _, _ = make_clip(duration=1.0)
    bad = tmp_path / "truncated.mp4"
    bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    assert_error(bad, "CORRUPT_MEDIA")


def test_truncated_faststart_mp4_is_corrupt(make_clip: MakeClip, tmp_path: Path) -> None:
    # With the index at the front the header still parses; only the missing samples give it away.
    path, _, _ = make_clip(duration=1.0, container_options={"movflags": "+faststart"})
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and data.index(b"moov") < data.index(b"mdat")
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(data[: len(data) * 2 // 3])

    assert_error(bad, "CORRUPT_MEDIA")


def test_garbage_after_a_valid_header_is_corrupt(make_clip: MakeClip, tmp_path: Path) -> None:
    path, _, _ = make_clip(duration=1.0, container_options={"movflags": "+faststart"})
    data = bytearray(path.read_bytes())
    start = data.index(b"mdat") + 8
    data[start:] = bytes(len(data) - start)  # samples zeroed: nothing decodable remains
    bad = tmp_path / "zeroed.mp4"
    bad.write_bytes(bytes(data))

    assert_error(bad, "CORRUPT_MEDIA")


def test_text_named_mp4_is_not_media(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("These are my notes about the edit.\n" * 20)

    assert_error(bad, "NOT_MEDIA")


def test_random_binary_is_not_media(tmp_path: Path) -> None:
    bad = tmp_path / "blob.mp4"
    bad.write_bytes(bytes(range(256)) * 40)

    assert_error(bad, "NOT_MEDIA")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_paths(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "nothing.mp4"
    if kind == "directory":
        bad.mkdir()

    assert_error(bad, "UNREADABLE")


def test_stream_without_a_decoder_is_unsupported(tmp_path: Path) -> None:
    data = bytes(16000)
    fmt = struct.pack("<HHIIHH", 0x3333, 1, 8000, 16000, 2, 16)  # a WAVE format tag FFmpeg does not know
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    bad = tmp_path / "mystery.wav"
    bad.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)

    assert_error(bad, "UNSUPPORTED_CODEC")


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:0x:04,000\nbad\n", 6, "unparseable"),
        ("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", 2, "before it starts"),
        ("1\n-00:00:01,000 --> 00:00:02,000\nnegative\n", 2, "negative"),
        ("1\nHello without timing\n", 1, "timing line"),
    ],
)
def test_broken_subtitle_timestamps(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    bad = tmp_path / "broken.srt"
    bad.write_text(body)

    for call in (probe, read_subtitles):
        error = assert_error(bad, "BAD_SUBTITLE", call=call)
        assert error.line == line
        assert f"line {line}" in str(error) and fragment in str(error)


def test_vtt_without_header_is_bad(tmp_path: Path) -> None:
    bad = tmp_path / "broken.vtt"
    bad.write_text("00:01.000 --> 00:02.000\nHi\n")

    assert_error(bad, "BAD_SUBTITLE", call=read_subtitles)
