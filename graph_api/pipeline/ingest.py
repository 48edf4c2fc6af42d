"""``ingest``: register real files as a title's delivered assets.

Each file is probed (technical metadata, streamed sha256, a decode check) and registered with
``uri`` = its absolute local path and ``external_id`` = ``file:<absolute path>``. A file
ingested before with the same checksum is left alone (no write at all); a changed one becomes
a new version of its asset, which turns everything derived from it stale. Subtitle files also
get their cues as DIALOGUE segments, made by a ``dialogue-from-subtitles`` run so that every
line has lineage back to its file.

A file that cannot be read, is not media, is truncated or corrupt, uses a codec FFmpeg cannot
decode, or is a subtitle with broken timing is reported by name and skipped; the rest of the
batch goes on.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_api.errors import MediaGraphError, NotFound
from graph_api.media.errors import MediaError
from graph_api.pipeline.context import Context
from graph_api.pipeline.runs import RunIndex, StepError, execute, why_redo
from graph_api.pipeline.steps import DIALOGUE_JOB, DIALOGUE_VERSION, Outputs


@dataclass(frozen=True)
class Failure:
    path: str
    code: str
    message: str


@dataclass
class IngestReport:
    added: list[tuple[str, str]] = field(default_factory=list)  # (path, asset id)
    updated: list[tuple[str, str, int]] = field(default_factory=list)  # (path, asset id, new version)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    dialogue: list[tuple[str, str, int]] = field(default_factory=list)  # (subtitle path, run id, lines)
    failed: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        text = (f"{len(self.added)} added, {len(self.updated)} new version(s), {len(self.unchanged)} unchanged, "
                f"{sum(n for _, _, n in self.dialogue)} dialogue line(s) from {len(self.dialogue)} subtitle file(s), "
                f"{len(self.failed)} failed")
        if self.failed:
            text += ":\n" + "\n".join(f"  {f.path}: {f.code}: {f.message}" for f in self.failed)
        return text


def walk(paths: Sequence[str | Path]) -> tuple[list[Path], list[Failure]]:
    """Files named, and files under directories named (sorted; hidden files skipped), absolute."""
    files: list[Path] = []
    failed: list[Failure] = []
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            def unreadable(exc: OSError) -> None:
                failed.append(Failure(str(exc.filename or path), "UNREADABLE", exc.strerror or str(exc)))

            for root, dirs, names in os.walk(path, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            failed.append(Failure(str(path), "UNREADABLE", "no such file or directory"))
    return list(dict.fromkeys(files)), failed


def role_for(media_type: str, path: Path) -> str:
    if media_type == "TEXT":
        return "subtitle"
    if media_type == "IMAGE":
        return "poster" if "poster" in path.stem.lower() else "image"
    return "source"


def external_id_for(path: Path) -> str:
    return f"file:{path}"


def ingest(ctx: Context, paths: Sequence[str | Path], title_id: str) -> IngestReport:
    from graph_api.media.probe import probe, sha256_file

    lake, note = ctx.lake, ctx.reporter.note
    if lake.titles.get(title_id) is None:
        raise NotFound(f"unknown title {title_id!r}")
    files, failures = walk(paths)
    report = IngestReport(failed=failures)
    for f in failures:
        note(f"  FAILED    {f.path}: {f.code}: {f.message}")
    existing = _current_by_external_id(ctx, [external_id_for(f) for f in files])
    rows: list[tuple[Path, dict[str, Any]]] = []
    subtitles: dict[Path, Any] = {}
    for i, path in enumerate(files):
        label = f"probe {path.name}"
        old = existing.get(external_id_for(path))
        try:
            if old is not None and old["title_id"] != title_id:
                raise MediaError(f"already ingested as asset {old['id']} of title {old['title_id']}", path)
            if old is not None:
                checksum, _ = sha256_file(path, lambda x: ctx.reporter(label, x))
                if checksum == old["checksum"]:
                    report.unchanged.append((str(path), old["id"]))
                    note(f"  unchanged {old['media_type']:<5} {path} ({old['id']} version {old['version']})")
                    if old["media_type"] == "TEXT":
                        subtitles[path] = old
                    continue
            p = probe(path, lambda x: ctx.reporter(label, x))
            if p.media_type.value == "TEXT":
                from graph_api.media.subtitles import read_subtitles

                subtitles[path] = read_subtitles(path)
        except MediaError as exc:
            code = exc.code if isinstance(exc, MediaError) and type(exc) is not MediaError else "CONFLICT"
            report.failed.append(Failure(str(path), code, exc.message))
            note(f"  FAILED    {path}: {code}: {exc.message}")
            continue
        except OSError as exc:
            report.failed.append(Failure(str(path), "UNREADABLE", exc.strerror or str(exc)))
            note(f"  FAILED    {path}: UNREADABLE: {exc.strerror or exc}")
            continue
        rows.append((path, {
            "title_id": title_id, "media_type": p.media_type.value, "role": role_for(p.media_type.value, path),
            "uri": str(path), "checksum": p.checksum, "size_bytes": p.size_bytes,
            "duration_seconds": p.duration_seconds, "width": p.width, "height": p.height,
            "frame_rate": p.frame_rate, "external_id": external_id_for(path), "technical": p.technical(),
        }))
    registered = _register(ctx, rows, report)
    for path, asset in registered.items():
        old = existing.get(external_id_for(path))
        if old is None:
            report.added.append((str(path), asset["id"]))
            note(f"  added     {asset['media_type']:<5} {path} -> {asset['id']}")
        else:
            report.updated.append((str(path), asset["id"], asset["version"]))
            note(f"  version {asset['version']} {asset['media_type']:<5} {path} -> {asset['id']}")
    _dialogue(ctx, subtitles, registered, existing, report)
    return report


def _current_by_external_id(ctx: Context, external_ids: list[str]) -> dict[str, dict[str, Any]]:
    return ctx.lake.assets.by_external_id(external_ids)


def _register(ctx: Context, rows: list[tuple[Path, dict[str, Any]]], report: IngestReport) -> dict[Path, dict[str, Any]]:
    """One atomic batch; if the lake refuses it, file by file, so one bad row does not sink the rest."""
    if not rows:
        return {}
    try:
        results = ctx.lake.assets.register([r for _, r in rows])
        ctx.lineage.note_assets(results)
        return {path: asset for (path, _), asset in zip(rows, results)}
    except MediaGraphError:
        pass
    out: dict[Path, dict[str, Any]] = {}
    for path, row in rows:
        try:
            out[path] = ctx.lake.assets.register([row])[0]
            ctx.lineage.note_assets([out[path]])
        except MediaGraphError as exc:
            report.failed.append(Failure(str(path), exc.code, str(exc)))
            ctx.reporter.note(f"  FAILED    {path}: {exc.code}: {exc}")
    return out


def _dialogue(ctx: Context, subtitles: dict[Path, Any], registered: dict[Path, dict[str, Any]],
              existing: dict[str, dict[str, Any]], report: IngestReport) -> None:
    """A dialogue run for every subtitle file whose current version has none yet."""
    from graph_api.media.subtitles import read_subtitles

    if not subtitles:
        return
    index = RunIndex(ctx)
    for path, cues in subtitles.items():
        asset = registered.get(path) or existing.get(external_id_for(path))
        if asset is None:
            continue  # failed to register
        fmt = "webvtt" if path.suffix.lower() == ".vtt" else "srt"
        parameters = {"format": fmt}
        if why_redo(ctx, index.latest(DIALOGUE_JOB, asset["id"]), DIALOGUE_VERSION, [asset["id"]], parameters) is None:
            continue

        def work(run_dir: Path, progress: Any, asset: dict[str, Any] = asset, cues: Any = cues,
                 path: Path = path) -> Outputs:
            if isinstance(cues, dict):  # unchanged file whose dialogue is missing: read it again
                cues = read_subtitles(path)
            return Outputs(segments=[{"asset_id": asset["id"], "kind": "DIALOGUE", "start": c.start, "end": c.end,
                                      "text": c.text} for c in cues])

        try:
            run, outputs = execute(ctx, index, job=DIALOGUE_JOB, version=DIALOGUE_VERSION, subject=asset["id"],
                                   inputs=[asset["id"]], parameters=parameters, work=work,
                                   label=f"dialogue {path.name}")
        except StepError as exc:
            report.failed.append(Failure(str(path), exc.code, f"dialogue: {exc.cause}"))
            continue
        report.dialogue.append((str(path), run.id, len(outputs.segments)))
        ctx.reporter.note(f"  dialogue  {path.name}: {len(outputs.segments)} line(s), run {run.id}")
