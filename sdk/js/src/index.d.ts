/** Claims of the signed-in user's ID token (OIDC Core §2, §5.1). */
export interface User {
  sub: string;
  iss: string;
  aud: string | string[];
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  groups?: string[];
  acr?: string;
  amr?: string[];
  auth_time?: number;
  [claim: string]: unknown;
}

/** A Web Locks API (navigator.locks) or a stand-in with its request(). */
export interface Locks {
  request<T>(name: string, options: { mode: "exclusive" }, callback: () => Promise<T>): Promise<T>;
}

/** The part of the Storage API the client uses (localStorage, sessionStorage). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ClientOptions {
  /** The issuer URL: https, or http on localhost / 127.0.0.1 / [::1] only. */
  issuer: string;
  /** The client id of a public client registered at the provider. */
  clientId: string;
  /** The registered redirect URI (the page that calls handleRedirect). */
  redirectUri: string;
  /** Where the provider sends the browser after signOut (registered as a post-logout redirect URI). */
  postLogoutRedirectUri?: string;
  /** Scopes to ask for (default "openid profile email offline_access"; offline_access gives the refresh token). */
  scope?: string;
  /** getAccessToken refreshes a token expiring within this many seconds (default 60). */
  refreshBefore?: number;
  /** Where tokens are kept, shared by tabs (default localStorage). */
  storage?: StorageLike;
  /** Where a sign-in in progress is kept, per tab (default sessionStorage). */
  pendingStorage?: StorageLike;
  /** Serialises refreshes across tabs (default navigator.locks; null turns it off). */
  locks?: Locks | null;
  /** Navigates the browser (default location.assign). */
  navigate?: (url: string) => void | Promise<void>;
  /** fetch to use instead of the global one. */
  fetch?: typeof fetch;
  /** BroadcastChannel constructor (default the global one). */
  BroadcastChannel?: typeof BroadcastChannel;
}

export interface SignInOptions {
  /** Handed back by handleRedirect, e.g. the path to go back to. */
  returnTo?: string;
  /** prompt: "login", "none", "consent", … */
  prompt?: string;
  /** login_hint: the address to pre-fill. */
  loginHint?: string;
  /** acr_values, e.g. "urn:sesame:acr:phr". */
  acrValues?: string;
  /** max_age in seconds. */
  maxAge?: number;
  /** Scopes for this sign-in instead of the client's. */
  scope?: string;
}

export interface SignOutOptions {
  /** Overrides the client's postLogoutRedirectUri. */
  postLogoutRedirectUri?: string;
  /** state handed back to the post-logout redirect URI. */
  state?: string;
  /** Revoke the refresh token first (default true). */
  revoke?: boolean;
  /** Go to the provider's end-session endpoint (default true). */
  endSession?: boolean;
}

export interface RedirectResult {
  user: User;
  returnTo: string | null;
}

/** Fired on the client when the session changes, here or in another tab. */
export class SessionChangeEvent extends Event {
  readonly detail: { user: User | null };
}

export interface SesameClientEventMap {
  sessionchange: SessionChangeEvent;
}

export class SesameClient extends EventTarget {
  constructor(options: ClientOptions);
  /** The provider's discovery metadata (fetched once). */
  metadata(): Promise<Record<string, unknown> & { issuer: string; authorization_endpoint?: string; token_endpoint?: string; end_session_endpoint?: string }>;
  /** Sends the browser to the provider to sign in. */
  signIn(options?: SignInOptions): Promise<void>;
  /** Completes a sign-in on the redirect page; null when the URL is no authorization response. */
  handleRedirect(url?: string | URL): Promise<RedirectResult | null>;
  /** The signed-in user's ID token claims, or null. */
  user(): User | null;
  /** Whether a session is stored. */
  isSignedIn(): boolean;
  /** A fresh access token (refreshed with rotation when about to expire), or null. */
  getAccessToken(): Promise<string | null>;
  /** The provider's userinfo for the signed-in user, or null. */
  userInfo(): Promise<Record<string, unknown> | null>;
  /** Forgets the session in every tab, revokes the refresh token and logs out at the provider. */
  signOut(options?: SignOutOptions): Promise<void>;
  /** Stops listening to other tabs. */
  close(): void;
  addEventListener<K extends keyof SesameClientEventMap>(type: K, listener: (ev: SesameClientEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof SesameClientEventMap>(type: K, listener: (ev: SesameClientEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** Same as new SesameClient(options). */
export function createClient(options: ClientOptions): SesameClient;
