"""``ingest``: register real files as a title's delivered assets.

Each file is probed (technical metadata, streamed sha256, a decode check) and registered with
``uri`` = its absolute local path and ``external_id`` = ``file:<absolute path>``. A file
ingested before with the same checksum is left alone (no write at all); a changed one becomes
a new version of its asset, which turns everything derived from it stale. Subtitle files also
get their cues as DIALOGUE segments, made by a ``dialogue-from-subtitles`` run so that every
line has lineage back to its file.

Label files (``*.labels.json`` / ``*.labels.csv``, see ``graph_api.pipeline.labels``) are
registered as TEXT assets too, and their labels become annotations of the file they label, made
by an ``annotations-import`` run with lineage back to both.

A file that cannot be read, is not media, is truncated or corrupt, uses a codec FFmpeg cannot
decode, is a subtitle with broken timing or a label file that does not parse is reported by name
and skipped; the rest of the batch goes on. A ``NewTitle`` is only created once there is a file
to register under it: an ingest where every file fails writes nothing at all.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_api.errors import InvalidArgument, MediaGraphError, NotFound
from graph_api.media.errors import MediaError
from graph_api.pipeline.context import Context
from graph_api.pipeline.labels import LABELS_JOB, LABELS_ROLE, LABELS_VERSION, LabelFile, is_label_file, read_labels
from graph_api.pipeline.runs import RunIndex, StepError, execute, why_redo
from graph_api.pipeline.steps import DIALOGUE_JOB, DIALOGUE_VERSION, Outputs


@dataclass(frozen=True)
class Failure:
    path: str
    code: str
    message: str


@dataclass(frozen=True)
class NewTitle:
    """A title to ingest into, created by the first ingest that registers a file under it, and
    reused by later ingests of the same name (spacing and case aside)."""

    name: str
    kind: str = "MOVIE"
    parent_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidArgument("the new title's name must not be empty")

    @property
    def external_id(self) -> str:
        return "ingest:" + " ".join(self.name.lower().split())

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "kind": self.kind, "external_id": self.external_id}
        if self.parent_id:
            row["parent_id"] = self.parent_id
        return row


@dataclass
class IngestReport:
    title_id: str | None = None  # None: a NewTitle that was not created, as nothing was registered
    added: list[tuple[str, str]] = field(default_factory=list)  # (path, asset id)
    updated: list[tuple[str, str, int]] = field(default_factory=list)  # (path, asset id, new version)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    dialogue: list[tuple[str, str, int]] = field(default_factory=list)  # (subtitle path, run id, lines)
    labels: list[tuple[str, str, int]] = field(default_factory=list)  # (label file path, run id, annotations)
    failed: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        text = (f"{len(self.added)} added, {len(self.updated)} new version(s), {len(self.unchanged)} unchanged, "
                f"{sum(n for _, _, n in self.dialogue)} dialogue line(s) from {len(self.dialogue)} subtitle file(s), "
                + (f"{sum(n for _, _, n in self.labels)} annotation(s) from {len(self.labels)} label file(s), "
                   if self.labels else "")
                + f"{len(self.failed)} failed")
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
            def unreadable(exc: OSError, path: Path = path) -> None:
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


def ingest(ctx: Context, paths: Sequence[str | Path], title: str | NewTitle) -> IngestReport:
    """Ingest ``paths`` into the title with id ``title``, or into a ``NewTitle`` (created only if
    something is registered; ``report.title_id`` says which title it was, or None)."""
    from graph_api.media.probe import probe, sha256_file

    lake, note = ctx.lake, ctx.reporter.note
    new_title: NewTitle | None = None
    if isinstance(title, NewTitle):
        found = lake.titles.by_external_id([title.external_id]).get(title.external_id)
        new_title, title_id = (None, found["id"]) if found else (title, None)
        if title.parent_id and lake.titles.get(title.parent_id) is None:
            raise NotFound(f"unknown parent title {title.parent_id!r}")
    else:
        title_id = title
        if lake.titles.get(title_id) is None:
            raise NotFound(f"unknown title {title_id!r}")
    files, failures = walk(paths)
    report = IngestReport(title_id=title_id, failed=failures)
    for f in failures:
        note(f"  FAILED    {f.path}: {f.code}: {f.message}")
    existing = _current_by_external_id(ctx, [external_id_for(f) for f in files])
    rows: list[tuple[Path, dict[str, Any]]] = []
    subtitles: dict[Path, Any] = {}
    label_files: list[Path] = []
    for path in files:
        label = f"probe {path.name}"
        old = existing.get(external_id_for(path))
        try:
            if old is not None and old["title_id"] != title_id:
                raise MediaError(f"already ingested as asset {old['id']} of title {old['title_id']}", path)
            if is_label_file(path):
                label_files.append(path)  # after the media: it needs to know which media is there
                continue
            if old is not None:
                checksum, _ = sha256_file(path, functools.partial(ctx.reporter, label))
                if checksum == old["checksum"]:
                    report.unchanged.append((str(path), old["id"]))
                    note(f"  unchanged {old['media_type']:<5} {path} ({old['id']} version {old['version']})")
                    if old["media_type"] == "TEXT":
                        subtitles[path] = old
                    continue
            p = probe(path, functools.partial(ctx.reporter, label))
            if p.media_type.value == "TEXT":
                from graph_api.media.subtitles import read_subtitles

                subtitles[path] = read_subtitles(path)
        except (MediaError, OSError) as exc:
            _failed(ctx, report, path, exc)
            continue
        rows.append((path, {
            "title_id": title_id, "media_type": p.media_type.value, "role": role_for(p.media_type.value, path),
            "uri": str(path), "checksum": p.checksum, "size_bytes": p.size_bytes,
            "duration_seconds": p.duration_seconds, "width": p.width, "height": p.height,
            "frame_rate": p.frame_rate, "external_id": external_id_for(path), "technical": p.technical(),
        }))
    labels = _label_rows(ctx, label_files, title_id, existing, {path for path, _ in rows}, rows, report)
    if new_title is not None and rows:
        # the title is created only now, when there is something to put in it
        title_id = report.title_id = lake.titles.create([new_title.row()])[0]["id"]
        for _, row in rows:
            row["title_id"] = title_id
        note(f"  created   title {new_title.name!r} -> {title_id}")
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
    _import_labels(ctx, labels, registered, existing, report)
    return report


def _failed(ctx: Context, report: IngestReport, path: Path, exc: MediaError | OSError) -> None:
    if isinstance(exc, MediaError):
        code = exc.code if type(exc) is not MediaError else "CONFLICT"
        message = exc.message
    else:
        code, message = "UNREADABLE", exc.strerror or str(exc)
    report.failed.append(Failure(str(path), code, message))
    ctx.reporter.note(f"  FAILED    {path}: {code}: {message}")


def _label_rows(ctx: Context, paths: list[Path], title_id: str | None, existing: dict[str, dict[str, Any]],
                pending: set[Path], rows: list[tuple[Path, dict[str, Any]]],
                report: IngestReport) -> dict[Path, LabelFile]:
    """Read each label file and queue its asset row (unless unchanged); a label file whose media is
    neither ingested before nor registered in this batch fails, so it is not registered either."""
    from graph_api.media.probe import sha256_file
    from graph_api.pipeline.labels import BadLabelsError

    out: dict[Path, LabelFile] = {}
    for path in paths:
        try:
            labels = read_labels(path)
            key = external_id_for(labels.media)
            media = existing.get(key) or _current_by_external_id(ctx, [key]).get(key)
            if labels.media not in pending and (media is None or media["title_id"] != title_id):
                raise BadLabelsError(f"labels {labels.media.name}, which is not ingested into this title: "
                                     "ingest it together with its labels", path)
            checksum, _ = sha256_file(path)
            size = path.stat().st_size
        except (MediaError, OSError) as exc:
            _failed(ctx, report, path, exc)
            continue
        out[path] = labels
        old = existing.get(external_id_for(path))
        if old is not None and old["checksum"] == checksum:
            report.unchanged.append((str(path), old["id"]))
            ctx.reporter.note(f"  unchanged TEXT  {path} ({old['id']} version {old['version']})")
            continue
        rows.append((path, {
            "title_id": title_id, "media_type": "TEXT", "role": LABELS_ROLE, "uri": str(path),
            "checksum": checksum, "size_bytes": size, "external_id": external_id_for(path),
            "technical": {"container": f"labels-{labels.format}", "labels": len(labels.labels),
                          "categories": sorted({x.category for x in labels.labels})},
        }))
    return out


def _import_labels(ctx: Context, label_files: dict[Path, LabelFile], registered: dict[Path, dict[str, Any]],
                   existing: dict[str, dict[str, Any]], report: IngestReport) -> None:
    """An annotations-import run for every label file whose import is missing or stale."""
    if not label_files:
        return
    index = RunIndex(ctx)
    for path, labels in label_files.items():
        asset = registered.get(path) or existing.get(external_id_for(path))
        media_key = external_id_for(labels.media)
        media = registered.get(labels.media) or existing.get(media_key) or \
            _current_by_external_id(ctx, [media_key]).get(media_key)
        if asset is None or media is None:
            continue  # failed to register (already reported)
        inputs = [media["id"], asset["id"]]
        parameters = {"format": labels.format}
        if why_redo(ctx, index.latest(LABELS_JOB, asset["id"]), LABELS_VERSION, inputs, parameters) is None:
            continue

        def work(run_dir: Path, progress: Any, labels: LabelFile = labels, media_id: str = media["id"]) -> Outputs:
            return Outputs(annotations=labels.annotations(media_id))

        try:
            run, outputs = execute(ctx, index, job=LABELS_JOB, version=LABELS_VERSION, subject=asset["id"],
                                   inputs=inputs, parameters=parameters, work=work, label=f"labels {path.name}")
        except StepError as exc:
            report.failed.append(Failure(str(path), exc.code, f"labels: {exc.cause}"))
            continue
        report.labels.append((str(path), run.id, len(outputs.annotations)))
        ctx.reporter.note(f"  labels    {path.name}: {len(outputs.annotations)} annotation(s) of "
                          f"{labels.media.name}, run {run.id}")


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
