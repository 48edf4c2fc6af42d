"""Lake benchmark: fill a lake with ~1M assets across 10k titles, then measure what clients notice.

    python bench/lake_bench.py [--assets 1000000] [--titles 10000] [--lake DIR] [--keep]

Phases, in the order an operator would live them:
 1. bulk load through the Python API (titles, then assets in batches of --batch rows, then
    2 annotations per asset of the --annotated-titles titles the queries read); the batches alternate
    between ``lake.assets.register`` (dicts) and ``lake.assets.register_table`` (the same kind of rows as
    an Arrow table, built before the timer starts, ``technical`` as JSON text as a Parquet file holds it),
    each next to its floor (a bare LanceDB ``table.add`` of the same Arrow batches), so both paths are
    measured over the same growing lake in the same minutes;
 2. ``lake.optimize()`` once after the bulk load, as ``mediagraph lake optimize`` does;
 3. a real ``mediagraph serve`` subprocess: p50/p95 over HTTP of ``asset(id)`` and of the
    title-detail query (title + 50 assets + their annotations), random ids, after warm-up, each next
    to its floor (the same LanceDB reads + json.dumps in this process, no server); then a cProfile
    of --profile requests of each through the ASGI app in process, printed after the table;
 4. bulk register over HTTP: the registerAssets mutation, --http-rows rows in batches of --http-batch, next
    to its floor (the same-sized batches through ``lake.assets.register`` in this process); with --profile,
    a cProfile of 3 bulk register calls of each path (phase 1, in a scratch lake) and of 3 registerAssets requests
    through the ASGI app in process, printed after the table;
 5. --single single-asset registrations through the Python API (one register call each, half new
    assets, half re-deliveries with a new checksum = a new version), with the lake's automatic
    compaction on; per-call p50/p95, disk and fragments before/during/after, point lookups before,
    during and after, against the same table freshly optimized (``lake.optimize()``) at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import lancedb  # noqa: E402
import pyarrow as pa  # noqa: E402
from common import (  # noqa: E402
    Server,
    disk_bytes,
    graphql_client,
    latency_summary,
    load_average,
    log,
    print_table,
    timed,
    vs_floor,
)

from graph_api.http.app import create_app  # noqa: E402
from graph_api.lake import Lake  # noqa: E402
from graph_api.lake.assets import Assets  # noqa: E402
from graph_api.lake.lineage import LakeLineage  # noqa: E402
from graph_api.lake.schemas import ASSETS  # noqa: E402
from graph_api.settings import Settings  # noqa: E402

# one title's deliveries: (media_type, role, count); 100 assets in all, cycled for other sizes
TEMPLATE = [
    ("VIDEO", "source", 1),
    ("VIDEO", "mezzanine", 1),
    ("VIDEO", "rendition", 8),
    ("VIDEO", "proxy", 2),
    ("AUDIO", "audio-stem", 12),
    ("TEXT", "subtitle", 26),
    ("IMAGE", "poster", 4),
    ("IMAGE", "thumbnail", 6),
    ("IMAGE", "frame", 40),
]
SLOTS = [(m, r, i) for m, r, n in TEMPLATE for i in range(n)]
LANGUAGES = ["en", "fr", "de", "es", "it", "ja", "ko", "pt", "zh", "nl", "sv", "pl", "tr"]
RESOLUTIONS = [(3840, 2160), (1920, 1080), (1280, 720), (960, 540), (640, 360)]
LABELS = [("smoking", "compliance"), ("gore", "compliance"), ("nudity", "compliance"),
          ("loudness-lufs", "audio-quality"), ("clipping", "audio-quality"), ("profanity", "compliance")]

TITLE_DETAIL = """query TitleDetail($id: ID!) {
  title(id: $id) {
    id name kind releaseYear
    assets(first: 50) {
      totalCount
      edges { node {
        id mediaType role uri checksum sizeBytes durationSeconds width height frameRate version
        annotations { edges { node { id label category confidence start end } } }
      } }
    }
  }
}"""
ASSET = """query Asset($id: ID!) {
  asset(id: $id) { id mediaType role uri checksum sizeBytes durationSeconds width height version isCurrent }
}"""
REGISTER = """mutation Register($input: [AssetInput!]!) { registerAssets(input: $input) { id version } }"""


def checksum(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def asset_row(rng: random.Random, title_id: str, title_no: int, n: int, source: str = "delivery") -> dict[str, Any]:
    """A plausible delivered asset: the n-th slot of a title's deliveries."""
    media_type, role, i = SLOTS[n % len(SLOTS)]
    duration = 5400.0 + (title_no % 97) * 31.0
    row: dict[str, Any] = {
        "title_id": title_id,
        "media_type": media_type,
        "role": role,
        "external_id": f"{source}-t{title_no:06d}-{n:05d}",
        "checksum": checksum(source, title_no, n),
    }
    if media_type == "VIDEO":
        width, height = RESOLUTIONS[0] if role in ("source", "mezzanine") else RESOLUTIONS[i % len(RESOLUTIONS)]
        codec = {"source": "prores", "mezzanine": "dnxhd"}.get(role, "h264")
        row.update(uri=f"s3://studio-media/t{title_no:06d}/video/{role}-{i}-{height}p.mov", width=width,
                   height=height, frame_rate=24.0 if role != "proxy" else 25.0, duration_seconds=duration,
                   size_bytes=int(duration * width * height * (0.9 if codec == "prores" else 0.05)),
                   technical={"codec": codec, "pix_fmt": "yuv422p10le" if codec != "h264" else "yuv420p",
                              "bit_rate": rng.randint(2_000_000, 900_000_000)})
    elif media_type == "AUDIO":
        lang = LANGUAGES[i % len(LANGUAGES)]
        row.update(uri=f"s3://studio-media/t{title_no:06d}/audio/{lang}-{i}.wav", duration_seconds=duration,
                   size_bytes=int(duration * 48_000 * 3 * 6),
                   technical={"codec": "pcm_s24le", "sample_rate": 48_000, "channels": 6, "language": lang})
    elif media_type == "TEXT":
        lang = LANGUAGES[i % len(LANGUAGES)]
        row.update(uri=f"s3://studio-media/t{title_no:06d}/subtitles/{lang}-{i}.srt",
                   size_bytes=rng.randint(40_000, 120_000), duration_seconds=duration)
    else:
        width, height = (2000, 3000) if role == "poster" else RESOLUTIONS[1 + i % 3]
        row.update(uri=f"s3://studio-media/t{title_no:06d}/images/{role}-{i}.jpg", width=width, height=height,
                   size_bytes=rng.randint(80_000, 4_000_000))
    return row


