"""Derive: every step makes real outputs with lineage; a second derive does nothing; after a
source changes only what is stale is recomputed; Ctrl-C leaves an ABORTED run and nothing else."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from graph_api.media.probe import probe
from graph_api.media.synth import ClipTruth
from graph_api.pipeline.context import NAMESPACE, Context
from graph_api.pipeline.derive import derive
from graph_api.pipeline.ingest import ingest
from graph_api.pipeline.steps import DIALOGUE_SPACE, FRAME_SPACE, technical

from .conftest import make_context

TABLES = ("assets", "segments", "annotations")


def by_role(ctx: Context, title: str, role: str) -> list[dict[str, Any]]:
    return sorted((a for a in ctx.lake.assets.by_title([title])[title] if a["role"] == role), key=lambda a: a["uri"])


def source_of(ctx: Context, title: str) -> dict[str, Any]:
    return next(a for a in by_role(ctx, title, "source") if a["media_type"] == "VIDEO")


@pytest.fixture
def derived(ctx: Context, title: str, delivery: Path) -> dict[str, Any]:
    ingest(ctx, [delivery], title)
    report = derive(ctx, title)
    assert report.ok, report.summary()
    return {"report": report, "source": source_of(ctx, title)}


def test_derive_makes_every_derivative_with_lineage(ctx: Context, title: str, derived: dict[str, Any],
                                                    truth: ClipTruth) -> None:
    source = derived["source"]
    assert sorted(d.step for d in derived["report"].done) == [
        "audio", "dialogue-embeddings", "frame-embeddings", "frames", "proxy", "shots"]

    [proxy] = by_role(ctx, title, "proxy")
    assert Path(proxy["uri"]).is_file() and Path(proxy["uri"]).is_relative_to(ctx.media_dir)
    streams = technical(proxy)["streams"]
    assert [(s["type"], s["codec"]) for s in streams] == [("video", "h264"), ("audio", "aac")]
    assert proxy["height"] == 90 and proxy["external_id"] == f"derived:{source['id']}:proxy"
    assert probe(proxy["uri"]).checksum == proxy["checksum"]
    run = ctx.lineage.get_run(proxy["produced_by"])
    assert (run.namespace, run.job_name, run.job_version, run.status) == (NAMESPACE, "proxy", "1.1.0", "COMPLETED")
    assert run.parameters["height"] == 90 and run.parameters["video"] == "libx264"
    steps, sources = ctx.lineage.provenance(proxy["id"])
    assert sources == [source["id"]]

    shots = ctx.lake.segments.list(asset_ids=[source["id"]], kind="SHOT").to_pylist()
    assert [round(s["start"], 2) for s in shots] == [0.0, *truth.cuts]
    assert shots[-1]["end"] == pytest.approx(truth.duration, abs=0.05)

    frames = by_role(ctx, title, "frame")
    times = sorted(technical(f)["time"] for f in frames)
    # every second, plus the shot at 1.5 s (audio padding makes the file a little longer than 3 s,
    # so the target at 3.0 s may get the last frame)
    assert times[:4] == pytest.approx([0.0, 1.0, 1.5, 2.0], abs=0.03) and len(times) <= 5
    assert all(Path(f["uri"]).is_file() and f["media_type"] == "IMAGE" for f in frames)
    _, frame_sources = ctx.lineage.provenance(frames[0]["id"])
    assert frame_sources == [source["id"]]

    notes = ctx.lake.annotations.list(asset_ids=[source["id"]], category="audio-quality").to_pylist()
    labels = {n["label"]: n for n in notes}
    assert {"integrated-loudness", "true-peak", "sample-peak", "clipping", "silence"} <= labels.keys()
    assert (labels["silence"]["start"], labels["silence"]["end"]) == pytest.approx(truth.silence[0], abs=0.05)
    assert (labels["clipping"]["start"], labels["clipping"]["end"]) == pytest.approx(truth.clipping[0], abs=0.05)
    assert len({n["produced_by"] for n in notes}) == 1

    frame_segments = ctx.lake.segments.list(asset_ids=[source["id"]], kind="FRAME").to_pylist()
    assert sorted(s["start"] for s in frame_segments) == times
    frame_vectors = ctx.lake.embeddings.list(FRAME_SPACE).to_pylist()
    assert sorted(v["subject_id"] for v in frame_vectors) == sorted(s["id"] for s in frame_segments)
    assert len(frame_vectors[0]["vector"]) == 160
    vector_run = ctx.lineage.get_run(frame_vectors[0]["produced_by"])
    assert sorted(i.asset_id for i in vector_run.inputs) == sorted(f["id"] for f in frames)
    dialogue = ctx.lake.embeddings.list(DIALOGUE_SPACE).to_pylist()
    assert [d["text"] for d in sorted(dialogue, key=lambda d: d["start"])][0].startswith("The storm")
    emb_run = ctx.lineage.get_run(dialogue[0]["produced_by"])
    assert emb_run.job_name == "dialogue-embeddings" and f"emb:{DIALOGUE_SPACE}:{dialogue[0]['subject_id']}" in \
        emb_run.outputs


def test_a_second_derive_does_nothing(ctx: Context, title: str, derived: dict[str, Any]) -> None:
    versions = {t: ctx.lake.table_version(t) for t in TABLES}

    report = derive(ctx, title)

    assert not report.done and not report.failed and report.fresh == 6
    assert report.summary() == "nothing to do: all 6 step(s) are up to date"
    assert {t: ctx.lake.table_version(t) for t in TABLES} == versions


def test_a_changed_source_recomputes_only_what_is_stale(ctx: Context, title: str, delivery: Path,
                                                        derived: dict[str, Any], media: dict[str, Any]) -> None:
    [proxy] = by_role(ctx, title, "proxy")
    shutil.copyfile(media["second_cut"], delivery / "clip.mp4")
    ingest(ctx, [delivery], title)
    assert ctx.lineage.is_stale(proxy["id"])

    report = derive(ctx, title)

    assert report.ok, report.summary()
    assert sorted(d.step for d in report.done) == ["audio", "frame-embeddings", "frames", "proxy", "shots"]
    [again] = by_role(ctx, title, "proxy")
    assert (again["id"], again["version"]) == (proxy["id"], 2) and not ctx.lineage.is_stale(again["id"])
    source = source_of(ctx, title)
    shots = ctx.lake.segments.list(asset_ids=[source["id"]], kind="SHOT").to_pylist()
    assert len(shots) == 2 and len({s["produced_by"] for s in shots}) == 1  # the old shots were replaced
    frames = ctx.lake.segments.list(asset_ids=[source["id"]], kind="FRAME").to_pylist()
    vectors = ctx.lake.embeddings.list(FRAME_SPACE).to_pylist()
    assert sorted(v["subject_id"] for v in vectors) == sorted(f["id"] for f in frames)
    assert not derive(ctx, title).done


def test_a_new_parameter_redoes_the_step(ctx: Context, title: str, derived: dict[str, Any], tmp_path: Path) -> None:
    from dataclasses import replace

    ctx.options = replace(ctx.options, frame_interval=0.5)
    report = derive(ctx, title, ["frames"])
    assert [(d.step, d.reason) for d in report.done][0] == ("frames", "parameters changed: interval")


def test_ctrl_c_aborts_the_run_and_registers_nothing(tmp_path: Path, delivery: Path) -> None:
    def interrupt(label: str, fraction: float) -> None:
        if label.startswith("proxy") and fraction > 0.2:
            raise KeyboardInterrupt

    ctx = make_context(tmp_path / "lake", tmp_path / "lake-media", progress=interrupt)
    title = ctx.lake.titles.create([{"name": "Interrupted", "kind": "MOVIE"}])[0]["id"]
    ingest(ctx, [delivery], title)

    with pytest.raises(KeyboardInterrupt):
        derive(ctx, title, ["proxy"])

    [run] = [r for r in ctx.lineage.service.graph.runs() if r.job_name == "proxy"]
    assert run.status == "ABORTED" and run.outputs == () and run.ended_at is not None
    assert by_role(ctx, title, "proxy") == []
    assert not any(ctx.media_dir.rglob("*.mp4"))

    resumed = make_context(tmp_path / "lake", tmp_path / "lake-media")
    report = derive(resumed, title, ["proxy"])
    assert [(d.step, d.reason) for d in report.done] == [("proxy", "missing")]
    assert len(by_role(resumed, title, "proxy")) == 1


def test_proxy_parameters_record_what_was_made(tmp_path: Path, delivery: Path) -> None:
    """The source is 90 lines high: asking for 360 makes a 90-line proxy, and the run says so."""
    from dataclasses import replace

    ctx = make_context(tmp_path / "lake", tmp_path / "lake-media")
    ctx.options = replace(ctx.options, proxy_height=360, frame_height=360)
    title = ctx.lake.titles.create([{"name": "Small Source", "kind": "MOVIE"}])[0]["id"]
    ingest(ctx, [delivery], title)

    assert derive(ctx, title, ["proxy", "frames"]).ok

    [proxy] = by_role(ctx, title, "proxy")
    run = ctx.lineage.get_run(proxy["produced_by"])
    assert proxy["height"] == 90 and probe(proxy["uri"]).height == 90
    assert (run.parameters["height"], run.parameters["requested_height"], run.parameters["upscale"]) == (90, 360, False)
    frames = by_role(ctx, title, "frame")
    frames_run = ctx.lineage.get_run(frames[0]["produced_by"])
    assert {f["height"] for f in frames} == {frames_run.parameters["height"]} == {90}
    assert frames_run.parameters["requested_height"] == 360
    assert not derive(ctx, title, ["proxy", "frames"]).done  # what is recorded is what the plan expects


def test_one_decode_serves_every_step_that_runs(ctx: Context, title: str, delivery: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from graph_api.media import onepass
    from graph_api.pipeline import shared_pass

    opened: list[tuple[str, tuple[str, ...]]] = []
    real = onepass.run_pass

    def counting(src: Any, consumers: Any, progress: Any = None) -> Any:
        opened.append((Path(src).name, tuple(consumers)))
        return real(src, consumers, progress)

    monkeypatch.setattr(shared_pass, "run_pass", counting)  # where the pass is started
    ingest(ctx, [delivery], title)

    assert derive(ctx, title).ok
    assert opened == [("clip.mp4", ("proxy", "shots", "frames", "audio"))]

    from dataclasses import replace

    opened.clear()
    ctx.options = replace(ctx.options, frame_interval=0.5)
    report = derive(ctx, title)
    assert sorted(d.step for d in report.done) == ["frame-embeddings", "frames"]
    assert opened == [("clip.mp4", ("frames",))]  # fresh steps are neither decoded for nor recomputed
