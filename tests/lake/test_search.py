"""Search through the Python data API: ground truth, full-text, filters, fusion, indexes, bad input."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from graph_api.errors import InvalidArgument, NotFound, PageSizeExceeded
from graph_api.lake import Access, Lake
from graph_api.lake.indexes import vector_index
from graph_api.lake.search import RRF_K, SearchRequest
from graph_api.lake.text_embedders import register_text_embedder, unregister_text_embedder
from tests.conftest import make_assets, make_title

LINES = [
    "The ship leaves at dawn, with or without you.",
    "Did you see the storm coming over the harbor?",
    "I need another coffee before the night shift.",
    "Ships rot in this harbor.",
    "Keep the lantern lit until the boat is in.",
    "The storm sank the ship.",
]


def unit(v: Any) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def dialogue(lake: Lake, lines: list[str] = LINES) -> tuple[dict, dict, list[dict]]:
    title = make_title(lake)
    asset = make_assets(lake, title["id"], media_type="TEXT", role="subtitle")[0]
    segments = lake.segments.add([{"asset_id": asset["id"], "kind": "DIALOGUE", "start": 5.0 * i,
                                   "end": 5.0 * i + 4, "text": line} for i, line in enumerate(lines)])
    return title, asset, segments


def vectors_for(lake: Lake, space: str, subjects: list[dict], dimension: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(len(subjects), dimension))
    lake.embeddings.upsert(space, "test-model", [{"subject_id": s["id"], "vector": v.tolist()}
                                                 for s, v in zip(subjects, vectors, strict=True)])
    return vectors


def exact(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    sims = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)) @ unit(query)
    return list(np.argsort(-sims, kind="stable")[:k])


def test_vector_search_matches_exact_ground_truth(lake: Lake) -> None:
    title = make_title(lake)
    asset = make_assets(lake, title["id"])[0]
    shots = lake.segments.add([{"asset_id": asset["id"], "kind": "SHOT", "start": i, "end": i + 1} for i in range(40)])
    vectors = vectors_for(lake, "clip", shots, 8)
    query = np.random.default_rng(7).normal(size=8)
    hits = lake.search.vector("clip", query.tolist(), first=5).to_pylist()
    expected = exact(vectors, query, 5)
    assert [h["segment_id"] for h in hits] == [shots[i]["id"] for i in expected]
    sims = [float(unit(vectors[i]) @ unit(query)) for i in expected]
    assert [h["score"] for h in hits] == pytest.approx(sims, abs=1e-5)
    assert all(h["title_id"] == title["id"] and h["asset_id"] == asset["id"] and h["start"] is not None for h in hits)


def test_full_text_hand_checked(lake: Lake) -> None:
    _, asset, segs = dialogue(lake)
    texts = lambda table: {row["text"] for row in table.to_pylist()}  # noqa: E731
    # stemming: "ships" matches "ship"; the four lines about ships, nothing else
    assert texts(lake.search.text("ship", first=10)) == {LINES[0], LINES[3], LINES[5]}
    assert texts(lake.search.text("+ship -storm", first=10)) == {LINES[0], LINES[3]}
    assert texts(lake.search.text('"leaves at dawn"', first=10)) == {LINES[0]}
    assert texts(lake.search.text('"dawn at leaves"', first=10)) == set()
    both = lake.search.text("storm harbor", first=10).to_pylist()
    # the line with both words ranks first
    assert both[0]["text"] == LINES[1] and {h["text"] for h in both} == {LINES[1], LINES[3], LINES[5]}
    hit = both[0]
    assert (hit["asset_id"], hit["start"], hit["end"], hit["matched"]) == (asset["id"], 5.0, 9.0, ["text"])


def test_text_matches_annotation_labels_as_time_coded_segments(lake: Lake) -> None:
    title = make_title(lake)
    asset = make_assets(lake, title["id"])[0]
    shots = lake.segments.add([{"asset_id": asset["id"], "kind": "SHOT", "start": 10.0 * i, "end": 10.0 * i + 10}
                               for i in range(6)])
    lake.annotations.add([
        {"asset_id": asset["id"], "label": "smoking", "category": "compliance", "start": 12.0, "end": 18.0},
        {"asset_id": asset["id"], "segment_id": shots[4]["id"], "label": "smoking"},
        {"asset_id": asset["id"], "segment_id": shots[5]["id"], "label": "gore"},
    ])
    hits = lake.search.text("smoking", first=10).to_pylist()
    assert {h["segment_id"] for h in hits} == {shots[1]["id"], shots[4]["id"]}
    assert all(h["matched"] == ["label"] for h in hits)
    # "in the first thirty seconds"
    assert [h["segment_id"] for h in lake.search.text("smoking", first=10, end=30.0).to_pylist()] == [shots[1]["id"]]


def corpus_with_index(lake: Lake, titles: int = 20, per_title: int = 100, dimension: int = 16) -> dict[str, Any]:
    """titles x per_title shots (every 10th a DIALOGUE line) with vectors, and an ANN index built."""
    made = [make_title(lake) for _ in range(titles)]
    assets = [make_assets(lake, t["id"], duration_seconds=600.0)[0] for t in made]
    segments: list[dict] = []
    for asset in assets:
        segments += lake.segments.add([{"asset_id": asset["id"], "kind": "DIALOGUE" if i % 10 == 0 else "SHOT",
                                        "start": float(i), "end": float(i) + 1.0,
                                        "text": f"line {i}" if i % 10 == 0 else None} for i in range(per_title)])
    vectors = vectors_for(lake, "shots", segments, dimension, seed=3)
    space = lake.embeddings.space("shots")
    assert vector_index(lake.table(space["table_name"])) is not None, "the threshold should have built the index"
    return {"titles": made, "assets": assets, "segments": segments, "vectors": vectors}


@pytest.fixture
def indexed_lake(lake_dir: str) -> Lake:
    return Lake(lake_dir, background_compaction=False, ann_index_min_rows=1_000)


def test_a_selective_filter_never_comes_up_short_with_an_ann_index(indexed_lake: Lake) -> None:
    lake = indexed_lake
    c = corpus_with_index(lake)
    wanted_title = c["titles"][7]["id"]
    # 10 of 2,000 rows match: a post-filter after ANN would return almost none of them
    matching = [i for i, s in enumerate(c["segments"]) if s["title_id"] == wanted_title and s["kind"] == "DIALOGUE"]
    assert len(matching) == 10
    query = np.random.default_rng(11).normal(size=16)
    hits = lake.search.vector("shots", query.tolist(), first=10, title_ids=[wanted_title], kinds=["DIALOGUE"])
    assert hits.num_rows == 10
    assert set(hits.column("title_id").to_pylist()) == {wanted_title}
    assert set(hits.column("segment_kind").to_pylist()) == {"DIALOGUE"}
    # asking for more than match returns all that match, not more
    assert lake.search.vector("shots", query.tolist(), first=50, title_ids=[wanted_title],
                              kinds=["DIALOGUE"]).num_rows == 10
    # under the filter the ranking is exact: the ten matching rows, nearest first
    order = [matching[i] for i in exact(c["vectors"][matching], query, 10)]
    assert hits.column("segment_id").to_pylist() == [c["segments"][i]["id"] for i in order]


def test_time_range_media_type_role_and_label_filters(indexed_lake: Lake) -> None:
    lake = indexed_lake
    c = corpus_with_index(lake, titles=12)
    flagged = c["assets"][2]
    lake.annotations.add([{"asset_id": flagged["id"], "label": "smoking", "start": 20.0, "end": 29.5}])
    query = np.random.default_rng(5).normal(size=16).tolist()
    hits = lake.search.vector("shots", query, first=30, labels=["smoking"]).to_pylist()
    assert len(hits) == 11 and {h["asset_id"] for h in hits} == {flagged["id"]}
    assert all(h["end"] >= 20.0 and h["start"] <= 29.5 for h in hits)
    without = lake.search.vector("shots", query, first=200, without_labels=["smoking"], title_ids=[flagged["title_id"]])
    assert without.num_rows == 89
    window = lake.search.vector("shots", query, first=500, start=50.0, end=59.0).to_pylist()
    assert len(window) == 12 * 11 and all(h["end"] >= 50.0 and h["start"] <= 59.0 for h in window)
    assert lake.search.vector("shots", query, first=5, media_types=["AUDIO"]).num_rows == 0
    assert lake.search.vector("shots", query, first=5, media_types=["VIDEO"], roles=["source"]).num_rows == 5
    texts = lake.search.text("line", first=20, media_types=["VIDEO"], title_ids=[flagged["title_id"]], end=35.0)
    assert sorted(texts.column("start").to_pylist()) == [0.0, 10.0, 20.0, 30.0]


def test_access_limits_search_to_visible_titles(lake: Lake) -> None:
    title, _, segs = dialogue(lake)
    other, _, _ = dialogue(lake)
    view = lake.with_access(Access(title_ids=frozenset({title["id"]})))
    assert {h["title_id"] for h in view.search.text("ship", first=10).to_pylist()} == {title["id"]}
    assert {h["title_id"] for h in lake.search.text("ship", first=10).to_pylist()} == {title["id"], other["id"]}


def test_hybrid_fuses_text_and_vector_ranks(lake: Lake) -> None:
    _, _, segs = dialogue(lake)
    # vectors: line 5 nearest the query, then 1, then 0 ...
    basis = np.eye(4)
    vectors = [basis[2], basis[3] + 0.1 * basis[0], basis[3], basis[1], basis[3] + 0.2 * basis[1], basis[0]]
    lake.embeddings.upsert("lines", "test-model", [{"subject_id": s["id"], "vector": list(map(float, v))}
                                                   for s, v in zip(segs, vectors, strict=True)])
    query = [1.0, 0.0, 0.0, 0.0]
    text_order = [h["subject_id"] for h in lake.search.text("ship", first=10).to_pylist()]
    vector_order = [h["subject_id"] for h in lake.search.vector("lines", query, first=24).to_pylist()]
    fused = lake.search.hybrid("ship", space="lines", vector=query, first=6).to_pylist()
    expected: dict[str, float] = {}
    for ranking in (text_order, vector_order):
        for rank, subject in enumerate(ranking, start=1):
            expected[subject] = expected.get(subject, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(expected, key=lambda s: (-expected[s], s))[:6]
    assert [h["subject_id"] for h in fused] == best
    assert [h["score"] for h in fused] == pytest.approx([expected[s] for s in best])
    # found by both rankings, it outranks lines found by one
    assert fused[0]["matched"] == ["text", "vector"] and fused[0]["text"] == LINES[5]


def test_semantic_text_search_uses_the_space_text_embedder(lake: Lake) -> None:
    _, _, segs = dialogue(lake)
    vocabulary = ["ship", "storm", "coffee", "harbor", "lantern", "dawn", "boat", "night"]

    def toy(texts: list[str]) -> np.ndarray:  # a deterministic bag of words
        return np.array([[1.0 if w in t.lower() else 0.01 for w in vocabulary] for t in texts])

    register_text_embedder("toy-bow", toy)
    try:
        lake.embeddings.upsert("bow", "toy-bow", [{"subject_id": s["id"], "vector": toy([s["text"]])[0].tolist()}
                                                  for s in segs])
        # no line holds "boats" (nor does stemming make it "boat"): only the embedder relates them
        assert lake.search.text("lantern boats", first=3).to_pylist()[0]["text"] == LINES[4]
        semantic = lake.search.semantic("boat night", space="bow", first=2).to_pylist()
        assert [h["text"] for h in semantic] == [LINES[4], LINES[2]] or semantic[0]["text"] in (LINES[4], LINES[2])
        assert all(h["matched"] == ["vector"] for h in semantic)
        # AUTO with a space that embeds text: full-text and semantic, fused
        fused = lake.search.run(SearchRequest(text="ship", space="bow", first=3)).to_pylist()
        assert "text" in fused[0]["matched"] and "vector" in fused[0]["matched"]
    finally:
        unregister_text_embedder("toy-bow")


def test_like_finds_neighbours_and_excludes_the_example(lake: Lake) -> None:
    _, _, segs = dialogue(lake)
    vectors = vectors_for(lake, "clip", segs, 6)
    hits = lake.search.like(segs[2]["id"], space="clip", first=3).to_pylist()
    others = [i for i in range(len(segs)) if i != 2]
    expected = [others[i] for i in exact(vectors[others], vectors[2], 3)]
    assert [h["segment_id"] for h in hits] == [segs[i]["id"] for i in expected]
    # one space holds the example: naming it is optional
    assert lake.search.like(segs[2]["id"], first=3).num_rows == 3


def test_optimize_builds_then_retrains_the_ann_index(lake_dir: str) -> None:
    lake = Lake(lake_dir, background_compaction=False, ann_index_min_rows=10_000)
    title = make_title(lake)
    asset = make_assets(lake, title["id"])[0]
    shots = lake.segments.add([{"asset_id": asset["id"], "kind": "SHOT", "start": i * 0.05, "end": i * 0.05 + 0.05}
                               for i in range(900)])
    vectors_for(lake, "clip", shots[:300], 8)
    name = lake.embeddings.space("clip")["table_name"]
    table = lake.table(name)
    assert vector_index(table) is None  # below the threshold: exact
    lake.ann_index_min_rows = 256
    assert lake.optimize()[name]["ann_index"] == "built"
    vectors_for(lake, "clip", shots[300:400], 8, seed=1)
    assert "ann_index" not in lake.optimize()[name]  # 100 new rows under 300 indexed: appended to the index
    stats = table.index_stats(vector_index(table).name)
    assert (stats.num_indexed_rows, stats.num_unindexed_rows) == (400, 0)
    lake.ann_index_min_rows = 10**9  # nothing automatic: optimize retrains once most rows are unindexed
    vectors_for(lake, "clip", shots[400:], 8, seed=2)
    assert lake.optimize()[name]["ann_index"] == "rebuilt"
    assert lake.search.vector("clip", [1.0] * 8, first=900).num_rows == 900


@pytest.mark.parametrize("call, error", [
    (lambda s: s.vector("clip", [1.0, 0.0], first=3), InvalidArgument),  # wrong dimension
    (lambda s: s.vector("nope", [1.0] * 6, first=3), NotFound),  # unknown space
    (lambda s: s.run(SearchRequest()), InvalidArgument),  # neither text, vector nor example
    (lambda s: s.text("ship", first=5_000), PageSizeExceeded),
    (lambda s: s.text('"ship', first=3), InvalidArgument),  # unclosed quote
    (lambda s: s.text("-ship", first=3), InvalidArgument),  # only exclusions
    (lambda s: s.text("  ", first=3), InvalidArgument),
    (lambda s: s.hybrid("ship", space="clip", first=3), InvalidArgument),  # the space cannot embed text
    (lambda s: s.vector("clip", [1.0] * 6, first=3, kinds=["SHOTS"]), InvalidArgument),
    (lambda s: s.vector("clip", [1.0] * 6, first=3, start=10.0, end=5.0), InvalidArgument),
])
def test_bad_input_is_refused_with_a_stable_code(lake: Lake, call: Any, error: type) -> None:
    _, _, segs = dialogue(lake)
    vectors_for(lake, "clip", segs, 6)
    with pytest.raises(error) as raised:
        call(lake.search)
    assert raised.value.code == error.code


def test_like_without_an_embedding_in_the_space_is_not_found(lake: Lake) -> None:
    _, _, segs = dialogue(lake)
    vectors_for(lake, "clip", segs[:3], 6)
    with pytest.raises(NotFound, match="has no embedding in space 'clip'"):
        lake.search.like(segs[4]["id"], space="clip", first=3)
