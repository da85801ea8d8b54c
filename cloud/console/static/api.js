// Bearer-token API client; the token lives in sessionStorage for this tab only.
const KEY = "carewatch.token";
export const API = "/api/v1/console";

export class AuthError extends Error {}

/** A refused request; ``status`` is the HTTP status. */
export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** The token was refused: sign out and go to the sign-in page, coming back here after. */
export function expired() {
  signOut();
  const here = location.pathname.startsWith("/console/login") ? "/console/live" : location.pathname + location.search;
  location.assign(`/console/login?next=${encodeURIComponent(here)}`);
}

/** Log in against the operator auth endpoint; returns the token. */
export async function login(username, password) {
  const resp = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!resp.ok) throw new Error(await errorText(resp));
  const body = await resp.json();
  sessionStorage.setItem(KEY, body.access_token);
  return body.access_token;
}

async function errorText(resp) {
  try {
    const body = await resp.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
  } catch (_) { /* not JSON */ }
  return `${resp.status} ${resp.statusText}`;
}

async function request(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (resp.status === 401) {
    expired();
    throw new AuthError("signed out");
  }
  if (!resp.ok) throw new HttpError(resp.status, await errorText(resp));
  return resp;
}

/** GET a console JSON resource, e.g. get("/live"). */
export async function get(path) {
  return (await request(API + path)).json();
}

/** Download a CSV export through the authenticated API. */
export async function download(path, filename) {
  const blob = await (await request(API + path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
