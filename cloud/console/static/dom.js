// Small DOM helpers: elements are built with text nodes only, never from HTML strings.
const SVG_NS = "http://www.w3.org/2000/svg";

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** An HTML element: h("a", {href: "/x"}, "text", child). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace the children of a node. */
export function mount(node, ...children) {
  node.replaceChildren();
  build(node, {}, children);
  return node;
}

/** "7:05" / "1:02:03" for seconds. */
export function fmtAge(seconds) {
  const t = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** Minutes with one decimal, or an em dash. */
export function fmtMin(seconds) {
  return seconds === null || seconds === undefined ? "—" : `${(seconds / 60).toFixed(1)} min`;
}

/** Local date and time of an ISO timestamp. */
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** Percent of a 0..1 share, or an em dash. */
export function fmtPct(share) {
  return share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)} %`;
}

/** Age class against the target: ok below half, warn below the target, late beyond. */
export function ageClass(ageSeconds, targetSeconds) {
  if (ageSeconds >= targetSeconds) return "late";
  return ageSeconds >= targetSeconds / 2 ? "warn" : "ok";
}
