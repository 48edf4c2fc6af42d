"""Search benchmark: recall of the ANN index, index build time, filtered vector search over
GraphQL/HTTP against the same raw LanceDB call, and full-text search latency.

    .venv/bin/python bench/search_bench.py --rows 1000000

Synthetic corpus: ``--rows`` segments (one per row), each with a 384-d vector drawn around one
of ``--clusters`` centres, a title (``--titles``), a kind, a time, and a dialogue line. Rows are
written straight into the lake's tables in large Arrow batches (the bench measures search, not
the validated write path); the indexes are then built the way ``mediagraph lake optimize`` does.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
import pyarrow as pa

os.environ.setdefault("LANCE_LOG", "error")

from graph_api.lake import Lake, fulltext, indexes  # noqa: E402
from graph_api.lake.ids import new_ids  # noqa: E402
from graph_api.lake.schemas import SEGMENTS, embeddings_schema  # noqa: E402

KINDS = np.array(["DIALOGUE", "SHOT", "FRAME", "SCENE"])
KIND_WEIGHTS = [0.4, 0.3, 0.25, 0.05]
WORDS = ("ship storm harbor coffee lantern tide captain dawn night shift boat deck orders sail wind rain "
         "fire smoke door window street city river bridge train station letter money gun knife doctor "
         "mother father brother sister friend enemy king queen soldier war peace home road forest").split()
SPACE = "bench-minilm"
GRAPHQL = """query($v: [Float!], $t: [ID!], $k: [SegmentKind!]) {
  search(vector: $v, space: "%s", titleIds: $t, kinds: $k, first: 10) { score segment { id start end } }
}""" % SPACE


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, p))


def build(lake: Lake, rows: int, dimension: int, n_titles: int, n_clusters: int, chunk: int,
          seed: int, vectors_too: bool = True) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    # the vectors draw from their own stream, so the dialogue is the same with or without them
    vector_rng = np.random.default_rng(seed + 7)
    titles = lake.titles.create([{"name": f"Bench title {i}", "kind": "EPISODE"} for i in range(n_titles)])
    assets = lake.assets.register([{"title_id": t["id"], "media_type": "VIDEO", "role": "source",
                                    "uri": f"s3://bench/{i}.mov", "duration_seconds": 3600.0}
                                   for i, t in enumerate(titles)])
    title_ids = np.array([t["id"] for t in titles])
    asset_ids = np.array([a["id"] for a in assets])
    centres = vector_rng.normal(size=(n_clusters, dimension)).astype(np.float32)
    vectors = np.empty((rows if vectors_too else 0, dimension), dtype=np.float32)
    title_of = np.empty(rows, dtype=np.int32)
    segment_ids: list[str] = []
    space_table = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        cluster = rng.integers(0, n_clusters, n)
        if vectors_too:
            v = centres[cluster] + vector_rng.normal(scale=0.6, size=(n, dimension)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            vectors[start:start + n] = v
        owner = rng.integers(0, n_titles, n)
        title_of[start:start + n] = owner
        kinds = rng.choice(KINDS, n, p=KIND_WEIGHTS)
        times = rng.uniform(0, 3590, n).round(2)
        words = rng.integers(0, len(WORDS), (n, 7))
        lengths = rng.integers(3, 8, n)
        texts = [" ".join(WORDS[w] for w in words[i, :lengths[i]]) for i in range(n)]
        ids = new_ids("seg", n)
        segment_ids += ids
        stamp = pa.scalar(time.time_ns() // 1000, pa.timestamp("us", tz="UTC"))
        seg = pa.table({"id": ids, "asset_id": asset_ids[owner], "title_id": title_ids[owner], "kind": kinds,
                        "start": times, "end": times + 2.0, "text": texts, "produced_by": pa.nulls(n, pa.string()),
                        "created_at": pa.array([stamp.value] * n, pa.timestamp("us", tz="UTC"))}, schema=SEGMENTS)
        lake.add("segments", seg)
        if not vectors_too:
            log(f"wrote {start + n:,} / {rows:,} segments")
            continue
        if space_table is None:
            # the space is registered through the ordinary path (one row), then bulk-loaded
            lake.embeddings.upsert(SPACE, "sentence-transformers/all-MiniLM-L6-v2",
                                   [{"subject_id": ids[0], "vector": v[0].tolist()}])
            space_table = lake.embeddings.space(SPACE)["table_name"]
            lake.delete(space_table, "true")
        emb = pa.table({
            "subject_id": ids, "subject_kind": ["SEGMENT"] * n, "asset_id": asset_ids[owner],
            "title_id": title_ids[owner], "media_type": ["VIDEO"] * n, "role": ["source"] * n,
            "segment_kind": kinds, "start": times, "end": times + 2.0, "text": texts,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dimension),
            "produced_by": pa.nulls(n, pa.string()),
            "created_at": pa.array([stamp.value] * n, pa.timestamp("us", tz="UTC")),
        }, schema=embeddings_schema(dimension))
        lake.add(space_table, emb)
        log(f"wrote {start + n:,} / {rows:,} rows")
    return vectors, title_of, [str(t) for t in title_ids], segment_ids


def reindex(table: object) -> None:
    """Rebuild the scalar and FTS indexes over the bulk-loaded rows (optimize would also compact)."""
    from lancedb.index import BTree

    for ix in table.list_indices():  # type: ignore[attr-defined]
        if ix.index_type == "BTree":
            table.create_index(ix.columns[0], config=BTree(), replace=True)  # type: ignore[attr-defined]


def serve(lake_dir: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "graph_api.cli", "serve", "--lake", lake_dir, "--port", str(port),
                             "--auth", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "MEDIAGRAPH_LOG_LEVEL": "warning", "MEDIAGRAPH_LOG_FORMAT": "text"})
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


FTS_GRAPHQL = """query($q: String!) {
  search(text: $q, first: 10) { score segment { id start end text } }
}"""


def summary(seconds: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(seconds, 50), 2), "p95": round(percentile(seconds, 95), 2)}


def filled(lake: Lake, rows: int) -> bool:
    """Whether ``lake`` already holds this bench's ``rows`` dialogue lines, indexed (``--reuse``)."""
    try:
        seg = lake.table("segments")
    except Exception:  # noqa: BLE001 - a new lake has no tables yet
        return False
    return seg.count_rows() == rows and any(ix.index_type == "FTS" for ix in seg.list_indices())


