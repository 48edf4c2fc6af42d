"""``mediagraph batch``: the embedding backfill and the corpus export. Bad input (an unknown
space, a bad filter, a target that cannot be written) is ``InvalidArgument``: exit status 2."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

from graph_api.batch import export, local_engine, ray_engine
from graph_api.batch.commit import Committer
from graph_api.batch.plan import plan_embed
from graph_api.batch.spaces import SPACES, BatchSpace, space_named
from graph_api.errors import InvalidArgument, LakeNotFound
from graph_api.lake import Lake
from graph_api.lake.lineage import open_lineage

DEFAULT_BATCH = 1_000


def add_parser(sub: Any, lake_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    batch = sub.add_parser("batch", help="batch jobs over the whole lake: embedding backfills, corpus exports")
    actions = batch.add_subparsers(dest="batch_command", required=True, metavar="ACTION")
    embed = actions.add_parser(
        "embed", help="embed every segment of a space's kind that has no vector in the space yet",
        description="Backfill a space: every DIALOGUE (dialogue-minilm) or FRAME (frames-color-edge) segment "
                    "without a vector in it is embedded with the model derive uses, and written in batches; "
                    "each batch is one lineage run of mediagraph/batch-embed. Running it again does nothing "
                    "new. --engine ray runs on the Ray cluster $RAY_ADDRESS names, else a local one.")
    embed.add_argument("--space", required=True, help=f"one of {', '.join(sorted(SPACES))}")
    embed.add_argument("--engine", choices=["local", "ray"], default="local")
    embed.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                       help=f"vectors per write and per lineage run (default {DEFAULT_BATCH})")
    embed.add_argument("--actors", type=int, default=None,
                       help="--engine ray: embedding actors (default: the cluster's CPUs less one)")
    lake_arg(embed)
    corpus = actions.add_parser(
        "export", help="write an ML-ready corpus of segments (Parquet or Lance) with a manifest",
        description="Segments joined with their asset's and title's fields and their vectors, one column per "
                    "space, sorted by segment id, plus manifest.json naming the lake table versions it was cut "
                    "from: --manifest cuts the same corpus again. A token ($MEDIAGRAPH_TOKEN) limits it to "
                    "that token's titles.")
    which = corpus.add_mutually_exclusive_group()
    which.add_argument("--where", default=None, metavar="FILTER",
                       help=f"column op literal [AND ...]; columns: {', '.join(export.FILTER_COLUMNS)}; ops "
                            "= != < <= > >= IN ('a', 'b')")
    which.add_argument("--manifest", default=None, help="cut the corpus this manifest.json describes again")
    corpus.add_argument("--to", required=True, metavar="DIR", help="a directory or s3://bucket/prefix")
    corpus.add_argument("--format", choices=["parquet", "lance"], default=None, help="default parquet")
    corpus.add_argument("--token", default=None, help="export as this token sees the lake (default "
                                                      "$MEDIAGRAPH_TOKEN; none: everything, as other commands)")
    lake_arg(corpus)


def run(args: argparse.Namespace, settings: Any) -> int:
    if args.batch_command == "embed":
        # bad input is refused before a Ray cluster is started or joined
        space = space_named(args.space)
        if args.actors is not None and args.actors < 1:
            raise InvalidArgument(f"--actors must be at least 1, not {args.actors}", actors=args.actors)
        with ray_engine.session() if args.engine == "ray" else contextlib.nullcontext():
            return _embed(args, settings, _open(settings), space)
    lake = _open(settings)
    token = args.token or os.environ.get("MEDIAGRAPH_TOKEN") or None
    report = export.run(lake, settings, to=args.to, where=args.where, manifest=args.manifest,
                        format=args.format, token=token)
    print(f"exported {report['rows']['segments']} segments to {args.to} (manifest {report['manifest']})",
          file=sys.stderr)
    return 0


def _open(settings: Any) -> Lake:
    try:
        return Lake.from_settings(settings, create=False, background_compaction=False)
    except LakeNotFound as exc:
        raise InvalidArgument(str(exc), lake=settings.lake) from None


def _embed(args: argparse.Namespace, settings: Any, lake: Lake, space: BatchSpace) -> int:
    if not 1 <= args.batch_size <= lake.max_batch:
        raise InvalidArgument(f"--batch-size must be 1 to {lake.max_batch} (the lake's largest write), "
                              f"not {args.batch_size}", batch_size=args.batch_size)
    lineage = open_lineage(lake, settings)
    plan = plan_embed(lineage.lake, space, dict(settings.storage_options))
    skipped = f"; {len(plan.skipped)} frames have no image in the lake, skipped" if plan.skipped else ""
    print(f"batch embed {space.name}: {len(plan.todo)} {space.segment_kind} segments lack a vector{skipped}",
          file=sys.stderr, flush=True)
    committer = Committer(lineage, space, args.engine, args.batch_size, len(plan.todo))
    if plan.todo:
        if args.engine == "ray":
            ray_engine.run(plan, committer, args.batch_size, args.actors)
        else:
            local_engine.run(plan, committer, args.batch_size)
    print(f"batch embed {space.name}: wrote {committer.written} vectors in {len(committer.runs)} runs",
          file=sys.stderr)
    return 0
