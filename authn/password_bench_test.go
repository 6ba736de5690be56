package authn_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/ratelimit"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// BenchmarkPasswordAndKeySignIn is a whole password + security key sign-in
// at the server's argon2id parameters (DefaultParams), at the service
// level with a virtual security key, on each database: SignIn (user and
// password reads, five throttle counts, one argon2id), the user's
// credentials, BeginSecurityKeyLogin (options + ceremony row), the key's
// assertion, FinishLogin (ceremony consumed, verification, counter
// update) and the login session row.
func BenchmarkPasswordAndKeySignIn(b *testing.B) {
	storetest.EachDialect(b, func(b *testing.B, st *store.Store) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		const origin = "https://id.example"
		pk, err := passkey.New(passkey.Config{RPID: "id.example", Origins: []string{origin}, FakeCredentialKey: []byte("0123456789abcdef")}, st, log)
		if err != nil {
			b.Fatal(err)
		}
		// The default limits' five counters, never reached here.
		big := []password.Limit{{N: 1 << 30, Window: time.Minute}, {N: 1 << 30, Window: time.Hour}}
		limits := password.Limits{IP: big, AccountIP: big, Account: []password.Limit{{N: 1 << 30, Window: 24 * time.Hour}}}
		pw, err := password.NewService(password.Config{Params: password.DefaultParams, RequireSecurityKey: true, Limits: &limits},
			st, ratelimit.New(st, nil), log)
		if err != nil {
			b.Fatal(err)
		}
		u := &models.User{ID: "bench-user", Email: "bench@example.test"}
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		h, _ := pw.NewHash("correct horse battery staple", u.Email)
		if err := st.SetUserPassword(ctx, u.ID, h); err != nil {
			b.Fatal(err)
		}
		rp := virtualwebauthn.RelyingParty{ID: "id.example", Name: "Sesame", Origin: origin}
		auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserNotVerified: true})
		cred := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key())
		auth.AddCredential(cred)
		opts, cid, err := pk.BeginRegistration(ctx, u, nil, models.CredentialSecurityKey, "browser", "")
		if err != nil {
			b.Fatal(err)
		}
		ao, err := virtualwebauthn.ParseAttestationOptions(string(opts))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := pk.FinishRegistration(ctx, cid, "browser", []byte(virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *ao))); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			v, err := pw.SignIn(ctx, password.Attempt{Email: u.Email, Password: "correct horse battery staple", IP: "192.0.2.1"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.ListUserCredentials(ctx, v.User.ID); err != nil {
				b.Fatal(err)
			}
			opts, cid, err := pk.BeginSecurityKeyLogin(ctx, v.User, "browser", "")
			if err != nil {
				b.Fatal(err)
			}
			var po json.RawMessage = opts
			asO, err := virtualwebauthn.ParseAssertionOptions(string(po))
			if err != nil {
				b.Fatal(err)
			}
			cred.Counter++
			res, err := pk.FinishLogin(ctx, cid, "browser", []byte(virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *asO)))
			if err != nil {
				b.Fatal(err)
			}
			ls, _, err := websession.NewLoginSession(websession.Login{UserID: res.User.ID, AMR: []string{"pwd", "hwk", "mfa"}, ACR: models.ACRPhishingResistant}, time.Hour, "bench", "192.0.2.1")
			if err != nil {
				b.Fatal(err)
			}
			if err := st.CreateLoginSession(ctx, ls); err != nil {
				b.Fatal(err)
			}
		}
	})
}