def vector_figures(lake: Lake, client: httpx.Client, vectors: np.ndarray, title_of: np.ndarray, title_ids: list[str],
                   segment_ids: list[str], args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {}
    emb = lake.table(lake.embeddings.space(SPACE)["table_name"])
    rng = np.random.default_rng(args.seed + 1)
    picks = rng.integers(0, args.rows, args.queries)
    queries = vectors[picks] + rng.normal(scale=0.02, size=(args.queries, args.dimension)).astype(np.float32)
    # recall@10 against exact search (numpy over every vector), unfiltered
    recalls = []
    for q in queries:
        exact = set(np.argpartition(-(vectors @ (q / np.linalg.norm(q))), 10)[:10].tolist())
        got = set(lake.search.vector(SPACE, q.tolist(), first=10).column("subject_id").to_pylist())
        recalls.append(sum(segment_ids[i] in got for i in exact) / 10)
    figures["recall_at_10"] = round(statistics.mean(recalls), 4)
    log(f"recall@10 = {figures['recall_at_10']}")

    # the filtered search: one title (of --titles), shots and frames only
    filters = [(title_ids[int(title_of[p])], ["SHOT", "FRAME"]) for p in picks]
    raw_times, raw_counts = [], []
    for q, (title, _kinds) in zip(queries, filters):
        where = f"(`title_id` = '{title}') AND (`segment_kind` IN ('SHOT', 'FRAME'))"
        t0 = time.perf_counter()
        result = (emb.search(q, vector_column_name="vector").distance_type("cosine")
                  .minimum_nprobes(indexes.MIN_NPROBES).maximum_nprobes(0).refine_factor(indexes.REFINE_FACTOR)
                  .where(where, prefilter=True).limit(10).to_arrow())
        raw_times.append(time.perf_counter() - t0)
        raw_counts.append(result.num_rows)
    http_times, http_counts = [], []
    for i, (q, (title, kinds_)) in enumerate(zip(queries, filters)):
        body = {"query": GRAPHQL, "variables": {"v": [float(x) for x in q], "t": [title], "k": kinds_}}
        if i == 0:  # warm-up: opens tables and index caches in the server process
            client.post("/graphql", json=body)
        t0 = time.perf_counter()
        response = client.post("/graphql", json=body).json()
        http_times.append(time.perf_counter() - t0)
        assert not response.get("errors"), response["errors"]
        http_counts.append(len(response["data"]["search"]))
    figures["filtered_raw_ms"] = summary(raw_times)
    figures["filtered_graphql_http_ms"] = summary(http_times)
    figures["ratio_p50"] = round(percentile(http_times, 50) / percentile(raw_times, 50), 2)
    figures["ratio_p95"] = round(percentile(http_times, 95) / percentile(raw_times, 95), 2)
    figures["filtered_hits_min"] = min(http_counts)
    figures["filtered_hits_raw_min"] = min(raw_counts)
    return figures


def text_figures(lake: Lake, client: httpx.Client, args: argparse.Namespace) -> dict[str, object]:
    """Full-text search over the dialogue lines: the raw LanceDB FTS call (the floor: the same
    query object the lake sends, the same columns, limit 10), the Python API, and GraphQL over HTTP."""
    rng = np.random.default_rng(args.seed + 2)
    texts = [" ".join(rng.choice(WORDS, 2, replace=False)) for _ in range(args.queries)]
    seg = lake.table("segments")
    columns = ["id", "asset_id", "title_id", "kind", "start", "end", "text", "produced_by", "_score"]

    def raw(text: str) -> pa.Table:
        query = fulltext.to_query(fulltext.parse(text), "text")
        return seg.search(query, query_type="fts").select(columns).limit(10).to_arrow()

    def api(text: str) -> pa.Table:
        return lake.search.text(text, first=10)

    def http(text: str) -> list[object]:
        response = client.post("/graphql", json={"query": FTS_GRAPHQL, "variables": {"q": text}}).json()
        assert not response.get("errors"), response["errors"]
        return list(response["data"]["search"])

    figures: dict[str, object] = {}
    for name, call in (("fts_raw_ms", raw), ("fts_python_api_ms", api), ("fts_graphql_http_ms", http)):
        call(texts[0])  # warm-up: opens the table and the index's caches
        times, counts = [], []
        for text in texts:
            t0 = time.perf_counter()
            found = call(text)
            times.append(time.perf_counter() - t0)
            counts.append(found.num_rows if isinstance(found, pa.Table) else len(found))
        figures[name] = summary(times)
        figures[name.replace("_ms", "_hits_min")] = min(counts)
        log(f"{name}: {figures[name]}")
    raw_p50 = figures["fts_raw_ms"]["p50"]  # type: ignore[index]
    figures["fts_ratio_http_raw_p50"] = round(figures["fts_graphql_http_ms"]["p50"] / raw_p50, 2)  # type: ignore[index]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--titles", type=int, default=1_000)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--lake", help="lake directory (default: a temporary one, removed afterwards)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-vectors", action="store_true",
                        help="dialogue only: no space, no IVF_PQ index (224 s at 1M); measures full-text search alone")
    parser.add_argument("--reuse", action="store_true",
                        help="with --lake and --skip-vectors: reuse the lake a previous run filled, if it has --rows")
    args = parser.parse_args()
    lake_dir = args.lake or tempfile.mkdtemp(prefix="search-bench-")
    figures: dict[str, object] = {"rows": args.rows, "dimension": args.dimension, "titles": args.titles,
                                  "vectors": not args.skip_vectors}
    try:
        lake = Lake(lake_dir, background_compaction=False, ann_index_min_rows=10**12, max_batch=10**7)
        vectors_too = not args.skip_vectors
        if args.reuse and args.skip_vectors and filled(lake, args.rows):
            log(f"reusing the {args.rows:,} dialogue lines in {lake_dir}")
            vectors, title_of = np.empty((0, args.dimension)), np.empty(0)
            title_ids, segment_ids = [str(t) for t in ()], [str(s) for s in ()]
        else:
            t0 = time.perf_counter()
            vectors, title_of, title_ids, segment_ids = build(lake, args.rows, args.dimension, args.titles,
                                                              args.clusters, args.chunk, args.seed, vectors_too)
            figures["load_seconds"] = round(time.perf_counter() - t0, 1)
            seg = lake.table("segments")
            log("rebuilding scalar indexes")
            t0 = time.perf_counter()
            if vectors_too:
                reindex(lake.table(lake.embeddings.space(SPACE)["table_name"]))
            reindex(seg)
            figures["scalar_index_seconds"] = round(time.perf_counter() - t0, 1)
            log("building the FTS index over the dialogue lines")
            t0 = time.perf_counter()
            indexes.ensure_text_indexes(lake)
            column, config = indexes.TEXT_INDEXES["segments"]
            seg.create_index(column, config=config, replace=True)
            figures["fts_index_seconds"] = round(time.perf_counter() - t0, 1)
        if vectors_too:
            emb = lake.table(lake.embeddings.space(SPACE)["table_name"])
            log(f"building the IVF_PQ index ({indexes.partitions(args.rows)} partitions, "
                f"{indexes.sub_vectors(args.dimension)} sub-vectors)")
            figures["ann_index_seconds"] = round(indexes.build_vector_index(emb), 1)
            log(f"ANN index built in {figures['ann_index_seconds']} s")

        log("starting the server")
        server = serve(lake_dir, args.port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60) as client:
                if vectors_too:
                    figures.update(vector_figures(lake, client, vectors, title_of, title_ids, segment_ids, args))
                figures.update(text_figures(lake, client, args))
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        print(json.dumps(figures, indent=2))
        return 0
    finally:
        if not args.lake:
            shutil.rmtree(lake_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
