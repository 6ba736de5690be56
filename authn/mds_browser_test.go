package authn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestMetadataServiceInChromium proves the FIDO Metadata Service end to
// end, on two replicas running their metadata sync (server/metadata.go)
// against a local metadata service serving BLOBs signed by a test root:
// discovery lists the attested level only once metadata is loaded; a
// device-bound passkey of Chromium's virtual authenticator (packed
// attestation chained to the BLOB's entry) signs in at that level; a new
// BLOB reporting the model REVOKED reaches both replicas within seconds
// and flags the credential, which then signs in at the basic level only;
// under suspend_compromised_passkeys it is suspended and the sign-in page
// says so; a BLOB with a bad signature keeps the last good copy.
func TestMetadataServiceInChromium(t *testing.T) {
	cert, aaguid := chromiumAttestation(t)
	signer, forger := mdstest.NewSigner(t), mdstest.NewSigner(t)
	anchor := signer.AnchorFor(t, cert)
	entry := func(status string) mdstest.Entry {
		return mdstest.Entry{AAGUID: aaguid, Status: status, Types: []string{"basic_full"}, Roots: []string{anchor},
			UV: []string{"presence_internal", "passcode_internal"}}
	}
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		var mu sync.Mutex
		blob := []byte("not yet")
		mds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			_, _ = w.Write(blob)
		}))
		t.Cleanup(mds.Close)
		serve := func(b []byte) { mu.Lock(); blob = b; mu.Unlock() }
		next := time.Now().Add(30 * 24 * time.Hour)

		env := servertest.NewLogged(t, os.Stderr, append(opts, servertest.UnverifiedEmails(), servertest.With(func(c *config.Config) {
			c.Attestation, c.MDSURL, c.MDSRoot, c.MDSRefresh = "direct", mds.URL, signer.Root, time.Second
		}))...)
		replica := env.Replica()
		// Before any good BLOB (the service answers garbage), the
		// attested level cannot be reached, and discovery says so.
		if got := discoveredACRs(t, env); slices.Contains(got, models.ACRAttested) {
			t.Fatalf("acr_values_supported without metadata = %v", got)
		}
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		go env.Server.MetadataSync().Run(ctx)
		go replica.Server.MetadataSync().Run(ctx)

		serve(signer.BytesWith(t, mdstest.Header{No: 1, NextUpdate: next}, entry("FIDO_CERTIFIED_L1")))
		eventually(t, "both replicas list the attested level", func() bool {
			return slices.Equal(discoveredACRs(t, env), models.ACRLevels) && slices.Equal(discoveredACRsAt(t, replica.HTTP.URL), models.ACRLevels)
		})

		plain := newRelyingParty(t, env, clients.Spec{Name: "Ledger", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		bctx := browsertest.New(t)
		defer browsertest.WithoutAutofill(t, bctx)()
		browsertest.AddAuthenticator(t, bctx, browsertest.Passkey())
		a := plain.start()
		browsertest.Do(t, bctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
		browsertest.Do(t, bctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
		browsertest.Do(t, bctx, "sign up",
			chromedp.SendKeys("#email", "ada@example.com"), chromedp.SendKeys("#name", "Ada"), chromedp.Click("#signup-button"))
		claims := a.finish(t, browsertest.WaitLocation(t, bctx, plain.callback))
		wantLevel(t, "attested sign-up", claims, models.ACRAttested, "pop", "hwk", "user", "mfa", "pin")
		u, err := env.Store.GetUserByEmail(context.Background(), "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}

		// The model is revoked: the next BLOB reaches the database and
		// the credential is flagged within seconds.
		serve(signer.BytesWith(t, mdstest.Header{No: 2, NextUpdate: next}, entry("REVOKED")))
		credential := func() models.WebAuthnCredential {
			cs, err := env.Store.ListUserCredentials(context.Background(), u.ID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("credentials: %d %v", len(cs), err)
			}
			return cs[0]
		}
		eventually(t, "the credential is flagged REVOKED", func() bool { return credential().CompromisedStatus == "REVOKED" })
		signIn := func() {
			a = plain.start(oauth2.SetAuthURLParam("prompt", "login"))
			browsertest.Do(t, bctx, "sign in again", chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"), chromedp.Click("#passkey-button"))
		}
		signIn()
		claims = a.finish(t, browsertest.WaitLocation(t, bctx, plain.callback))
		wantLevel(t, "revoked model, no suspension", claims, models.ACRBasic, "pop", "hwk", "user")

		// A forged BLOB (another signer) is refused; the revocation stays.
		serve(forger.BytesWith(t, mdstest.Header{No: 3, NextUpdate: next}, entry("FIDO_CERTIFIED_L1")))
		eventually(t, "the forged BLOB's failure is recorded", func() bool {
			row, err := env.Store.GetFIDOMetadata(context.Background(), models.FIDOMetadataMDS3)
			return err == nil && row.Serial == 2 && strings.Contains(row.LastError, "verify")
		})
		if credential().CompromisedStatus != "REVOKED" {
			t.Fatal("a forged BLOB lifted the revocation")
		}

		// Suspension: the admin turns the policy on; the next round
		// suspends the credential, and the sign-in page says why.
		live := policy.New(env.Store, env.Config)
		p, err := live.Current(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.SuspendCompromisedPasskeys = true
		if err := live.Save(context.Background(), p, "test"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the credential is suspended", func() bool { return credential().SuspendedAt != nil })
		signIn()
		browsertest.WaitText(t, bctx, "#status", "This passkey has been suspended")
		if loc := browsertest.Location(t, bctx); strings.HasPrefix(loc, plain.callback) {
			t.Fatal("a suspended passkey signed in")
		}
	})
}

func discoveredACRsAt(t *testing.T, base string) []string {
	t.Helper()
	return discoveredACRs(t, &servertest.Env{Issuer: base})
}

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 10s", what)
}
