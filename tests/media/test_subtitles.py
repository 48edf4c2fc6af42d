from pathlib import Path

import pytest

from graph_api.media.subtitles import Cue, read_subtitles


def test_srt_with_bom_crlf_tags_and_multiline_cues(tmp_path: Path) -> None:
    path = tmp_path / "film.srt"
    path.write_bytes(
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>The ship</i> is late.\r\n\r\n"
        "2\r\n00:01:03,250 --> 00:01:05,000\r\nFirst line\r\nsecond line\r\n\r\n".encode("utf-8")
    )

    assert read_subtitles(path) == [
        Cue(1.0, 2.5, "The ship is late."),
        Cue(63.25, 65.0, "First line\nsecond line"),
    ]


def test_srt_in_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "old.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nCaf\u00e9 cr\u00e8me\n".encode("cp1252"))

    assert read_subtitles(path)[0].text == "Caf\u00e9 cr\u00e8me"


def test_webvtt_with_settings_notes_identifiers_and_short_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "episode.vtt"
    path.write_text(
        "WEBVTT - episode two\n\n"
        "NOTE written by hand\nover two lines\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "intro\n00:01.000 --> 00:04.000 align:start position:10%\n<v Captain>Hold the wheel steady.\n\n"
        "01:02:03.500 --> 01:02:04.000\nLate cue\n"
    )

    assert read_subtitles(path) == [
        Cue(1.0, 4.0, "Hold the wheel steady."),
        Cue(3723.5, 3724.0, "Late cue"),
    ]


def test_empty_subtitle_file_has_no_cues(tmp_path: Path) -> None:
    path = tmp_path / "empty.srt"
    path.write_text("")

    assert read_subtitles(path) == []


def test_zero_length_cue_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "blink.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:01,000\nBlink\n")

    assert read_subtitles(path) == [Cue(1.0, 1.0, "Blink")]


@pytest.mark.parametrize("name", ["x.srt", "x.vtt"])
def test_missing_subtitle_file_is_unreadable(tmp_path: Path, name: str) -> None:
    from graph_api.media.errors import UnreadableError

    with pytest.raises(UnreadableError):
        read_subtitles(tmp_path / name)
