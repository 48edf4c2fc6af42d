"""Query.search and similar through GraphQL: hits with title, asset and time-coded segment, filters,
a constant number of lake reads, and a stable code for each bad input."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from graph_api.lake import Lake
from tests.conftest import GraphQLClient, make_assets, make_title

LINES = ["The ship leaves at dawn.", "A storm over the harbor.", "Coffee before the night shift.",
         "Ships rot in this harbor.", "Keep the lantern lit.", "The storm sank the ship."]
HIT = "score matched title { id name } asset { id } segment { id kind start end text }"


def corpus(lake: Lake) -> dict[str, Any]:
    titles = [make_title(lake, name=f"Film {i}") for i in range(2)]
    segs: list[dict] = []
    for title in titles:
        asset = make_assets(lake, title["id"], media_type="TEXT", role="subtitle")[0]
        segs += lake.segments.add([{"asset_id": asset["id"], "kind": "DIALOGUE", "start": 5.0 * i,
                                    "end": 5.0 * i + 4, "text": line} for i, line in enumerate(LINES)])
    vectors = np.random.default_rng(0).normal(size=(len(segs), 8))
    lake.embeddings.upsert("clip", "test-model", [{"subject_id": s["id"], "vector": v.tolist()}
                                                  for s, v in zip(segs, vectors)])
    return {"titles": titles, "segments": segs, "vectors": vectors}


def test_text_search_returns_time_coded_hits_in_a_constant_number_of_reads(lake: Lake, gql: GraphQLClient) -> None:
    corpus(lake)
    result = gql.post("query { search(text: \"ship\", first: 10) { %s } }" % HIT)
    hits = result["data"]["search"]
    assert {h["segment"]["text"] for h in hits} == {LINES[0], LINES[3], LINES[5]}
    assert len(hits) == 6 and {h["title"]["name"] for h in hits} == {"Film 0", "Film 1"}
    assert all(h["segment"]["end"] > h["segment"]["start"] and h["matched"] == ["text"] for h in hits)
    # the search (dialogue, labels) plus one batched read each for titles, assets, segments
    assert result["extensions"]["lakeReads"] <= 6


def test_vector_search_with_filters(lake: Lake, gql: GraphQLClient) -> None:
    c = corpus(lake)
    title = c["titles"][1]["id"]
    query = c["vectors"][3].tolist()
    data = gql.data("""query($v: [Float!], $t: [ID!]) {
        search(vector: $v, space: "clip", titleIds: $t, kinds: [DIALOGUE], from: 10, to: 30, first: 3) { %s } }""" % HIT,
                    {"v": query, "t": [title]})
    hits = data["search"]
    assert len(hits) == 3 and {h["title"]["id"] for h in hits} == {title}
    assert all(h["segment"]["end"] >= 10 and h["segment"]["start"] <= 30 for h in hits)
    assert hits[0]["segment"]["id"] != c["segments"][3]["id"]  # that one is in the other title
    assert hits == sorted(hits, key=lambda h: -h["score"])


def test_like_segment_and_similar(lake: Lake, gql: GraphQLClient) -> None:
    c = corpus(lake)
    seg = c["segments"][0]["id"]
    by_arg = gql.data('query($s: ID!) { search(likeSegment: $s, space: "clip", first: 4) { segment { id } } }', {"s": seg})
    similar = gql.data('query($s: ID!) { node(id: $s) { ... on Segment { similar(first: 4) { segment { id } } } } }',
                       {"s": seg})
    ids = [h["segment"]["id"] for h in by_arg["search"]]
    assert len(ids) == 4 and seg not in ids
    assert [h["segment"]["id"] for h in similar["node"]["similar"]] == ids


def test_labels_filter_and_hybrid_mode(lake: Lake, gql: GraphQLClient) -> None:
    c = corpus(lake)
    segs = c["segments"]
    lake.annotations.add([{"asset_id": segs[5]["asset_id"], "segment_id": segs[5]["id"], "label": "violence"}])
    data = gql.data('query($v: [Float!]) { with: search(vector: $v, space: "clip", labels: ["violence"], first: 5) '
                    '{ segment { id } } without: search(vector: $v, space: "clip", withoutLabels: ["violence"], '
                    'first: 50) { segment { id } } }', {"v": c["vectors"][0].tolist()})
    assert [h["segment"]["id"] for h in data["with"]] == [segs[5]["id"]]
    assert len(data["without"]) == len(segs) - 1
    hybrid = gql.data('query($v: [Float!]) { search(text: "storm", vector: $v, space: "clip", mode: HYBRID, first: 12) '
                      '{ matched } }', {"v": c["vectors"][1].tolist()})["search"]
    assert ["text", "vector"] in [h["matched"] for h in hybrid]


@pytest.mark.parametrize("query, variables, code", [
    ('query($v: [Float!]) { search(vector: $v, space: "clip") { score } }', {"v": [1.0, 2.0]}, "INVALID_ARGUMENT"),
    ('query($v: [Float!]) { search(vector: $v, space: "nope") { score } }', {"v": [1.0] * 8}, "NOT_FOUND"),
    ('{ search(kinds: [SHOT]) { score } }', {}, "INVALID_ARGUMENT"),
    ('{ search(text: "ship", first: 100000) { score } }', {}, "INVALID_ARGUMENT"),
    ('{ search(text: "\\"ship") { score } }', {}, "INVALID_ARGUMENT"),
    ('{ search(text: "ship", from: 30, to: 10) { score } }', {}, "INVALID_ARGUMENT"),
    ('{ search(text: "ship", space: "clip", mode: VECTOR) { score } }', {}, "INVALID_ARGUMENT"),
    ('{ search(likeSegment: "asset_0123", space: "clip") { score } }', {}, "INVALID_ARGUMENT"),
])
def test_bad_input_gets_a_stable_code(lake: Lake, gql: GraphQLClient, query: str, variables: dict, code: str) -> None:
    corpus(lake)
    error = gql.error(query, variables)
    assert error["extensions"]["code"] == code, error


def test_like_segment_without_an_embedding_is_not_found(lake: Lake, gql: GraphQLClient) -> None:
    title = make_title(lake)
    asset = make_assets(lake, title["id"])[0]
    seg = lake.segments.add([{"asset_id": asset["id"], "kind": "SHOT", "start": 0.0, "end": 1.0}])[0]
    corpus(lake)
    error = gql.error('query($s: ID!) { search(likeSegment: $s, space: "clip") { score } }', {"s": seg["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND" and "no embedding in space 'clip'" in error["message"]
