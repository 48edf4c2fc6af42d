"""Commands that build on the media pipelines and lineage: ingest, derive, cut, batch."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph_api.lake.schemas import TITLE_KINDS

MEDIA_DIR_HELP = ("where derived media (proxies, frames) is written: a local directory; default "
                  "$MEDIAGRAPH_MEDIA_DIR, then '<lake>-media' next to a local lake (./lake -> ./lake-media)")


def add_parsers(sub: Any, lake_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    from graph_api import assets_import
    from graph_api.batch import command as batch
    from graph_api.pipeline.steps import GROUPS

    ingest = sub.add_parser(
        "ingest", help="probe and register media files (video, audio, images, SRT/VTT subtitles)",
        description="Probe each file (directories are walked) and register it as an asset of a title. An "
                    "unchanged file is left alone; a changed one becomes a new version. Subtitles become "
                    "DIALOGUE segments. Files that fail are named, skipped, and summarised; exit status 1.")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    which = ingest.add_mutually_exclusive_group(required=True)
    which.add_argument("--title", metavar="ID", help="an existing title's id")
    which.add_argument("--new-title", metavar="NAME",
                       help="create the title (or reuse the one an earlier ingest created under this name)")
    ingest.add_argument("--kind", choices=TITLE_KINDS, default="MOVIE", help="kind of a --new-title (default MOVIE)")
    ingest.add_argument("--parent", metavar="ID", help="parent title of a --new-title (a series for an episode)")
    lake_arg(ingest)

    derive = sub.add_parser(
        "derive", help="run the derivation pipeline; only what is stale or missing is recomputed",
        description="Derive proxies, frames, shots, audio-quality annotations and embeddings for a title (and "
                    "its episodes) or one delivered asset. Every step is a lineage run (job, version, "
                    "parameters); a step whose latest run is still fresh is skipped. Ctrl-C ends the run in "
                    "progress ABORTED; derive again to resume.")
    derive.add_argument("target", metavar="TITLE_OR_ASSET", help="a title id (title_...) or asset id (asset_...)")
    derive.add_argument("--steps", default=None, metavar="LIST",
                        help=f"comma-separated, from {','.join(GROUPS)} (default: all); steps they need come along")
    derive.add_argument("--media-dir", default=None, help=MEDIA_DIR_HELP)
    derive.add_argument("--proxy-height", type=int, default=None, help="proxy height in lines (default 360)")
    derive.add_argument("--frame-interval", type=float, default=None,
                        help="seconds between thumbnails, besides one per shot (default 2)")
    lake_arg(derive)

    cut = sub.add_parser("cut", help="editorial cuts")
    cut_sub = cut.add_subparsers(dest="cut_command", required=True, metavar="ACTION")
    cut_import = cut_sub.add_parser(
        "import", help="import an OpenTimelineIO timeline (.otio) as a cut of a title",
        description="Each clip's media reference names an asset by its uri or by metadata.mediagraph.assetId. "
                    "The cut is recorded in lineage as a run of the editorial job (editorial/cut-import) whose "
                    "inputs are its clips' assets. A clip that cannot be resolved refuses the whole cut. "
                    "Other editorial formats are read through an installed OpenTimelineIO adapter, by the "
                    "file's suffix (.edl: CMX 3600 EDL).")
    cut_import.add_argument("file", metavar="FILE.otio")
    cut_import.add_argument("--title", required=True, metavar="ID", help="the title the cut belongs to")
    cut_import.add_argument("--name", default=None, help="the cut's name (default: the timeline's)")
    lake_arg(cut_import)
    batch.add_parser(sub, lake_arg)
    assets_import.add_parser(sub, lake_arg)


def run(args: argparse.Namespace, settings: Callable[..., Any]) -> int:
    from graph_api import assets_import
    from graph_api.batch import command as batch
    from lineage.errors import LineageError

    commands = {"ingest": _ingest, "derive": _derive, "cut": _cut, "batch": batch.run, "assets": assets_import.run}
    if args.command not in commands:
        raise SystemExit(f"mediagraph: unknown command {args.command!r}")
    try:
        return commands[args.command](args, settings(args))
    except LineageError as exc:
        print(f"mediagraph {args.command}: {exc.code}: {exc}", file=sys.stderr)
        return 1


def media_dir_for(settings: Any, flag: str | None) -> str | Path:
    from graph_api.media.store import is_remote
    from graph_api.pipeline.context import default_media_dir

    chosen = flag or settings.media_dir
    if chosen and is_remote(chosen):
        return str(chosen)  # s3://...: written through the lake's storage options
    return Path(chosen).expanduser().resolve() if chosen else default_media_dir(settings.lake)


def open_context(settings: Any, media_dir: str | Path, **kw: Any) -> Any:
    from graph_api.lake import Lake
    from graph_api.pipeline.context import Context
    from graph_api.pipeline.progress import Bars

    lake = Lake.from_settings(settings, background_compaction=False)
    if lake.created:
        print(f"created lake at {settings.lake}", file=sys.stderr)
    return Context.open(lake, settings, media_dir, reporter=Bars(), **kw)


def _ingest(args: argparse.Namespace, settings: Any) -> int:
    from graph_api.pipeline.ingest import NewTitle, ingest

    # ingest writes no derived files; the media dir only matters to derive
    ctx = open_context(settings, Path(os.devnull))
    target = args.title or NewTitle(args.new_title, args.kind, args.parent)
    print(f"ingesting into {'title ' + args.title if args.title else 'new title ' + repr(args.new_title)} ...",
          file=sys.stderr, flush=True)
    try:
        report = ingest(ctx, args.paths, target)
    finally:
        ctx.reporter.close()
    if report.title_id is None:  # a new title with nothing to put in it is not created
        print(f"nothing ingested, title {args.new_title!r} not created: {report.summary()}", file=sys.stderr)
        return 1
    print(f"title {report.title_id}: {report.summary()}", file=sys.stderr)
    print(report.title_id)
    return 0 if report.ok else 1


def _derive(args: argparse.Namespace, settings: Any) -> int:
    from graph_api.pipeline.context import Options
    from graph_api.pipeline.derive import derive

    media_dir = media_dir_for(settings, args.media_dir)
    overrides = {k: v for k, v in (("proxy_height", args.proxy_height), ("frame_interval", args.frame_interval))
                 if v is not None}
    ctx = open_context(settings, media_dir, options=Options(**overrides))
    steps = [s.strip() for s in args.steps.split(",") if s.strip()] if args.steps else None
    print(f"deriving {args.target} (media: {media_dir}) ...", file=sys.stderr, flush=True)
    try:
        report = derive(ctx, args.target, steps)
    except KeyboardInterrupt:
        ctx.reporter.close()
        print("interrupted: the run in progress ended ABORTED and registered nothing; derive again to resume",
              file=sys.stderr)
        raise
    finally:
        ctx.reporter.close()
    print(report.summary(), file=sys.stderr)
    return 0 if report.ok else 1


def _cut(args: argparse.Namespace, settings: Any) -> int:
    from graph_api.lake import Lake
    from graph_api.lake.cut_runs import cut_recorder
    from graph_api.lake.lineage import open_lineage
    from graph_api.workflows.timelines import read_timeline_file

    text = read_timeline_file(args.file)
    lake = Lake.from_settings(settings, create=False, background_compaction=False)
    lineage = open_lineage(lake, settings)
    row = lineage.lake.cuts.import_otio(args.title, args.name or "", text, created_by="local",
                                        record=cut_recorder(lineage))
    print(f"cut {row['id']}: {row['name']!r}, {len(row['clips'])} clips, {row['duration']:g} s, "
          f"lineage run {row['run_id']}", file=sys.stderr)
    print(row["id"])
    return 0
