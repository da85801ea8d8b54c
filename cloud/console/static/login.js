// Sign-in form for dispatchers and supervisors.
import { login } from "./api.js";
import { h, mount } from "./dom.js";

export function render(root, params, ctx) {
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const msg = h("p", { class: "error", id: "login-error", role: "alert" });
  const form = h("form", { class: "login card", id: "login" },
    h("h1", {}, "Sign in"),
    h("label", { for: "username" }, "User name"), user,
    h("label", { for: "password" }, "Password"), pass,
    h("button", { class: "primary", type: "submit" }, "Sign in"), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    msg.textContent = "";
    try {
      await login(user.value, pass.value);
      ctx.signedIn(params.get("next") || "/console/live");
    } catch (e) {
      msg.textContent = e.message;
    }
  });
  mount(root, form);
  user.focus();
  return { onLive: () => {}, dispose: () => {} };
}
