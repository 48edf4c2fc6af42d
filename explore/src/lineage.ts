// Lineage as an interactive Cytoscape graph: assets, runs, segments, annotations, embeddings and cuts around
// one asset; stale nodes in amber, redacted ones grey and nameless; a click on a run shows its job, version
// and parameters, a click on an asset opens it.
import cytoscape from "cytoscape";
import { h } from "./dom";
import type { LineageEntity, LineageGraph } from "./queries";

function label(e: LineageEntity): string {
  switch (e.__typename) {
    case "Asset": return `${e.role}\n${e.mediaType.toLowerCase()}`;
    case "Run": return `${e.job.name}\n${e.jobVersion ?? ""}`;
    case "Segment": return `${e.kind.toLowerCase()} ${e.start.toFixed(1)}s`;
    case "Annotation": return e.label;
    case "EmbeddingRef": return `vector\n${e.space}`;
    case "Cut": return `cut\n${e.name}`;
    case "Redacted": return "redacted";
  }
}

function isStale(e: LineageEntity): boolean {
  return (e.__typename === "Asset" || e.__typename === "Cut") && e.stale;
}

export function lineageView(graph: LineageGraph, open: (assetId: string) => void): HTMLElement {
  const box = h("div", { class: "cy", "data-testid": "lineage-graph", "data-nodes": graph.nodes.length,
                         "data-edges": graph.edges.length });
  const details = h("pre", { class: "run-details", "data-testid": "run-details" }, "click a run for its job and parameters");
  const byId = new Map(graph.nodes.map((n) => [n.entity.id, n.entity]));
  const section = h("section", { class: "lineage" },
    h("h3", {}, `Lineage (${graph.nodes.length} nodes${graph.isPartial ? ", partial" : ""})`),
    h("p", { class: "legend" }, h("span", { class: "badge stale" }, "stale"), " ", h("span", { class: "badge redacted" }, "redacted"),
      " ", h("span", { class: "badge run" }, "run")),
    box, details);
  const elements: cytoscape.ElementDefinition[] = [
    ...graph.nodes.map((n) => ({
      data: { id: n.entity.id, label: label(n.entity), kind: n.entity.__typename },
      classes: [n.entity.__typename.toLowerCase(), isStale(n.entity) ? "stale" : "", n.entity.id === graph.root ? "root" : ""]
        .filter(Boolean).join(" "),
    })),
    ...graph.edges.filter((e) => byId.has(e.from) && byId.has(e.to))
      .map((e, i) => ({ data: { id: `e${i}`, source: e.from, target: e.to } })),
  ];
  // laid out once the caller has put the box in the document (Cytoscape measures its container)
  setTimeout(() => {
    const cy = cytoscape({
      container: box, elements, wheelSensitivity: 0.3,
      layout: { name: "breadthfirst", directed: true, spacingFactor: 1.1, padding: 10 },
      style: [
        { selector: "node", style: { label: "data(label)", "text-wrap": "wrap", "font-size": 9, "text-valign": "center",
                                      "text-halign": "center", width: 70, height: 34, shape: "round-rectangle",
                                      "background-color": "#4f7cff", color: "#fff" } },
        { selector: "node.run", style: { shape: "ellipse", "background-color": "#6b7280", width: 64 } },
        { selector: "node.segment, node.annotation, node.embeddingref", style: { "background-color": "#0f9d8a", height: 26 } },
        { selector: "node.cut", style: { "background-color": "#9b59b6" } },
        { selector: "node.stale", style: { "background-color": "#f59e0b", "border-width": 3, "border-color": "#b45309" } },
        { selector: "node.redacted", style: { "background-color": "#d1d5db", color: "#374151", "border-style": "dashed",
                                               "border-width": 2, "border-color": "#6b7280" } },
        { selector: "node.root", style: { "border-width": 4, "border-color": "#111827" } },
        { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle",
                                      "line-color": "#9ca3af", "target-arrow-color": "#9ca3af" } },
      ],
    });
    (box as HTMLElement & { cy?: cytoscape.Core }).cy = cy;
    box.dataset.drawn = String(cy.nodes().length);
    cy.on("tap", "node", (ev) => {
      const entity = byId.get(ev.target.id());
      if (!entity) return;
      if (entity.__typename === "Run") {
        details.textContent = JSON.stringify({ run: entity.id, job: `${entity.job.namespace}/${entity.job.name}`,
          jobVersion: entity.jobVersion, currentJobVersion: entity.job.version, status: entity.status,
          startedAt: entity.startedAt, parameters: entity.parameters }, null, 2);
      } else if (entity.__typename === "Asset") {
        details.textContent = `${entity.role} ${entity.id}${entity.stale ? " (stale)" : ""} — double-click to open`;
      } else {
        details.textContent = `${entity.__typename} ${entity.id}`;
      }
    });
    cy.on("dbltap", "node.asset", (ev) => open(ev.target.id()));
  }, 0);
  return section;
}
