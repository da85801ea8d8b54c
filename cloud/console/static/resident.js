// Resident view: household, devices with last readings, vitals and activity charts, alarms.
import { get } from "./api.js";
import { lineChart, timeBars } from "./charts.js";
import { fmtTime, h, mount } from "./dom.js";

const RANGES = ["6h", "24h", "7d", "30d"];

function facts(r) {
  const rows = [
    ["Name", r.name], ["Born", r.birth_year ?? "—"], ["Phone", r.phone ?? "—"],
    ["ID number", r.id_number ?? "—"], ["Conditions", r.conditions.join(", ") || "—"],
    ["Address", r.household.address || "—"], ["District", r.household.district || "—"],
    ["Risk", r.household.risk || "—"], ["Access", r.household.access_notes || "—"],
  ];
  return h("table", { id: "resident-facts" }, h("tbody", {}, rows.map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", { "data-field": k }, v)))));
}

function contacts(list) {
  if (!list.length) return h("p", { class: "muted" }, "No family contacts.");
  return h("ul", { id: "contacts" }, list.map((c) => h("li", {}, `${c.name} (${c.relation || "contact"}) · ${c.phone}`)));
}

function devices(list) {
  return h("div", { class: "scroll" }, h("table", { id: "devices" },
    h("thead", {}, h("tr", {}, h("th", {}, "Device"), h("th", {}, "Model"), h("th", {}, "Room"),
      h("th", {}, "Last seen"), h("th", { class: "num" }, "Battery"), h("th", {}, "Last readings"))),
    h("tbody", {}, list.map((d) => h("tr", { "data-device": d.id, class: d.online ? "" : "error" },
      h("td", {}, d.id, d.online ? "" : " (offline)"), h("td", {}, d.model), h("td", {}, d.room || "—"),
      h("td", {}, fmtTime(d.last_seen)),
      h("td", { class: "num" }, d.battery_pct === null ? "—" : `${Math.round(d.battery_pct)} %`),
      h("td", {}, d.readings.map((x) => `${x.metric} ${x.value}${x.unit ? ` ${x.unit}` : ""}`).join(", ") || "—"))))));
}

function alarms(list) {
  if (!list.length) return h("p", { class: "muted" }, "No alarms.");
  return h("div", { class: "scroll" }, h("table", { id: "alarm-history" },
    h("thead", {}, h("tr", {}, h("th", {}, "Raised"), h("th", {}, "Alarm"), h("th", {}, "Status"), h("th", {}, "Task"))),
    h("tbody", {}, list.map((a) => h("tr", {},
      h("td", {}, fmtTime(a.raised_at)),
      h("td", {}, h("span", { class: `sev ${a.severity}` }, a.severity), " ", a.kind.replaceAll("_", " ")),
      h("td", {}, a.status, a.outcome ? ` · ${a.outcome.replaceAll("_", " ")}` : ""),
      h("td", {}, a.task_number ? h("a", { href: `/console/tasks/${a.task_number}`, "data-link": true }, a.task_number) : "—"))))));
}

function charts(series) {
  const range = [series.start, series.end];
  const gap = series.bucket_s * 3000;
  const out = [];
  for (const [metric, label] of [["heart_rate", "Heart rate (bpm)"], ["spo2", "SpO₂ (%)"]]) {
    out.push(h("figure", { "data-chart": metric }, h("figcaption", {}, label),
      lineChart(label, series.vitals[metric] || [], range, gap)));
  }
  out.push(h("figure", { "data-chart": "activity" }, h("figcaption", {}, "Activity (motion events)"),
    timeBars("Activity", series.activity, range, series.bucket_s * 1000)));
  return h("div", { class: "charts" }, out);
}

export function render(root, params, ctx) {
  const id = ctx.path[1];
  let range = RANGES.includes(params.get("range")) ? params.get("range") : "24h";
  const head = h("h1", {}, "Resident");
  const info = h("div", {}, h("p", { class: "muted" }, "loading…"));
  const chartBox = h("div", { id: "charts" });
  const picker = h("select", { id: "range", "aria-label": "range" },
    RANGES.map((r) => h("option", { value: r, selected: r === range }, r)));
  picker.addEventListener("change", () => {
    range = picker.value;
    ctx.replaceQuery(`?range=${range}`);
    loadSeries();
  });
  mount(root, head, info, h("section", { class: "card" },
    h("div", { class: "row" }, h("h2", {}, "Vitals and activity"), h("label", {}, "Range ", picker)), chartBox));

  async function loadInfo() {
    try {
      const d = await get(`/residents/${encodeURIComponent(id)}`);
      head.textContent = d.resident.name;
      mount(info, h("div", { class: "grid two" },
        h("section", { class: "card" }, h("h2", {}, "Resident and household"), facts(d.resident),
          h("h2", {}, "Family contacts"), contacts(d.resident.contacts)),
        h("section", { class: "card" }, h("h2", {}, "Devices"), devices(d.devices),
          h("h2", {}, "Alarm history"), alarms(d.alarms))));
    } catch (e) {
      mount(info, h("p", { class: "error" }, e.message));
    }
  }

  async function loadSeries() {
    try {
      const series = await get(`/residents/${encodeURIComponent(id)}/series?range=${range}`);
      mount(chartBox, charts(series));
    } catch (e) {
      mount(chartBox, h("p", { class: "error" }, e.message));
    }
  }

  loadInfo();
  loadSeries();
  return { onLive: loadInfo, dispose: () => {} };
}
