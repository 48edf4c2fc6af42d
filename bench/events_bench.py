"""Live events: delivery latency from a commit to a subscriber, with one and with two workers.

    python bench/events_bench.py                    # 60 writes, 4 sockets, 1 and 2 workers
    python bench/events_bench.py --writes 200 --sockets 8 --workers 2

The writes are made by this process with the Python Lake API (no worker serves them: the events come
from what the lake committed), one title at a time at random moments, so they fall anywhere in the
feed's poll interval. Latency = when the event reached a socket minus the title's ``created_at``
(stamped just before its commit, on this machine's clock), so it includes the commit itself.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import websockets  # noqa: E402

from bench.common import Server, latency_summary, load_average, log, print_table  # noqa: E402
from graph_api.lake import Lake  # noqa: E402

QUERY = "subscription { events(kinds: [TITLE_CREATED]) { id at } }"


async def subscriber(url: str, ready: asyncio.Event, received: list[float], writes: int) -> None:
    """Receive ``writes`` events (the lake is new: every title created is one of the bench's)."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
        ready.set()
        for _ in range(writes):
            message = json.loads(await ws.recv())
            arrived = time.time()
            event = message["payload"]["data"]["events"]
            received.append(arrived - datetime.fromisoformat(event["at"]).timestamp())


async def measure(lake: Lake, url: str, writes: int, sockets: int) -> list[float]:
    readies = [asyncio.Event() for _ in range(sockets)]
    received: list[float] = []
    tasks = [asyncio.create_task(subscriber(url, r, received, writes)) for r in readies]
    for ready in readies:
        await ready.wait()
    await asyncio.sleep(2.0)  # every socket's subscription has joined its worker's feed
    for i in range(writes):
        await asyncio.sleep(random.uniform(0.05, 0.4))
        await asyncio.to_thread(lake.titles.create, [{"name": f"bench event {i}", "kind": "OTHER"}])
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return received


def run(workers: int, writes: int, sockets: int, root: Path) -> dict[str, float]:
    lake_dir = str(root / f"lake-{workers}")
    lake = Lake(lake_dir, background_compaction=False)
    with Server(lake_dir, extra_args=["--auth", "off", "--workers", str(workers)]).start(timeout=300) as server:
        url = server.url.replace("http", "ws") + "/graphql"
        log(f"{workers} worker(s): {writes} writes, {sockets} sockets ({load_average()})")
        seconds = asyncio.run(measure(lake, url, writes, sockets))
    return latency_summary(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=60)
    parser.add_argument("--sockets", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mediagraph-events-bench-"))
    rows = []
    for workers in args.workers:
        summary = run(workers, args.writes, args.sockets, root)
        rows.append((f"{workers} worker(s), {summary['n']:.0f} deliveries",
                     f"p50 {summary['p50_ms']:.0f} ms   p95 {summary['p95_ms']:.0f} ms   max {summary['max_ms']:.0f} ms"))
    print_table(f"commit -> subscriber (poll interval 0.2 s; {load_average()})", rows)


if __name__ == "__main__":
    main()
