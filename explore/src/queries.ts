// Every GraphQL document the explorer sends, and the shapes it reads back.
import type { Edges } from "./api";

export type TitleRef = { id: string; name: string; kind: string; releaseYear: number | null };
export type TitleNode = TitleRef & { parent: { id: string } | null; children: Edges<TitleRef> };

export const TITLES = `query ExploreTitles {
  titles(first: 200) { edges { node { id name kind releaseYear parent { id }
    children(first: 100) { edges { node { id name kind releaseYear } } } } } }
}`;

export type Thumb = { id: string; mediaUrl: string | null; technical: { time?: number } | null };
export type ReviewRef = { id: string; decision: string; stale: boolean; version: number; reviewer: string };
export type AssetCard = {
  id: string; role: string; mediaType: string; version: number; durationSeconds: number | null; stale: boolean;
  mediaUrl: string | null; approval: ReviewRef | null;
  derivatives: Edges<{ id: string; role: string; mediaUrl: string | null; approval: ReviewRef | null }>;
  frames: Edges<Thumb>;
  derivedFrom: { id: string; frames: Edges<Thumb> }[];
};

const THUMB = "id mediaUrl technical";
const APPROVAL = "approval { id decision stale version reviewer }";

export const TITLE = `query ExploreTitle($id: ID!) {
  title(id: $id) { id name kind releaseYear restricted parent { id name }
    children(first: 100) { edges { node { id name kind releaseYear } } }
    assets(first: 200) { totalCount edges { node { id role mediaType version durationSeconds stale mediaUrl ${APPROVAL}
      derivatives(role: "proxy", first: 1) { edges { node { id role mediaUrl ${APPROVAL} } } }
      frames: derivatives(role: "frame", first: 1) { edges { node { ${THUMB} } } }
      derivedFrom { id frames: derivatives(role: "frame", first: 1) { edges { node { ${THUMB} } } } } } } } }
}`;

export type Span = { id: string; start: number | null; end: number | null };
export type Note = Span & { text: string; author: string; version: number; resolved: boolean; region: Region | null };
export type Shape =
  | { type: "rect"; x: number; y: number; w: number; h: number; color?: string }
  | { type: "polyline" | "freehand"; points: [number, number][]; color?: string };
export type Region = { shapes: Shape[] };
export type AssetNode = {
  id: string; role: string; mediaType: string; uri: string; version: number; durationSeconds: number | null;
  width: number | null; height: number | null; stale: boolean; mediaUrl: string | null;
  title: { id: string; name: string };
  derivedFrom: { id: string; role: string; mediaType: string }[];
  derivatives: Edges<{ id: string; role: string; mediaType: string; mediaUrl: string | null; technical: { time?: number } | null }>;
};

export const ASSET = `query ExploreAsset($id: ID!) {
  asset(id: $id) { id role mediaType uri version durationSeconds width height stale mediaUrl title { id name }
    derivedFrom { id role mediaType }
    derivatives(first: 200) { edges { node { id role mediaType mediaUrl technical } } } }
}`;

export type Timeline = {
  source: { id: string; segments: Edges<Span & { kind: string }>;
            annotations: Edges<Span & { label: string; category: string | null; confidence: number | null }> } | null;
  played: { id: string; version: number; role: string; mediaType: string; durationSeconds: number | null;
            mediaUrl: string | null; stale: boolean; approval: ReviewRef | null;
            reviews: Edges<ReviewRef & { comment: string | null; createdAt: string }>; notes: Edges<Note> } | null;
};

export const TIMELINE = `query ExploreTimeline($source: ID!, $played: ID!) {
  source: asset(id: $source) { id
    segments(kind: SHOT, first: 500) { edges { node { id kind start end } } }
    annotations(first: 500) { edges { node { id label category confidence start end } } } }
  played: asset(id: $played) { id version role mediaType durationSeconds mediaUrl stale ${APPROVAL}
    reviews(first: 100) { edges { node { id decision stale version reviewer comment createdAt } } }
    notes(allVersions: true, first: 500) { edges { node { id text author version resolved start end region } } } }
}`;

export const REVIEW = `mutation ExploreReview($input: ReviewInput!) {
  reviewAsset(input: $input) { id decision stale version }
}`;

export const ADD_NOTES = `mutation ExploreAddNotes($input: [NoteInput!]!) {
  addNotes(input: $input) { id text start end region }
}`;

export type LineageEntity =
  | { __typename: "Asset"; id: string; role: string; mediaType: string; stale: boolean; title: { name: string } }
  | { __typename: "Run"; id: string; status: string; jobVersion: string | null; parameters: unknown;
      startedAt: string | null; job: { namespace: string; name: string; version: string | null } }
  | { __typename: "Segment"; id: string; kind: string; start: number; end: number }
  | { __typename: "Annotation"; id: string; label: string }
  | { __typename: "EmbeddingRef"; id: string; space: string }
  | { __typename: "Cut"; id: string; name: string; stale: boolean }
  | { __typename: "Redacted"; id: string };
export type LineageGraph = { root: string; isPartial: boolean; nodes: { degree: number; entity: LineageEntity }[];
                             edges: { from: string; to: string }[] };

export const LINEAGE = `query ExploreLineage($id: ID!) {
  lineage(id: $id, direction: BOTH, maxDepth: 4, limit: 300) { root isPartial edges { from to }
    nodes { degree entity { __typename
      ... on Asset { id role mediaType stale title { name } }
      ... on Run { id status jobVersion parameters startedAt job { namespace name version } }
      ... on Segment { id kind start end }
      ... on Annotation { id label }
      ... on EmbeddingRef { id space }
      ... on Cut { id name stale }
      ... on Redacted { id } } } }
}`;

export type Hit = {
  score: number; matched: string[]; title: { id: string; name: string };
  asset: { id: string; role: string; mediaType: string; mediaUrl: string | null; frames: Edges<Thumb> };
  segment: { id: string; kind: string; start: number; end: number; text: string | null } | null;
};

export const SEARCH = `query ExploreSearch($text: String!) {
  search(text: $text, mode: TEXT, first: 12) { score matched title { id name }
    asset { id role mediaType mediaUrl frames: derivatives(role: "frame", first: 100) { edges { node { ${THUMB} } } } }
    segment { id kind start end text } }
}`;
