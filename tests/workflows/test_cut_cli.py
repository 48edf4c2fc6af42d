"""``mediagraph cut import FILE.otio --title ID``: the cut lands in the lake and in lineage; a clip
that names no asset refuses the file and writes nothing. An EDL arrives through OTIO's CMX 3600 adapter."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from graph_api.errors import InvalidArgument
from graph_api.lake import Lake
from graph_api.workflows.timelines import read_timeline_file
from tests.conftest import make_assets, make_title


def _otio_file(path: Path, uri: str) -> Path:
    timeline = otio.schema.Timeline(name="Reel 1")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    track.append(otio.schema.Clip(name="harbour", media_reference=otio.schema.ExternalReference(target_url=uri),
                                  source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(24, 24),
                                                                       otio.opentime.RationalTime(48, 24))))
    otio.adapters.write_to_file(timeline, str(path))
    return path


def _cli(lake_dir: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", "cut", "import", *args, "--lake", lake_dir],
                          capture_output=True, text=True, timeout=120, env={**os.environ})


def test_cut_import_records_the_cut_and_its_editorial_run(lake: Lake, lake_dir: str, tmp_path: Path) -> None:
    title = make_title(lake)
    [asset] = make_assets(lake, title["id"])
    done = _cli(lake_dir, str(_otio_file(tmp_path / "reel.otio", asset["uri"])), "--title", title["id"])
    assert done.returncode == 0, done.stderr
    cut_id = done.stdout.strip()
    [row] = Lake(lake_dir, create=False).cuts.list(title_ids=[title["id"]]).to_pylist()
    assert row["id"] == cut_id and row["name"] == "Reel 1" and row["asset_ids"] == [asset["id"]]
    assert row["clips"][0]["source_start"] == 1.0 and row["clips"][0]["source_end"] == 3.0
    runs = Lake(lake_dir, create=False).scan("runs", f"id = '{row['run_id']}'", title_column=None).to_pylist()
    assert [(r["namespace"], r["job_name"]) for r in runs] == [("editorial", "cut-import")]


def test_cut_import_refuses_a_clip_without_an_asset(lake: Lake, lake_dir: str, tmp_path: Path) -> None:
    title = make_title(lake)
    done = _cli(lake_dir, str(_otio_file(tmp_path / "lost.otio", "s3://nowhere/x.mov")), "--title", title["id"])
    assert done.returncode != 0 and "harbour" in done.stderr, done.stderr
    assert Lake(lake_dir, create=False).cuts.count() == 0


def test_cut_import_reads_a_cmx_edl_through_the_otio_adapter(lake: Lake, lake_dir: str, tmp_path: Path) -> None:
    title = make_title(lake)
    [asset] = make_assets(lake, title["id"])
    edl = tmp_path / "reel.edl"
    otio.adapters.write_to_file(otio.adapters.read_from_file(str(_otio_file(tmp_path / "reel.otio", asset["uri"]))),
                                str(edl))
    assert edl.read_text().startswith("TITLE: Reel 1")
    done = _cli(lake_dir, str(edl), "--title", title["id"])
    assert done.returncode == 0, done.stderr
    [row] = Lake(lake_dir, create=False).cuts.list(title_ids=[title["id"]]).to_pylist()
    assert row["id"] == done.stdout.strip() and row["asset_ids"] == [asset["id"]]
    assert (row["clips"][0]["source_start"], row["clips"][0]["source_end"]) == (1.0, 3.0)


def test_a_format_no_installed_adapter_reads_is_refused_with_a_code(tmp_path: Path) -> None:
    odd = tmp_path / "reel.xyz"
    odd.write_text("not a timeline")
    with pytest.raises(InvalidArgument, match=r"no installed OpenTimelineIO adapter reads \.xyz files .*edl"):
        read_timeline_file(odd)
    broken = tmp_path / "broken.edl"
    broken.write_text("TITLE: x\n001  AX  V  C  garbage\n")
    with pytest.raises(InvalidArgument, match="broken.edl: not a readable .edl timeline"):
        read_timeline_file(broken)
