// Compiled (not run) by `npm test` with tsc --strict: the declarations in
// src/index.d.ts describe the API as an app uses it.
import { createClient, SesameClient, type User, type RedirectResult } from "@sesame-idp/browser";

const client: SesameClient = createClient({
  issuer: "http://localhost:8080",
  clientId: "spa",
  redirectUri: "http://localhost:5173/",
  postLogoutRedirectUri: "http://localhost:5173/",
  scope: "openid email groups offline_access",
});

client.addEventListener("sessionchange", (e) => {
  const user: User | null = e.detail.user;
  const groups: string[] | undefined = user?.groups;
  console.log(user?.email, groups);
});

async function main(): Promise<void> {
  const done: RedirectResult | null = await client.handleRedirect();
  if (done?.returnTo) history.replaceState(null, "", done.returnTo);
  if (!client.isSignedIn()) {
    await client.signIn({ returnTo: location.pathname, loginHint: "ada@example.com" });
    return;
  }
  const token: string | null = await client.getAccessToken();
  if (token) await fetch("http://localhost:4000/api/me", { headers: { Authorization: `Bearer ${token}` } });
  const info = await client.userInfo();
  console.log(info?.["email"], client.user()?.sub);
  await client.signOut({ state: "x" });
}
void main();
