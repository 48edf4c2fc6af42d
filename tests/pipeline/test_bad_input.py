"""Bad input: each bad file is named with its error code, nothing is registered for it, and the
good files of the same batch are registered all the same; the CLI sums up and exits 1."""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from graph_api.pipeline.context import Context
from graph_api.pipeline.ingest import ingest


def bad_files(folder: Path, good_clip: Path) -> dict[str, str]:
    """Every kind of bad input, by file name -> the error code it must get."""
    folder.mkdir()
    data = good_clip.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (folder / "notes.mp4").write_text("These are my notes about the edit.\n" * 20)
    (folder / "dangling.mov").symlink_to(folder / "gone.mov")
    fmt = struct.pack("<HHIIHH", 0x3333, 1, 8000, 16000, 2, 16)  # a WAVE format tag FFmpeg has no decoder for
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 16000) + bytes(16000)
    (folder / "mystery.wav").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    (folder / "broken.srt").write_text("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n")
    return {"truncated.mp4": "CORRUPT_MEDIA", "notes.mp4": "NOT_MEDIA", "dangling.mov": "UNREADABLE",
            "mystery.wav": "UNSUPPORTED_CODEC", "broken.srt": "BAD_SUBTITLE", "missing.mp4": "UNREADABLE"}


def test_each_bad_file_is_named_and_skipped(ctx: Context, title: str, delivery: Path, tmp_path: Path) -> None:
    expected = bad_files(tmp_path / "bad", delivery / "clip.mp4")

    report = ingest(ctx, [delivery / "clip.mp4", tmp_path / "bad", tmp_path / "bad" / "missing.mp4"], title)

    assert {Path(f.path).name: f.code for f in report.failed} == expected
    assert all(f.message for f in report.failed)
    assets = ctx.lake.assets.by_title([title])[title]
    assert [Path(a["uri"]).name for a in assets] == ["clip.mp4"]
    assert not ctx.lake.segments.list(title_ids=[title]).num_rows
    summary = report.summary()
    assert "1 added" in summary and "6 failed" in summary
    assert all(name in summary for name in expected)


def test_cli_reports_the_failures_and_exits_1(delivery: Path, tmp_path: Path) -> None:
    expected = bad_files(tmp_path / "bad", delivery / "clip.mp4")
    result = subprocess.run(
        [sys.executable, "-m", "graph_api.cli", "ingest", str(delivery), str(tmp_path / "bad"),
         "--new-title", "Mixed Delivery", "--lake", str(tmp_path / "lake")],
        capture_output=True, text=True, timeout=120)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "3 added" in result.stderr and "5 failed" in result.stderr
    for name, code in expected.items():
        if name != "missing.mp4":
            assert f"{tmp_path / 'bad' / name}: {code}" in result.stderr
    assert result.stdout.strip().startswith("title_")