def annotation_rows(rng: random.Random, asset: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label, category in rng.sample(LABELS, 2):
        if label == "loudness-lufs":
            value: Any = {"integrated": round(rng.uniform(-31, -14), 1), "range": round(rng.uniform(4, 18), 1)}
        else:
            value = {"severity": rng.choice(["low", "medium", "high"])}
        start = round(rng.uniform(0, 5000), 2)
        rows.append({"asset_id": asset["id"], "label": label, "category": category, "value": value,
                     "confidence": round(rng.uniform(0.5, 1.0), 3), "start": start,
                     "end": round(start + rng.uniform(1, 120), 2)})
    return rows


def to_graphql_input(row: dict[str, Any]) -> dict[str, Any]:
    names = {"title_id": "titleId", "media_type": "mediaType", "external_id": "externalId", "size_bytes": "sizeBytes",
             "duration_seconds": "durationSeconds", "frame_rate": "frameRate"}
    return {names.get(k, k): v for k, v in row.items()}


# the columns a bulk loader's Arrow table of assets has (what ``asset_row`` makes), typed as a Parquet file holds them
ARROW_INPUT = pa.schema([(name, ASSETS.field(name).type) for name in (
    "external_id", "title_id", "media_type", "role", "uri", "checksum", "size_bytes", "duration_seconds", "width",
    "height", "frame_rate")] + [("technical", pa.string())])


def to_arrow_input(rows: list[dict[str, Any]]) -> pa.Table:
    """``rows`` as a bulk loader hands them to ``register_table``: one Arrow table, ``technical`` as JSON text."""
    columns: dict[str, list[Any]] = {name: [r.get(name) for r in rows] for name in ARROW_INPUT.names}
    columns["technical"] = [None if t is None else json.dumps(t, sort_keys=True) for t in columns["technical"]]
    return pa.table(columns, schema=ARROW_INPUT)


def fragments(lake: Lake, table: str = "assets") -> tuple[int, int]:
    stats = lake.table(table).stats()["fragment_stats"]
    return stats["num_fragments"], stats["num_small_fragments"]


def sample_latency(fn: Any, ids: list[str], rng: random.Random, n: int, warmup: int) -> dict[str, float]:
    for id_ in rng.sample(ids, min(warmup, len(ids))):
        fn(id_)
    seconds = []
    for _ in range(n):
        id_ = rng.choice(ids)
        start = time.perf_counter()
        fn(id_)
        seconds.append(time.perf_counter() - start)
    return latency_summary(seconds)


def sample_http(server: Server, post: Any, query: str, ids: list[str], rng: random.Random, n: int,
                warmup: int) -> dict[str, Any]:
    """Latency of ``query`` with random ids, plus the server's CPU per request and the machine's load."""
    before = server.cpu_seconds()
    summary: dict[str, Any] = sample_latency(lambda i: post(query, {"id": i}), ids, rng, n, warmup)
    summary["cpu_ms"] = (server.cpu_seconds() - before) * 1000 / (n + min(warmup, len(ids)))
    summary["load"] = load_average()
    summary["server"] = True
    return summary


def sample_floor(fn: Any, ids: list[str], rng: random.Random, n: int, warmup: int) -> dict[str, Any]:
    """``sample_latency`` of a floor, plus this process's CPU per call (LanceDB's threads included),
    to set beside the server's CPU per request when the machine is loaded."""
    before = time.process_time()
    summary: dict[str, Any] = sample_latency(fn, ids, rng, n, warmup)
    summary["cpu_ms"] = (time.process_time() - before) * 1000 / (n + min(warmup, len(ids)))
    summary["load"] = load_average()
    return summary


def floor_asset(lake: Lake, id_: str) -> str:
    """What asset(id) cannot go below: the same indexed LanceDB lookup, and json of the row."""
    return json.dumps(lake.assets.get_many([id_]), default=str)


def floor_title(lake: Lake, title_id: str) -> str:
    """What title-detail cannot go below: its three LanceDB reads (title, its assets, their
    annotations), and json of the rows."""
    title = lake.titles.get_many([title_id])
    assets = lake.assets.by_title([title_id])[title_id][:50]
    annotations = lake.annotations.by_asset([a["id"] for a in assets])
    return json.dumps([title, assets, annotations], default=str)


def profile_requests(lake_dir: str, queries: list[tuple[str, str, list[str]]], rng: random.Random, n: int,
                     lines: int = 14) -> list[str]:
    """cProfile over ``n`` real requests of each query, through the whole ASGI app in this process
    (no socket): the top lines by own time, then the project's own functions by cumulative time.
    cProfile counts each resumption of a coroutine as a call: ncalls of async functions run high."""
    app = create_app(Settings.load(lake=lake_dir, auth="off"))  # as the served bench: `mediagraph serve --auth off`
    out: list[str] = []

    async def run() -> None:
        # inside the app's lifespan, as served: lineage attached, so its per-request refresh is in the profile
        async with app.router.lifespan_context(app), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for name, query, ids in queries:
                async def once(query: str = query, ids: list[str] = ids) -> None:
                    response = await client.post("/graphql", json={"query": query, "variables": {"id": rng.choice(ids)}})
                    if response.status_code != 200 or response.json().get("errors"):
                        raise RuntimeError(f"profiled request failed: {response.text[:300]}")
                for _ in range(min(20, n)):
                    await once()
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(n):
                    await once()
                profiler.disable()
                out.extend(profile_lines(profiler, f"{n} x {name}", lines))

    asyncio.run(run())
    return out


def profile_lines(profiler: cProfile.Profile, title: str, lines: int = 14) -> list[str]:
    """A profile as the bench prints it: the top lines by own time, then the project's own functions by
    cumulative time (cProfile inflates Python-heavy code more than Arrow's C++)."""
    out: list[str] = []
    for order, restrict in (("tottime", lines), ("cumulative", "graph_api/")):
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).sort_stats(order)
        stats.print_stats(*((restrict, lines) if isinstance(restrict, str) else (restrict,)))
        body = [line for line in text.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(body) if "ncalls" in line), 0)
        out.append(f"--- profile of {title}, by {order}{' (graph_api only)' if isinstance(restrict, str) else ''} ---")
        out.extend(line[:150] for line in body[start:])
    return out


