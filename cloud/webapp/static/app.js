// carewatch worker app: log in, duty, location, offered and accepted tasks, answers.
"use strict";

const OUTCOMES = [
  ["assisted", "协助 / assisted"], ["false_alarm", "误报 / false alarm"],
  ["hospital", "送医 / hospital"], ["resident_away", "不在家 / away"],
  ["device_fault", "设备故障 / device fault"], ["no_answer", "无人应答 / no answer"],
  ["repaired", "已修复 / repaired"],
];
const STATE_NAMES = {
  offered: "待接 offered", accepted: "已接受 accepted", en_route: "在路上 en route",
  on_site: "已到达 on site", resolved: "已结束 resolved", cancelled: "已取消 cancelled",
};
const $ = (id) => document.getElementById(id);
let token = localStorage.getItem("cw_token");
let me = null;
let timer = null;
let locTimer = null;
const LOCATION_EVERY_MS = 4 * 60 * 1000; // the service ignores fixes older than 15 min

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 401 && token) { logout(); throw new Error("请重新登录 / please log in again"); }
  const body = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) {
    const d = body && body.detail;
    throw new Error(typeof d === "string" ? d : (Array.isArray(d) ? d.map((x) => `${x.field}: ${x.msg}`).join("; ") : `HTTP ${resp.status}`));
  }
  return body;
}

function say(text, isError = false) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const out = await api("/api/v1/auth/login", {
      method: "POST",
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    token = out.access_token;
    localStorage.setItem("cw_token", token);
    await start();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
}

function logout() {
  token = null;
  localStorage.removeItem("cw_token");
  clearInterval(timer);
  clearInterval(locTimer);
  $("main-view").hidden = true;
  $("login-view").hidden = false;
}

function followLocation() {
  clearInterval(locTimer);
  if (me && me.duty_status === "on") locTimer = setInterval(shareLocation, LOCATION_EVERY_MS);
}

function renderMe() {
  $("who").textContent = `${me.name} · ${me.duty_status === "on" ? "在岗 on duty" : "离岗 off duty"}`;
  $("duty-btn").textContent = me.duty_status === "on" ? "离岗 / Go off duty" : "上岗 / Go on duty";
  $("duty-btn").dataset.on = me.duty_status === "on" ? "1" : "0";
}

async function toggleDuty() {
  me = await api("/api/v1/worker/duty", {
    method: "POST", body: JSON.stringify({ on_duty: $("duty-btn").dataset.on !== "1" }),
  });
  renderMe();
  if (me.duty_status === "on") shareLocation();
  followLocation();
}

async function sendLocation(lat, lon) {
  me = await api("/api/v1/worker/location", { method: "POST", body: JSON.stringify({ lat, lon }) });
  say(`位置已更新 / location shared (${lat.toFixed(4)}, ${lon.toFixed(4)})`);
}

function shareLocation() {
  if (!navigator.geolocation) { say("无法定位 / no geolocation", true); return; }
  navigator.geolocation.getCurrentPosition(
    (p) => sendLocation(p.coords.latitude, p.coords.longitude).catch((e) => say(e.message, true)),
    (err) => say(`定位失败 / location failed: ${err.message}`, true),
    { enableHighAccuracy: true, timeout: 10000 },
  );
}

function b64ToBytes(b64) {
  const pad = "=".repeat((4 - (b64.length % 4)) % 4);
  const raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function enablePush() {
  try {
    const reg = await navigator.serviceWorker.ready;
    const { public_key: key } = await api("/api/v1/worker/push/key");
    if (!key) throw new Error("push not configured");
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64ToBytes(key) });
    await api("/api/v1/worker/push/subscriptions", { method: "POST", body: JSON.stringify(sub.toJSON()) });
    say("通知已开启 / notifications on");
  } catch (e) {
    say(`通知不可用 / notifications unavailable: ${e.message}`, true);
  }
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

async function act(task, action, outcome) {
  try {
    const body = outcome ? JSON.stringify({ outcome }) : "{}";
    await api(`/api/v1/worker/tasks/${task.id}/${action}`, { method: "POST", body });
    say(`${task.number}: ${action}`);
  } catch (e) {
    say(e.message, true);
  }
  await refresh();
}

function card(task, offered) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.number = task.number;
  node.querySelector(".number").textContent = task.number;
  node.querySelector(".kind").textContent = task.alarm_kind;
  const sev = node.querySelector(".sev");
  sev.textContent = task.severity;
  sev.classList.add(task.severity);
  node.querySelector(".name").textContent = task.first_name;
  node.querySelector(".address").textContent = `📍 ${task.address}${task.distance_km != null ? ` (${task.distance_km.toFixed(1)} km)` : ""}`;
  node.querySelector(".access").textContent = task.access_notes ? `进门 / access: ${task.access_notes}` : "";
  node.querySelector(".conditions").textContent = task.conditions.length ? `情况 / conditions: ${task.conditions.join(", ")}` : "";
  node.querySelector(".clues").textContent = task.clues.length ? `线索 / clues: ${task.clues.join("; ")}` : "";
  const until = offered ? task.offer_expires_at : task.deadline_at;
  node.querySelector(".meta").textContent = `${STATE_NAMES[task.state] || task.state} · ${offered ? "答复截止 answer by" : "到达目标 arrive by"} ${new Date(until).toLocaleTimeString()}${task.at_risk ? " · ⚠ at risk" : ""}`;
  const actions = node.querySelector(".actions");
  if (offered) {
    actions.append(button("接受 / Accept", "accept", () => act(task, "accept")));
    actions.append(button("拒绝 / Decline", "secondary decline", () => act(task, "decline")));
  } else {
    if (task.state === "accepted") actions.append(button("出发 / En route", "en-route", () => act(task, "en_route")));
    if (task.state === "accepted" || task.state === "en_route") actions.append(button("已到达 / Arrived", "arrived", () => act(task, "arrived")));
    const sel = document.createElement("select");
    sel.className = "outcome";
    sel.append(new Option("结果 / outcome…", ""));
    for (const [v, l] of OUTCOMES) sel.append(new Option(l, v));
    actions.append(sel);
    actions.append(button("结束 / Resolve", "resolve", () => {
      if (!sel.value) { say("请选择结果 / choose an outcome", true); return; }
      act(task, "resolve", sel.value);
    }));
  }
  return node;
}

async function refresh() {
  try {
    const data = await api("/api/v1/worker/tasks");
    $("offered").replaceChildren(...data.offered.map((t) => card(t, true)));
    $("active").replaceChildren(...data.active.map((t) => card(t, false)));
  } catch (e) {
    say(e.message, true);
  }
}

async function start() {
  me = await api("/api/v1/worker/me");
  $("login-view").hidden = true;
  $("main-view").hidden = false;
  renderMe();
  await refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 5000);
  followLocation();
}

function init() {
  $("login-form").addEventListener("submit", login);
  $("duty-btn").addEventListener("click", () => toggleDuty().catch((e) => say(e.message, true)));
  $("locate-btn").addEventListener("click", shareLocation);
  $("push-btn").addEventListener("click", enablePush);
  $("logout-btn").addEventListener("click", logout);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js", { scope: "/app/" }).catch(() => {});
  if (token) start().catch(() => logout());
}

init();
