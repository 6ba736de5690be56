// A small OpenID provider for the unit tests, on a real loopback HTTP
// server: discovery, token endpoint (code with PKCE, refresh with rotation
// where a spent refresh token kills the grant: no reuse interval, so a
// double refresh shows), revocation, end-session. ID tokens are RS256.
// The SDK's test against a real Sesame is the Chromium one
// (examples/spa, sdk/js browser test in examples/sdktest).
import http from "node:http";
import crypto from "node:crypto";

export async function startOP() {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const op = {
    issuer: "",
    codes: new Map(), // code -> {challenge, nonce, redirect_uri, client_id}
    refresh: new Map(), // refresh token -> {grant, live}
    grants: new Map(), // grant -> live
    tokenCalls: { authorization_code: 0, refresh_token: 0 },
    revoked: [],
    accessTTL: 3600,
  };
  const b64 = (b) => Buffer.from(b).toString("base64url");
  const idToken = (claims) => {
    const h = b64(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "k1" }));
    const now = Math.floor(Date.now() / 1000);
    const p = b64(JSON.stringify({ iss: op.issuer, sub: "user-1", email: "ada@example.com", iat: now, exp: now + 300, ...claims }));
    const sig = crypto.sign("RSA-SHA256", Buffer.from(h + "." + p), privateKey);
    return h + "." + p + "." + b64(sig);
  };
  const issue = (grant, client_id, nonce) => {
    const rt = crypto.randomUUID();
    op.refresh.set(rt, { grant, live: true });
    const out = { access_token: "at-" + crypto.randomUUID(), token_type: "Bearer", expires_in: op.accessTTL, refresh_token: rt, scope: "openid email offline_access",
      id_token: idToken({ aud: client_id, ...(nonce ? { nonce } : {}) }) };
    return out;
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, op.issuer);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json", "access-control-allow-origin": "*" });
      res.end(JSON.stringify(body));
    };
    let body = "";
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    switch (url.pathname) {
      case "/.well-known/openid-configuration":
        return json(200, { issuer: op.issuer, authorization_endpoint: op.issuer + "/authorize", token_endpoint: op.issuer + "/token",
          revocation_endpoint: op.issuer + "/revoke", end_session_endpoint: op.issuer + "/logout", userinfo_endpoint: op.issuer + "/userinfo",
          jwks_uri: op.issuer + "/jwks", id_token_signing_alg_values_supported: ["RS256"] });
      case "/token": {
        const gt = form.get("grant_type");
        op.tokenCalls[gt] = (op.tokenCalls[gt] ?? 0) + 1;
        if (gt === "authorization_code") {
          const c = op.codes.get(form.get("code"));
          op.codes.delete(form.get("code"));
          const challenge = crypto.createHash("sha256").update(form.get("code_verifier") ?? "").digest("base64url");
          if (!c || c.challenge !== challenge || c.redirect_uri !== form.get("redirect_uri") || c.client_id !== form.get("client_id")) {
            return json(400, { error: "invalid_grant" });
          }
          const grant = crypto.randomUUID();
          op.grants.set(grant, true);
          return json(200, issue(grant, c.client_id, c.nonce));
        }
        if (gt === "refresh_token") {
          const r = op.refresh.get(form.get("refresh_token"));
          if (!r || !op.grants.get(r.grant)) return json(400, { error: "invalid_grant" });
          if (!r.live) {
            op.grants.set(r.grant, false); // reuse: the whole grant dies (RFC 9700 §4.14.2)
            return json(400, { error: "invalid_grant" });
          }
          r.live = false;
          // Slow enough that two tabs' refreshes overlap.
          await new Promise((ok) => setTimeout(ok, 50));
          return json(200, issue(r.grant, form.get("client_id")));
        }
        return json(400, { error: "unsupported_grant_type" });
      }
      case "/revoke": {
        op.revoked.push(form.get("token"));
        const r = op.refresh.get(form.get("token"));
        if (r) op.grants.set(r.grant, false);
        res.writeHead(200);
        return res.end();
      }
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  op.issuer = `http://127.0.0.1:${server.address().port}`;
  // authorize stands in for the provider's pages: it issues a code for
  // the request as a signed-in user would get it.
  op.authorize = (authURL) => {
    const u = new URL(authURL);
    const code = crypto.randomUUID();
    op.codes.set(code, { challenge: u.searchParams.get("code_challenge"), nonce: u.searchParams.get("nonce"),
      redirect_uri: u.searchParams.get("redirect_uri"), client_id: u.searchParams.get("client_id") });
    const back = new URL(u.searchParams.get("redirect_uri"));
    back.searchParams.set("code", code);
    back.searchParams.set("state", u.searchParams.get("state"));
    back.searchParams.set("iss", op.issuer);
    return back.href;
  };
  op.close = () => new Promise((ok) => server.close(ok));
  return op;
}

/** A Storage in memory (localStorage / sessionStorage stand-in). */
export class MemoryStorage {
  #m = new Map();
  getItem(k) { return this.#m.has(k) ? this.#m.get(k) : null; }
  setItem(k, v) { this.#m.set(k, String(v)); }
  removeItem(k) { this.#m.delete(k); }
}

/** Web Locks stand-in: exclusive locks by name, granted in order. */
export function memoryLocks() {
  const tails = new Map();
  return {
    request(name, _opts, cb) {
      const prev = tails.get(name) ?? Promise.resolve();
      const run = prev.then(() => cb());
      tails.set(name, run.catch(() => {}));
      return run;
    },
  };
}
