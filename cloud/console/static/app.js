// Console shell: client-side routing under /console, sign-in, live updates over SSE.
import { AuthError, HttpError, get, signOut, token } from "./api.js";
import * as live from "./live.js";
import * as login from "./login.js";
import * as map from "./map.js";
import * as reports from "./reports.js";
import * as resident from "./resident.js";
import { h, mount } from "./dom.js";
import { subscribe } from "./sse.js";
import * as task from "./task.js";

const VIEWS = { live, map, reports, tasks: task, residents: resident, login };
const root = document.getElementById("view");
const conn = document.getElementById("conn");
let current = null;
let unsubscribe = null;

function parts() {
  return location.pathname.replace(/^\/console\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

const ctx = {
  path: [],
  navigate(url) {
    history.pushState(null, "", url);
    route();
  },
  replaceQuery(query) {
    history.replaceState(null, "", location.pathname + query);
  },
  signedIn(next) {
    start().then(() => ctx.navigate(next));
  },
};

function route() {
  if (current) current.dispose();
  ctx.path = parts();
  const name = ctx.path[0] || "live";
  if (!token() && name !== "login") {
    history.replaceState(null, "", `/console/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return route();
  }
  const view = VIEWS[name];
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === name);
  document.body.dataset.page = view ? name : "missing";
  if (!view) {
    mount(root, h("h1", {}, "Not found"), h("a", { href: "/console/live", "data-link": true }, "Back to live view"));
    current = null;
    return;
  }
  current = view.render(root, new URLSearchParams(location.search), ctx);
}

async function start() {
  if (!token()) return;
  try {
    const me = await get("/me");
    document.getElementById("who").textContent = `${me.username} · ${me.roles.join(", ")}`;
    document.getElementById("nav").hidden = false;
    document.getElementById("logout").hidden = false;
    conn.hidden = false;
    if (unsubscribe) unsubscribe();
    let last = null;
    unsubscribe = subscribe(
      (type, data) => {
        const key = JSON.stringify([data.alarms, data.tasks]);
        if (type !== "live" || !current || key === last) return; // a reconnect repeats itself
        last = key;
        current.onLive(data);
      },
      (up) => { conn.classList.toggle("up", up); conn.title = up ? "live updates on" : "reconnecting…"; },
    );
  } catch (e) {
    if (e instanceof AuthError) return;
    if (e instanceof HttpError && e.status === 403) signOut();
    mount(root, h("p", { class: "error", id: "denied" }, e.message),
      h("a", { href: "/console/login" }, "Sign in"));
    throw e;
  }
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-link]");
  if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.origin !== location.origin) return;
  ev.preventDefault();
  ctx.navigate(a.pathname + a.search);
});
window.addEventListener("popstate", route);
document.getElementById("logout").addEventListener("click", () => {
  if (unsubscribe) unsubscribe();
  signOut();
  location.assign("/console/login");
});

start().then(route, () => {});
