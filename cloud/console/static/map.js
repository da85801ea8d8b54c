// Map view: households and workers projected from lat/lon onto an SVG (no tiles, works
// offline), with dashed lines from the selected alarm's home to its candidate workers.
import { get } from "./api.js";
import { ageClass, fmtAge, h, mount, s } from "./dom.js";

const M = 30;
const KM_PER_DEG = 111.32;

/** An equirectangular projection of the points into a W x H box, north up, aspect kept. */
export function fit(points, W, H) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  let [la0, la1, lo0, lo1] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  if (la1 - la0 < 0.005) { la0 -= 0.0025; la1 += 0.0025; }
  if (lo1 - lo0 < 0.005) { lo0 -= 0.0025; lo1 += 0.0025; }
  const k = Math.cos((((la0 + la1) / 2) * Math.PI) / 180);
  const scale = Math.min((W - 2 * M) / ((lo1 - lo0) * k), (H - 2 * M) / (la1 - la0));
  const ox = (W - (lo1 - lo0) * k * scale) / 2;
  const oy = (H - (la1 - la0) * scale) / 2;
  return {
    x: (lon) => ox + (lon - lo0) * k * scale,
    y: (lat) => H - oy - (lat - la0) * scale,
    pxPerKm: scale / KM_PER_DEG,
    bounds: [la0, la1, lo0, lo1],
  };
}

function niceStep(span) {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= raw);
}

function graticule(proj, W, H) {
  const [la0, la1, lo0, lo1] = proj.bounds;
  const g = s("g", {});
  const step = niceStep(Math.max(la1 - la0, lo1 - lo0));
  for (let v = Math.ceil(la0 / step) * step; v <= la1; v += step) {
    g.append(s("line", { class: "grat", x1: 0, x2: W, y1: proj.y(v), y2: proj.y(v) }));
  }
  for (let v = Math.ceil(lo0 / step) * step; v <= lo1; v += step) {
    g.append(s("line", { class: "grat", y1: 0, y2: H, x1: proj.x(v), x2: proj.x(v) }));
  }
  const km = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20].find((d) => d * proj.pxPerKm >= 80) || 50;
  const len = km * proj.pxPerKm;
  g.append(s("line", { x1: 20, x2: 20 + len, y1: H - 20, y2: H - 20, stroke: "#333", "stroke-width": 3 }));
  g.append(s("text", { x: 20, y: H - 28 }, km < 1 ? `${km * 1000} m` : `${km} km`));
  g.append(s("text", { x: W - 20, y: 30, "text-anchor": "end" }, "N ↑"));
  return g;
}

function draw(svg, data, selected, onPick) {
  const pts = [...data.households, ...data.workers];
  const W = Math.round(svg.clientWidth) || 1000;
  const H = Math.round(svg.clientHeight) || 700;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  if (!pts.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "nothing to show"));
    return;
  }
  const proj = fit(pts, W, H);
  svg.append(graticule(proj, W, H));
  const homeOf = new Map(data.households.map((hh) => [hh.id, hh]));
  const workerOf = new Map(data.workers.map((w) => [w.id, w]));
  if (selected) {
    const home = homeOf.get(selected.household_id);
    for (const c of selected.candidates) {
      const w = workerOf.get(c.worker_id);
      if (!home || !w) continue;
      svg.append(s("line", {
        class: "cand", x1: proj.x(home.lon), y1: proj.y(home.lat), x2: proj.x(w.lon), y2: proj.y(w.lat),
        "data-worker": w.id,
      }));
      svg.append(s("text", { x: (proj.x(home.lon) + proj.x(w.lon)) / 2, y: (proj.y(home.lat) + proj.y(w.lat)) / 2 },
        `#${c.rank}`));
    }
  }
  for (const hh of data.households) {
    const alarm = hh.open_alarms > 0;
    const sel = selected && selected.household_id === hh.id;
    const cx = proj.x(hh.lon);
    const cy = proj.y(hh.lat);
    svg.append(s("circle", {
      class: `home${alarm ? " alarm" : ""}${sel ? " selected" : ""}`, cx, cy, r: alarm ? 10 : 7,
      "data-household": hh.id, onclick: () => { if (hh.alarm_id) onPick(hh.alarm_id); },
    }, s("title", {}, `${hh.name}${hh.district ? ` · ${hh.district}` : ""}`)));
    if (alarm) svg.append(s("text", { x: cx + 13, y: cy + 4 }, hh.name));
  }
  for (const w of data.workers) {
    const cls = !w.on_duty ? "worker off" : w.busy ? "worker busy" : "worker";
    const x = proj.x(w.lon);
    const y = proj.y(w.lat);
    svg.append(s("rect", { class: cls, x: x - 6, y: y - 6, width: 12, height: 12, "data-worker": w.id },
      s("title", {}, `${w.name} (${w.on_duty ? (w.busy ? "busy" : "available") : "off duty"})`)));
  }
}

