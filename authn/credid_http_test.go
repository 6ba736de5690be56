package authn_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestOverlongCredentialIDIsRefused: a credential id longer than 1,023
// bytes (WebAuthn L3 §5.8.3 credentialId, "at most 1023 bytes") is refused
// at registration with a 4xx answer, and nothing is stored.
func TestOverlongCredentialIDIsRefused(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		for _, n := range []int{1024, 4096} {
			b := newBrowser(t, env)
			b.page("/signup")
			d := newAuthenticator()
			d.cred.ID = make([]byte, n)
			if _, err := rand.Read(d.cred.ID); err != nil {
				t.Fatal(err)
			}
			o := b.options("/webauthn/register/options", map[string]string{"email": "long@example.com", "name": "Long"})
			res := b.post("/webauthn/register/verify", verifyBody(o.Ceremony, d.create(t, o.PublicKey, env.Issuer)))
			if res.status < 400 || res.status >= 500 {
				t.Fatalf("%d-byte credential id: %s, want a 4xx refusal", n, res)
			}
			if _, err := env.Store.GetUserByEmail(context.Background(), "long@example.com"); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("%d-byte credential id created the account: %v", n, err)
			}
		}
		if n := countRows(t, env, "webauthn_credentials"); n != 0 {
			t.Fatalf("%d credentials stored", n)
		}
		// Control: the same sign-up with an ordinary id succeeds.
		b := newBrowser(t, env)
		b.page("/signup")
		if r := b.signUp("", "long@example.com", "Long", newAuthenticator()); r != "/account" {
			t.Fatalf("ordinary sign-up redirected to %q", r)
		}
	})
}
