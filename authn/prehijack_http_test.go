package authn_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestAddressProofEndsPreHijackedAccount: an address signs nobody in, and
// gives nobody an account's credentials, until it is proven. A squatter
// signs up with a passkey under the victim's address (unproven); when the
// victim signs in by an emailed link — the first proof — the squatter's
// passkey and session stop working, the victim is told, and it is
// audited. (Account pre-hijacking, "classic-federated merge" variant in
// Sudhodanan & Paverd, USENIX Security 2022.)
func TestAddressProofEndsPreHijackedAccount(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		ctx := context.Background()
		env := newPLEnv(t, append(opts, servertest.UnverifiedEmails())...) // the squatter signs up where no proof is required
		rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		victim := "victim-" + randomString() + "@example.com"

		// The squatter signs up with the victim's address and a passkey.
		squatter := newBrowser(t, env.Env)
		key := newAuthenticator()
		callback := squatter.follow(squatter.signUp(squatter.openAuthorization(rp.start()), victim, "Not the victim", key))
		if !strings.HasPrefix(callback, rp.callback) {
			t.Fatalf("squatter's sign-up ended at %s", callback)
		}
		u, err := env.Store.GetUserByEmail(ctx, victim)
		if err != nil || u.EmailVerified {
			t.Fatalf("squatted account: %+v, %v; want an unproven address", u, err)
		}

		if _, page := squatter.page("/account"); !strings.Contains(page, victim) {
			t.Fatal("the squatter's account page does not show the address")
		}

		// The victim signs in by link: the first proof of the address.
		desk := env.client(t)
		a, ia := desk.startAuthorization(rp)
		desk.requestLink(ia, victim)
		_, link := env.mailTo(t, 1, victim)
		desk.get(link)
		resp, body := desk.post(link, url.Values{"action": {"signin"}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.RawQuery, "notice=address-proven") ||
			!strings.Contains(body, "we removed the passkeys") {
			t.Fatalf("after the first proof: %d at %s, want the passkey offer with the notice\n%s", resp.StatusCode, resp.Request.URL, body)
		}
		creds, err := env.Store.ListUserCredentials(ctx, u.ID)
		if err != nil || len(creds) != 0 {
			t.Fatalf("credentials after the proof: %d, %v; want none", len(creds), err)
		}
		if ss, _ := env.Store.ListUserLoginSessions(ctx, u.ID); len(ss) != 1 {
			t.Fatalf("%d live sessions, want only the victim's", len(ss))
		}
		entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{Action: "user.address_proven", TargetID: u.ID}, 10)
		if err != nil || len(entries) != 1 || !strings.Contains(entries[0].AfterJSON, `"credentials_removed":1`) {
			t.Fatalf("audit: %v %+v", err, entries)
		}

		// "Not now" continues to the app: the victim's ID token.
		next := regexp.MustCompile(`id="not-now" class="button secondary" href="([^"]+)"`).FindStringSubmatch(body)
		if next == nil {
			t.Fatalf("no way on from the offer:\n%s", body)
		}
		resp, _ = desk.get(html.UnescapeString(next[1]))
		claims := a.finish(t, resp.Header.Get("Location"))
		if claims.Sub != u.ID || !claims.EmailVerified || claims.ACR != models.ACRBasic {
			t.Fatalf("claims %+v, want the victim's verified account", claims)
		}

		// The squatter's passkey no longer signs in, and its session is over.
		again := newBrowser(t, env.Env)
		o := again.options("/webauthn/login/options", map[string]string{"interaction": again.openAuthorization(rp.start()), "email": victim})
		res := again.post("/webauthn/login/verify", verifyBody(o.Ceremony, key.get(t, o.PublicKey, env.Issuer)))
		if res.status == http.StatusOK {
			t.Fatalf("the squatter's passkey still signs in: %s", res)
		}
		if _, page := squatter.page("/account"); strings.Contains(page, victim) {
			t.Fatal("the squatter's session still opens the account page")
		}
	})
}
