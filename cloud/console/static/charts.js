// Inline SVG charts: time series with a min/max band, time bars, and a histogram.
import { s } from "./dom.js";

const W = 600;
const H = 180;
const PAD = { l: 40, r: 10, t: 10, b: 24 };

function scale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function frame(title) {
  return s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title },
    s("title", {}, title));
}

function yAxis(svg, y, lo, hi) {
  for (const v of [lo, (lo + hi) / 2, hi]) {
    const py = y(v);
    svg.append(s("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: py, y2: py }));
    svg.append(s("text", { x: PAD.l - 4, y: py + 3, "text-anchor": "end" }, round(v)));
  }
}

function timeAxis(svg, x, t0, t1) {
  const days = (t1 - t0) > 2 * 86400000;
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const d = new Date(t);
    const label = days
      ? d.toLocaleDateString(undefined, { month: "short", day: "numeric" })
      : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    svg.append(s("text", { x: x(t), y: H - 6, "text-anchor": anchor }, label));
  }
}

function round(v) {
  return Math.abs(v) >= 10 ? Math.round(v) : Math.round(v * 10) / 10;
}

/**
 * A time series. points: [{t: iso, mean, min, max}]; range: [fromIso, toIso].
 * Gaps longer than gapMs break the line.
 */
export function lineChart(title, points, range, gapMs) {
  const svg = frame(title);
  const t0 = Date.parse(range[0]);
  const t1 = Date.parse(range[1]);
  const pts = points.filter((p) => p.mean !== null && p.mean !== undefined)
    .map((p) => ({ t: Date.parse(p.t), mean: p.mean, min: p.min ?? p.mean, max: p.max ?? p.mean }));
  if (!pts.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data in this range"));
    return svg;
  }
  let lo = Math.min(...pts.map((p) => p.min));
  let hi = Math.max(...pts.map((p) => p.max));
  if (hi - lo < 1) { lo -= 1; hi += 1; }
  const x = scale(t0, t1, PAD.l, W - PAD.r);
  const y = scale(lo, hi, H - PAD.b, PAD.t);
  yAxis(svg, y, lo, hi);
  timeAxis(svg, x, t0, t1);
  let line = "";
  let upper = [];
  let lower = [];
  const flushBand = () => {
    if (upper.length > 1) {
      svg.append(s("polygon", { class: "band", points: upper.concat(lower.reverse()).join(" ") }));
    }
    upper = [];
    lower = [];
  };
  pts.forEach((p, i) => {
    const gap = i > 0 && p.t - pts[i - 1].t > gapMs;
    if (gap) flushBand();
    line += `${i === 0 || gap ? "M" : "L"}${x(p.t).toFixed(1)},${y(p.mean).toFixed(1)}`;
    upper.push(`${x(p.t).toFixed(1)},${y(p.max).toFixed(1)}`);
    lower.push(`${x(p.t).toFixed(1)},${y(p.min).toFixed(1)}`);
  });
  flushBand();
  svg.append(s("path", { class: "series", d: line, "data-points": pts.length }));
  return svg;
}

/** Bars over time. points: [{t: iso, value}], each bar bucketMs wide. */
export function timeBars(title, points, range, bucketMs) {
  const svg = frame(title);
  const t0 = Date.parse(range[0]);
  const t1 = Date.parse(range[1]);
  const hi = Math.max(1, ...points.map((p) => p.value || 0));
  const x = scale(t0, t1, PAD.l, W - PAD.r);
  const y = scale(0, hi, H - PAD.b, PAD.t);
  yAxis(svg, y, 0, hi);
  timeAxis(svg, x, t0, t1);
  const bw = Math.max(1, x(t0 + bucketMs) - x(t0) - 1);
  for (const p of points) {
    if (!p.value) continue;
    const px = x(Date.parse(p.t));
    svg.append(s("rect", { class: "bar", x: px, y: y(p.value), width: bw, height: y(0) - y(p.value) }));
  }
  return svg;
}

/** A histogram of counts per bin with a dashed target line. bins: [{lo, hi, count}] in seconds. */
export function histogram(title, bins, targetSeconds) {
  const svg = frame(title);
  if (!bins.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no responses yet"));
    return svg;
  }
  const hi = Math.max(1, ...bins.map((b) => b.count));
  const x = scale(bins[0].lo, bins[bins.length - 1].hi, PAD.l, W - PAD.r);
  const y = scale(0, hi, H - PAD.b, PAD.t);
  yAxis(svg, y, 0, hi);
  for (const b of bins) {
    const cls = b.lo >= targetSeconds ? "bar late" : "bar";
    svg.append(s("rect", {
      class: cls, x: x(b.lo) + 1, y: y(b.count), width: Math.max(1, x(b.hi) - x(b.lo) - 2),
      height: y(0) - y(b.count), "data-count": b.count,
    }, s("title", {}, `${b.lo / 60}–${b.hi / 60} min: ${b.count}`)));
    svg.append(s("text", { x: x(b.lo), y: H - 6, "text-anchor": "middle" }, `${b.lo / 60}`));
  }
  const last = bins[bins.length - 1];
  svg.append(s("text", { x: (x(last.lo) + x(last.hi)) / 2, y: PAD.t + 10, "text-anchor": "middle" }, `${last.lo / 60}+`));
  const tx = x(targetSeconds);
  svg.append(s("line", { class: "target", x1: tx, x2: tx, y1: PAD.t, y2: H - PAD.b }));
  svg.append(s("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end" }, "min"));
  return svg;
}
