"""The ``mediagraph`` command. Exit status 0 on success, 1 when the work failed, 2 for bad usage;
errors are one line on stderr naming what failed, never a stack trace."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph_api.errors import MediaGraphError
from graph_api.settings import Settings


def _lake_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", help="lake URI (default: $MEDIAGRAPH_LAKE, then ./lake); s3://bucket/prefix works")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediagraph", description="A GraphQL API over a media data lake.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build (or reuse) the demo lake and serve it")
    _lake_arg(demo)
    demo.add_argument("--host", default=None)
    demo.add_argument("--port", type=int, default=None)
    demo.add_argument("--no-serve", action="store_true", help="build the demo lake, then exit")

    serve = sub.add_parser("serve", help="serve a lake over GraphQL")
    _lake_arg(serve)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--auth", choices=["on", "off"], default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument("--log-format", choices=["json", "text"], default=None, help="default: json")
    serve.add_argument("--persisted-queries", choices=["apq", "allowlist", "off"], default=None,
                       help="automatic persisted queries (default), only the manifest's operations, or none")
    serve.add_argument("--persisted-queries-file", default=None,
                       help="persisted query manifest (JSON); required by --persisted-queries allowlist")
    serve.add_argument("--tracing", choices=["on", "off"], default=None, help="OpenTelemetry spans (default: off)")

    lake = sub.add_parser("lake", help="inspect or maintain the lake")
    lake.add_argument("action", choices=["stats", "optimize"])
    _lake_arg(lake)
    lake.add_argument("--json", action="store_true", help="print JSON instead of a table")

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")

    from graph_api import commands

    commands.add_parsers(sub, _lake_arg)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("MEDIAGRAPH_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return _run(args)
    except MediaGraphError as exc:
        print(f"mediagraph {args.command}: {exc.code}: {exc.message}", file=sys.stderr)
        return 2 if exc.code in ("INVALID_ARGUMENT", "BAD_REQUEST") else 1
    except KeyboardInterrupt:
        print(f"mediagraph {args.command}: interrupted", file=sys.stderr)
        return 130


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    flags = {k: getattr(args, k, None) for k in ("lake", "host", "port", "auth", "workers", "log_format",
                                                 "persisted_queries", "persisted_queries_file", "tracing")}
    return Settings.load(**flags, **extra)


def _run(args: argparse.Namespace) -> int:
    if args.command == "export-schema":
        from graph_api.schema import sdl

        text = sdl()
        if args.output:
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "serve":
        serve(_settings(args))
        return 0
    if args.command == "demo":
        from graph_api.demo import build_demo

        settings = _settings(args)
        build_demo(settings)
        if not args.no_serve:
            serve(settings)
        return 0
    if args.command == "lake":
        return _lake(args)
    from graph_api import commands

    return commands.run(args, _settings)


def serve(settings: Settings) -> None:
    import uvicorn

    from graph_api import logs

    logs.configure(settings.log_format, settings.log_level)
    print(f"GraphiQL: http://{settings.host}:{settings.port}/graphql   (lake: {settings.lake})", flush=True)
    if settings.workers > 1:
        # each worker is a fresh (spawned) process that builds its settings and app from the environment
        os.environ.update(_settings_env(settings))
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            import tempfile

            # the workers' metrics meet here, so that a scrape adds up all of them
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mediagraph-metrics-")
        uvicorn.run("graph_api.server:app_from_env", factory=True, host=settings.host, port=settings.port,
                    workers=settings.workers, log_level=settings.log_level, log_config=None, access_log=False)
        return
    from graph_api.server import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                log_config=None, access_log=False)


def _settings_env(settings: Settings) -> dict[str, str]:
    import dataclasses

    from graph_api.settings import ENV_PREFIX

    return {ENV_PREFIX + f.name.upper(): str(getattr(settings, f.name))
            for f in dataclasses.fields(settings) if f.name != "storage_options"}


def _lake(args: argparse.Namespace) -> int:
    from graph_api.errors import LakeNotFound
    from graph_api.lake import Lake

    settings = _settings(args)
    try:
        # stats only reads: a mistyped --lake must not leave an empty lake behind
        lake = Lake.from_settings(settings, background_compaction=False, create=args.action != "stats")
    except LakeNotFound as exc:
        print(f"mediagraph lake {args.action}: {exc}", file=sys.stderr)
        return 2
    if lake.created:
        print(f"created lake at {settings.lake}", file=sys.stderr)
    if args.action == "stats":
        report = lake.stats()
        if args.json:
            print(json.dumps(report, indent=2, default=str))
            return 0
        print(f"{'table':<28} {'rows':>10} {'fragments':>9} {'small':>6} {'versions':>8}  indexes")
        for name, s in report.items():
            print(f"{name:<28} {s['rows']:>10} {s['fragments']:>9} {s['small_fragments']:>6} {s['versions']:>8}  "
                  f"{', '.join(s['indexes'])}")
        return 0
    from graph_api.lake.lineage import open_lineage

    swept = open_lineage(lake, settings).sweep()
    swept["embedding_tables"] = len(lake.embeddings.sweep_orphans())
    print("swept what crashed writes left invisible: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                                   for k, v in swept.items()), file=sys.stderr)
    report = lake.optimize(progress=lambda name: print(f"optimizing {name} ...", file=sys.stderr, flush=True))
    for name, r in report.items():
        print(f"{name:<28} fragments {r['fragments_before']} -> {r['fragments_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
