"""The example operations GraphiQL opens as tabs: a few queries, one runnable example per mutation, and a
subscription.

Defined once here; the GraphiQL page is built from them and a test runs every one of them (variables
included) against a real lake. Ids differ from lake to lake, so variables name them with placeholders
(``{title_id}``, ``{asset_id}``, ``{lineage_id}``, ``{lineage_direction}``) that ``fill`` replaces with
ids of the lake being served, looked up once per page with ``IDS_QUERY``. Mutations that can be
idempotent are (``externalId``, ``idempotencyKey``): running a tab twice updates, it does not duplicate.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph_api.workflows.timelines import TimelineClip, build_timeline


@dataclass(frozen=True)
class Example:
    name: str
    query: str
    variables: Mapping[str, Any]

    def variables_for(self, ids: Mapping[str, str]) -> dict[str, Any]:
        return fill(dict(self.variables), ids)


# the title CreateTitle makes; the other writes go to the title of the lake's first source (or to
# this title in a lake without sources)
EXAMPLE_TITLE = "Example: The Lighthouse"

IDS_QUERY = """\
query ExampleIds($example: String!) {
  example: titles(search: $example, first: 1) { edges { node { id } } }
  titles(first: 50) {
    edges {
      node {
        id
        sources: assets(role: "source", first: 1) {
          edges { node { id uri durationSeconds notes(first: 1) { edges { node { id } } } } }
        }
        proxies: assets(role: "proxy", first: 1) { edges { node { id } } }
      }
    }
  }
}
"""
IDS_VARIABLES = {"example": EXAMPLE_TITLE}

# what a placeholder becomes on a lake that has no such thing (yet)
UNKNOWN = {"title_id": "title_...", "asset_id": "asset_...", "lineage_id": "asset_...",
           "lineage_direction": "UPSTREAM", "note_id": "note_...", "cut_otio": "{}"}


def ids_from(data: Mapping[str, Any] | None) -> dict[str, str]:
    """The placeholders' values from ``IDS_QUERY``'s answer.

    The lineage tab must show a graph, so it starts on a derived proxy looking UPSTREAM (its source and
    the run that made it) or, in a lake without derived assets, on a source looking DOWNSTREAM."""
    ids = dict(UNKNOWN)
    if not data:
        return ids
    titles = [e["node"] for e in data["titles"]["edges"]]
    sources = [(t["id"], e["node"]["id"]) for t in titles for e in t["sources"]["edges"]]
    source_nodes = [e["node"] for t in titles for e in t["sources"]["edges"]]
    proxies = [e["node"]["id"] for t in titles for e in t["proxies"]["edges"]]
    example = [e["node"]["id"] for e in data["example"]["edges"]]
    if example or titles:
        ids["title_id"] = (example or [titles[0]["id"]])[0]
    if sources:
        # the writes go to the source's title: the same title on every reload, whatever the
        # examples added (an externalId belongs to one title)
        ids["title_id"], ids["asset_id"] = sources[0]
        ids["lineage_id"], ids["lineage_direction"] = sources[0][1], "DOWNSTREAM"
        first = source_nodes[0]
        ids["cut_otio"] = _one_clip_cut(first["id"], min(2.0, first.get("durationSeconds") or 2.0))
        notes = first.get("notes", {}).get("edges", [])
        if notes:
            ids["note_id"] = notes[0]["node"]["id"]
    if proxies:
        ids["lineage_id"], ids["lineage_direction"] = proxies[0], "UPSTREAM"
    return ids


def _one_clip_cut(asset_id: str, seconds: float) -> str:
    """An OpenTimelineIO timeline of one clip: the first ``seconds`` of the asset, named by its id."""
    return build_timeline("Example cut", [TimelineClip("opening", 0.0, max(seconds, 1 / 24), asset_id=asset_id)])


def fill(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with every string that is a placeholder (``"{asset_id}"``) replaced by its id."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def tabs(ids: Mapping[str, str]) -> list[dict[str, str]]:
    """The examples as GraphiQL tabs: the query and its variables as the editors show them."""
    return [{"name": e.name, "query": e.query, "variables": json.dumps(e.variables_for(ids), indent=2)}
            for e in EXAMPLES]


QUERIES = [
    Example("TitleWithAssets", """\
