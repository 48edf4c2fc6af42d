"""The standard derivation steps: what each reads, computes and produces, under which job and version.

Every step works on a *subject*, a delivered asset: a video (or audio) source, or a subtitle
file. ``plan`` looks at the lake and lineage and returns the inputs and parameters the step
would run with now, plus the work; a step is redone when its latest completed run differs
from that plan (``runs.why_redo``). Parameters that name an upstream run (``shots_run``,
``frames_run``, ``dialogue_run``) make a step follow upstream work that lineage cannot see,
because segments are not assets and cannot be run inputs.

Proxy, shots, frames and audio read the source's pictures and sound: their work takes its
result from a ``SharedPass``, one decode of the source for all of them that derive needs.

Bump a step's ``version`` when its code changes what it produces: every output of the old
version turns stale and the next derive recomputes it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_api.media.transcode import PRESET, proxy_height
from graph_api.pipeline.context import Context
from graph_api.pipeline.runs import Outputs, RunIndex, Work
from graph_api.pipeline.shared_pass import SharedPass

DIALOGUE_SPACE = "dialogue-minilm"
FRAME_SPACE = "frames-color-edge"
DIALOGUE_JOB = "dialogue-from-subtitles"  # run by ingest; derive only reads its segments
DIALOGUE_VERSION = "1.0.0"
# --steps names and the steps each stands for
GROUPS = {"proxy": ("proxy",), "shots": ("shots",), "frames": ("frames",), "audio": ("audio",),
          "embeddings": ("dialogue-embeddings", "frame-embeddings")}


@dataclass(frozen=True)
class Plan:
    inputs: list[str]
    parameters: dict[str, Any]
    work: Work


@dataclass(frozen=True)
class Step:
    key: str
    job: str
    version: str
    needs: tuple[str, ...]
    applies: Callable[[dict[str, Any]], bool]
    # a str says why it cannot run; the decode-based steps take their results from the SharedPass
    plan: Callable[[Context, RunIndex, dict[str, Any], SharedPass], Plan | str]



def frame_external_id(source_asset_id: str, seconds: float) -> str:
    """The external id of the image of the frame at ``seconds`` on its source: a rerun finds it again."""
    return f"derived:{source_asset_id}:frame:{round(seconds * 1000):09d}"

def technical(asset: dict[str, Any]) -> dict[str, Any]:
    import json

    value = asset.get("technical")
    return json.loads(value) if isinstance(value, str) else (value or {})


def is_source(asset: dict[str, Any], media_type: str) -> bool:
    return asset["produced_by"] is None and asset["media_type"] == media_type


def has_audio(asset: dict[str, Any]) -> bool:
    return any(s.get("type") == "audio" for s in technical(asset).get("streams", []))


def is_subtitle(asset: dict[str, Any]) -> bool:
    return is_source(asset, "TEXT") and technical(asset).get("container") in ("srt", "webvtt")


def _file_asset(subject: dict[str, Any], path: Path, role: str, external_id: str, **extra: Any) -> dict[str, Any]:
    from graph_api.media.probe import probe

    p = probe(path)
    return {"title_id": subject["title_id"], "media_type": p.media_type.value, "role": role, "uri": str(path),
            "checksum": p.checksum, "size_bytes": p.size_bytes, "duration_seconds": p.duration_seconds,
            "width": p.width, "height": p.height, "frame_rate": p.frame_rate, "external_id": external_id,
            "technical": {**p.technical(), **extra}}


# --- proxy ------------------------------------------------------------------------------
def _plan_proxy(ctx: Context, index: RunIndex, subject: dict[str, Any], shared: SharedPass) -> Plan:
    o = ctx.options
    # What will be made, not only what was asked for: a source smaller than the target is not upscaled.
    parameters = {"height": _made_height(subject, o.proxy_height), "requested_height": o.proxy_height,
                  "upscale": False, "crf": o.proxy_crf, "preset": PRESET, "video": "libx264", "audio": "aac"}

    def work(run_dir: Path, progress: Callable[[float], None]) -> Outputs:
        out = shared.take(shared.result("proxy", progress), run_dir)
        return Outputs(assets=[_file_asset(subject, out, "proxy", f"derived:{subject['id']}:proxy")])

    return Plan([subject["id"]], parameters, work)


def _made_height(subject: dict[str, Any], requested: int) -> int:
    """The height a picture scaled from the subject to ``requested`` lines gets (never upscaled)."""
    return proxy_height(subject["height"], requested) if subject.get("height") else requested


# --- shots ------------------------------------------------------------------------------
def _plan_shots(ctx: Context, index: RunIndex, subject: dict[str, Any], shared: SharedPass) -> Plan:
    o = ctx.options
    parameters = {"detector": "color-histogram", "min_shot_seconds": o.min_shot_seconds}

    def work(run_dir: Path, progress: Callable[[float], None]) -> Outputs:
        shots = shared.result("shots", progress)
        limit = subject["duration_seconds"]
        return Outputs(segments=[
            {"asset_id": subject["id"], "kind": "SHOT", "start": s.start,
             "end": min(s.end, limit) if limit else s.end} for s in shots])

    return Plan([subject["id"]], parameters, work)


# --- frames -----------------------------------------------------------------------------
def shot_starts(ctx: Context, index: RunIndex, subject: dict[str, Any]) -> list[float] | None:
    """The starts of the shots the latest shots run found, or None when there is none."""
    shots_run = index.latest("shots", subject["id"])
    if shots_run is None:
        return None
    shots = ctx.lake.segments.list(asset_ids=[subject["id"]], kind="SHOT")
    return sorted(s["start"] for s in shots.to_pylist() if s["produced_by"] == shots_run.id)


def _plan_frames(ctx: Context, index: RunIndex, subject: dict[str, Any], shared: SharedPass) -> Plan | str:
    """Thumbnails of the source (at the frame height): the same decode as the proxy, not a decode of it."""
    shots_run = index.latest("shots", subject["id"])
    starts = shot_starts(ctx, index, subject)
    if shots_run is None or starts is None:
        return "no shots"
    o = ctx.options
    parameters = {"interval": o.frame_interval, "per_shot": True, "height": _made_height(subject, o.frame_height),
                  "requested_height": o.frame_height, "upscale": False, "shots_run": shots_run.id,
                  "format": "jpeg"}

    def work(run_dir: Path, progress: Callable[[float], None]) -> Outputs:
        from graph_api.media.probe import sha256_file

        frames = shared.result("frames", progress)
        assets, segments = [], []
        for frame in frames:
            path = shared.take(frame.path, run_dir)
            checksum, _ = sha256_file(path)
            assets.append({
                "title_id": subject["title_id"], "media_type": "IMAGE", "role": "frame", "uri": str(path),
                "checksum": checksum, "size_bytes": path.stat().st_size, "width": frame.width,
                "height": frame.height, "external_id": frame_external_id(subject["id"], frame.time),
                "technical": {"container": "jpeg", "time": frame.time, "source_asset": subject["id"],
                              "at_shot_start": any(abs(frame.time - s) < 0.05 for s in starts)},
            })
            # the frame's place on the source's timeline; its image vector hangs off this segment
            segments.append({"asset_id": subject["id"], "kind": "FRAME", "start": frame.time, "end": frame.time})
        return Outputs(assets=assets, segments=segments)

    return Plan([subject["id"]], parameters, work)


# --- audio quality ----------------------------------------------------------------------
def _plan_audio(ctx: Context, index: RunIndex, subject: dict[str, Any], shared: SharedPass) -> Plan:
    o = ctx.options
    parameters = {"standard": "ITU-R BS.1770-4", "silence_dbfs": o.silence_dbfs,
                  "min_silence_seconds": o.min_silence_seconds}

    def work(run_dir: Path, progress: Callable[[float], None]) -> Outputs:
        q = shared.result("audio", progress)
        aid, cat = subject["id"], "audio-quality"
        rows: list[dict[str, Any]] = [
            {"asset_id": aid, "category": cat, "label": "integrated-loudness",
             "value": {"lufs": q.integrated_lufs, "channels": q.channels, "sample_rate": q.sample_rate}},
            {"asset_id": aid, "category": cat, "label": "true-peak", "value": {"dbtp": q.true_peak_dbtp}},
            {"asset_id": aid, "category": cat, "label": "sample-peak", "value": {"dbfs": q.sample_peak_dbfs}},
        ]
        limit = subject["duration_seconds"] or q.duration_seconds
        rows += [{"asset_id": aid, "category": cat, "label": "clipping", "start": a, "end": min(b, limit),
                  "value": {"seconds": round(b - a, 6)}} for a, b in q.clipping]
        rows += [{"asset_id": aid, "category": cat, "label": "silence", "start": a, "end": min(b, limit),
                  "value": {"seconds": round(b - a, 6), "below_dbfs": o.silence_dbfs}} for a, b in q.silence]
        return Outputs(annotations=rows)

    return Plan([subject["id"]], parameters, work)


# --- embeddings -------------------------------------------------------------------------
def _plan_dialogue_embeddings(ctx: Context, index: RunIndex, subject: dict[str, Any],
                              shared: SharedPass) -> Plan | str:
    dialogue_run = index.latest(DIALOGUE_JOB, subject["id"])
    if dialogue_run is None:
        return "no dialogue (ingest the subtitle file again)"
    embedder = ctx.text_embedder
    segments = [s for s in ctx.lake.segments.list(asset_ids=[subject["id"]], kind="DIALOGUE").to_pylist()
                if s["produced_by"] == dialogue_run.id and s["text"]]
    parameters = {"space": DIALOGUE_SPACE, "model": embedder.model, "model_version": embedder.version,
                  "dialogue_run": dialogue_run.id}

    def work(run_dir: Path, progress: Callable[[float], None]) -> Outputs:
        vectors = embedder.embed([s["text"] for s in segments])
        progress(1.0)
        rows = [{"subject_id": s["id"], "vector": v.tolist()} for s, v in zip(segments, vectors)]
        return Outputs(embeddings=[(DIALOGUE_SPACE, embedder.model, rows)])

    return Plan([subject["id"]], parameters, work)


def _plan_frame_embeddings(ctx: Context, index: RunIndex, subject: dict[str, Any],
                           shared: SharedPass) -> Plan | str:
    """One vector per FRAME segment, from the image of that frame. The segment (not the image asset)
    is the subject: a hit then has a time code on the source, and a recompute makes new segments
    rather than a second producer for the same vector."""
    frames_run = index.latest("frames", subject["id"])
    if frames_run is None:
        return "no frames"
    images = ctx.lake.assets.get_many([o for o in frames_run.outputs if o.startswith("asset_")])
    by_time = {round(technical(a)["time"] * 1000): a for a in images.values()}
    segments = [s for s in ctx.lake.segments.list(asset_ids=[subject["id"]], kind="FRAME").to_pylist()
                if s["produced_by"] == frames_run.id]
    pairs = [(s, by_time[round(s["start"] * 1000)]) for s in segments if round(s["start"] * 1000) in by_time]
    descriptor = ctx.image_descriptor
    parameters = {"space": FRAME_SPACE, "model": descriptor.model, "model_version": descriptor.version,
                  "frames_run": frames_run.id}

    def work(run_dir: Path, progress: Callable[[float], None]) -> Outputs:
        rows = []
        for i, (segment, image) in enumerate(pairs):
            [vector] = descriptor.describe([ctx.readable(image, run_dir)])
            rows.append({"subject_id": segment["id"], "vector": vector.tolist()})
            progress((i + 1) / len(pairs))
        return Outputs(embeddings=[(FRAME_SPACE, descriptor.model, rows)])

    return Plan(sorted(images), parameters, work)


def _video(asset: dict[str, Any]) -> bool:
    return is_source(asset, "VIDEO")


STEPS: tuple[Step, ...] = (
    # proxy 1.1.0: scaled with area averaging in the shared pass, superfast, source AAC copied when it can be
    Step("proxy", "proxy", "1.1.0", (), _video, _plan_proxy),
    # shots 1.1.0: histograms of the pass's 360-line picture instead of the full-size frame
    Step("shots", "shots", "1.1.0", (), _video, _plan_shots),
    Step("frames", "frames", "1.1.0", ("shots",), _video, _plan_frames),
    Step("audio", "audio-quality", "1.0.0", (),
         lambda a: (is_source(a, "VIDEO") or is_source(a, "AUDIO")) and has_audio(a), _plan_audio),
    Step("dialogue-embeddings", "dialogue-embeddings", "1.0.0", (), is_subtitle, _plan_dialogue_embeddings),
    Step("frame-embeddings", "frame-embeddings", "1.0.0", ("frames",), _video, _plan_frame_embeddings),
)
BY_KEY = {s.key: s for s in STEPS}


def select(groups: list[str] | None) -> list[Step]:
    """The steps for ``--steps`` names, with the steps they need, in pipeline order."""
    from graph_api.errors import InvalidArgument

    if not groups:
        return list(STEPS)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise InvalidArgument(f"unknown step {', '.join(unknown)}; steps are {', '.join(GROUPS)}")
    wanted: set[str] = set()
    todo = [k for g in groups for k in GROUPS[g]]
    while todo:
        key = todo.pop()
        if key not in wanted:
            wanted.add(key)
            todo.extend(BY_KEY[key].needs)
    return [s for s in STEPS if s.key in wanted]
