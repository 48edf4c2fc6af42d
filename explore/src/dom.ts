// A few lines of DOM building: the explorer has no framework.

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string | number | boolean | null | undefined> = {}, ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

export function timecode(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, "0")}`;
}

export function badge(text: string, kind: string, testid?: string): HTMLElement {
  return h("span", { class: `badge ${kind}`, "data-testid": testid }, text);
}

// an approval's badge: the decision, marked when lineage says it no longer covers what it approved
export function approvalBadge(approval: { decision: string; stale: boolean } | null): HTMLElement | null {
  if (!approval) return null;
  const label = approval.decision.replace("_", " ").toLowerCase();
  return approval.stale
    ? badge(`${label} · stale`, "stale-approval", "approval")
    : badge(label, approval.decision.toLowerCase(), "approval");
}

// a colour per label, stable across reloads
export function colourOf(label: string): string {
  let hash = 0;
  for (const c of label) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 70% 50%)`;
}
