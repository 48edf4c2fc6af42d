"""One rule for ids the caller does not know: a lookup returns null, a traversal or an
operation that needs an existing root fails with NOT_FOUND naming the id."""
from __future__ import annotations

import pytest

from graph_api.lake import Lake
from tests.conftest import GraphQLClient, checksum, make_assets, make_title

LOOKUPS = {
    "node": 'node(id: "{id}") {{ id }}',
    "title": 'title(id: "{id}") {{ id }}',
    "asset": 'asset(id: "{id}") {{ id }}',
    "run": 'run(id: "{id}") {{ id }}',
}
TRAVERSALS = {
    "lineage": 'lineage(id: "{id}") {{ root }}',
    "provenance": 'provenance(id: "{id}") {{ asset {{ id }} }}',
    "impact": 'impact(id: "{id}") {{ totalCount }}',
    "impactGroups": 'impactGroups(id: "{id}") {{ role }}',
    "staleAssets": 'staleAssets(root: "{id}") {{ reasons }}',
    "recomputePlan": 'recomputePlan(ids: ["{id}"]) {{ id }}',
}


def _found(selection: str) -> str:
    return "query { found: " + selection + " }"


@pytest.fixture
def derived(lake: Lake, gql: GraphQLClient) -> dict[str, str]:
    """A delivered source no run has read, and a proxy derived from another source."""
    title = make_title(lake)["id"]
    untouched, source = (a["id"] for a in make_assets(lake, title, 2))
    run = gql.data("""mutation($r: RunInput!) { recordRun(input: $r) { id outputs { edges { node { id } } } } }""",
                   {"r": {"job": {"namespace": "tests", "name": "proxy", "version": "1"}, "inputs": [source],
                          "outputs": [{"titleId": title, "mediaType": "VIDEO", "role": "proxy",
                                       "uri": "s3://t/proxy.mp4", "checksum": checksum("proxy")}]}})["recordRun"]
    return {"title": title, "untouched": untouched, "source": source, "run": run["id"],
            "proxy": run["outputs"]["edges"][0]["node"]["id"]}


def test_a_lookup_of_an_unknown_id_is_null(gql: GraphQLClient, derived: dict[str, str]) -> None:
    unknown = ["title_nope", "asset_nope", "run_nope", "seg_nope", "ann_nope", "nope"]
    aliases = {f"{field}{i}": LOOKUPS[field].format(id=id_) for field in LOOKUPS for i, id_ in enumerate(unknown)}
    result = gql.post("query { " + " ".join(f"{alias}: {q}" for alias, q in aliases.items()) + " }")
    assert not result.get("errors") and result["data"] == dict.fromkeys(aliases)


def test_an_unknown_version_of_a_known_asset_is_null(gql: GraphQLClient, derived: dict[str, str]) -> None:
    assert gql.data('query($id: ID!) { asset(id: $id, version: 9) { id } }', {"id": derived["source"]}) == {
        "asset": None}


@pytest.mark.parametrize("field", sorted(TRAVERSALS))
def test_a_traversal_from_an_unknown_id_is_not_found(gql: GraphQLClient, derived: dict[str, str], field: str) -> None:
    # ids of every kind, malformed embedding ids and no id the lake makes at all (found by the fuzzer: these
    # were INTERNAL)
    for unknown in ("asset_nope", "run_nope", "seg_nope", "emb_x", "emb:x", "emb:space:asset_nope", "nope"):
        result = gql.post(_found(TRAVERSALS[field].format(id=unknown)))
        [error] = result["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND" and unknown in error["message"], error
        assert error["path"] == ["found"]
    # known roots answer: a delivered asset no run has read, a source, a derived asset
    for known in (derived["untouched"], derived["source"], derived["proxy"]):
        result = gql.post(_found(TRAVERSALS[field].format(id=known)))
        assert not result.get("errors"), (known, result["errors"])
    if field in ("lineage", "impact", "impactGroups", "staleAssets"):  # any lineage node may be their root
        assert not gql.post(_found(TRAVERSALS[field].format(id=derived["run"]))).get("errors")


def test_recompute_plan_names_the_unknown_one_among_known_ids(gql: GraphQLClient, derived: dict[str, str]) -> None:
    error = gql.error('query($ids: [ID!]) { recomputePlan(ids: $ids) { id } }',
                      {"ids": [derived["proxy"], "asset_gone"]})
    assert error["extensions"]["code"] == "NOT_FOUND" and "asset_gone" in error["message"]


def test_each_root_field_that_takes_an_id_says_the_rule(gql: GraphQLClient) -> None:
    fields = gql.data("{ __schema { queryType { fields { name description args { name } } } } }")
    described = {f["name"]: f["description"] or "" for f in fields["__schema"]["queryType"]["fields"]}
    for name in LOOKUPS:
        assert "null for an unknown id" in described[name], name
    for name in TRAVERSALS:
        assert "NOT_FOUND" in described[name], name
