"""Mixed writers on one lake, for the concurrency test and bench: each writer registers new assets,
re-delivers some of its own (a new version), and adds segments and annotations, all keyed by names
it owns, so the lake can be checked afterwards: every write there once, nothing duplicated."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from graph_api.lake import Lake


@dataclass
class Tally:
    """What one writer acknowledged (the lake returned from the call)."""

    assets: dict[str, int] = field(default_factory=dict)  # external id -> versions delivered
    segments: int = 0
    annotations: int = 0
    calls: int = 0


def _checksum(*parts: object) -> str:
    return "sha256:" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def write(lake: Lake, title_id: str, writer: str, mutations: int, seed: int = 0) -> Tally:
    rng = random.Random(f"{writer}:{seed}")
    tally = Tally()
    for n in range(mutations):
        choice = rng.random()
        if choice < 0.5 or not tally.assets:
            external = f"{writer}-a{n}"
            [row] = lake.assets.register([{
                "title_id": title_id, "external_id": external, "media_type": "VIDEO", "role": "source",
                "uri": f"s3://studio/{writer}/{n}.mov", "checksum": _checksum(external, 1), "duration_seconds": 10.0,
            }])
            assert row["version"] == 1, row
            tally.assets[external] = 1
        elif choice < 0.7:
            external = rng.choice(sorted(tally.assets))
            version = tally.assets[external] + 1
            [row] = lake.assets.register([{
                "title_id": title_id, "external_id": external, "media_type": "VIDEO", "role": "source",
                "uri": f"s3://studio/{writer}/{external}.v{version}.mov", "checksum": _checksum(external, version),
                "duration_seconds": 10.0,
            }])
            assert row["version"] == version, (row, version)
            tally.assets[external] = version
        else:
            external = rng.choice(sorted(tally.assets))
            asset = lake.assets.by_external_id([external])[external]
            if choice < 0.85:
                lake.segments.add([{"asset_id": asset["id"], "kind": "SHOT", "start": 0.0, "end": 1.0,
                                    "text": f"{writer} {n}"}])
                tally.segments += 1
            else:
                lake.annotations.add([{"asset_id": asset["id"], "label": f"{writer}-{n}", "category": "qc",
                                       "source": writer}])
                tally.annotations += 1
        tally.calls += 1
    return tally


def process_writer(uri: str, title_id: str, writer: str, mutations: int, seed: int) -> dict[str, Any]:
    """A writer in a process of its own (started with spawn: never fork a process that opened a lake)."""
    lake = Lake(uri)
    tally = write(lake, title_id, writer, mutations, seed)
    return {"assets": tally.assets, "segments": tally.segments, "annotations": tally.annotations,
            "calls": tally.calls, "conflict_retries": lake.counters.conflict_retries}


def check(lake: Lake, title_id: str, tallies: dict[str, Tally]) -> list[str]:
    """What the lake holds that the writers did not acknowledge, or lacks that they did."""
    problems: list[str] = []
    assets = lake.table("assets").search().where(f"title_id = '{title_id}'").limit(None).to_arrow().to_pylist()
    by_external: dict[str, list[dict[str, Any]]] = {}
    for row in assets:
        by_external.setdefault(row["external_id"], []).append(row)
    expected = {e: v for t in tallies.values() for e, v in t.assets.items()}
    for external, versions in expected.items():
        rows = by_external.get(external, [])
        if sorted(r["version"] for r in rows) != list(range(1, versions + 1)):
            problems.append(f"{external}: versions {sorted(r['version'] for r in rows)}, expected 1..{versions}")
        current = [r for r in rows if r["is_current"]]
        if len(current) != 1 or current[0]["version"] != versions:
            problems.append(f"{external}: current rows {[(r['version']) for r in current]}, expected [{versions}]")
        if len({r["id"] for r in rows}) != 1:
            problems.append(f"{external}: {len({r['id'] for r in rows})} asset ids, expected one")
    for external in set(by_external) - set(expected):
        problems.append(f"{external}: in the lake but never acknowledged")
    segments = lake.table("segments").count_rows(f"title_id = '{title_id}'")
    annotations = lake.table("annotations").count_rows(f"title_id = '{title_id}'")
    if segments != sum(t.segments for t in tallies.values()):
        problems.append(f"segments: {segments} in the lake, {sum(t.segments for t in tallies.values())} acknowledged")
    if annotations != sum(t.annotations for t in tallies.values()):
        problems.append(f"annotations: {annotations} in the lake, "
                        f"{sum(t.annotations for t in tallies.values())} acknowledged")
    return problems
