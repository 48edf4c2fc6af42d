"""Ingest: real files probed and registered, subtitles turned into dialogue with lineage,
re-ingest idempotent, a changed file a new version."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from graph_api.media.synth import ClipTruth
from graph_api.pipeline.context import Context
from graph_api.pipeline.ingest import ingest
from graph_api.pipeline.steps import technical


def assets_by_name(ctx: Context, title: str) -> dict[str, dict[str, Any]]:
    return {Path(a["uri"]).name: a for a in ctx.lake.assets.by_title([title])[title]}


def test_ingest_probes_and_registers_every_file(ctx: Context, title: str, delivery: Path,
                                                truth: ClipTruth) -> None:
    report = ingest(ctx, [delivery], title)

    assert report.ok and len(report.added) == 3
    assets = assets_by_name(ctx, title)
    clip = assets["clip.mp4"]
    data = (delivery / "clip.mp4").read_bytes()
    assert clip["uri"] == str(delivery / "clip.mp4") and Path(clip["uri"]).is_absolute()
    assert clip["external_id"] == f"file:{delivery / 'clip.mp4'}"
    assert clip["checksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert clip["size_bytes"] == len(data)
    assert (clip["media_type"], clip["role"], clip["version"]) == ("VIDEO", "source", 1)
    assert (clip["width"], clip["height"], clip["frame_rate"]) == (160, 90, 24.0)
    assert abs(clip["duration_seconds"] - truth.duration) < 0.1
    streams = technical(clip)["streams"]
    assert [(s["type"], s["codec"]) for s in streams] == [("video", "h264"), ("audio", "aac")]
    assert streams[1]["channels"] == 2 and streams[1]["sample_rate"] == 48000
    assert (assets["poster.png"]["media_type"], assets["poster.png"]["role"]) == ("IMAGE", "poster")
    assert (assets["poster.png"]["width"], assets["poster.png"]["height"]) == (40, 60)
    srt = assets["clip.en.srt"]
    assert (srt["media_type"], srt["role"]) == ("TEXT", "subtitle")
    assert technical(srt)["streams"][0]["language"] == "en"


def test_subtitles_become_dialogue_with_lineage_to_their_file(ctx: Context, title: str, delivery: Path) -> None:
    report = ingest(ctx, [delivery / "clip.en.srt"], title)

    [(path, run_id, lines)] = report.dialogue
    assert lines == 3
    srt = assets_by_name(ctx, title)["clip.en.srt"]
    dialogue = ctx.lake.segments.list(asset_ids=[srt["id"]], kind="DIALOGUE").to_pylist()
    assert [d["text"] for d in dialogue] == ["The storm is coming over the harbour.", "Pour me another coffee.",
                                             "Cast off the lines!"]
    assert [(d["start"], d["end"]) for d in dialogue][0] == (0.2, 1.0)
    run = ctx.lineage.get_run(run_id)
    assert run is not None and run.job_name == "dialogue-from-subtitles" and run.status == "COMPLETED"
    assert [(i.asset_id, i.version) for i in run.inputs] == [(srt["id"], 1)]
    assert {d["produced_by"] for d in dialogue} == {run_id}
    assert set(run.outputs) == {d["id"] for d in dialogue}


def test_reingesting_unchanged_files_writes_nothing(ctx: Context, title: str, delivery: Path) -> None:
    ingest(ctx, [delivery], title)
    versions = {t: ctx.lake.table_version(t) for t in ("assets", "segments", "titles")}
    runs = len(list(ctx.lineage.service.graph.runs()))

    report = ingest(ctx, [delivery], title)

    assert report.ok and not report.added and not report.updated and not report.dialogue
    assert len(report.unchanged) == 3
    assert {t: ctx.lake.table_version(t) for t in versions} == versions
    assert len(list(ctx.lineage.service.graph.runs())) == runs


def test_a_changed_file_becomes_version_2(ctx: Context, title: str, delivery: Path,
                                          media: dict[str, Any]) -> None:
    ingest(ctx, [delivery], title)
    first = assets_by_name(ctx, title)["clip.mp4"]
    shutil.copyfile(media["second_cut"], delivery / "clip.mp4")

    report = ingest(ctx, [delivery], title)

    assert report.updated == [(str(delivery / "clip.mp4"), first["id"], 2)]
    assert len(report.unchanged) == 2
    now = assets_by_name(ctx, title)["clip.mp4"]
    assert (now["id"], now["version"]) == (first["id"], 2) and now["checksum"] != first["checksum"]
    assert [v["version"] for v in ctx.lake.assets.versions([first["id"]])[first["id"]]] == [1, 2]


def test_a_changed_subtitle_replaces_its_dialogue(ctx: Context, title: str, delivery: Path) -> None:
    ingest(ctx, [delivery], title)
    srt = delivery / "clip.en.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nA brand new line.\n")

    report = ingest(ctx, [srt], title)

    [(_, run_id, lines)] = report.dialogue
    asset = assets_by_name(ctx, title)["clip.en.srt"]
    dialogue = ctx.lake.segments.list(asset_ids=[asset["id"]], kind="DIALOGUE").to_pylist()
    assert [(d["text"], d["produced_by"]) for d in dialogue] == [("A brand new line.", run_id)]


def test_new_title_by_name_is_reused(ctx: Context, delivery: Path) -> None:
    from graph_api.commands import resolve_title

    first = resolve_title(ctx.lake, None, "The Long Tide", "MOVIE", None)
    again = resolve_title(ctx.lake, None, "The  long tide", "MOVIE", None)
    assert first == again
    assert ingest(ctx, [delivery], first).ok
