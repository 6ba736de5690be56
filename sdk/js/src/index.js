// @sesame-idp/browser: sign users in to a browser app with Sesame (or any
// OpenID provider), on top of oauth4webapi, which does every protocol
// check (PKCE, state, nonce, iss, ID token claims, RFC 9207).
//
// Tokens are kept in localStorage so every tab of the app shares one
// session; the PKCE verifier, state and nonce of a sign-in in progress in
// sessionStorage (that tab only). A refresh runs under a Web Lock named
// after the client, and re-reads the tokens once it holds the lock: when
// two tabs find the access token about to expire at once, the second finds
// the first one's fresh tokens and does not spend the (rotated) refresh
// token again. Tabs tell each other about sign-in, refresh and sign-out on
// a BroadcastChannel; each client then fires "sessionchange".
import * as oauth from "oauth4webapi";

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A signed-in session changed (sign-in, sign-out, refresh failure, or the
 * same in another tab). event.detail.user is the user's ID token claims,
 * or null when nobody is signed in.
 */
export class SessionChangeEvent extends Event {
  constructor(user) {
    super("sessionchange");
    this.detail = { user };
  }
}

/** Creates a client; see SesameClient. */
export function createClient(options) {
  return new SesameClient(options);
}

export class SesameClient extends EventTarget {
  #o;
  #key;
  #as;
  #refreshing = null;
  #channel = null;

  /**
   * @param {import("./index.d.ts").ClientOptions} options
   */
  constructor(options) {
    super();
    const o = { ...options };
    o.scope ??= "openid profile email offline_access";
    o.refreshBefore ??= 60;
    for (const k of ["issuer", "clientId", "redirectUri"]) {
      if (!o[k]) throw new TypeError(`sesame: ${k} is required`);
    }
    const iss = new URL(o.issuer);
    if (iss.protocol !== "https:" && !(iss.protocol === "http:" && loopbackHosts.has(iss.hostname))) {
      throw new TypeError("sesame: the issuer must be https (http only on localhost)");
    }
    o.storage ??= globalThis.localStorage;
    o.pendingStorage ??= globalThis.sessionStorage ?? o.storage;
    o.locks ??= globalThis.navigator?.locks ?? null;
    o.navigate ??= (url) => globalThis.location.assign(url);
    if (!o.storage || !o.pendingStorage) throw new TypeError("sesame: no storage (pass options.storage)");
    this.#o = o;
    this.#key = `sesame:${o.issuer}:${o.clientId}`;
    const BC = o.BroadcastChannel ?? globalThis.BroadcastChannel;
    if (BC) {
      this.#channel = new BC(this.#key);
      this.#channel.onmessage = () => this.dispatchEvent(new SessionChangeEvent(this.user()));
    }
  }

  get #client() {
    return { client_id: this.#o.clientId };
  }

