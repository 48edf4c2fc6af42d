"""How the lake's costs grow with its size: bulk load, index build (optimize), fragments, disk, point
lookups and the title-detail reads, at each of --sizes assets on a local directory, and at --s3-size on a
real S3 server (SeaweedFS, from the test extra), each size in a fresh lake.

    python bench/scale_bench.py                                    # 100k, 1M, 5M local; 100k on SeaweedFS
    python bench/scale_bench.py --sizes 100000,1000000 --s3-size 0

Latencies are the LanceDB reads a request needs (lake_bench's floors: the indexed lookup plus json), so
the growth they show is the lake's, not the GraphQL layer's (which does not grow with the lake). Lineage
grows with derived assets and runs, not with delivered ones: ``bench/lineage_bench.py --assets N`` measures
its load time and memory.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import disk_bytes, latency_summary, load_average, log, print_table  # noqa: E402
from lake_bench import asset_row, floor_asset, floor_title, fragments  # noqa: E402

from graph_api.lake import Lake  # noqa: E402

BATCH = 10_000  # the lake's maximum batch
PER_TITLE = 100


def measure(lake: Lake, size: int, rng: random.Random) -> dict[str, Any]:
    titles = max(1, size // PER_TITLE)
    started = time.perf_counter()
    title_ids = []
    for first in range(0, titles, BATCH):
        title_ids += [r["id"] for r in lake.titles.create(
            [{"name": f"Scale {n:07d}", "kind": "MOVIE"} for n in range(first, min(titles, first + BATCH))])]
    asset_ids: list[str] = []
    keys = ((t, n) for t in range(titles) for n in range(PER_TITLE))
    while len(asset_ids) < size:
        rows = [asset_row(rng, title_ids[t], t, n) for t, n in (next(keys) for _ in range(min(BATCH, size - len(asset_ids))))]
        asset_ids += [r["id"] for r in lake.assets.register(rows)]
        if len(asset_ids) % 500_000 == 0:
            log(f"  {len(asset_ids):,} assets")
    load_s = time.perf_counter() - started
    before = fragments(lake)
    started = time.perf_counter()
    lake.optimize()
    optimize_s = time.perf_counter() - started
    after = fragments(lake)

    def sample(fn: Any, ids: list[str], n: int) -> dict[str, float]:
        for i in rng.sample(ids, 20):
            fn(i)
        seconds = []
        for i in rng.sample(ids, n):
            t = time.perf_counter()
            fn(i)
            seconds.append(time.perf_counter() - t)
        return latency_summary(seconds)

    point = sample(lambda i: floor_asset(lake, i), asset_ids, 200)
    detail = sample(lambda i: floor_title(lake, i), title_ids, 100)
    return {"load_s": load_s, "rows_s": size / load_s, "optimize_s": optimize_s, "fragments": (before, after),
            "point": point, "detail": detail}


def row(label: str, size: int, m: dict[str, Any], disk: str) -> tuple[str, str]:
    (f0, _), (f1, _) = m["fragments"]
    return (f"{label} {size:,} assets",
            f"load {m['load_s']:.0f} s ({m['rows_s']:,.0f} rows/s)  optimize {m['optimize_s']:.1f} s  "
            f"fragments {f0} -> {f1}  disk {disk}  point p50 {m['point']['p50_ms']:.1f} ms "
            f"(p95 {m['point']['p95_ms']:.1f})  title-detail reads p50 {m['detail']['p50_ms']:.1f} ms "
            f"(p95 {m['detail']['p95_ms']:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,5000000", help="asset counts on a local directory")
    parser.add_argument("--s3-size", type=int, default=100_000, help="asset count on SeaweedFS (0: skip)")
    args = parser.parse_args()
    rng = random.Random(7)
    rows: list[tuple[str, str]] = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        root = Path(tempfile.mkdtemp(prefix="scale-bench-"))
        try:
            log(f"local lake of {size:,} assets in {root}")
            m = measure(Lake(str(root / "lake"), background_compaction=False), size, rng)
            rows.append(row("local", size, m, f"{disk_bytes(root) / 1e9:.2f} GB"))
            log(rows[-1][1])
        finally:
            shutil.rmtree(root, ignore_errors=True)
    if args.s3_size:
        from tests.s3 import SeaweedS3  # the test extra's real S3 server: only this part needs it

        root = Path(tempfile.mkdtemp(prefix="scale-bench-s3-"))
        s3 = SeaweedS3(root)
        try:
            log(f"SeaweedFS lake of {args.s3_size:,} assets")
            lake = Lake(s3.new_uri("scale"), background_compaction=False, storage_options=s3.storage_options)
            m = measure(lake, args.s3_size, rng)
            rows.append(row("SeaweedFS", args.s3_size, m, f"{disk_bytes(root) / 1e9:.2f} GB"))
            log(rows[-1][1])
        finally:
            s3.stop()
            shutil.rmtree(root, ignore_errors=True)
    print_table(f"lake growth ({load_average()})", rows)


if __name__ == "__main__":
    main()
