"""``mediagraph assets import FILE``: register the assets of a Parquet or Arrow IPC file in bulk.

The file's rows go to ``lake.assets.register_table`` in batches of at most the lake's batch maximum
(``--batch``); each batch is atomic (a batch with a bad row writes nothing and stops the import; the
batches before it stay registered, so running the import again after fixing the file re-delivers
them: known external ids are updated, not duplicated)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from graph_api.errors import InvalidArgument, MediaGraphError
from graph_api.lake import Lake

IPC_SUFFIXES = (".arrow", ".feather", ".ipc", ".arrows")


def add_parser(sub: Any, lake_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    assets = sub.add_parser("assets", help="bulk work on the Media Table")
    actions = assets.add_subparsers(dest="assets_command", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import", help="register the assets of a Parquet or Arrow file (one row per asset)",
        description="Each row is an AssetInput: columns title_id, media_type, role, uri and optionally "
                    "external_id, checksum, size_bytes, duration_seconds, width, height, frame_rate, technical "
                    "(JSON text or a struct); the GraphQL names (titleId, ...) work too. Rows are registered in "
                    "atomic batches: a batch with a bad row writes nothing, is named with its rows, and stops the "
                    "import (exit status 2); the batches before it stay registered. A known external id is "
                    "updated (a new version when its checksum changed), as registerAssets does.")
    load.add_argument("file", metavar="FILE", help=f"a Parquet file, or Arrow IPC ({', '.join(IPC_SUFFIXES)})")
    load.add_argument("--batch", type=int, default=None, metavar="N",
                      help="rows per atomic batch (default and maximum: the lake's batch maximum)")
    load.add_argument("-o", "--output", metavar="FILE.parquet",
                      help="write the registered rows (id, version, external_id, ...) here, in input order")
    lake_arg(load)


def batches(path: Path, size: int) -> Iterator[pa.Table]:
    """The file's rows, ``size`` at a time (a Parquet file is read batch by batch, not whole first)."""
    try:
        if path.suffix.lower() in IPC_SUFFIXES:
            try:
                table = ipc.open_file(pa.memory_map(str(path))).read_all()
            except pa.ArrowInvalid:  # the streaming format (.arrows)
                table = ipc.open_stream(pa.memory_map(str(path))).read_all()
            return (table.slice(start, size) for start in range(0, table.num_rows, size))
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InvalidArgument(f"{path}: not a readable Parquet or Arrow IPC file: {exc}") from exc
    return (pa.Table.from_batches([b], schema=parquet.schema_arrow) for b in parquet.iter_batches(batch_size=size))


def run(args: argparse.Namespace, settings: Any) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file")
    lake = Lake.from_settings(settings, background_compaction=False)
    size = min(args.batch or lake.max_batch, lake.max_batch)
    if size < 1:
        raise InvalidArgument(f"--batch must be at least 1, got {args.batch}")
    written: list[pa.Table] = []
    done = versions = 0
    for table in batches(path, size):
        if table.num_rows == 0:
            continue
        try:
            current = lake.assets.register_table(table)
        except MediaGraphError as exc:
            print(f"mediagraph assets import: rows {done}-{done + table.num_rows - 1} of {path} (input[i] is "
                  f"row {done} + i): {exc.code}: {exc.message}", file=sys.stderr)
            if done:
                print(f"the {done:,} rows before them were registered", file=sys.stderr)
            return 2 if exc.code == "INVALID_ARGUMENT" else 1
        done += current.num_rows
        versions += sum(1 for v in current.column("version").to_pylist() if v > 1)
        if args.output:
            written.append(current)
        print(f"  {done:,} rows registered", file=sys.stderr, flush=True)
    if args.output and written:
        pq.write_table(pa.concat_tables(written), args.output)
    print(f"{done:,} assets registered from {path} ({versions:,} at a version above 1)", file=sys.stderr)
    return 0
