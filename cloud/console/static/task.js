// Task view: the task's state timeline and its hash-chained audit trail.
import { get } from "./api.js";
import { fmtMin, fmtTime, h, mount } from "./dom.js";

function summary(t) {
  const rows = [
    ["State", t.state.replaceAll("_", " ")],
    ["Outcome", t.outcome ? t.outcome.replaceAll("_", " ") : "—"],
    ["Alarm", `${t.alarm_kind.replaceAll("_", " ")} (${t.severity})`],
    ["Household", t.household_name],
    ["Worker", t.worker_name || "—"],
    ["Created", fmtTime(t.created_at)],
    ["Response (created → on site)", fmtMin(t.response_s)],
  ];
  return h("table", { id: "task-summary" }, h("tbody", {}, rows.map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", {}, k === "Household" && t.resident_id
      ? h("a", { href: `/console/residents/${t.resident_id}`, "data-link": true }, v) : v)))));
}

function timeline(items) {
  return h("ol", { class: "timeline", id: "timeline" }, items.map((e) =>
    h("li", {}, h("strong", {}, e.label), h("div", { class: "muted" }, fmtTime(e.at),
      e.actor ? ` · ${e.actor}` : "", e.note ? ` · ${e.note}` : ""))));
}

function audit(entries, ok) {
  return [
    h("p", { class: ok ? "chain-ok" : "chain-bad", id: "chain" },
      ok ? "Audit chain verified: every entry links to the one before." : "Audit chain broken: entries were altered."),
    h("div", { class: "scroll" }, h("table", { id: "audit" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Time"), h("th", {}, "Actor"),
        h("th", {}, "Action"), h("th", {}, "Detail"), h("th", {}, "Hash"))),
      h("tbody", {}, entries.map((e) => h("tr", {},
        h("td", {}, e.seq), h("td", {}, fmtTime(e.at)), h("td", {}, e.actor), h("td", {}, e.action),
        h("td", {}, e.detail), h("td", { class: "hash" }, e.hash.slice(0, 12))))))),
  ];
}

export function render(root, params, ctx) {
  const number = ctx.path[1];
  const head = h("h1", {}, `Task ${number}`);
  const body = h("div", {}, h("p", { class: "muted" }, "loading…"));
  mount(root, head, body);

  async function refresh() {
    try {
      const d = await get(`/tasks/${encodeURIComponent(number)}`);
      mount(body, h("div", { class: "grid two" },
        h("section", { class: "card" }, h("h2", {}, "Summary"), summary(d.task),
          h("h2", {}, "Timeline"), timeline(d.timeline)),
        h("section", { class: "card" }, h("h2", {}, "Audit trail"), audit(d.audit, d.chain_ok))));
    } catch (e) {
      mount(body, h("p", { class: "error" }, e.message));
    }
  }

  refresh();
  return { onLive: refresh, dispose: () => {} };
}
