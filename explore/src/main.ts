// The explorer: titles and episodes on the left; a title's assets with thumbnails; an asset with its proxy
// playing over its timeline, the review room and its lineage graph; search hits as time-coded thumbnails.
// Routes live in the hash: #/title/ID, #/asset/ID?t=SECONDS, #/search?q=TEXT.
import "./style.css";
import { gql, nodes } from "./api";
import { approvalBadge, badge, h, timecode } from "./dom";
import { lineageView } from "./lineage";
import { player } from "./player";
import {
  ASSET, LINEAGE, SEARCH, TIMELINE, TITLE, TITLES,
  type AssetCard, type AssetNode, type Hit, type LineageGraph, type Thumb, type TitleNode, type Timeline,
} from "./queries";

const main = document.getElementById("main") as HTMLElement;
const sidebar = document.getElementById("titles") as HTMLElement;

function show(...children: (Node | string | null)[]): void {
  main.replaceChildren(...children.filter((c): c is Node | string => c !== null));
}

function failed(err: unknown): void {
  show(h("p", { class: "error", "data-testid": "error" }, `Could not load: ${(err as Error).message}`));
}

// --- titles -----------------------------------------------------------------------------------
async function loadTitles(): Promise<void> {
  const data = await gql<{ titles: { edges: { node: TitleNode }[] } }>(TITLES);
  const all = nodes(data.titles);
  const top = all.filter((t) => !t.parent);
  const list = h("ul", { class: "title-list", "data-testid": "title-list" });
  for (const t of top) {
    const children = nodes(t.children);
    list.append(h("li", {},
      h("a", { href: `#/title/${t.id}`, "data-title": t.id }, t.name, h("small", {}, ` ${t.kind.toLowerCase()}`)),
      children.length ? h("ul", {}, ...children.map((c) =>
        h("li", {}, h("a", { href: `#/title/${c.id}`, "data-title": c.id }, c.name)))) : null));
  }
  sidebar.replaceChildren(h("h2", {}, "Titles"), list);
}

function thumbOf(card: AssetCard): string | null {
  if (card.mediaType === "IMAGE") return card.mediaUrl;
  const own = nodes(card.frames)[0];
  if (own) return own.mediaUrl;
  const parent = card.derivedFrom.map((d) => nodes(d.frames)[0]).find(Boolean);
  return parent ? parent.mediaUrl : null;
}

async function titleView(id: string): Promise<void> {
  const data = await gql<{ title: (TitleNode & { restricted: boolean; parent: { id: string; name: string } | null;
    assets: { totalCount: number; edges: { node: AssetCard }[] } }) | null }>(TITLE, { id });
  const title = data.title;
  if (!title) { show(h("p", { class: "error" }, "No such title (or you may not see it).")); return; }
  const cards = nodes(title.assets).filter((a) => a.role !== "frame");
  const frames = nodes(title.assets).length - cards.length;
  const grid = h("div", { class: "grid", "data-testid": "assets" });
  for (const a of cards) {
    const src = thumbOf(a);
    const proxy = nodes(a.derivatives)[0];
    const approval = a.approval ?? proxy?.approval ?? null;
    grid.append(h("a", { class: "card", href: `#/asset/${a.id}`, "data-asset": a.id, "data-role": a.role },
      src ? h("img", { class: "thumb", src, alt: `${a.role} thumbnail`, loading: "lazy", "data-testid": "thumb" })
          : h("div", { class: "thumb none" }, a.mediaType.toLowerCase()),
      h("div", { class: "meta" }, h("strong", {}, a.role), ` ${a.mediaType.toLowerCase()} v${a.version}`,
        a.durationSeconds ? ` · ${timecode(a.durationSeconds)}` : "",
        h("div", {}, a.stale ? badge("stale", "stale") : null, approvalBadge(approval)))));
  }
  const episodes = nodes(title.children);
  show(
    h("h1", {}, title.name, h("small", {}, ` ${title.kind.toLowerCase()}${title.releaseYear ? ` · ${title.releaseYear}` : ""}`),
      title.restricted ? badge("restricted", "redacted") : null),
    title.parent ? h("p", {}, "part of ", h("a", { href: `#/title/${title.parent.id}` }, title.parent.name)) : null,
    episodes.length ? h("p", { class: "episodes" }, "Episodes: ",
      ...episodes.map((e) => h("a", { href: `#/title/${e.id}`, class: "chip" }, e.name))) : null,
    h("p", { class: "muted" }, `${cards.length} assets, ${frames} frames`),
    grid);
}

