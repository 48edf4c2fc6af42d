// The asset view's player: the proxy in a <video>, the timeline under it (shots, annotations as coloured
// ranges, notes as markers), a drawing overlay for review notes (normalized [0,1] frame coordinates, the
// NoteRegion shape the API validates), and the review decision buttons.
import { gql } from "./api";
import { approvalBadge, colourOf, h, timecode } from "./dom";
import { ADD_NOTES, REVIEW, type Note, type Region, type Shape, type Timeline } from "./queries";

type Played = NonNullable<Timeline["played"]>;
type Tool = "rect" | "freehand" | null;

export type PlayerHandle = { element: HTMLElement; video: HTMLVideoElement | null; seek(seconds: number): void };

export function player(timeline: Timeline, reload: () => void): PlayerHandle {
  const played = timeline.played as Played;
  const duration = played.durationSeconds ?? 0;
  const root = h("section", { class: "player", "data-testid": "player" });
  const notes = played.notes.edges.map((e) => e.node);

  let video: HTMLVideoElement | null = null;
  const stage = h("div", { class: "stage" });
  const overlay = h("canvas", { class: "overlay", "data-testid": "overlay" });
  if (played.mediaType === "VIDEO" && played.mediaUrl) {
    video = h("video", { src: played.mediaUrl, controls: true, muted: true, playsinline: true, preload: "auto",
                         "data-testid": "video" });
    video.muted = true;
    stage.append(video, overlay);
  } else if (played.mediaUrl) {
    stage.append(h("img", { src: played.mediaUrl, alt: played.role, "data-testid": "still" }), overlay);
  }
  root.append(stage);

  // --- the timeline -------------------------------------------------------------------------
  const pct = (t: number | null) => `${duration > 0 ? Math.min(100, Math.max(0, ((t ?? 0) / duration) * 100)) : 0}%`;
  const width = (a: number | null, b: number | null) =>
    `${duration > 0 ? Math.max(0.4, (((b ?? a ?? 0) - (a ?? 0)) / duration) * 100) : 0}%`;
  const seek = (t: number | null) => {
    if (video && t !== null) video.currentTime = t;
  };
  const track = (name: string, testid: string) =>
    h("div", { class: `track ${name}`, "data-testid": testid }, h("span", { class: "track-name" }, name));
  const shots = track("shots", "shots");
  (timeline.source?.segments.edges ?? []).forEach(({ node: s }, i) => {
    const el = h("button", { class: `shot ${i % 2 ? "odd" : "even"}`, title: `shot ${timecode(s.start)}–${timecode(s.end)}`,
                             style: `left:${pct(s.start)};width:${width(s.start, s.end)}` });
    el.addEventListener("click", () => seek(s.start));
    shots.append(el);
  });
  const annotations = track("annotations", "annotations");
  for (const { node: a } of timeline.source?.annotations.edges ?? []) {
    if (a.start === null) continue;
    const el = h("button", { class: "range", "data-label": a.label,
                             title: `${a.label}${a.confidence !== null ? ` (${a.confidence})` : ""} ${timecode(a.start)}–${timecode(a.end)}`,
                             style: `left:${pct(a.start)};width:${width(a.start, a.end)};background:${colourOf(a.label)}` },
                 a.label);
    el.addEventListener("click", () => seek(a.start));
    annotations.append(el);
  }
  const markers = track("notes", "note-markers");
  for (const note of notes) {
    const el = h("button", { class: `marker${note.resolved ? " resolved" : ""}`, title: note.text,
                             "data-note": note.id, style: `left:${pct(note.start)}` });
    el.addEventListener("click", () => {
      seek(note.start);
      video?.pause();
      drawShapes(note.region?.shapes ?? []);
    });
    markers.append(el);
  }
  const playhead = h("div", { class: "playhead" });
  const bar = h("div", { class: "timeline", "data-testid": "timeline" }, shots, annotations, markers, playhead);
  bar.addEventListener("click", (ev) => {
    if (ev.target !== bar || !duration) return;
    const box = bar.getBoundingClientRect();
    seek(((ev.clientX - box.left) / box.width) * duration);
  });
  video?.addEventListener("timeupdate", () => { playhead.style.left = pct(video?.currentTime ?? 0); });
  root.append(bar);

  // --- drawing ------------------------------------------------------------------------------
  let tool: Tool = null;
  const pending: Shape[] = [];
  let current: Shape | null = null;
  const ctx = overlay.getContext("2d");

  function drawShapes(shapes: Shape[]): void {
    if (!ctx) return;
    fitToStage();
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    ctx.lineWidth = 3;
    for (const s of [...shapes, ...(current ? [current] : [])]) {
      ctx.strokeStyle = s.color ?? "#ff3b30";
      ctx.beginPath();
      if (s.type === "rect") {
        ctx.rect(s.x * overlay.width, s.y * overlay.height, s.w * overlay.width, s.h * overlay.height);
      } else {
        s.points.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * overlay.width, y * overlay.height));
      }
      ctx.stroke();
    }
  }
  // the canvas draws in its displayed pixels: a resized stage resizes it (which also clears it)
  function fitToStage(): void {
    if (overlay.width !== overlay.clientWidth || overlay.height !== overlay.clientHeight) {
      overlay.width = overlay.clientWidth;
      overlay.height = overlay.clientHeight;
    }
  }
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const at = (ev: PointerEvent): [number, number] => {
    const box = overlay.getBoundingClientRect();
    return [clamp((ev.clientX - box.left) / box.width), clamp((ev.clientY - box.top) / box.height)];
  };
  let origin: [number, number] = [0, 0];
  overlay.addEventListener("pointerdown", (ev) => {
    if (!tool) return;
    overlay.setPointerCapture(ev.pointerId);
    origin = at(ev);
    current = tool === "rect" ? { type: "rect", x: origin[0], y: origin[1], w: 0, h: 0 }
                              : { type: "freehand", points: [origin] };
  });
  overlay.addEventListener("pointermove", (ev) => {
    if (!current) return;
    const [x, y] = at(ev);
    if (current.type === "rect") {
      current = { type: "rect", x: Math.min(x, origin[0]), y: Math.min(y, origin[1]),
                  w: Math.abs(x - origin[0]), h: Math.abs(y - origin[1]) };
    } else {
      current.points.push([x, y]);
    }
    drawShapes(pending);
  });
  overlay.addEventListener("pointerup", () => {
    if (!current) return;
    const done = current;
    current = null;
    const big = done.type === "rect" ? done.w > 0.005 && done.h > 0.005 : done.points.length >= 2;
    if (big) pending.push(done);
    drawShapes(pending);
    status.textContent = `${pending.length} shape${pending.length === 1 ? "" : "s"} drawn`;
  });
  new ResizeObserver(() => drawShapes(pending)).observe(overlay);

  // --- review -------------------------------------------------------------------------------
  const status = h("span", { class: "status", "data-testid": "review-status" });
  const tools = h("div", { class: "tools" });
  const toolButton = (name: Tool, label: string) => {
    const b = h("button", { type: "button", "data-tool": name ?? "none" }, label);
    b.addEventListener("click", () => {
      tool = tool === name ? null : name;
      video?.pause();
      overlay.classList.toggle("drawing", tool !== null);
      tools.querySelectorAll("button[data-tool]").forEach((x) =>
        x.classList.toggle("active", (x as HTMLElement).dataset.tool === tool));
    });
    return b;
  };
  const clear = h("button", { type: "button" }, "Clear");
  clear.addEventListener("click", () => { pending.length = 0; drawShapes(pending); status.textContent = ""; });
  tools.append(toolButton("rect", "▭ Rectangle"), toolButton("freehand", "✎ Freehand"), clear);

  const text = h("textarea", { placeholder: "Write a note at the current frame…", rows: 2, "data-testid": "note-text" });
  const addNote = h("button", { type: "button", "data-testid": "add-note" }, "Add note");
  addNote.addEventListener("click", async () => {
    if (!text.value.trim()) { status.textContent = "write the note first"; return; }
    const t = video ? video.currentTime : null;
    const region: Region | null = pending.length ? { shapes: pending.slice() } : null;
    try {
      await gql(ADD_NOTES, { input: [{ assetId: played.id, version: played.version, text: text.value.trim(),
                                       start: t, end: t, region }] });
      status.textContent = "note added";
      reload();
    } catch (err) {
      status.textContent = `not added: ${(err as Error).message}`;
    }
  });
  const decide = (decision: string, label: string) => {
    const b = h("button", { type: "button", class: `decide ${decision.toLowerCase()}`, "data-decision": decision }, label);
    b.addEventListener("click", async () => {
      try {
        await gql(REVIEW, { input: { assetId: played.id, version: played.version, decision, comment: text.value.trim() || null } });
        reload();
      } catch (err) {
        status.textContent = `not recorded: ${(err as Error).message}`;
      }
    });
    return b;
  };
  root.append(h("div", { class: "review", "data-testid": "review" },
    h("div", { class: "decision" }, h("strong", {}, `v${played.version} `), approvalBadge(played.approval) ?? "not reviewed",
      played.stale ? h("span", { class: "badge stale" }, "stale") : null),
    tools, text,
    h("div", { class: "actions" }, addNote, decide("APPROVED", "Approve"), decide("CHANGES_REQUESTED", "Request changes"),
      status)));
  root.append(notesList(notes, (note) => { seek(note.start); video?.pause(); drawShapes(note.region?.shapes ?? []); }));
  return { element: root, video, seek: (t) => seek(t) };
}

function notesList(notes: Note[], open: (note: Note) => void): HTMLElement {
  const list = h("ol", { class: "notes", "data-testid": "notes" });
  for (const note of [...notes].sort((a, b) => (a.start ?? -1) - (b.start ?? -1))) {
    const item = h("li", { "data-note": note.id },
      h("button", { type: "button", class: "time" }, timecode(note.start)),
      ` ${note.text} `, h("small", {}, `— ${note.author}, v${note.version}${note.region ? ", drawing" : ""}`));
    item.querySelector("button")?.addEventListener("click", () => open(note));
    list.append(item);
  }
  return h("section", { class: "notes-panel" }, h("h3", {}, `Notes (${notes.length})`), list);
}