# A title with its assets. Run it with the ▶ button (or Ctrl-Enter); its variables are in
# the Variables tab below, and request headers can be set in the Headers tab.
query TitleWithAssets($search: String) {
  titles(search: $search, first: 5) {
    edges {
      node {
        id
        name
        kind
        releaseYear
        assets(first: 20) {
          edges {
            node { id mediaType role uri version durationSeconds width height }
          }
        }
      }
    }
  }
}
""", {"search": None}),
    Example("AssetLineage", """\
# Where an asset came from and what was made from it: its producing run (job, version,
# parameters), its inputs, whether it is stale, and the lineage graph around it.
query AssetLineage($id: ID!, $direction: LineageDirection!) {
  asset(id: $id) {
    id
    role
    version
    stale
    producedBy {
      id
      job { namespace name version }
      jobVersion
      status
      parameters
      startedAt
      endedAt
    }
    derivedFrom { id role version }
  }
  lineage(id: $id, direction: $direction, maxDepth: 5) {
    isPartial
    nodes {
      degree
      entity {
        __typename
        ... on Asset { id role version }
        ... on Run { id job { name } }
      }
    }
    edges { from to }
  }
}
""", {"id": "{lineage_id}", "direction": "{lineage_direction}"}),
    Example("Search", """\
# Segments whose dialogue or captions match the text, with their asset and title.
query Search($text: String!) {
  search(text: $text, kinds: [DIALOGUE], first: 10) {
    score
    title { id name }
    asset { id role }
    segment { id kind start end text }
  }
}
""", {"text": "storm"}),
]

MUTATIONS = [
    Example("CreateTitle", """\
# Create a title. With an externalId it is idempotent: sending it again updates the title.
mutation CreateTitle($input: TitleInput!) {
  createTitle(input: $input) { id name kind releaseYear externalId }
}
""", {"input": {"name": EXAMPLE_TITLE, "kind": "MOVIE", "releaseYear": 2025, "externalId": "example:the-lighthouse"}}),
    Example("RegisterAssets", """\
# Register delivered files as assets of a title. A known externalId updates the asset; a
# changed checksum makes it version 2.
mutation RegisterAssets($input: [AssetInput!]!) {
  registerAssets(input: $input) { id role version uri title { id name } }
}
""", {"input": [{
        "titleId": "{title_id}", "mediaType": "IMAGE", "role": "poster", "uri": "s3://studio/examples/lighthouse-poster.jpg",
        "checksum": "sha256:" + "3f" * 32, "sizeBytes": 482113, "width": 1000, "height": 1500,
        "externalId": "example:lighthouse-poster"}]}),
    Example("AddSegments", """\
# Time-coded segments of an asset (seconds): here a scene of a source.
mutation AddSegments($input: [SegmentInput!]!) {
  addSegments(input: $input) { id kind start end text asset { id } }
}
""", {"input": [{"assetId": "{asset_id}", "kind": "SCENE", "start": 0.0, "end": 4.0, "text": "Opening scene"}]}),
    Example("AddAnnotations", """\
# Annotations of an asset, over a time range: a reviewer's compliance label.
mutation AddAnnotations($input: [AnnotationInput!]!) {
  addAnnotations(input: $input) { id label category confidence start end value }
}
""", {"input": [{"assetId": "{asset_id}", "label": "smoking", "category": "compliance", "confidence": 0.9,
                 "start": 1.0, "end": 3.5, "value": {"reviewer": "example", "severity": "mild"}}]}),
    Example("UpsertEmbeddings", """\
# Vectors of assets or segments in a space (a model and a dimension); the first write creates the
# space with the vectors' dimension. Returns the rows written.
mutation UpsertEmbeddings($space: String!, $model: String!, $input: [EmbeddingInput!]!) {
  upsertEmbeddings(space: $space, model: $model, input: $input)
}
""", {"space": "example-tiny", "model": "example-model-v1",
      "input": [{"subjectId": "{asset_id}", "vector": [0.12, -0.4, 0.33, 0.8]}]}),
    Example("RecordRun", """\
