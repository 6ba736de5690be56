// The example single-page app: signs in with Sesame through the browser
// SDK (sdk/js) and calls the example API with the access token.
import { createClient } from "@sesame-idp/browser";

const cfg = await (await fetch("/config.json")).json();
const sesame = createClient({
  issuer: cfg.issuer,
  clientId: cfg.clientId,
  redirectUri: location.origin + "/",
  postLogoutRedirectUri: location.origin + "/",
  scope: "openid profile email groups offline_access reports:read",
  refreshBefore: cfg.refreshBefore,
});
window.sesame = sesame; // to play with in the browser's console

const $ = (id) => document.getElementById(id);

function render(user) {
  $("signed-in").hidden = !user;
  $("signed-out").hidden = !!user;
  $("who").textContent = user ? `${user.name ?? ""} <${user.email ?? user.sub}>` : "";
  $("groups").textContent = user ? (user.groups ?? []).join(", ") || "none" : "";
  for (const el of document.querySelectorAll("output")) el.textContent = "";
}

sesame.addEventListener("sessionchange", (e) => render(e.detail.user));

$("sign-in").addEventListener("click", () => sesame.signIn());
$("sign-out").addEventListener("click", () => sesame.signOut());
for (const name of ["me", "reports", "admin"]) {
  $("call-" + name).addEventListener("click", async () => {
    const out = $("result-" + name);
    out.textContent = "…";
    try {
      const token = await sesame.getAccessToken();
      if (!token) return; // signed out: sessionchange has rendered it
      const res = await fetch(`${cfg.api}/api/${name}`, { headers: { Authorization: `Bearer ${token}` } });
      out.textContent = `${res.status} ${await res.text()}`;
    } catch (e) {
      out.textContent = "error: " + e.message;
    }
  });
}

try {
  await sesame.handleRedirect();
} catch (e) {
  $("error").textContent = "Sign-in failed: " + (e.error ?? e.message);
}
render(sesame.user());
document.body.dataset.ready = "true";