def profile_bulk_register(scratch: str, rng: random.Random, batch: int, calls: int = 3) -> list[str]:
    """cProfile of ``calls`` bulk ``lake.assets.register`` calls of ``batch`` new assets, then of ``calls``
    ``register_table`` calls, in a scratch lake of its own (the bench's lake keeps exactly the rows it reports)."""
    lake = Lake(scratch)
    titles = [r["id"] for r in lake.titles.create([{"name": f"Profile Title {n}", "kind": "MOVIE"}
                                                   for n in range(max(1, batch // 100))])]
    out: list[str] = []
    for source, register, convert, what in (
            ("profile", lake.assets.register, list, "lake.assets.register"),
            ("profile-arrow", lake.assets.register_table, to_arrow_input, "lake.assets.register_table")):
        batches = [convert([asset_row(rng, titles[k % len(titles)], k % len(titles), c * batch + k, source=source)
                            for k in range(batch)]) for c in range(calls + 1)]
        register(batches[0])  # the first call opens the tables and warms the caches
        profiler = cProfile.Profile()
        profiler.enable()
        for rows in batches[1:]:
            register(rows)
        profiler.disable()
        out += profile_lines(profiler, f"{calls} x {what} of {batch:,} new assets")
    return out


def profile_register_http(lake_dir: str, loaded: Loaded, rng: random.Random, batch: int, run_tag: str,
                          calls: int = 3) -> list[str]:
    """cProfile of ``calls`` registerAssets requests of ``batch`` rows through the whole ASGI app in this
    process (no socket), as the served bench runs it (``--auth off``)."""
    app = create_app(Settings.load(lake=lake_dir, auth="off"))
    n_titles = len(loaded.title_ids)
    payloads = [[to_graphql_input(asset_row(rng, loaded.title_ids[n % n_titles], n % n_titles, n // n_titles,
                                            source=f"profile{run_tag}-{c}")) for n in range(batch)]
                for c in range(calls + 1)]
    profiler = cProfile.Profile()
    # cProfile sees only this thread; the lake work runs in worker threads (run_sync): time it by wall
    stages: dict[str, float] = {}
    patched = [(LakeLineage, "refresh", "lineage catch-up (refresh)"), (Assets, "register", "lake.assets.register"),
               (LakeLineage, "note_assets", "lineage note_assets")]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]

    def timed_stage(fn: Any, label: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if profiler_on[0]:
                    stages[label] = stages.get(label, 0.0) + time.perf_counter() - start
        return wrapper

    profiler_on = [False]
    for (owner, name, label), (_, _, fn) in zip(patched, originals, strict=True):
        setattr(owner, name, timed_stage(fn, label))
    total = 0.0

    async def run() -> None:
        nonlocal total
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for c, payload in enumerate(payloads):
                if c:
                    profiler_on[0] = True
                    profiler.enable()
                start = time.perf_counter()
                response = await client.post("/graphql", json={"query": REGISTER, "variables": {"input": payload}})
                profiler.disable()
                if profiler_on[0]:
                    total += time.perf_counter() - start
                profiler_on[0] = False
                if response.status_code != 200 or response.json().get("errors"):
                    raise RuntimeError(f"profiled registerAssets failed: {response.text[:300]}")

    try:
        asyncio.run(run())
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    split = ", ".join(f"{label} {seconds * 1000 / calls:,.0f} ms" for label, seconds in stages.items())
    rest = (total - sum(stages.values())) * 1000 / calls
    return [f"--- registerAssets of {batch:,} rows, wall per request (profiled): {total * 1000 / calls:,.0f} ms = "
            f"{split}, the rest (HTTP, GraphQL coercion and execution, JSON) {rest:,.0f} ms ---",
            *profile_lines(profiler, f"{calls} x registerAssets of {batch:,} rows over the ASGI app")]


def fmt_latency(s: dict[str, Any]) -> str:
    text = f"p50 {s['p50_ms']:.1f} ms   p95 {s['p95_ms']:.1f} ms   (n={s['n']}, max {s['max_ms']:.1f} ms"
    if "cpu_ms" in s:
        text += f"; {'server ' if 'server' in s else ''}CPU {s['cpu_ms']:.1f} ms/request; {s['load']}"
    return text + ")"


@dataclass
class Loaded:
    """What the later phases need to know about the lake: ids in creation order."""

    title_ids: list[str]  # index = title number in external ids
    asset_ids: list[str]
    query_titles: list[str]  # the titles whose assets carry annotations
    per_title: int


def fill(lake: Lake, args: argparse.Namespace, rng: random.Random, figures: list[tuple[str, str]],
         profile: list[str]) -> Loaded:
    """Phase 1: the bulk load through the Python API, one register call per --batch rows; with --profile,
    a cProfile of a few more register calls (into a scratch lake) goes to ``profile``."""
    log(f"creating {args.titles} titles in {lake.uri}")
    title_ids: list[str] = []
    start = time.perf_counter()
    for first in range(0, args.titles, args.batch):
        batch = [{"name": f"Bench Title {n:06d}", "kind": "MOVIE", "release_year": 1950 + n % 75,
                  "external_id": f"bench-title-{n:06d}"} for n in range(first, min(first + args.batch, args.titles))]
        title_ids.extend(r["id"] for r in lake.titles.create(batch))
    figures.append(("titles created", f"{args.titles:,} in {time.perf_counter() - start:.1f} s"))

    per_title = max(1, args.assets // args.titles)
    log(f"registering {args.assets} assets ({per_title}/title) in batches of {args.batch} through the Python API")
    # generated title by title, so a batch holds whole titles, as a delivery would
    keys = ((t, n) for t in range(args.titles) for n in range(per_title))
    asset_ids: list[str] = []
    annotated = set(rng.sample(range(args.titles), min(args.annotated_titles, args.titles)))
    annotated_assets: list[dict[str, Any]] = []
    # per path (dicts, Arrow): rows, seconds in the register calls, seconds of the floor, the last batch's seconds.
    # The floor: a bare LanceDB table.add of the same Arrow batch (the rows register returned), into a scratch
    # table of its own, timed batch by batch beside the register calls
    paths = {"dicts": [0, 0.0, 0.0, 0.0], "arrow": [0, 0.0, 0.0, 0.0]}
    floor_dir = tempfile.mkdtemp(prefix="lake-bench-floor-")
    floor_table = lancedb.connect(floor_dir).create_table("assets", schema=ASSETS)
    load_start = time.perf_counter()
    calls = 0
    while len(asset_ids) < args.assets:
        batch_keys = [k for _, k in zip(range(min(args.batch, args.assets - len(asset_ids))), keys)]
        if not batch_keys:
            break
        batch = [asset_row(rng, title_ids[t], t, n) for t, n in batch_keys]
        path = "arrow" if calls % 2 else "dicts"  # alternate: both paths meet the same lake sizes
        calls += 1
        if path == "arrow":
            table = to_arrow_input(batch)
            seconds, written = timed(lambda table=table: lake.assets.register_table(table))
            results = written.to_pylist()
        else:
            seconds, results = timed(lambda batch=batch: lake.assets.register(batch))
            written = lake.assets.to_table({**r, "row_key": f"{r['id']}:{r['version']}"} for r in results)
        floor = timed(lambda written=written: floor_table.add(written))[0]
        figures_of = paths[path]
        figures_of[0] += len(results)
        figures_of[1] += seconds
        figures_of[2] += floor
        figures_of[3] = seconds
        asset_ids.extend(r["id"] for r in results)
        annotated_assets.extend(r for (t, _), r in zip(batch_keys, results) if t in annotated)
        done = len(asset_ids)
        if (done // args.batch) % 10 == 0 or done >= args.assets:
            frags, small = fragments(lake)
            rates = ", ".join(f"{name} {p[0] / p[1]:,.0f}" for name, p in paths.items() if p[1])
            log(f"  {done:>9} assets  rows/s so far: {rates}; last batch ({path}) {seconds:.2f} s  "
                f"fragments {frags} (small {small})  compactions {lake.counters.compactions}")
    done = len(asset_ids)
    if args.profile:
        log(f"profiling 3 bulk register calls of {args.batch} rows of each path (cProfile, scratch lake)")
        profile.extend(profile_bulk_register(os.path.join(floor_dir, "profile"), rng, args.batch))
    shutil.rmtree(floor_dir, ignore_errors=True)
    for path, label in (("dicts", "bulk register, Python API (register, dicts)"),
                        ("arrow", "bulk register, Python API from Arrow (register_table)")):
        rows, register_seconds, floor_seconds, last = paths[path]
        if not rows:
            figures.append((label, "no batch took this path (one batch in all: --assets <= --batch)"))
            continue
        met = floor_seconds >= 0.5 * register_seconds and rows >= 1e5 * register_seconds
        figures.append((label,
                        f"{rows:,} rows in {register_seconds:.0f} s = {rows / register_seconds:,.0f} rows/s (every "
                        f"other batch of {args.batch:,}; last batch {last:.2f} s)"))
        figures.append(("  floor: bare table.add of the same Arrow batches",
                        f"{rows / floor_seconds:,.0f} rows/s; {path} path at {floor_seconds / register_seconds:.0%} "
                        f"of it (target >= 50% and >= 100k rows/s: {'met' if met else 'MISSED'})"))
    figures.append(("  bulk load wall time", f"{done:,} rows, {time.perf_counter() - load_start:.0f} s incl. row "
                                             "generation, Arrow conversion and the floors"))

    log(f"adding 2 annotations to each of {len(annotated_assets)} assets of {len(annotated)} titles")
    ann_rows = [a for asset in annotated_assets for a in annotation_rows(rng, asset)]
    start = time.perf_counter()
    for first in range(0, len(ann_rows), args.batch):
        lake.annotations.add(ann_rows[first : first + args.batch])
    seconds = time.perf_counter() - start
    figures.append(("annotations, Python API",
                    f"{len(ann_rows):,} rows in {seconds:.1f} s = {len(ann_rows) / seconds:,.0f} rows/s"))

    # --- phase 2: optimize once, as an operator runs `mediagraph lake optimize` after a bulk load ---------
    wait_for_compaction(lake)
    log(f"lake.optimize() (as `mediagraph lake optimize`); assets fragments before: {fragments(lake)[0]}")
    seconds, report = timed(lake.optimize)
    figures.append(("lake.optimize() after bulk load",
                    f"{seconds:.1f} s; assets fragments {report['assets']['fragments_before']} -> "
                    f"{report['assets']['fragments_after']}, annotations fragments "
                    f"{report['annotations']['fragments_before']} -> {report['annotations']['fragments_after']}"))
    return Loaded(title_ids, asset_ids, [title_ids[t] for t in sorted(annotated)], per_title)


def reuse(lake: Lake) -> Loaded:
    """Ids of a lake an earlier run filled (and optimized), to re-run the later phases quickly."""
    titles = lake.scan("titles", "external_id LIKE 'bench-title-%'", columns=["id", "external_id"], title_column=None)
    titles = titles.sort_by("external_id")
    assets = lake.scan("assets", "external_id LIKE 'delivery-%' AND is_current = TRUE", columns=["id", "title_id"],
                       title_column=None)
    annotated = lake.scan("annotations", None, columns=["title_id"], title_column=None)
    title_ids = titles.column("id").to_pylist()
    if not title_ids or not assets.num_rows:
        raise SystemExit(f"{lake.uri} holds no bench lake to reuse")
    return Loaded(title_ids, assets.column("id").to_pylist(), sorted(set(annotated.column("title_id").to_pylist())),
                  assets.num_rows // len(title_ids))


def wait_for_compaction(lake: Lake) -> None:
    while lake.connection.compaction_pending:  # a background or idle compaction may still be due
        time.sleep(0.5)


def single_writes(lake: Lake, lake_dir: Path, loaded: Loaded, args: argparse.Namespace, rng: random.Random,
                  run_tag: str, server: Server, post: Any) -> list[tuple[str, str]]:
    """Phase 5: --single one-asset register calls in a row, with automatic compaction on; disk,
    fragments and point lookups before, during and after, against a freshly optimized table."""
    wait_for_compaction(lake)
    frags_before = fragments(lake)
    disk_before = disk_bytes(lake_dir)
    py_before = sample_latency(lake.assets.get, loaded.asset_ids, rng, args.requests, args.warmup)
    http_before = sample_http(server, post, ASSET, loaded.asset_ids, rng, args.requests, args.warmup)
    log(f"{args.single} single-asset register calls through the Python API; fragments now {frags_before[0]}, "
        f"disk {disk_before / 2**20:,.0f} MiB")
    max_frags, max_disk = frags_before[0], disk_before
    compactions = lake.counters.compactions
    n_titles = len(loaded.title_ids)
    mutation_seconds: list[float] = []
    beside_compaction: list[float] = []
    alone: list[float] = []
    during: list[float] = []  # point lookups between the writes
    start_all = time.perf_counter()
    for k in range(args.single):
        t = rng.randrange(n_titles)
        if k % 2 == 0:  # a new delivery
            row = asset_row(rng, loaded.title_ids[t], t, k, source=f"single{run_tag}")
        else:  # a re-delivery of a bulk-loaded asset with new content: version N+1
            n = rng.randrange(loaded.per_title)
            row = asset_row(rng, loaded.title_ids[t], t, n)
            row["checksum"] = checksum("redelivery", run_tag, k, t, n)
        busy = lake.connection.compacting
        seconds, _ = timed(lambda row=row: lake.assets.register([row]))
        mutation_seconds.append(seconds)
        # what the tail waits on: calls that overlapped a compaction against the others
        (beside_compaction if busy or lake.connection.compacting else alone).append(seconds)
        if k % 10 == 0:
            during.append(timed(lambda: lake.assets.get(rng.choice(loaded.asset_ids)))[0])
        if (k + 1) % 100 == 0:
            max_frags = max(max_frags, fragments(lake)[0])
        if (k + 1) % 500 == 0:
            max_disk = max(max_disk, disk_bytes(lake_dir))
            log(f"  {k + 1:>6} mutations  fragments {fragments(lake)[0]}  compactions "
                f"{lake.counters.compactions - compactions}  disk {max_disk / 2**20:,.0f} MiB  last 500: p50 "
                f"{latency_summary(mutation_seconds[-500:])['p50_ms']:.0f} ms/call")
    total = time.perf_counter() - start_all
    # as readers see it when the writes stop, before a pending compaction lands
    frags_end = fragments(lake)[0]
    py_end = sample_latency(lake.assets.get, loaded.asset_ids, rng, args.requests, args.warmup)
    wait_for_compaction(lake)
    frags_after = fragments(lake)
    disk_after = disk_bytes(lake_dir)
    max_disk = max(max_disk, disk_after)
    py_after = sample_latency(lake.assets.get, loaded.asset_ids, rng, args.requests, args.warmup)
    http_after = sample_http(server, post, ASSET, loaded.asset_ids, rng, args.requests, args.warmup)
    http_title_after = sample_http(server, post, TITLE_DETAIL, loaded.query_titles, rng, args.requests, args.warmup)
    versions = len(lake.table("assets").list_versions())
    log("lake.optimize(), for the freshly optimized table the lookups are compared with")
    lake.optimize()
    py_optimized = sample_latency(lake.assets.get, loaded.asset_ids, rng, args.requests, args.warmup)
    calls = latency_summary(mutation_seconds)
    return [
        (f"{args.single:,} single-asset register calls (Python API, half new, half new versions)",
         f"{total:.0f} s = {args.single / total:,.1f} calls/s; per call p50 {calls['p50_ms']:.0f} ms, "
         f"p95 {calls['p95_ms']:.0f} ms, max {calls['max_ms']:.0f} ms; target p95 <= 60 ms: "
         f"{'met' if calls['p95_ms'] <= 60 else 'MISSED'}"),
        ("  calls while a compaction ran / the others",
         f"{len(beside_compaction)} calls: {fmt_latency(latency_summary(beside_compaction))} / "
         f"{len(alone)} calls: {fmt_latency(latency_summary(alone))}"),
        ("assets fragments before -> max during -> after",
         f"{frags_before[0]} -> {max_frags} -> {frags_after[0]}  "
         f"(automatic compactions: {lake.counters.compactions - compactions}; table versions then {versions})"),
        ("lake disk before -> max during -> after (old versions kept 10 min)",
         f"{disk_before / 2**20:,.0f} -> {max_disk / 2**20:,.0f} -> {disk_after / 2**20:,.0f} MiB  "
         f"(scratch {(max_disk - disk_before) / 2**20:,.0f} MiB; target <= 3 GB: "
         f"{'met' if max_disk - disk_before <= 3 * 2**30 else 'MISSED'})"),
        ("point lookup lake.assets.get, before", fmt_latency(py_before)),
        ("point lookup between the writes (1 in 10 calls)", fmt_latency(latency_summary(during))),
        (f"point lookup lake.assets.get, when the writes stop ({frags_end} fragments)", fmt_latency(py_end)),
        ("point lookup lake.assets.get, after compaction settles", fmt_latency(py_after)),
        ("point lookup, freshly optimized table (floor)", fmt_latency(py_optimized)),
        ("  after vs freshly optimized", vs_floor(py_after["p50_ms"], py_optimized["p50_ms"], 1.2)),
        ("HTTP asset(id), before", fmt_latency(http_before)),
        ("HTTP asset(id), after", fmt_latency(http_after)),
        ("HTTP title-detail, after", fmt_latency(http_title_after)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--titles", type=int, default=10_000)
    parser.add_argument("--lake", help="lake directory (default: a fresh temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the lake directory afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="--lake holds a lake an earlier run filled (with --keep): skip the fill and optimize")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per register call in the bulk load")
    parser.add_argument("--annotated-titles", type=int, default=200, help="titles whose assets get 2 annotations each")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per latency figure")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--http-rows", type=int, default=50_000)
    parser.add_argument("--http-batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=10_000, help="single-asset register calls")
    parser.add_argument("--profile", type=int, default=50,
                        help="requests of each query profiled in process, and 3 bulk writes of each kind "
                             "(0: no profile)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.reuse and not args.lake:
        parser.error("--reuse needs --lake")

    rng = random.Random(args.seed)
    run_tag = os.urandom(3).hex()  # external ids of this run's new assets never collide with an earlier run's
    workdir = Path(args.lake) if args.lake else Path(tempfile.mkdtemp(prefix="lake-bench-"))
    lake_dir = workdir if args.lake else workdir / "lake"
    if not args.reuse and lake_dir.exists() and any(lake_dir.iterdir()):
        parser.error(f"{lake_dir} is not empty: the bench fills a fresh lake (or pass --reuse)")
    figures: list[tuple[str, str]] = [("lake", str(lake_dir))]
    profile: list[str] = []
    server: Server | None = None
    try:
        lake = Lake(str(lake_dir))  # the defaults a server uses: automatic background compaction on
        if args.reuse:
            log(f"reusing the lake in {lake_dir}")
            loaded = reuse(lake)
            figures.append(("bulk load", "skipped (--reuse of a lake an earlier run filled and optimized)"))
        else:
            loaded = fill(lake, args, rng, figures, profile)
        stats = lake.stats()
        figures.append(("assets table", f"{stats['assets']['rows']:,} rows, {stats['assets']['fragments']} fragments, "
                                        f"{stats['assets']['versions']} versions, "
                                        f"{stats['assets']['bytes'] / 2**20:,.0f} MiB; titles {stats['titles']['rows']:,}"
                                        f", annotations {stats['annotations']['rows']:,}"))

        # --- 3. read latency over HTTP -------------------------------------------------------------
        server = Server(str(lake_dir), log_path=workdir / "server.log" if not args.lake else None,
                        extra_args=["--auth", "off"])  # the bench measures queries, not token checks
        seconds, _ = timed(lambda: server.start(timeout=900))
        figures.append(("server start until /healthz answers", f"{seconds:.0f} s"))
        log(f"server up in {seconds:.0f} s at {server.url} (mediagraph serve --lake {lake_dir} --port {server.port})")
        with graphql_client(server) as post:
            check = post(TITLE_DETAIL, {"id": loaded.query_titles[0]})["title"]
            edges = check["assets"]["edges"]
            log(f"  title-detail returns {len(edges)} assets, "
                f"{sum(len(e['node']['annotations']['edges']) for e in edges)} annotations")
            log(f"timing asset(id) and title-detail, {args.requests} requests each after {args.warmup} warm-up")
            http_asset = sample_http(server, post, ASSET, loaded.asset_ids, rng, args.requests, args.warmup)
            http_title = sample_http(server, post, TITLE_DETAIL, loaded.query_titles, rng, args.requests, args.warmup)
            floor_a = sample_floor(lambda i: floor_asset(lake, i), loaded.asset_ids, rng, args.requests,
                                   args.warmup)
            floor_t = sample_floor(lambda i: floor_title(lake, i), loaded.query_titles, rng, args.requests,
                                   args.warmup)
            figures += [
                ("HTTP asset(id)", fmt_latency(http_asset)),
                ("  floor: lake.assets.get_many + json.dumps", fmt_latency(floor_a)),
                ("  asset(id) vs floor", vs_floor(http_asset["p50_ms"], floor_a["p50_ms"], 2)
                 + f"; target p50 <= 8 ms: {'met' if http_asset['p50_ms'] <= 8 else 'MISSED'}"),
                ("HTTP title-detail (title+50 assets+annotations)", fmt_latency(http_title)),
                ("  floor: the 3 LanceDB reads + json.dumps", fmt_latency(floor_t)),
                ("  title-detail vs floor", vs_floor(http_title["p50_ms"], floor_t["p50_ms"], 2)
                 + f"; target p50 <= 25 ms: {'met' if http_title['p50_ms'] <= 25 else 'MISSED'}"),
            ]
            if args.profile:
                log(f"profiling {args.profile} requests of each query in process (cProfile over the ASGI app)")
                profile += profile_requests(str(lake_dir), [("asset(id)", ASSET, loaded.asset_ids),
                                                           ("title-detail", TITLE_DETAIL, loaded.query_titles)],
                                           rng, args.profile)

            # --- 4. bulk register over HTTP -------------------------------------------------------
            log(f"registerAssets over HTTP: {args.http_rows} rows in batches of {args.http_batch}")
            n_titles = len(loaded.title_ids)
            http_rows = [asset_row(rng, loaded.title_ids[n % n_titles], n % n_titles, n // n_titles,
                                   source=f"http{run_tag}") for n in range(args.http_rows)]
            register_seconds = 0.0
            for first in range(0, len(http_rows), args.http_batch):
                payload = [to_graphql_input(r) for r in http_rows[first : first + args.http_batch]]
                seconds, result = timed(lambda payload=payload: post(REGISTER, {"input": payload})["registerAssets"])
                register_seconds += seconds
            if http_rows:
                # the floor: the same-sized batches (new external ids) through the Python API in this process,
                # what the server's resolver calls; the difference is GraphQL, HTTP and the lineage catch-up
                floor_rows = [asset_row(rng, loaded.title_ids[n % n_titles], n % n_titles, n // n_titles,
                                        source=f"httpfloor{run_tag}") for n in range(args.http_rows)]
                floor_seconds = sum(timed(lambda rows=floor_rows[first : first + args.http_batch]:
                                          lake.assets.register(rows))[0]
                                    for first in range(0, len(floor_rows), args.http_batch))
                rate = len(http_rows) / register_seconds
                figures.append(("bulk register, registerAssets over HTTP",
                                f"{len(http_rows):,} rows in {register_seconds:.1f} s = {rate:,.0f} rows/s "
                                f"(batches of {args.http_batch:,}; target >= 5,000 rows/s: "
                                f"{'met' if rate >= 5000 else 'MISSED'})"))
                figures.append(("  floor: lake.assets.register of the same-sized batches, in process",
                                f"{len(floor_rows) / floor_seconds:,.0f} rows/s; registerAssets at "
                                f"{floor_seconds / register_seconds:.0%} of it"))
                if args.profile:
                    log(f"profiling 3 registerAssets requests of {args.http_batch} rows in process")
                    profile.extend(profile_register_http(str(lake_dir), loaded, rng, args.http_batch, run_tag))

            # --- 5. many single-asset mutations ---------------------------------------------------
            if args.single:
                figures += single_writes(lake, lake_dir, loaded, args, rng, run_tag, server, post)
        command = " ".join(["python bench/lake_bench.py", *(sys.argv[1:] if argv is None else argv)])
        print_table(f"Lake bench: {len(loaded.asset_ids):,} assets, {len(loaded.title_ids):,} titles ({command})",
                    figures)
        if profile:
            print("\n".join(profile), flush=True)
        return 0
    finally:
        if server is not None:
            server.stop()
        if not args.keep and not args.reuse:
            shutil.rmtree(workdir if not args.lake else lake_dir, ignore_errors=True)
        else:
            log(f"kept {lake_dir}")


if __name__ == "__main__":
    sys.exit(main())
