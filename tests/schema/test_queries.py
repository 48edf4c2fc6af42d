"""The GraphQL API over a real lake: queries, pagination, node(id), and batched reads."""
from __future__ import annotations

from graph_api.lake import Lake
from tests.conftest import GraphQLClient, asset_input, make_assets, make_title

TITLE_DETAIL = """
query($id: ID!) {
  title(id: $id) {
    name
    assets(first: 100) {
      edges { node { id role uri sizeBytes technical
        annotations { edges { node { label value confidence segment { start end } } } }
        segments { edges { node { kind start end text } } } } }
    }
  }
}"""


def _title_with_assets(lake: Lake, count: int) -> str:
    title = make_title(lake)
    assets = make_assets(lake, title["id"], count, technical={"streams": [{"codec": "prores"}]})
    segments = lake.segments.add([{"asset_id": a["id"], "kind": "SHOT", "start": 0, "end": 2} for a in assets])
    lake.annotations.add([{"asset_id": s["asset_id"], "segment_id": s["id"], "label": "smoking",
                           "category": "compliance", "value": {"flag": True}, "confidence": 0.9} for s in segments])
    return title["id"]


def test_title_detail_costs_a_constant_number_of_lake_reads(lake: Lake, gql: GraphQLClient) -> None:
    small = _title_with_assets(lake, 2)
    large = _title_with_assets(lake, 50)
    reads = {}
    for title_id in (small, large):
        result = gql.post(TITLE_DETAIL, {"id": title_id})
        assert not result.get("errors")
        edges = result["data"]["title"]["assets"]["edges"]
        assert all(e["node"]["annotations"]["edges"][0]["node"]["segment"]["end"] == 2 for e in edges)
        reads[title_id] = result["extensions"]["lakeReads"]
    assert len(gql.data(TITLE_DETAIL, {"id": large})["title"]["assets"]["edges"]) == 50
    assert reads[large] == reads[small], reads
    assert reads[large] <= 5  # title, its assets, their segments, their annotations, the segments annotated


