package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestClientSecretForms: a generated secret is stored as a keyed HMAC, so
// wrong guesses cost no memory-hard work and are not throttled (40 wrong,
// then the right one works); an old argon2id hash still verifies once and
// is upgraded to the keyed form; wrong guesses at a memory-hard secret are
// throttled per client, refused before any hashing, even the right one
// while the window lasts (RFC 6749 §5.2 invalid_client throughout).
func TestClientSecretForms(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := t.Context()
		form := url.Values{"grant_type": {"client_credentials"}}
		spec := clients.Spec{Name: "Machine", GrantTypes: []string{clients.GrantClientCredentials}}

		id, secret := env.CreateClient(spec)
		if c, err := env.Store.GetClient(ctx, id); err != nil || !strings.HasPrefix(c.SecretHash, "$hmac-sha256$") {
			t.Fatalf("stored secret %q, %v; want the keyed form", c.SecretHash, err)
		}
		for range 40 {
			negWantOAuthError(t, negToken(t, env, form, id, "wrong-"+secret), http.StatusUnauthorized, "invalid_client")
		}
		if r := negToken(t, env, form, id, secret); r.Status != http.StatusOK {
			t.Fatalf("right secret after wrong guesses: %d %s", r.Status, r.Raw)
		}

		// An old argon2id hash: verifies, then is stored in the keyed form.
		legacy, plain := env.CreateClient(spec)
		old, err := clients.HashMemoryHard(plain)
		if err != nil {
			t.Fatal(err)
		}
		setSecretHash(t, env, legacy, old)
		if r := negToken(t, env, form, legacy, plain); r.Status != http.StatusOK {
			t.Fatalf("argon2id secret: %d %s", r.Status, r.Raw)
		}
		if c, _ := env.Store.GetClient(ctx, legacy); !strings.HasPrefix(c.SecretHash, "$hmac-sha256$") {
			t.Fatalf("argon2id hash not upgraded: %q", c.SecretHash)
		}

		// Wrong guesses at a memory-hard secret are throttled per client.
		weak, weakPlain := env.CreateClient(spec)
		weakHash, err := clients.HashMemoryHard(weakPlain)
		if err != nil {
			t.Fatal(err)
		}
		setSecretHash(t, env, weak, weakHash)
		// The count is per fixed minute: eleven slow (argon2id) attempts
		// must not straddle two minutes.
		servertest.AwayFromWindowEdge(time.Minute, 30*time.Second)
		for range 10 {
			negWantOAuthError(t, negToken(t, env, form, weak, "guess"), http.StatusUnauthorized, "invalid_client")
		}
		negWantOAuthError(t, negToken(t, env, form, weak, weakPlain), http.StatusUnauthorized, "invalid_client")
		if c, _ := env.Store.GetClient(ctx, weak); c.SecretHash != weakHash {
			t.Fatal("a throttled attempt verified (and upgraded) the secret")
		}
	})
}

func setSecretHash(t *testing.T, env *servertest.Env, id, hash string) {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	q := "UPDATE clients SET secret_hash = $1 WHERE id = $2"
	if _, err := db.ExecContext(t.Context(), q, hash, id); err != nil {
		t.Fatal(err)
	}
	env.Server.Provider().InvalidateClient(id)
}