  get #http() {
    const opts = {};
    const iss = new URL(this.#o.issuer);
    if (iss.protocol === "http:") opts[oauth.allowInsecureRequests] = true; // loopback only (checked above)
    if (this.#o.fetch) opts[oauth.customFetch] = this.#o.fetch;
    return opts;
  }

  /** The provider's metadata (discovery), fetched once. */
  async metadata() {
    if (!this.#as) {
      const issuer = new URL(this.#o.issuer);
      this.#as = oauth
        .discoveryRequest(issuer, this.#http)
        .then((r) => oauth.processDiscoveryResponse(issuer, r))
        .catch((e) => {
          this.#as = undefined;
          throw e;
        });
    }
    return this.#as;
  }

  /**
   * Sends the browser to the provider to sign in (authorization code with
   * PKCE S256, state and nonce). handleRedirect completes it on the
   * redirect URI's page.
   * @param {import("./index.d.ts").SignInOptions} [opts]
   */
  async signIn(opts = {}) {
    const as = await this.metadata();
    const verifier = oauth.generateRandomCodeVerifier();
    const pending = {
      verifier,
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      returnTo: opts.returnTo ?? null,
    };
    this.#o.pendingStorage.setItem(this.#key + ":pending", JSON.stringify(pending));
    const u = new URL(as.authorization_endpoint);
    const q = {
      client_id: this.#o.clientId,
      redirect_uri: this.#o.redirectUri,
      response_type: "code",
      scope: opts.scope ?? this.#o.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    };
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    for (const k of ["prompt", "loginHint", "acrValues", "maxAge"]) {
      if (opts[k] !== undefined) u.searchParams.set(k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()), String(opts[k]));
    }
    await this.#o.navigate(u.href);
  }

  /**
   * Completes a sign-in on the redirect URI's page: checks the response,
   * exchanges the code and validates the ID token. Returns null when url
   * is not an authorization response; throws when the provider refused
   * (e.g. access_denied: error.error names it) or a check fails.
   * @param {string | URL} [url]
   */
  async handleRedirect(url = globalThis.location?.href) {
    const here = new URL(url);
    if (!here.searchParams.has("state") || !(here.searchParams.has("code") || here.searchParams.has("error"))) {
      return null;
    }
    const raw = this.#o.pendingStorage.getItem(this.#key + ":pending");
    this.#o.pendingStorage.removeItem(this.#key + ":pending");
    if (!raw) throw new Error("sesame: no sign-in is in progress in this tab");
    const pending = JSON.parse(raw);
    const as = await this.metadata();
    const params = oauth.validateAuthResponse(as, this.#client, here, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, this.#client, oauth.None(), params, this.#o.redirectUri, pending.verifier, this.#http);
    const result = await oauth.processAuthorizationCodeResponse(as, this.#client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
    const claims = oauth.getValidatedIdTokenClaims(result);
    this.#save(result, claims);
    this.#changed();
    if (globalThis.history?.replaceState && globalThis.location?.href === here.href) {
      const clean = new URL(here);
      for (const k of ["code", "state", "iss", "session_state"]) clean.searchParams.delete(k);
      globalThis.history.replaceState(globalThis.history.state, "", clean.href);
    }
    return { user: claims, returnTo: pending.returnTo };
  }

  /** The signed-in user's ID token claims, or null. */
  user() {
    return this.#load()?.claims ?? null;
  }

  /** Whether someone is signed in (a session is stored; it may need a refresh). */
  isSignedIn() {
    return this.#load() !== null;
  }

  /**
   * An access token valid for at least refreshBefore seconds, refreshed
   * (with rotation) when needed; null when nobody is signed in or the
   * session ended (the refresh token was refused: sessionchange fires).
   */
  async getAccessToken() {
    const t = this.#load();
    if (!t) return null;
    if (this.#fresh(t)) return t.access_token;
    if (!t.refresh_token) {
      if (Date.now() < t.expires_at) return t.access_token;
      this.#clear();
      this.#changed();
      return null;
    }
    // One refresh per tab at a time, and one per browser under the lock.
    this.#refreshing ??= this.#withLock(() => this.#refresh()).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh() {
    // Under the lock: another tab may have refreshed while we waited.
    const t = this.#load();
    if (!t) return null;
    if (this.#fresh(t)) return t.access_token;
    const as = await this.metadata();
    let result;
    try {
      const response = await oauth.refreshTokenGrantRequest(as, this.#client, oauth.None(), t.refresh_token, this.#http);
      result = await oauth.processRefreshTokenResponse(as, this.#client, response);
    } catch (e) {
      if (e instanceof oauth.ResponseBodyError && (e.error === "invalid_grant" || e.error === "invalid_client")) {
        this.#clear();
        this.#changed();
        return null;
      }
      throw e;
    }
    const claims = result.id_token ? oauth.getValidatedIdTokenClaims(result) : t.claims;
    this.#save(result, claims, t);
    return result.access_token;
  }

  #withLock(fn) {
    const locks = this.#o.locks;
    if (!locks) return fn();
    return locks.request(this.#key + ":refresh", { mode: "exclusive" }, fn);
  }

  /**
   * Calls the provider's userinfo endpoint with the access token and
   * returns its claims (which the provider keeps current, unlike user()).
   */
  async userInfo() {
    const token = await this.getAccessToken();
    if (!token) return null;
    const as = await this.metadata();
    const sub = this.user()?.sub ?? oauth.skipSubjectCheck;
    const response = await oauth.userInfoRequest(as, this.#client, token, this.#http);
    return oauth.processUserInfoResponse(as, this.#client, sub, response);
  }

  /**
   * Signs out: forgets the session in every tab, revokes the refresh token
   * (best effort) and, when the provider has an end-session endpoint,
   * sends the browser there (RP-initiated logout) with the ID token as
   * hint, so the provider's own session ends too.
   * @param {import("./index.d.ts").SignOutOptions} [opts]
   */
  async signOut(opts = {}) {
    const t = this.#load();
    this.#clear();
    this.#changed();
    const as = await this.metadata();
    if (t?.refresh_token && as.revocation_endpoint && opts.revoke !== false) {
      try {
        await oauth.processRevocationResponse(
          await oauth.revocationRequest(as, this.#client, oauth.None(), t.refresh_token, this.#http));
      } catch {
        // The session is forgotten here either way; the provider's logout ends the grant.
      }
    }
    if (as.end_session_endpoint && opts.endSession !== false) {
      const u = new URL(as.end_session_endpoint);
      u.searchParams.set("client_id", this.#o.clientId);
      if (t?.id_token) u.searchParams.set("id_token_hint", t.id_token);
      const back = opts.postLogoutRedirectUri ?? this.#o.postLogoutRedirectUri;
      if (back) u.searchParams.set("post_logout_redirect_uri", back);
      if (opts.state) u.searchParams.set("state", opts.state);
      await this.#o.navigate(u.href);
    }
  }

  /** Stops listening to other tabs. */
  close() {
    this.#channel?.close();
    this.#channel = null;
  }

  #fresh(t) {
    return t.expires_at - Date.now() > this.#o.refreshBefore * 1000;
  }

  #load() {
    const raw = this.#o.storage.getItem(this.#key);
    if (!raw) return null;
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  }

  #save(result, claims, previous) {
    const t = {
      access_token: result.access_token,
      expires_at: Date.now() + (result.expires_in ?? 3600) * 1000,
      // Rotation: the new refresh token replaces the old; a provider that
      // does not rotate leaves the old one valid.
      refresh_token: result.refresh_token ?? previous?.refresh_token ?? null,
      id_token: result.id_token ?? previous?.id_token ?? null,
      scope: result.scope ?? previous?.scope ?? null,
      claims,
    };
    this.#o.storage.setItem(this.#key, JSON.stringify(t));
  }

  #clear() {
    this.#o.storage.removeItem(this.#key);
  }

  #broadcast() {
    this.#channel?.postMessage("changed");
  }

  #changed() {
    this.#broadcast();
    this.dispatchEvent(new SessionChangeEvent(this.user()));
  }
}