def test_connections_page_with_opaque_cursors(lake: Lake, gql: GraphQLClient) -> None:
    title = make_title(lake)
    ids = [a["id"] for a in make_assets(lake, title["id"], 7)]
    seen: list[str] = []
    after = None
    while True:
        page = gql.data("query($id: ID!, $after: String) { title(id: $id) { assets(first: 3, after: $after) "
                        "{ edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }",
                        {"id": title["id"], "after": after})["title"]["assets"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert title["id"] not in after and "3" != after  # opaque, not an offset or an id
    assert seen == sorted(ids)


def test_filters_on_asset_lists(lake: Lake, gql: GraphQLClient) -> None:
    title = make_title(lake)
    lake.assets.register([asset_input(title["id"], role="source"), asset_input(title["id"], role="proxy"),
                          asset_input(title["id"], media_type="AUDIO", role="audio-stem")])
    data = gql.data('query($id: ID!) { title(id: $id) { video: assets(mediaType: VIDEO) { edges { node { role } } } '
                    'proxies: assets(role: "proxy") { edges { node { role } } } } }', {"id": title["id"]})["title"]
    assert sorted(e["node"]["role"] for e in data["video"]["edges"]) == ["proxy", "source"]
    assert [e["node"]["role"] for e in data["proxies"]["edges"]] == ["proxy"]


def test_segments_filter_by_kind_and_time_window(lake: Lake, gql: GraphQLClient) -> None:
    asset = make_assets(lake, make_title(lake)["id"])[0]
    lake.segments.add([
        {"asset_id": asset["id"], "kind": "SHOT", "start": 0, "end": 10},
        {"asset_id": asset["id"], "kind": "SHOT", "start": 10, "end": 20},
        {"asset_id": asset["id"], "kind": "DIALOGUE", "start": 12, "end": 14, "text": "Hello, ship."},
    ])
    data = gql.data('query($id: ID!) { asset(id: $id) { segments(kind: SHOT, from: 11, to: 30) '
                    '{ edges { node { start end } } } lines: segments(kind: DIALOGUE) { edges { node { text } } } } }',
                    {"id": asset["id"]})["asset"]
    assert [e["node"]["start"] for e in data["segments"]["edges"]] == [10.0]
    assert data["lines"]["edges"][0]["node"]["text"] == "Hello, ship."


def test_titles_search_kind_and_children(lake: Lake, gql: GraphQLClient) -> None:
    series = make_title(lake, name="Harbor Lights", kind="SERIES")
    make_title(lake, name="Harbor Lights: Pilot", kind="EPISODE", parent_id=series["id"])
    make_title(lake, name="Desert", kind="MOVIE")
    data = gql.data('{ titles(search: "HARBOR", kind: SERIES) { edges { node { name '
                    'children { edges { node { name kind parent { name } } } } } } } }')
    [edge] = data["titles"]["edges"]
    child = edge["node"]["children"]["edges"][0]["node"]
    assert child == {"name": "Harbor Lights: Pilot", "kind": "EPISODE", "parent": {"name": "Harbor Lights"}}


def test_node_dispatches_on_the_id_prefix_and_unknown_ids_are_null(lake: Lake, gql: GraphQLClient) -> None:
    title = make_title(lake, name="Nodey")
    asset = make_assets(lake, title["id"])[0]
    data = gql.data('query($t: ID!, $a: ID!) { t: node(id: $t) { id ... on Title { name } } '
                    'a: node(id: $a) { ... on Asset { uri title { name } } } '
                    'missing: node(id: "asset_0000") { id } bogus: node(id: "nonsense") { id } '
                    'none: asset(id: "asset_nope") { id } }', {"t": title["id"], "a": asset["id"]})
    assert data["t"] == {"id": title["id"], "name": "Nodey"}
    assert data["a"]["title"]["name"] == "Nodey"
    assert data["missing"] is None and data["bogus"] is None and data["none"] is None


def test_old_versions_stay_readable(lake: Lake, gql: GraphQLClient) -> None:
    title = make_title(lake)
    v1 = lake.assets.register([asset_input(title["id"], external_id="src", checksum="sha256:" + "1" * 64)])[0]
    lake.assets.register([asset_input(title["id"], external_id="src", checksum="sha256:" + "2" * 64)])
    data = gql.data('query($id: ID!) { now: asset(id: $id) { version checksum versions { version isCurrent } } '
                    'then: asset(id: $id, version: 1) { version checksum isCurrent } }', {"id": v1["id"]})
    assert data["now"]["version"] == 2
    assert data["now"]["versions"] == [{"version": 1, "isCurrent": False}, {"version": 2, "isCurrent": True}]
    assert data["then"] == {"version": 1, "checksum": "sha256:" + "1" * 64, "isCurrent": False}


def test_embeddings_are_listed_per_space(lake: Lake, gql: GraphQLClient) -> None:
    asset = make_assets(lake, make_title(lake)["id"])[0]
    assert gql.data('mutation($i: [EmbeddingInput!]!) { upsertEmbeddings(space: "frames-v1", model: "color-hist", '
                    'input: $i) }', {"i": [{"subjectId": asset["id"], "vector": [0.5, 0.5, 0.0, 0.1]}]}) == \
        {"upsertEmbeddings": 1}
    data = gql.data('query($id: ID!) { asset(id: $id) { embeddings { space model dimension producedBy { id } } } }',
                    {"id": asset["id"]})
    assert data["asset"]["embeddings"] == [{"space": "frames-v1", "model": "color-hist", "dimension": 4,
                                            "producedBy": None}]


def test_lineage_fields_are_empty_for_delivered_assets(lake: Lake, gql: GraphQLClient) -> None:
    asset = make_assets(lake, make_title(lake)["id"])[0]
    data = gql.data('query($id: ID!) { asset(id: $id) { producedBy { id } derivedFrom { id } '
                    'derivatives { edges { node { id } } } stale } }', {"id": asset["id"]})["asset"]
    assert data == {"producedBy": None, "derivedFrom": [], "derivatives": {"edges": []}, "stale": False}