# Record how an asset was derived: the job, the run's inputs (at their current versions), its
# parameters and the new assets it wrote, atomically. The idempotencyKey makes a retry safe.
mutation RecordRun($input: RunInput!) {
  recordRun(input: $input) {
    id
    status
    job { namespace name version }
    inputs { id version }
    outputs(first: 10) { edges { node { id role version } } }
  }
}
""", {"input": {
        "job": {"namespace": "examples", "name": "example-transcode", "version": "1"},
        "inputs": ["{asset_id}"],
        "outputs": [{"titleId": "{title_id}", "mediaType": "VIDEO", "role": "proxy",
                     "uri": "s3://studio/examples/lighthouse-proxy.mp4", "checksum": "sha256:" + "a1" * 32,
                     "width": 640, "height": 360, "durationSeconds": 4.0,
                     "externalId": "example:lighthouse-proxy"}],
        "status": "COMPLETED", "parameters": {"codec": "h264", "height": 360},
        "startedAt": "2025-01-01T10:00:00Z", "endedAt": "2025-01-01T10:00:05Z",
        "idempotencyKey": "example:lighthouse-proxy-run-1"}}),
    Example("ReviewAsset", """\
# Approve (or request changes on) one exact version of an asset; the approval turns stale when the
# version is no longer current or anything it was derived from changes.
mutation ReviewAsset($input: ReviewInput!) {
  reviewAsset(input: $input) { id version decision reviewer stale }
}
""", {"input": {"assetId": "{asset_id}", "decision": "APPROVED", "comment": "Picture lock: good to go"}}),
    Example("AddNotes", """\
# Time-coded notes with a drawing on the frame (normalized [0,1] coordinates), as one batch.
mutation AddNotes($input: [NoteInput!]!) {
  addNotes(input: $input) { id version start end region resolved author }
}
""", {"input": [{"assetId": "{asset_id}", "text": "Boom mic dips into frame", "start": 0.5, "end": 1.5,
                 "region": {"shapes": [{"type": "rect", "x": 0.1, "y": 0.05, "w": 0.3, "h": 0.2}]}}]}),
    Example("ResolveNote", """\
# Resolve a note (or reopen it with resolved: false). Run AddNotes first, then reload this page: the
# note id below is the first note of the lake's first source.
mutation ResolveNote($id: ID!) {
  resolveNote(id: $id, resolved: true) { id resolved }
}
""", {"id": "{note_id}"}),
    Example("ImportCut", """\
# Import an editorial cut from OpenTimelineIO JSON: each clip names an asset by uri or by
# metadata.mediagraph.assetId; the cut is recorded in lineage with its clips' assets as inputs.
mutation ImportCut($input: CutInput!) {
  importCut(input: $input) { id name duration stale clips { track recordStart recordEnd version } }
}
""", {"input": {"titleId": "{title_id}", "name": "Example cut", "otio": "{cut_otio}"}}),
    Example("CreatePlaylist", """\
# A review session: assets in order, each frozen at its current version.
mutation CreatePlaylist($input: PlaylistInput!) {
  createPlaylist(input: $input) { id name items { version asset { id role } review { decision } } }
}
""", {"input": {"name": "Example dailies", "titleId": "{title_id}", "assetIds": ["{asset_id}"]}}),
    Example("SetJobVersion", """\
# Set a job's current version: the runs of its other versions (and what they made) become stale.
mutation SetJobVersion($namespace: String!, $name: String!, $version: String) {
  setJobVersion(namespace: $namespace, name: $name, version: $version) { namespace name version }
}
""", {"namespace": "examples", "name": "example-transcode", "version": "2"}),
]

# run over graphql-transport-ws: the page gives GraphiQL the socket's URL (graphiql.render), and GraphiQL sends
# the headers editor's Authorization in connection_init
SUBSCRIPTIONS = [
    Example("LiveEvents", """\
# Live events, as the lake commits them (from any worker or replica). Run it, then run a mutation tab
# (CreateTitle, ReviewAsset...) in another tab and watch its event arrive here. titleIds takes a series'
# episodes too; kinds: TITLE_CREATED ASSET_REGISTERED RUN_RECORDED REVIEW_ADDED NOTE_ADDED CUT_IMPORTED.
subscription LiveEvents($titleIds: [ID!], $kinds: [EventKind!]) {
  events(titleIds: $titleIds, kinds: $kinds) { kind id at title { id name } }
}
""", {}),
]

EXAMPLES = QUERIES + MUTATIONS + SUBSCRIPTIONS
