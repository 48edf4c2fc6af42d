"""Concurrent HTTP writers: N client threads x M ``registerAssets`` calls of K assets each against one
``mediagraph serve`` worker, beside the floor (one writer alone, same calls, same server, same run).

    python bench/http_writers_bench.py [--writers 4] [--calls 250] [--batch 4] [--assets 0]
                                       [--idempotency] [--profile] [--lake DIR]

Every call registers new assets (external ids unique per call) and, with ``--idempotency``, sends an
``idempotencyKey`` too. A call answered with a retryable error is retried (counted). Afterwards the lake is
read directly: every acknowledged external id must name exactly one asset, once, and nothing else may be
there. ``--assets N`` bulk-loads N assets through the Python API first (and optimizes), so the writes land
on a big table. ``--profile`` runs the server under a stack sampler (``--serve-sampled``, below) and prints
where its threads spent the writers' run: the top frames by samples, all threads, and the main thread's.
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import Server, latency_summary, load_average, log, print_table  # noqa: E402

from graph_api import cli  # noqa: E402
from graph_api.lake import Lake  # noqa: E402

REGISTER = "mutation Register($input: [AssetInput!]!, $key: String) " \
           "{ registerAssets(input: $input, idempotencyKey: $key) { id version externalId } }"
RETRYABLE = {"UNAVAILABLE", "TIMEOUT", "INTERNAL_SERVER_ERROR", "INTERNAL", "RATE_LIMITED", "TOO_MANY_REQUESTS",
             "IDEMPOTENCY_KEY_IN_USE"}
RETRIES = 8


class Writer:
    """One client: its own HTTP connection, its latencies, the external ids the server acknowledged."""

    def __init__(self, url: str, name: str, title_id: str, batch: int, idempotency: bool) -> None:
        self.http = httpx.Client(base_url=url, timeout=300)
        self.name, self.title_id, self.batch, self.idempotency = name, title_id, batch, idempotency
        self.seconds: list[float] = []
        self.acknowledged: dict[str, str] = {}  # external id -> asset id
        self.retried = 0
        self.failures: list[str] = []

    def call(self, k: int) -> None:
        rows = [{"titleId": self.title_id, "mediaType": "VIDEO", "role": "rendition",
                 "uri": f"s3://bench/{self.name}/{k}-{j}.mp4", "externalId": f"{self.name}-{k:05d}-{j}",
                 "checksum": "sha256:" + f"{self.name}{k}{j}".encode().hex().ljust(64, "0")[:64],
                 "durationSeconds": 60.0, "width": 1920, "height": 1080, "frameRate": 24.0,
                 "technical": {"codec": "h264", "bit_rate": 8_000_000}}
                for j in range(self.batch)]
        variables = {"input": rows, "key": f"{self.name}-{k}" if self.idempotency else None}
        started = time.perf_counter()
        for attempt in range(RETRIES):
            try:
                body = self.http.post("/graphql", json={"query": REGISTER, "variables": variables}).json()
            except (httpx.HTTPError, ValueError) as exc:
                body = {"errors": [{"message": str(exc), "extensions": {"code": "UNAVAILABLE"}}]}
            errors = body.get("errors") or []
            if not errors:
                for asset in body["data"]["registerAssets"]:
                    self.acknowledged[asset["externalId"]] = asset["id"]
                self.seconds.append(time.perf_counter() - started)
                return
            code = (errors[0].get("extensions") or {}).get("code", "")
            if code not in RETRYABLE or attempt + 1 == RETRIES:
                self.failures.append(f"{self.name} call {k}: {errors[0].get('message')} ({code})")
                return
            self.retried += 1
            time.sleep(0.05 * 2 ** attempt)

    def run(self, calls: int, first: int = 0) -> None:
        for k in range(first, first + calls):
            self.call(k)


def check(lake_uri: str, writers: list[Writer], prefix: str) -> list[str]:
    """What was lost (acknowledged, not in the lake), duplicated (one external id, several assets or current
    rows) or extra (in the lake, never acknowledged) among this run's external ids."""
    lake = Lake(lake_uri, background_compaction=False)
    rows = lake.table("assets").search().where(f"external_id LIKE '{prefix}%'").select(
        ["id", "external_id", "is_current"]).limit(None).to_arrow().to_pylist()
    ids: dict[str, set[str]] = collections.defaultdict(set)
    current: collections.Counter[str] = collections.Counter()
    for row in rows:
        ids[row["external_id"]].add(row["id"])
        current[row["external_id"]] += bool(row["is_current"])
    acknowledged = {e: a for w in writers for e, a in w.acknowledged.items()}
    problems = [f"lost: {e}" for e, a in acknowledged.items() if a not in ids.get(e, set())]
    problems += [f"duplicated: {e} -> {sorted(i)}" for e, i in ids.items() if len(i) > 1]
    problems += [f"{n} current rows: {e}" for e, n in current.items() if n != 1]
    problems += [f"extra (never acknowledged): {e}" for e in ids if e not in acknowledged]
    return problems


