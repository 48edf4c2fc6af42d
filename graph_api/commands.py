"""Commands that build on the media pipelines and lineage: ingest, derive, token."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_parsers(sub: Any, lake_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    return None


def run(args: argparse.Namespace, settings: Callable[..., Any]) -> int:
    raise SystemExit(f"mediagraph: unknown command {args.command!r}")
