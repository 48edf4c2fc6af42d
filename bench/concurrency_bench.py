"""Concurrent writers on one lake: threads sharing a lake plus processes with their own, mixed mutations
(new assets, re-deliveries, segments, annotations); then check that every acknowledged write is there once.

    python bench/concurrency_bench.py [--threads 8] [--processes 2] [--mutations 1000] [--lake DIR]

Prints per-call latency, throughput, commit-conflict retries (the lake's counter, this process's writers
only) and the check's verdict. tests/concurrency/test_writers.py runs the same writers at CI size.
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph_api.lake import Lake  # noqa: E402
from tests.concurrency.writers import Tally, check, process_writer, write  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--mutations", type=int, default=1000, help="per writer")
    parser.add_argument("--lake", default=None)
    args = parser.parse_args()
    uri = args.lake or str(Path(tempfile.mkdtemp(prefix="mg-conc-")) / "lake")
    lake = Lake(uri)
    title = lake.titles.create([{"name": "Concurrency bench", "kind": "MOVIE"}])[0]["id"]
    writers = args.threads + args.processes
    print(f"{writers} writers x {args.mutations} mutations on {uri}", flush=True)
    started = time.perf_counter()
    tallies: dict[str, Tally] = {}
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, args.processes), mp_context=spawn) as processes, \
            ThreadPoolExecutor(max(1, args.threads)) as threads:
        remote = {f"p{i}": processes.submit(process_writer, uri, title, f"p{i}", args.mutations, 7)
                  for i in range(args.processes)}
        local = {f"t{i}": threads.submit(_timed_write, lake, title, f"t{i}", args.mutations)
                 for i in range(args.threads)}
        latencies: list[float] = []
        for name, future in local.items():
            tally, seconds = future.result()
            tallies[name] = tally
            latencies.append(seconds / max(1, tally.calls))
        for name, future in remote.items():
            done = future.result()
            tallies[name] = Tally(assets=done["assets"], segments=done["segments"],
                                  annotations=done["annotations"], calls=done["calls"])
    wall = time.perf_counter() - started
    calls = sum(t.calls for t in tallies.values())
    problems = check(Lake(uri), title, tallies)
    retries = getattr(lake.counters, "conflict_retries", None)
    print(f"calls            {calls}")
    print(f"wall             {wall:.1f} s   ({calls / wall:.0f} calls/s)")
    if latencies:
        print(f"mean per call    {statistics.mean(latencies) * 1000:.1f} ms (thread writers)")
    print(f"conflict retries {retries if retries is not None else 'not counted by this lake'}")
    print(f"check            {'nothing lost or duplicated' if not problems else f'{len(problems)} problems'}")
    for problem in problems[:20]:
        print("  " + problem)
    return 1 if problems else 0


def _timed_write(lake: Lake, title: str, writer: str, mutations: int) -> tuple[Tally, float]:
    started = time.perf_counter()
    tally = write(lake, title, writer, mutations, 7)
    return tally, time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
