"""Ingest: real files probed and registered, subtitles turned into dialogue with lineage,
re-ingest idempotent, a changed file a new version."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from graph_api.lake import Lake
from graph_api.media.synth import ClipTruth
from graph_api.pipeline.context import Context
from graph_api.pipeline.ingest import NewTitle, ingest
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
    first = ingest(ctx, [delivery / "clip.mp4"], NewTitle("The Long Tide"))
    again = ingest(ctx, [delivery], NewTitle("The  long tide"))

    assert first.title_id is not None and again.title_id == first.title_id
    assert again.ok and [t["name"] for t in ctx.lake.titles.list().to_pylist()] == ["The Long Tide"]


def test_a_new_title_where_every_file_fails_is_not_created(ctx: Context, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.mp4").write_text("These are my notes about the edit.\n" * 20)
    (bad / "broken.srt").write_text("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n")

    report = ingest(ctx, [bad, tmp_path / "missing.mov"], NewTitle("Nothing Here"))

    assert report.title_id is None and len(report.failed) == 3 and not report.added
    reread = Lake(str(ctx.lake.uri), background_compaction=False)
    assert reread.titles.list().num_rows == 0 and reread.assets.list().num_rows == 0


LABELS = {"media": "clip.mp4", "category": "compliance", "reviewer": "R. Lee",
          "labels": [{"label": "smoking", "start": 0.25, "end": 1.25, "confidence": 0.9},
                     {"label": "gore", "start": 1.5, "end": 2.75}]}


def write_labels(path: Path, data: dict[str, Any] = LABELS) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_a_label_file_becomes_annotations_with_lineage_to_it_and_its_media(ctx: Context, title: str,
                                                                           delivery: Path) -> None:
    write_labels(delivery / "clip.labels.json")

    report = ingest(ctx, [delivery], title)

    assert report.ok, report.summary()
    [(path, run_id, count)] = report.labels
    assert (path, count) == (str(delivery / "clip.labels.json"), 2)
    assert "2 annotation(s) from 1 label file(s)" in report.summary()
    assets = assets_by_name(ctx, title)
    clip, labels = assets["clip.mp4"], assets["clip.labels.json"]
    assert (labels["media_type"], labels["role"]) == ("TEXT", "labels")
    flags = sorted(ctx.lake.annotations.list(category="compliance").to_pylist(), key=lambda f: f["start"])
    assert [(f["asset_id"], f["label"], f["start"], f["end"], f["confidence"]) for f in flags] == [
        (clip["id"], "smoking", 0.25, 1.25, 0.9), (clip["id"], "gore", 1.5, 2.75, None)]
    assert all(f["asset_id"] == clip["id"] and f["produced_by"] == run_id for f in flags)
    run = ctx.lineage.get_run(run_id)
    assert run is not None and run.job_name == "annotations-import" and run.status == "COMPLETED"
    assert sorted((i.asset_id, i.version) for i in run.inputs) == sorted([(clip["id"], 1), (labels["id"], 1)])
    assert set(run.outputs) == {f["id"] for f in flags}


def test_a_changed_label_file_replaces_its_annotations(ctx: Context, title: str, delivery: Path) -> None:
    write_labels(delivery / "clip.labels.json")
    ingest(ctx, [delivery], title)
    assert not ingest(ctx, [delivery], title).labels  # unchanged: nothing to import

    write_labels(delivery / "clip.labels.json", {**LABELS, "labels": [{"label": "smoking", "start": 2, "end": 3}]})
    report = ingest(ctx, [delivery], title)

    [(_, run_id, _)] = report.labels
    assert [a["version"] for a in ctx.lake.assets.list(role="labels").to_pylist()] == [2]
    flags = ctx.lake.annotations.list(category="compliance").to_pylist()
    assert [(f["label"], f["start"], f["produced_by"]) for f in flags] == [("smoking", 2.0, run_id)]


def test_a_csv_label_file_is_imported_too(ctx: Context, title: str, delivery: Path) -> None:
    (delivery / "clip.labels.csv").write_text("media,start,end,label,confidence\n"
                                              "clip.mp4,0.5,1.0,smoking,0.75\nclip.mp4,2,2.5,alcohol,\n")

    report = ingest(ctx, [delivery], title)

    assert report.ok and [n for _, _, n in report.labels] == [2]
    flags = ctx.lake.annotations.list(category="compliance").to_pylist()
    assert sorted((f["label"], f["start"], f["confidence"]) for f in flags) == [
        ("alcohol", 2.0, None), ("smoking", 0.5, 0.75)]


def test_bad_label_files_are_named_and_not_registered(ctx: Context, title: str, delivery: Path) -> None:
    write_labels(delivery / "backwards.labels.json", {**LABELS, "labels": [{"label": "gore", "start": 3, "end": 1}]})
    (delivery / "garbled.labels.json").write_text("{not json")
    write_labels(delivery / "orphan.labels.json", {**LABELS, "media": "not-delivered.mp4"})

    report = ingest(ctx, [delivery], title)

    assert {Path(f.path).name: f.code for f in report.failed} == {
        "backwards.labels.json": "BAD_LABELS", "garbled.labels.json": "BAD_LABELS", "orphan.labels.json": "BAD_LABELS"}
    assert "not ingested" in next(f.message for f in report.failed if "orphan" in f.path)
    assert sorted(assets_by_name(ctx, title)) == ["clip.en.srt", "clip.mp4", "poster.png"]
    assert ctx.lake.annotations.list(category="compliance").num_rows == 0
