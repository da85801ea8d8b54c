// Live view: open alarms and tasks, their age against the response target, colour coded.
import { get } from "./api.js";
import { ageClass, fmtAge, h, mount } from "./dom.js";

function ageOf(item, skewMs) {
  const end = item.stopped_at ? Date.parse(item.stopped_at) : Date.now() - skewMs;
  return (end - Date.parse(item.started_at)) / 1000;
}

function alarmRow(a) {
  return h("li", { class: "item", "data-id": a.id, "data-kind": "alarm" },
    h("span", { class: "age" }),
    h("span", { class: "title" },
      h("span", { class: `sev ${a.severity}` }, a.severity), " ", a.kind.replaceAll("_", " "),
      a.clock_suspect ? h("span", { class: "meta", title: "device clock wrong: aged from the cloud's receive time" }, " (device clock?)") : "",
      " · ",
      a.resident_id
        ? h("a", { href: `/console/residents/${a.resident_id}`, "data-link": true }, a.resident_name)
        : a.household_name),
    h("span", { class: "meta" }, a.district || "", " · ", a.status,
      a.task_number ? [" · ", h("a", { href: `/console/tasks/${a.task_number}`, "data-link": true }, a.task_number)] : "",
      " · ", h("a", { href: `/console/map?alarm=${encodeURIComponent(a.id)}`, "data-link": true }, "map")));
}

function taskRow(t) {
  return h("li", { class: "item", "data-id": t.number, "data-kind": "task" },
    h("span", { class: "age" }),
    h("span", { class: "title" },
      h("a", { href: `/console/tasks/${t.number}`, "data-link": true }, t.number), " · ",
      t.state.replaceAll("_", " "), t.at_risk ? [" ", h("span", { class: "sev critical" }, "at risk")] : "",
      t.unstaffed ? [" ", h("span", { class: "sev high", title: "no supervisor in this district" }, "unstaffed")] : ""),
    h("span", { class: "meta" }, t.worker_name || "no worker yet", " · ", t.household_name || ""));
}

function legend(target) {
  const m = target / 60;
  return h("div", { class: "legend" },
    h("span", {}, h("i", { class: "ok" }), `under ${m / 2} min`),
    h("span", {}, h("i", { class: "warn" }), `${m / 2}–${m} min`),
    h("span", {}, h("i", { class: "late" }), `over ${m} min target`));
}

export function render(root) {
  let data = null;
  let skewMs = 0;
  const alarms = h("ul", { class: "items", id: "alarms" });
  const tasks = h("ul", { class: "items", id: "tasks" });
  const counts = h("p", { class: "muted", id: "counts" }, "loading…");
  const legendBox = h("div");
  mount(root,
    h("h1", {}, "Open alarms and tasks"), legendBox, counts,
    h("div", { class: "grid two" },
      h("section", {}, h("h2", {}, "Alarms"), alarms),
      h("section", {}, h("h2", {}, "Tasks"), tasks)));

  function tick() {
    if (!data) return;
    for (const [list, items, key] of [[alarms, data.alarms, "id"], [tasks, data.tasks, "number"]]) {
      const byId = new Map(items.map((it) => [it[key], it]));
      for (const li of list.children) {
        const it = byId.get(li.dataset.id);
        if (!it) continue;
        const age = ageOf(it, skewMs);
        li.className = `item ${ageClass(age, it.target_s)}`;
        li.querySelector(".age").textContent = fmtAge(age);
      }
    }
  }

  function show(snapshot) {
    data = snapshot;
    skewMs = Date.now() - Date.parse(snapshot.now);
    mount(legendBox, legend(snapshot.target_s));
    counts.textContent = `${snapshot.alarms.length} open alarms, ${snapshot.tasks.length} open tasks`;
    mount(alarms, snapshot.alarms.length ? snapshot.alarms.map(alarmRow) : h("li", { class: "muted" }, "No open alarms."));
    mount(tasks, snapshot.tasks.length ? snapshot.tasks.map(taskRow) : h("li", { class: "muted" }, "No open tasks."));
    tick();
  }

  const timer = setInterval(tick, 1000);
  get("/live").then(show).catch((e) => { counts.textContent = e.message; counts.className = "error"; });
  return {
    onLive: show,
    dispose: () => clearInterval(timer),
  };
}