// --- an asset ---------------------------------------------------------------------------------
async function assetView(id: string, seekTo: number | null): Promise<void> {
  const { asset } = await gql<{ asset: AssetNode | null }>(ASSET, { id });
  if (!asset) { show(h("p", { class: "error" }, "No such asset (or you may not see it).")); return; }
  const derivatives = nodes(asset.derivatives);
  // the timeline belongs to the delivered source; what plays (and is reviewed) is its proxy
  const isSource = asset.derivedFrom.length === 0;
  const sourceId = isSource ? asset.id : (asset.derivedFrom.find((d) => d.mediaType === "VIDEO")?.id ?? asset.id);
  const proxy = derivatives.find((d) => d.role === "proxy");
  const playedId = asset.mediaType === "VIDEO" && isSource && proxy ? proxy.id : asset.id;
  const [timeline, lineage] = await Promise.all([
    gql<Timeline>(TIMELINE, { source: sourceId, played: playedId }),
    gql<{ lineage: LineageGraph }>(LINEAGE, { id: asset.id }).catch(() => null),
  ]);
  const frames = derivatives.filter((d) => d.role === "frame")
    .sort((a, b) => (a.technical?.time ?? 0) - (b.technical?.time ?? 0));
  const handle = timeline.played ? player(timeline, () => route()) : null;
  const strip = h("div", { class: "frames", "data-testid": "frames" }, ...frames.map((f) => {
    const img = h("img", { class: "thumb small", src: f.mediaUrl ?? "", alt: `frame at ${timecode(f.technical?.time)}`,
                           title: timecode(f.technical?.time), "data-testid": "frame" });
    img.addEventListener("click", () => handle?.seek(f.technical?.time ?? 0));
    return img;
  }));
  show(
    h("h1", {}, h("a", { href: `#/title/${asset.title.id}` }, asset.title.name), ` · ${asset.role}`,
      h("small", {}, ` ${asset.mediaType.toLowerCase()} v${asset.version}`), asset.stale ? badge("stale", "stale") : null),
    h("p", { class: "muted uri" }, asset.uri),
    playedId !== asset.id ? h("p", { class: "muted" }, "playing its proxy; shots and annotations from this source") : null,
    handle?.element ?? null,
    frames.length ? strip : null,
    lineage ? lineageView(lineage.lineage, (aid) => { window.location.hash = `#/asset/${aid}`; }) : null);
  if (handle && seekTo !== null) {
    const seek = () => handle.seek(seekTo);
    if (handle.video && handle.video.readyState < 1) handle.video.addEventListener("loadedmetadata", seek, { once: true });
    else seek();
  }
}

// --- search -----------------------------------------------------------------------------------
function nearestFrame(frames: Thumb[], t: number): Thumb | null {
  let best: Thumb | null = null;
  for (const f of frames) {
    const ft = f.technical?.time ?? 0;
    if (ft <= t + 0.05 && (!best || ft > (best.technical?.time ?? 0))) best = f;
  }
  return best ?? frames[0] ?? null;
}

async function searchView(text: string): Promise<void> {
  (document.getElementById("search") as HTMLInputElement).value = text;
  const { search } = await gql<{ search: Hit[] }>(SEARCH, { text });
  const list = h("div", { class: "grid hits", "data-testid": "hits" });
  for (const hit of search) {
    const start = hit.segment?.start ?? 0;
    const frame = hit.asset.mediaType === "IMAGE" ? { mediaUrl: hit.asset.mediaUrl } : nearestFrame(nodes(hit.asset.frames), start);
    list.append(h("a", { class: "card hit", href: `#/asset/${hit.asset.id}?t=${start}`, "data-testid": "hit" },
      frame?.mediaUrl ? h("img", { class: "thumb", src: frame.mediaUrl, alt: "hit" }) : h("div", { class: "thumb none" }, "no frame"),
      h("div", { class: "meta" }, h("strong", { class: "tc" }, timecode(start)), ` ${hit.title.name} · ${hit.asset.role}`,
        h("div", { class: "muted" }, hit.segment?.text ?? hit.segment?.kind.toLowerCase() ?? "", ` (${hit.matched.join(", ")})`))));
  }
  show(h("h1", {}, `Search: ${text}`), h("p", { class: "muted" }, `${search.length} hits`), list);
}

// --- routing ----------------------------------------------------------------------------------
function route(): void {
  const [path, query] = window.location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query ?? "");
  const [, kind, id] = path.split("/");
  let work: Promise<void>;
  if (kind === "title" && id) work = titleView(id);
  else if (kind === "asset" && id) work = assetView(id, params.has("t") ? Number(params.get("t")) : null);
  else if (kind === "search") work = searchView(params.get("q") ?? "");
  else work = Promise.resolve(show(h("h1", {}, "Explore the media graph"),
    h("p", {}, "Pick a title on the left, or search dialogue and labels above.")));
  work.catch(failed);
}

document.getElementById("search-form")?.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = (document.getElementById("search") as HTMLInputElement).value.trim();
  if (q) window.location.hash = `#/search?q=${encodeURIComponent(q)}`;
});
window.addEventListener("hashchange", route);
loadTitles().then(route, failed);
