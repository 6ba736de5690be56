import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, SesameClient } from "../src/index.js";
import { startOP, MemoryStorage, memoryLocks } from "./fakeop.js";

let op;
before(async () => {
  op = await startOP();
});
after(() => op.close());

const redirectUri = "http://127.0.0.1:5173/callback";

// tab makes a client as one browser tab would have it: localStorage shared
// with the other tabs (storage), its own sessionStorage, the browser's
// locks, and a navigate that records where the page was sent.
function tab(storage, locks, extra = {}) {
  const visited = [];
  const client = createClient({
    issuer: op.issuer, clientId: "spa", redirectUri, postLogoutRedirectUri: "http://127.0.0.1:5173/",
    storage, pendingStorage: new MemoryStorage(), locks, navigate: (u) => visited.push(u), ...extra,
  });
  return { client, visited };
}

async function signedIn(storage = new MemoryStorage(), locks = memoryLocks(), extra) {
  const t = tab(storage, locks, extra);
  await t.client.signIn({ returnTo: "/orders" });
  const res = await t.client.handleRedirect(op.authorize(t.visited.pop()));
  return { ...t, res, storage, locks };
}

test("signIn sends the browser to authorize with PKCE S256, state and nonce", async () => {
  const { client, visited } = tab(new MemoryStorage(), null);
  await client.signIn({ loginHint: "ada@example.com", prompt: "login" });
  const u = new URL(visited[0]);
  assert.equal(u.origin + u.pathname, op.issuer + "/authorize");
  const q = Object.fromEntries(u.searchParams);
  assert.equal(q.response_type, "code");
  assert.equal(q.client_id, "spa");
  assert.equal(q.redirect_uri, redirectUri);
  assert.equal(q.code_challenge_method, "S256");
  assert.match(q.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(q.state.length >= 32 && q.nonce.length >= 32);
  assert.equal(q.scope, "openid profile email offline_access");
  assert.equal(q.login_hint, "ada@example.com");
  assert.equal(q.prompt, "login");
  client.close();
});

test("handleRedirect exchanges the code once, checks the ID token and fires sessionchange", async () => {
  const storage = new MemoryStorage();
  const { client, visited } = tab(storage, memoryLocks());
  const events = [];
  client.addEventListener("sessionchange", (e) => events.push(e.detail.user?.sub ?? null));
  assert.equal(await client.handleRedirect("http://127.0.0.1:5173/"), null, "a page without a response");
  await client.signIn({ returnTo: "/orders" });
  const back = op.authorize(visited.pop());
  const res = await client.handleRedirect(back);
  assert.equal(res.user.sub, "user-1");
  assert.equal(res.user.email, "ada@example.com");
  assert.equal(res.returnTo, "/orders");
  assert.equal(client.user().sub, "user-1");
  assert.ok(client.isSignedIn());
  assert.deepEqual(events, ["user-1"]);
  assert.match(await client.getAccessToken(), /^at-/);
  // The same response again (a reload of the callback page): refused.
  await assert.rejects(client.handleRedirect(back), /no sign-in is in progress/);
  client.close();
});

test("handleRedirect refuses a forged state, a provider error and a code for another verifier", async () => {
  const { client, visited } = tab(new MemoryStorage(), null);
  await client.signIn();
  const back = new URL(op.authorize(visited.pop()));
  back.searchParams.set("state", "forged");
  await assert.rejects(client.handleRedirect(back), (e) => /state/i.test(e.message));

  await client.signIn();
  const denied = new URL(redirectUri);
  denied.searchParams.set("error", "access_denied");
  denied.searchParams.set("state", new URL(visited.pop()).searchParams.get("state"));
  denied.searchParams.set("iss", op.issuer);
  await assert.rejects(client.handleRedirect(denied), (e) => e.error === "access_denied");

  // A code issued for another tab's sign-in (its PKCE challenge).
  const other = tab(new MemoryStorage(), null);
  await other.client.signIn();
  const stolen = new URL(op.authorize(other.visited.pop()));
  await client.signIn();
  stolen.searchParams.set("state", new URL(visited.pop()).searchParams.get("state"));
  await assert.rejects(client.handleRedirect(stolen), (e) => e.error === "invalid_grant");
  assert.equal(client.user(), null);
  client.close();
  other.client.close();
});

test("getAccessToken reuses a fresh token and refreshes with rotation before expiry", async () => {
  const { client, storage } = await signedIn();
  const calls = op.tokenCalls.refresh_token;
  const first = await client.getAccessToken();
  assert.equal(await client.getAccessToken(), first);
  assert.equal(op.tokenCalls.refresh_token, calls, "no refresh while fresh");

  const refreshing = createClient({ issuer: op.issuer, clientId: "spa", redirectUri, storage, pendingStorage: new MemoryStorage(), locks: memoryLocks(), refreshBefore: 7200 });
  const before = JSON.parse(storage.getItem(`sesame:${op.issuer}:spa`));
  const second = await refreshing.getAccessToken();
  const after = JSON.parse(storage.getItem(`sesame:${op.issuer}:spa`));
  assert.notEqual(second, first);
  assert.notEqual(after.refresh_token, before.refresh_token, "the refresh token rotated");
  assert.equal(op.tokenCalls.refresh_token, calls + 1);
  assert.equal(await refreshing.getAccessToken() !== second, true, "still within refreshBefore: refreshed again");
  client.close();
  refreshing.close();
});

test("two tabs refreshing at once spend the refresh token once (Web Locks)", async () => {
  const storage = new MemoryStorage();
  const locks = memoryLocks();
  op.accessTTL = 30; // the first access token is about to expire (refreshBefore 60 s)
  const a = await signedIn(storage, locks);
  op.accessTTL = 3600;
  // Tab B shares the storage and the browser's locks, not the client object.
  const b = tab(storage, locks);
  const calls = op.tokenCalls.refresh_token;
  const [ta, tb, ta2] = await Promise.all([a.client.getAccessToken(), b.client.getAccessToken(), a.client.getAccessToken()]);
  assert.ok(ta && tb);
  assert.equal(ta, ta2, "one refresh per tab at a time");
  assert.equal(tb, ta, "the second tab found the first one's fresh token under the lock");
  assert.equal(op.tokenCalls.refresh_token, calls + 1);
  assert.ok(b.client.isSignedIn());
  a.client.close();
  b.client.close();
});

test("without the lock the same race burns the grant (the failure the lock prevents)", async () => {
  const storage = new MemoryStorage();
  op.accessTTL = 30;
  const a = await signedIn(storage, null);
  op.accessTTL = 3600;
  const b = tab(storage, null);
  const calls = op.tokenCalls.refresh_token;
  const results = await Promise.all([a.client.getAccessToken(), b.client.getAccessToken()]);
  assert.equal(op.tokenCalls.refresh_token, calls + 2, "both tabs refreshed");
  assert.ok(results.includes(null), `one tab lost the session: ${results}`);
  // The reuse killed the grant: the tokens the other tab saved are dead too.
  const c = tab(storage, null, { refreshBefore: 7200 });
  assert.equal(await c.client.getAccessToken(), null);
  a.client.close();
  b.client.close();
  c.client.close();
});

test("a refused refresh ends the session and fires sessionchange with null", async () => {
  const { client, storage } = await signedIn(new MemoryStorage(), memoryLocks(), { refreshBefore: 7200 });
  const key = `sesame:${op.issuer}:spa`;
  const t = JSON.parse(storage.getItem(key));
  op.refresh.get(t.refresh_token).live = false; // spent elsewhere
  const events = [];
  client.addEventListener("sessionchange", (e) => events.push(e.detail.user));
  assert.equal(await client.getAccessToken(), null);
  assert.deepEqual(events, [null]);
  assert.equal(client.user(), null);
  client.close();
});

test("signOut revokes, logs out at the provider and tells the other tabs", async () => {
  const storage = new MemoryStorage();
  const a = await signedIn(storage);
  const b = tab(storage, a.locks);
  const otherTab = new Promise((ok) => b.client.addEventListener("sessionchange", (e) => ok(e.detail.user), { once: true }));
  const rt = JSON.parse(storage.getItem(`sesame:${op.issuer}:spa`)).refresh_token;
  await a.client.signOut({ state: "bye" });
  assert.equal(await otherTab, null, "tab B heard the sign-out");
  assert.ok(op.revoked.includes(rt));
  const u = new URL(a.visited.pop());
  assert.equal(u.origin + u.pathname, op.issuer + "/logout");
  assert.ok(u.searchParams.get("id_token_hint").split(".").length === 3);
  assert.equal(u.searchParams.get("post_logout_redirect_uri"), "http://127.0.0.1:5173/");
  assert.equal(u.searchParams.get("state"), "bye");
  assert.equal(a.client.user(), null);
  assert.equal(b.client.user(), null);
  assert.equal(await b.client.getAccessToken(), null);
  a.client.close();
  b.client.close();
});

test("the issuer must be https except on loopback", () => {
  const opts = { clientId: "spa", redirectUri, storage: new MemoryStorage(), locks: null };
  assert.throws(() => new SesameClient({ ...opts, issuer: "http://login.example.com" }), /https/);
  assert.throws(() => new SesameClient({ ...opts, issuer: "https://login.example.com", clientId: "" }), /clientId/);
  new SesameClient({ ...opts, issuer: "https://login.example.com" }).close();
  new SesameClient({ ...opts, issuer: "http://localhost:8080" }).close();
});