def fmt(summary: dict[str, float]) -> str:
    return (f"p50 {summary['p50_ms']:.1f} ms, p95 {summary['p95_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms, "
            f"max {summary['max_ms']:.0f} ms (n={summary['n']:.0f})")


def bulk_fill(lake: Lake, titles: list[str], assets: int) -> None:
    batch = 10_000
    for first in range(0, assets, batch):
        rows = [{"title_id": titles[n % len(titles)], "media_type": "IMAGE", "role": "frame",
                 "uri": f"s3://bench/fill/{n}.jpg", "external_id": f"fill-{n:08d}", "width": 640, "height": 360}
                for n in range(first, min(assets, first + batch))]
        lake.assets.register(rows)
    lake.optimize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--calls", type=int, default=250, help="calls per concurrent writer")
    parser.add_argument("--batch", type=int, default=4, help="assets per call")
    parser.add_argument("--floor-calls", type=int, default=150, help="calls of the single writer (the floor)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--assets", type=int, default=0, help="bulk-load this many assets first")
    parser.add_argument("--idempotency", action="store_true", help="each call sends an idempotencyKey")
    parser.add_argument("--profile", action="store_true", help="sample the server's stacks during the writers' run")
    parser.add_argument("--lake", help="lake directory (default: a fresh temporary one, removed afterwards)")
    parser.add_argument("--serve-sampled", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sampled is not None:
        return serve_sampled(args.serve_sampled)

    workdir = Path(args.lake) if args.lake else Path(tempfile.mkdtemp(prefix="mg-httpw-"))
    lake_dir = workdir / "lake"
    prefix = "w" + os.urandom(3).hex()
    lake = Lake(str(lake_dir))
    titles = [r["id"] for r in lake.titles.create([{"name": f"HTTP writers {i}", "kind": "MOVIE"}
                                                   for i in range(max(1, args.writers))])]
    if args.assets:
        log(f"bulk-loading {args.assets:,} assets")
        bulk_fill(lake, titles, args.assets)
    del lake
    profile_path = workdir / "server.profile"
    server = Server(str(lake_dir), log_path=workdir / "server.log", extra_args=["--auth", "off", "--workers", "1"],
                    env={"MEDIAGRAPH_SAMPLE_TO": str(profile_path)} if args.profile else None)
    figures: list[tuple[str, str]] = []
    try:
        if args.profile:
            server.start(timeout=600, launcher=[sys.executable, str(Path(__file__).resolve()), "--serve-sampled"])
        else:
            server.start(timeout=600)
        log(f"server at {server.url} on {lake_dir}; {load_average()}")
        floor = Writer(server.url, f"{prefix}-solo", titles[0], args.batch, args.idempotency)
        floor.run(args.warmup)
        floor.seconds.clear()
        floor.run(args.floor_calls, first=args.warmup)
        floor_summary = latency_summary(floor.seconds)
        log(f"floor (one writer, {args.floor_calls} calls): {fmt(floor_summary)}")
        writers = [Writer(server.url, f"{prefix}-{i}", titles[i % len(titles)], args.batch, args.idempotency)
                   for i in range(args.writers)]
        cpu_before = server.cpu_seconds()
        if args.profile:
            os.kill(server.process.pid, signal.SIGUSR1)  # type: ignore[union-attr]
        started = time.perf_counter()
        threads = [threading.Thread(target=w.run, args=(args.calls,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        if args.profile:
            os.kill(server.process.pid, signal.SIGUSR2)  # type: ignore[union-attr]
        cpu = server.cpu_seconds() - cpu_before
        seconds = [s for w in writers for s in w.seconds]
        summary = latency_summary(seconds)
        calls = len(seconds)
        failures = [f for w in [floor, *writers] for f in w.failures]
        server.stop()
        problems = check(str(lake_dir), [floor, *writers], prefix)
        figures = [
            ("lake", f"{lake_dir} ({args.assets:,} assets bulk-loaded first)"),
            ("machine", load_average()),
            (f"floor: 1 writer x {args.floor_calls} calls of {args.batch}", fmt(floor_summary)),
            (f"{args.writers} writers x {args.calls} calls of {args.batch} assets, 1 worker", fmt(summary)),
            ("  vs floor p50", f"{summary['p50_ms'] / floor_summary['p50_ms']:.2f}x"),
            ("  target p50 <= 60 ms, p95 <= 200 ms",
             f"p50 {'met' if summary['p50_ms'] <= 60 else 'MISSED'}, p95 {'met' if summary['p95_ms'] <= 200 else 'MISSED'}"),
            ("  throughput", f"{calls / wall:.1f} calls/s, {calls * args.batch / wall:.0f} assets/s, {wall:.1f} s wall"),
            ("  server CPU during the run", f"{cpu:.1f} s = {cpu / max(1, calls) * 1000:.1f} ms per call"),
            ("  retried calls", str(sum(w.retried for w in writers))),
            ("  idempotency keys", "yes" if args.idempotency else "no (externalId only)"),
            ("check (read from the lake)", "nothing lost, duplicated or extra" if not problems and not failures
             else f"{len(problems)} problems, {len(failures)} failed calls"),
        ]
        command = " ".join(["python bench/http_writers_bench.py", *(sys.argv[1:] if argv is None else argv)])
        print_table(f"Concurrent HTTP writers ({command})", figures)
        for line in (problems + failures)[:20]:
            print("  " + line)
        if args.profile and profile_path.exists():
            print(profile_path.read_text())
        return 1 if problems or failures else 0
    finally:
        server.stop()
        if not args.lake:
            shutil.rmtree(workdir, ignore_errors=True)


# --- the sampled server -------------------------------------------------------------------------------------
SAMPLE_EVERY = 0.005


def serve_sampled(cli_args: list[str]) -> int:
    """``mediagraph serve`` in this process, with a thread that samples every thread's stack between
    SIGUSR1 and SIGUSR2 and writes the top frames to ``$MEDIAGRAPH_SAMPLE_TO``."""
    sampling = threading.Event()
    leaf: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()  # the innermost frame of our own code
    main_thread: collections.Counter[str] = collections.Counter()
    samples = [0]
    main_id = threading.main_thread().ident

    def sample() -> None:
        me = threading.get_ident()
        while True:
            time.sleep(SAMPLE_EVERY)
            if not sampling.is_set():
                continue
            samples[0] += 1
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                stack = traceback.extract_stack(frame)
                if not stack:
                    continue
                top = stack[-1]
                where = f"{Path(top.filename).name}:{top.lineno} {top.name}"
                if where.startswith(("threading.py", "queue.py", "selectors.py", "thread.py")) and ident != main_id:
                    where = "(idle worker) " + where
                leaf[where] += 1
                mine = [f for f in stack if "/graph_api/" in f.filename or "/lineage/" in f.filename][-3:]
                if mine:
                    chain = " > ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in mine)
                    ours[f"{chain} -> {top.name}"] += 1
                if ident == main_id:
                    main_thread[where] += 1

    def report(*_: Any) -> None:
        sampling.clear()
        lines = [f"\nServer stack samples every {SAMPLE_EVERY * 1000:.0f} ms during the writers' run: "
                 f"{samples[0]} samples"]
        for name, counter in (("innermost frame, every thread", leaf),
                              ("the innermost 3 graph_api/lineage frames -> what they called, every thread", ours),
                              ("main thread (the event loop)", main_thread)):
            lines.append(f"  {name}:")
            lines += [f"    {n / max(1, samples[0]):6.2f} threads  {w}" for w, n in counter.most_common(25)]
        Path(os.environ["MEDIAGRAPH_SAMPLE_TO"]).write_text("\n".join(lines) + "\n")

    signal.signal(signal.SIGUSR1, lambda *_: sampling.set())
    signal.signal(signal.SIGUSR2, report)
    threading.Thread(target=sample, daemon=True, name="sampler").start()
    return int(cli.main(cli_args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