function alarmList(data, selectedId, onPick) {
  if (!data.alarms.length) return h("p", { class: "muted" }, "No open alarms.");
  return h("ul", { class: "items", id: "map-alarms" }, data.alarms.map((a) =>
    h("li", { class: `item ${ageClass(a.age_s, a.target_s)}${a.id === selectedId ? " selected" : ""}`, "data-id": a.id },
      h("span", { class: "age" }, fmtAge(a.age_s)),
      h("button", { type: "button", class: "side-alarm", onclick: () => onPick(a.id) },
        h("span", { class: `sev ${a.severity}` }, a.severity), " ", a.kind.replaceAll("_", " "),
        " · ", a.household_name))));
}

function candidateTable(sel) {
  if (!sel) return h("p", { class: "muted" }, "Select an alarm to see its candidate workers.");
  if (!sel.candidates.length) return h("p", { class: "muted" }, "No candidate workers on duty nearby.");
  return h("table", { id: "candidates" },
    h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Worker"), h("th", {}, "Offer"),
      h("th", { class: "num" }, "Distance"))),
    h("tbody", {}, sel.candidates.map((c) => h("tr", { "data-worker": c.worker_id },
      h("td", {}, c.rank), h("td", {}, c.name, c.busy ? " (busy)" : ""), h("td", {}, c.offer_state || "—"),
      h("td", { class: "num" }, c.distance_m < 0 ? "—" : `${(c.distance_m / 1000).toFixed(2)} km`)))));
}

export function render(root, params, ctx) {
  let selectedId = params.get("alarm");
  let data = null;
  let sel = null;
  const svg = s("svg", { class: "map", id: "map", role: "img", "aria-label": "map" });
  const side = h("div", {});
  const note = h("p", { class: "muted" }, "loading…");
  mount(root, h("h1", {}, "Households and workers"), note,
    h("div", { class: "grid map" }, svg, side));

  function pick(id) {
    selectedId = id;
    ctx.replaceQuery(id ? `?alarm=${encodeURIComponent(id)}` : "");
    refresh();
  }

  async function refresh() {
    try {
      data = await get("/map");
      sel = selectedId ? await get(`/alarms/${encodeURIComponent(selectedId)}/candidates`) : null;
      note.textContent = `${data.households.length} households, ${data.workers.length} workers`
        + " · ● household (red: open alarm) ■ worker (green: available, amber: busy, grey: off duty)";
      draw(svg, data, sel, pick);
      mount(side, h("h2", {}, "Open alarms"), alarmList(data, selectedId, pick),
        h("h2", {}, "Candidate workers"), candidateTable(sel));
    } catch (e) {
      note.textContent = e.message;
      note.className = "error";
    }
  }

  const redraw = () => { if (data) draw(svg, data, sel, pick); };
  window.addEventListener("resize", redraw);
  refresh();
  return { onLive: refresh, dispose: () => window.removeEventListener("resize", redraw) };
}
