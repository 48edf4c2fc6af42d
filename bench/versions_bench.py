"""Latest-version bench: what finding a table's latest version costs as its versions pile up.

    python bench/versions_bench.py [--versions 100,1000,10000] [--dir DIR] [--keep] [--repeat 300]

A lake's assets table is given 100, then 1,000, then 10,000 versions (one-row pylance appends, the
way a burst of single writes leaves them inside the retention; then its small fragments are
compacted and indexed, so the lookups below are indexed and differ only in the version check).
At each size:

- the latest-version check alone: LanceDB's ``table.version`` (read consistency 0), pylance's
  ``dataset.latest_version``, and ``graph_api.lake.versions.probe_latest`` (the hint + a file test);
- moving the kept dataset to that version: ``checkout_version(V)`` against ``lance.dataset(uri,
  version=V)`` (a new dataset, empty index cache) and the same with the old dataset's session;
- ``lake.assets.get`` through a ``Lake`` whose reads ask each of the three checks;
- ``LakeLineage.moved()`` (6 tables) asking pylance's check, then the new one.

Figures are p50 over --repeat calls, in ms; on a shared machine take them as ratios.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lance  # noqa: E402
import pyarrow as pa  # noqa: E402
from common import load_average, log, percentile, print_table  # noqa: E402

from graph_api.lake import Lake, snapshots, versions  # noqa: E402
from graph_api.lake.lineage import open_lineage  # noqa: E402
from graph_api.settings import Settings  # noqa: E402
from tests.conftest import make_assets, make_title  # noqa: E402

COMPACT_EVERY = 250  # appends between two compactions while building


def p50_ms(fn: Callable[[], Any], repeat: int) -> float:
    return interleaved({"": fn}, repeat)[""]


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """p50 ms of each of ``fns``, called in turn (one call of each per round): on a shared machine the
    load then weighs on each the same."""
    for fn in fns.values():  # warm-up
        for _ in range(min(20, repeat)):
            fn()
    times: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(repeat):
        for label, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    return {label: percentile(t, 50) * 1000 for label, t in times.items()}


def swapping(name: str, replacement: Callable[..., Any], read: Callable[[], Any]) -> Callable[[], Any]:
    """``read`` with ``versions.<name>`` (the check ``snapshots`` and ``LakeLineage`` ask) swapped for ``replacement``."""
    def run() -> Any:
        original = getattr(versions, name)
        setattr(versions, name, replacement)
        try:
            return read()
        finally:
            setattr(versions, name, original)
    return run


def grow(uri: str, template: pa.Table, upto: int) -> None:
    """Append one-row commits to the dataset at ``uri`` until it has ``upto`` versions, then compact."""
    dataset = lance.dataset(uri)
    start = dataset.latest_version
    if upto - start < 3:
        return
    log(f"appending one-row versions ({start} -> {upto})")
    began = time.perf_counter()
    ids = template.schema.get_field_index("id")
    appended = 0
    # the compactions along the way and the index update at the end are versions too
    while dataset.version < upto - 2:
        row = template.set_column(ids, "id", pa.array([f"asset_bench{start + appended:08d}"]))
        dataset = lance.write_dataset(row, uri, mode="append")
        appended += 1
        if appended % 1000 == 0:
            rate = appended / (time.perf_counter() - began)
            log(f"  {dataset.version}/{upto} versions ({rate:.0f} appends/s)")
        if appended % COMPACT_EVERY == 0 and dataset.version < upto - 2:
            # each append's manifest lists every fragment: without this the build slows down as it goes
            dataset.optimize.compact_files()
            dataset = lance.dataset(uri)
    # merge the one-row fragments and index their rows: the lookups then cost what they cost on a
    # compacted table, and what differs between sizes is the number of versions
    dataset.optimize.compact_files()
    lance.dataset(uri).optimize.optimize_indices()
    log(f"{lance.dataset(uri).latest_version} versions, {len(lance.dataset(uri).get_fragments())} fragments "
        f"after compaction ({time.perf_counter() - began:.1f} s)")


def measure(lake: Lake, lineage: Any, asset_id: str, repeat: int) -> list[tuple[str, str]]:
    table = lake.connection.table("assets")
    uri = snapshots.dataset_of(lake.connection, "assets").uri
    listed = lance.dataset(uri)
    latest = listed.latest_version
    assert versions.probe_latest(uri) == latest == int(table.version), "the three checks disagree"
    rows: list[tuple[str, str]] = []
    checks = interleaved({"LanceDB table.version": lambda: table.version,
                          "pylance dataset.latest_version": lambda: listed.latest_version,
                          "versions.probe_latest (hint + probe)": lambda: versions.probe_latest(uri)}, repeat)
    rows.extend((f"  {label}", f"{ms:.3f} ms") for label, ms in checks.items())

    behind = listed.checkout_version(latest - 3)
    session = listed.session()
    opening = interleaved({
        "checkout_version(V) from V-3 (keeps the cache)": lambda: behind.checkout_version(latest),
        "lance.dataset(uri, version=V) (new cache)": lambda: lance.dataset(uri, version=latest),
        "lance.dataset(uri, version=V, session=...)": lambda: lance.dataset(uri, version=latest, session=session),
    }, repeat)
    rows.extend((f"  {label}", f"{ms:.3f} ms") for label, ms in opening.items())

    def by_lancedb(connection: Any, name: str, uri: str, fallback: Any) -> int:  # as before this change
        return int(connection.table(name).version)

    opened: dict[str, Any] = {}

    def by_pylance(connection: Any, name: str, uri: str, fallback: Any) -> int:
        dataset = opened.get(uri) or opened.setdefault(uri, lance.dataset(uri))
        return int(dataset.latest_version)

    def get() -> None:
        assert lake.assets.get(asset_id) is not None

    gets = interleaved({f"lake.assets.get, reads asking {label}": swapping("read_version", strategy, get) for label, strategy in (
        ("LanceDB table.version", by_lancedb), ("pylance latest_version", by_pylance),
        ("versions (hint + probe)", versions.read_version))}, repeat)
    rows.extend((f"  {label}", f"{ms:.3f} ms") for label, ms in gets.items())

    moved = interleaved({
        "LakeLineage.moved(), pylance latest_version x6": swapping(
            "latest_of", lambda dataset: int(dataset.latest_version), lineage.moved),
        "LakeLineage.moved(), versions.latest_of x6": lineage.moved}, repeat)
    rows.extend((f"  {label}", f"{ms:.3f} ms") for label, ms in moved.items())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", default="100,1000,10000", help="comma-separated version counts, ascending")
    parser.add_argument("--dir", help="where to build the lake (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the lake afterwards")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    sizes = sorted(int(v) for v in args.versions.split(","))
    where = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="versions-bench-"))
    lake_dir = where / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    log(f"building the lake in {lake_dir} ({load_average()})")
    try:
        lake = Lake(str(lake_dir), background_compaction=False)
        title = make_title(lake)
        asset = make_assets(lake, title["id"], 50)[7]
        lineage = open_lineage(lake, Settings.load(env={}))
        lineage.refresh()
        uri = snapshots.dataset_of(lake.connection, "assets").uri
        template = lance.dataset(uri).to_table(filter=f"id = '{asset['id']}'")
        rows: list[tuple[str, str]] = []
        for size in sizes:
            grow(uri, template, size)
            lineage.refresh()  # moved() then compares the same versions either way
            log(f"measuring at {lance.dataset(uri).latest_version} versions ({load_average()})")
            rows.append((f"assets table with {lance.dataset(uri).latest_version} versions", ""))
            rows.extend(measure(lake, lineage, asset["id"], args.repeat))
        print_table(f"latest-version check, p50 over {args.repeat} calls ({load_average()})", rows)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
