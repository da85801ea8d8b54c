// Reports: response-time distribution, share within target, false-alarm rates, device health.
import { download, get } from "./api.js";
import { histogram } from "./charts.js";
import { fmtMin, fmtPct, fmtTime, h, mount } from "./dom.js";

const PERIODS = [["7", "7 days"], ["30", "30 days"], ["90", "90 days"]];

function csvButton(section, days) {
  return h("button", { type: "button", "data-csv": section,
    onclick: () => download(`/reports.csv?section=${section}&days=${days}`, `carewatch-${section}-${days}d.csv`) },
  "Export CSV");
}

function rateTable(id, label, rows) {
  if (!rows.length) return h("p", { class: "muted" }, "No resolved tasks in this period.");
  return h("table", { id },
    h("thead", {}, h("tr", {}, h("th", {}, label), h("th", { class: "num" }, "Resolved"),
      h("th", { class: "num" }, "False alarms"), h("th", { class: "num" }, "Rate"))),
    h("tbody", {}, rows.map((r) => h("tr", { "data-key": r.key },
      h("td", {}, r.key), h("td", { class: "num" }, r.total), h("td", { class: "num" }, r.false_alarms),
      h("td", { class: "num" }, fmtPct(r.rate))))));
}

function deviceTable(id, rows) {
  if (!rows.length) return h("p", { class: "muted" }, "None.");
  return h("div", { class: "scroll" }, h("table", { id },
    h("thead", {}, h("tr", {}, h("th", {}, "Device"), h("th", {}, "Model"), h("th", {}, "Household"),
      h("th", {}, "District"), h("th", {}, "Last seen"), h("th", { class: "num" }, "Battery"))),
    h("tbody", {}, rows.map((d) => h("tr", { "data-device": d.device_id },
      h("td", {}, d.device_id), h("td", {}, d.model), h("td", {}, d.household_name), h("td", {}, d.district || "—"),
      h("td", {}, fmtTime(d.last_seen)),
      h("td", { class: "num" }, d.battery_pct === null ? "—" : `${Math.round(d.battery_pct)} %`))))));
}

function show(body, r, days) {
  const resp = r.response;
  mount(body,
    h("div", { class: "grid two" },
      h("section", { class: "card", id: "response" },
        h("div", { class: "row" }, h("h2", {}, "Response time (task created → worker on site)"), csvButton("responses", days)),
        h("div", { class: "row kpis" },
          h("div", {}, h("div", { class: "kpi", id: "share" }, fmtPct(resp.share_within_target)),
            h("div", { class: "muted" }, `within ${r.target_s / 60} min (${resp.within_target} of ${resp.count})`)),
          h("div", {}, h("div", { class: "kpi" }, fmtMin(resp.median_s)), h("div", { class: "muted" }, "median")),
          h("div", {}, h("div", { class: "kpi" }, fmtMin(resp.p90_s)), h("div", { class: "muted" }, "90th percentile"))),
        h("div", { id: "histogram" }, histogram("Response time distribution", resp.bins, r.target_s))),
      h("section", { class: "card", id: "false-alarms" },
        h("div", { class: "row" }, h("h2", {}, "False-alarm rate"), csvButton("false_alarms", days)),
        h("p", { class: "muted" }, "Resolved with outcome false alarm, of all resolved."),
        h("h2", {}, "By detector"), rateTable("by-detector", "Detector", r.false_alarms.by_detector),
        h("h2", {}, "By device model"), rateTable("by-model", "Model", r.false_alarms.by_model))),
    h("section", { class: "card", id: "device-health" },
      h("div", { class: "row" }, h("h2", {}, "Devices needing an installer"), csvButton("devices", days)),
      h("h2", {}, `Offline (${r.devices.offline.length})`), deviceTable("offline", r.devices.offline),
      h("h2", {}, `Battery low (${r.devices.low_battery.length})`), deviceTable("low-battery", r.devices.low_battery)));
}

export function render(root, params, ctx) {
  let days = PERIODS.some(([d]) => d === params.get("days")) ? params.get("days") : "30";
  const body = h("div", {}, h("p", { class: "muted" }, "loading…"));
  const picker = h("select", { id: "period", "aria-label": "period" },
    PERIODS.map(([d, label]) => h("option", { value: d, selected: d === days }, label)));
  picker.addEventListener("change", () => {
    days = picker.value;
    ctx.replaceQuery(`?days=${days}`);
    refresh();
  });
  const period = h("p", { class: "muted" });
  mount(root, h("div", { class: "row" }, h("h1", {}, "Reports"), h("label", {}, "Period ", picker)), period, body);

  async function refresh() {
    try {
      const r = await get(`/reports?days=${days}`);
      period.textContent = `${fmtTime(r.start)} – ${fmtTime(r.end)}`;
      show(body, r, days);
    } catch (e) {
      mount(body, h("p", { class: "error" }, e.message));
    }
  }

  refresh();
  return { onLive: () => {}, dispose: () => {} };
}
