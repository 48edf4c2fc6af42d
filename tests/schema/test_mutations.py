"""Mutations write whole batches or nothing; bad input gets a stable extensions.code, and the lake
is read back afterwards to prove nothing was written."""
from __future__ import annotations

import pytest

from graph_api.lake import Lake
from tests.conftest import GraphQLClient, make_assets, make_title

REGISTER = "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id version title { name } } }"
SEGMENTS = "mutation($i: [SegmentInput!]!) { addSegments(input: $i) { id start end } }"
ANNOTATE = "mutation($i: [AnnotationInput!]!) { addAnnotations(input: $i) { id label value segment { id } } }"
EMBED = "mutation($i: [EmbeddingInput!]!) { upsertEmbeddings(space: \"s\", model: \"m\", input: $i) }"


def _asset(title_id: str, **extra: object) -> dict:
    return {"titleId": title_id, "mediaType": "VIDEO", "role": "source", "uri": "s3://b/a.mov", **extra}


def test_create_title_and_register_assets(lake: Lake, gql: GraphQLClient) -> None:
    title = gql.data('mutation { createTitle(input: {name: "Ocean Voyage", kind: MOVIE, releaseYear: 2024, '
                     'externalId: "eidr:1"}) { id name kind releaseYear restricted externalId } }')["createTitle"]
    assert title["id"].startswith("title_") and title["restricted"] is False
    assets = gql.data(REGISTER, {"i": [_asset(title["id"], sizeBytes=2**40, technical={"container": "mov"}),
                                       _asset(title["id"], role="proxy")]})["registerAssets"]
    assert [a["title"]["name"] for a in assets] == ["Ocean Voyage"] * 2
    row = lake.assets.get(assets[0]["id"])
    assert row["size_bytes"] == 2**40 and row["technical"] == '{"container": "mov"}'


def test_segments_annotations_and_json_values_round_trip(lake: Lake, gql: GraphQLClient) -> None:
    asset = make_assets(lake, make_title(lake)["id"])[0]
    [segment] = gql.data(SEGMENTS, {"i": [{"assetId": asset["id"], "kind": "SHOT", "start": 1.5, "end": 4}]})[
        "addSegments"]
    [annotation] = gql.data(ANNOTATE, {"i": [{"assetId": asset["id"], "segmentId": segment["id"], "label": "gore",
                                              "category": "compliance", "value": {"severity": "mild", "n": [1, 2]},
                                              "confidence": 0.7}]})["addAnnotations"]
    assert annotation["value"] == {"severity": "mild", "n": [1, 2]}
    assert annotation["segment"]["id"] == segment["id"]
    assert lake.annotations.get(annotation["id"])["start"] == 1.5  # time-coded like its segment


@pytest.mark.parametrize(
    ("mutation", "items", "code", "table"),
    [
        (REGISTER, lambda t, a: [_asset(t), _asset("title_unknown")], "NOT_FOUND", "assets"),
        (REGISTER, lambda t, a: [_asset(t, externalId="dup"), _asset(t, externalId="dup")], "CONFLICT", "assets"),
        (REGISTER, lambda t, a: [_asset(t, checksum="md5:abc")], "INVALID_ARGUMENT", "assets"),
        (REGISTER, lambda t, a: [_asset(t, technical="{not json")], "INVALID_ARGUMENT", "assets"),
        (REGISTER, lambda t, a: [_asset(t, width=-5)], "INVALID_ARGUMENT", "assets"),
        (REGISTER, lambda t, a: [], "INVALID_ARGUMENT", "assets"),
        (SEGMENTS, lambda t, a: [{"assetId": a, "kind": "SHOT", "start": 0, "end": 1},
                                 {"assetId": a, "kind": "SHOT", "start": 3, "end": 2}], "INVALID_ARGUMENT", "segments"),
        (SEGMENTS, lambda t, a: [{"assetId": a, "kind": "SHOT", "start": -1, "end": 2}], "INVALID_ARGUMENT",
         "segments"),
        (SEGMENTS, lambda t, a: [{"assetId": "asset_unknown", "kind": "SHOT", "start": 0, "end": 2}], "NOT_FOUND",
         "segments"),
        (SEGMENTS, lambda t, a: [{"assetId": a, "kind": "SHOT", "start": 0, "end": 2, "runId": "run_nope"}],
         "NOT_FOUND", "segments"),
        (ANNOTATE, lambda t, a: [{"assetId": a, "label": "x", "confidence": 1.5}], "INVALID_ARGUMENT", "annotations"),
        (ANNOTATE, lambda t, a: [{"assetId": a, "label": "x", "segmentId": "seg_unknown"}], "NOT_FOUND",
         "annotations"),
        (ANNOTATE, lambda t, a: [], "INVALID_ARGUMENT", "annotations"),
        (EMBED, lambda t, a: [{"subjectId": a, "vector": [1, 2, 3]}, {"subjectId": a + "x", "vector": [1, 2, 3]}],
         "NOT_FOUND", None),
        (EMBED, lambda t, a: [{"subjectId": a, "vector": [1, 2, 3]}, {"subjectId": "seg_x", "vector": [1, 2]}],
         "INVALID_ARGUMENT", None),
    ],
)
def test_bad_batches_get_a_code_and_write_nothing(lake: Lake, gql: GraphQLClient, mutation: str, items, code: str,
                                                  table: str | None) -> None:
    title = make_title(lake)
    asset = make_assets(lake, title["id"])[0]
    before = {name: lake.table(name).count_rows() for name in ("assets", "segments", "annotations")}
    error = gql.error(mutation, {"i": items(title["id"], asset["id"])})
    assert error["extensions"]["code"] == code, error
    assert "Traceback" not in error["message"]
    after = {name: lake.table(name).count_rows() for name in ("assets", "segments", "annotations")}
    assert after == before
    assert "s" not in lake.embeddings.spaces()


def test_a_vector_of_the_wrong_dimension_for_its_space_is_refused(lake: Lake, gql: GraphQLClient) -> None:
    assets = make_assets(lake, make_title(lake)["id"], 2)
    gql.data(EMBED, {"i": [{"subjectId": assets[0]["id"], "vector": [1, 2, 3]}]})
    error = gql.error(EMBED, {"i": [{"subjectId": assets[1]["id"], "vector": [1, 2]}]})
    assert error["extensions"]["code"] == "INVALID_ARGUMENT" and "dimension 2" in error["message"]
    assert lake.embeddings.list("s").num_rows == 1


def test_problem_details_name_the_item_and_field_in_graphql_terms(lake: Lake, gql: GraphQLClient) -> None:
    title = make_title(lake)
    error = gql.error(REGISTER, {"i": [_asset(title["id"]), _asset("title_gone")]})
    assert "input[1].titleId" in error["message"]
    assert error["extensions"]["problems"][0]["field"] == "titleId"
    assert error["extensions"]["problems"][0]["index"] == 1


def test_first_above_the_maximum_page_size_is_refused(lake: Lake, gql: GraphQLClient) -> None:
    error = gql.error("{ titles(first: 100000) { edges { cursor } } }")
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "maximum page size" in error["message"]
    error = gql.error('{ titles(after: "not-a-cursor") { edges { cursor } } }')
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"


def test_malformed_requests_get_codes_not_stack_traces(gql: GraphQLClient) -> None:
    response = gql.http.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert gql.error("{ titles { edges { node { nope } } } }")["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert gql.error("{ titles(")["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    error = gql.error(REGISTER, {"i": [{"titleId": "t", "mediaType": "VIDEO", "role": "r", "uri": "u",
                                       "sizeBytes": 1.5}]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
