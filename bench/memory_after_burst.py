"""RSS of a real server before and after a burst of heavy (but allowed) requests, and once idle.

    python bench/memory_after_burst.py [LAKE_DIR]

Builds a lake of 20 titles x 500 assets (when LAKE_DIR is new), starts ``mediagraph serve`` on it,
and pages through every title's assets (500 a page, with annotations) from 4 threads, 5 rounds.
"""
from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from graph_api.lake import Lake
from tests.conftest import LiveServer, asset_input, make_title

BURSTS = 3
PAGE = """query($id: ID!) { title(id: $id) { assets(first: 500) { edges { node { id role uri checksum sizeBytes
  durationSeconds width height technical annotations(first: 5) { totalCount } } } } } }"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build(lake_dir: str) -> list[str]:
    lake = Lake(lake_dir, background_compaction=False)
    existing = [r["id"] for r in lake.titles.list().to_pylist()] if lake.table_names() else []
    if existing:
        return existing
    ids = []
    for n in range(20):
        title = make_title(lake, name=f"Burst {n}")
        lake.assets.register([asset_input(title["id"], technical={"streams": [{"codec": "h264", "n": i}] * 8})
                              for i in range(500)])
        ids.append(title["id"])
    return ids


def main() -> None:
    lake_dir = sys.argv[1] if len(sys.argv) > 1 else str(Path(tempfile.mkdtemp()) / "lake")
    ids = build(lake_dir)
    server = LiveServer(lake_dir)
    try:
        url = server.url + "/graphql"
        httpx.post(url, json={"query": "{ titles(first: 1) { totalCount } }"}, timeout=60)
        before = rss_mb(server.proc.pid)

        def page(title_id: str) -> int:
            return len(httpx.post(url, json={"query": PAGE, "variables": {"id": title_id}}, timeout=300).content)

        # a 10k batch whose last row is bad: parsed, validated whole, nothing written (~4 MB bodies)
        batch = [{"titleId": ids[0], "mediaType": "VIDEO", "role": "source", "uri": f"s3://b/{i}.mov",
                  "technical": {"streams": [{"codec": "h264", "n": i}] * 4}} for i in range(10_000)]
        batch[-1]["role"] = ""
        mutation = "mutation($input: [AssetInput!]!) { registerAssets(input: $input) { id } }"

        def refused_batch(_: int) -> int:
            return len(httpx.post(url, json={"query": mutation, "variables": {"input": batch}}, timeout=300).content)

        # three identical bursts: memory the first one leaves behind is either held for good (a leak: each burst
        # adds to it) or is what LanceDB's caches and the allocators keep for reuse (the next bursts add nothing)
        peak = before
        idle = []
        with ThreadPoolExecutor(4) as pool:
            for _ in range(BURSTS):
                for _ in range(5):
                    sizes = list(pool.map(page, ids))
                    peak = max(peak, rss_mb(server.proc.pid))
                for _ in range(2):
                    list(pool.map(refused_batch, range(4)))
                    peak = max(peak, rss_mb(server.proc.pid))
                time.sleep(3)
                idle.append(rss_mb(server.proc.pid))
        print(f"responses of {max(sizes) / 1e6:.1f} MB; RSS before {before:.0f} MB, peak {peak:.0f} MB, "
              f"idle after each of {BURSTS} bursts: {', '.join(f'{m:.0f}' for m in idle)} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
