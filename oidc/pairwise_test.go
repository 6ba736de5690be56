package oidc_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
)

// sectorServer serves sector identifier documents over TLS on loopback:
// path → body (a missing path is a 404).
func sectorServer(t *testing.T, docs map[string]string) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, httpx.OutboundClient(httpx.OutboundOptions{Allow: loopbackNets(), RootCAs: pool})
}

// clientsWith is the clients service of env fetching through hc.
func clientsWith(t *testing.T, env *servertest.Env, hc *http.Client) *clients.Service {
	t.Helper()
	secrets, err := server.ClientSecrets(env.Secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return clients.NewService(env.Store, secrets, clients.WithOutbound(hc))
}

// jwtSub is the sub of a JWT's payload (its signature is checked
// elsewhere).
func jwtSub(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Sub string `json:"sub"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c.Sub
}

// TestPairwiseSubjectEverywhere_OIDCCore_8_1 (OIDC Core §8.1): a pairwise
// client sees one sub for a user — not the user's id — in the ID token,
// userinfo, introspection, its JWT access token and its logout token; the
// same after the signing keys and the client's secret rotate; the same as
// another client of its sector (one whose sector_identifier_uri has the
// same host); while a public client sees the user's id.
func TestPairwiseSubjectEverywhere_OIDCCore_8_1(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.AllowOutbound("127.0.0.0/8"))...)
		env.DeliverLogouts()
		ctx := context.Background()

		a, recv := withReceiver(t, env, clients.Spec{SubjectType: clients.SubjectPairwise, AccessTokenFormat: models.TokenFormatJWT}, nil)
		tok := a.tokens("openid", "profile")
		idt, _ := a.verifyID(tok)
		sub := idt.Subject
		if sub == "" || sub == a.user.ID {
			t.Fatalf("pairwise ID token sub %q (user id %q)", sub, a.user.ID)
		}
		ui, err := a.r.provider.UserInfo(ctx, a.r.oauth.TokenSource(ctx, tok))
		if err != nil || ui.Subject != sub {
			t.Errorf("userinfo sub %q (%v), want %q", ui.Subject, err, sub)
		}
		if got := a.introspect(tok.AccessToken, "access_token")["sub"]; got != sub {
			t.Errorf("introspection sub %v, want %q", got, sub)
		}
		if got := jwtSub(t, tok.AccessToken); got != sub {
			t.Errorf("JWT access token sub %q, want %q", got, sub)
		}

		// Keys and the client's secret rotate: the sub stays.
		if err := env.Server.Keys().RotateAll(ctx); err != nil {
			t.Fatal(err)
		}
		svc := clientsWith(t, env, nil)
		m, err := svc.Get(ctx, a.r.clientID)
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := svc.UpdateAndRotateSecret(ctx, a.r.clientID, clients.ToSpec(m))
		if err != nil {
			t.Fatal(err)
		}
		env.Server.Provider().InvalidateClient(a.r.clientID)
		a.r.secret, a.r.oauth.ClientSecret = secret, secret
		if idt2, _ := a.verifyID(a.tokens("openid")); idt2.Subject != sub {
			t.Errorf("sub after key and secret rotation %q, want %q", idt2.Subject, sub)
		}

		// A client of the same sector (127.0.0.1, from its
		// sector_identifier_uri) sees the same sub; a public client the id.
		srv, hc := sectorServer(t, map[string]string{"/sector.json": `["` + redirectURI + `", "http://localhost:9998/cb"]`})
		same, _, err := clientsWith(t, env, hc).Create(ctx, clients.Spec{Name: "Same sector", SkipConsent: true,
			RedirectURIs: []string{redirectURI, "http://localhost:9998/cb"}, SubjectType: clients.SubjectPairwise,
			SectorIdentifierURI: srv.URL + "/sector.json", TokenEndpointAuthMethod: clients.AuthNone})
		if err != nil {
			t.Fatalf("register with a sector identifier: %v", err)
		}
		b := &e2eFlow{t: t, env: env, b: a.b, user: a.user, r: newRPFor(t, env, same.ID, "")}
		if idt3, _ := b.verifyID(b.tokens("openid")); idt3.Subject != sub {
			t.Errorf("same-sector client sees %q, want %q", idt3.Subject, sub)
		}
		pub := &e2eFlow{t: t, env: env, b: a.b, user: a.user, r: newRP(t, env, clients.Spec{SkipConsent: true})}
		if idt4, _ := pub.verifyID(pub.tokens("openid")); idt4.Subject != a.user.ID {
			t.Errorf("public client sees %q, want the user's id %q", idt4.Subject, a.user.ID)
		}

		// The logout token names the user by the pairwise sub too.
		if err := env.Store.RevokeUserLoginSessions(ctx, a.user.ID); err != nil {
			t.Fatal(err)
		}
		if c := recv.next(t); c["sub"] != sub {
			t.Errorf("logout token sub %v, want %q", c["sub"], sub)
		}
	})
}

// TestSectorIdentifierIsFetchedAndChecked_OIDCRegistration_5: a
// sector_identifier_uri is fetched (through the guarded client) when the
// client is saved and must list every redirect URI; anything else is
// refused with a sector_identifier_uri error and nothing is stored.
func TestSectorIdentifierIsFetchedAndChecked_OIDCRegistration_5(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, db...)
		srv, hc := sectorServer(t, map[string]string{
			"/ok.json":      `["https://a.example/cb", "https://b.example/cb"]`,
			"/partial.json": `["https://a.example/cb"]`,
			"/object.json":  `{"redirect_uris": ["https://a.example/cb"]}`,
		})
		spec := func(path string) clients.Spec {
			return clients.Spec{Name: "Pairwise", RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"},
				SubjectType: clients.SubjectPairwise, SectorIdentifierURI: srv.URL + path}
		}
		ctx := context.Background()
		if _, _, err := clientsWith(t, env, hc).Create(ctx, spec("/ok.json")); err != nil {
			t.Fatalf("a sector listing every redirect URI: %v", err)
		}
		for _, tc := range []struct {
			name, path string
			hc         *http.Client
			msg        string
		}{
			{"a redirect URI not listed", "/partial.json", hc, "does not list"},
			{"not a JSON array", "/object.json", hc, "JSON array"},
			{"not found", "/missing.json", hc, "404"},
			{"loopback without outbound_allow_cidrs", "/ok.json", httpx.OutboundClient(httpx.OutboundOptions{}), "internal address"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := env.Store.ListClients(ctx)
				_, _, err := clientsWith(t, env, tc.hc).Create(ctx, spec(tc.path))
				var ve *clients.ValidationError
				if !errors.As(err, &ve) || ve.Field != "sector_identifier_uri" || !strings.Contains(ve.Message, tc.msg) {
					t.Fatalf("got %v, want a sector_identifier_uri error containing %q", err, tc.msg)
				}
				if after, _ := env.Store.ListClients(ctx); len(after) != len(before) {
					t.Error("a refused registration stored a client")
				}
			})
		}
	})
	// The subject is a function of the sector: two sectors, two subs.
	key := []byte("0123456789abcdef0123456789abcdef")
	if oidc.PairwiseSubject(key, "a.example", "u1") == oidc.PairwiseSubject(key, "b.example", "u1") ||
		oidc.PairwiseSubject(key, "a.example", "u1") != oidc.PairwiseSubject(key, "a.example", "u1") {
		t.Error("pairwise subjects do not separate sectors, or are not stable")
	}
}

// newRPFor is newRP for a client registered otherwise.
func newRPFor(t *testing.T, env *servertest.Env, id, secret string) *rp {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), env.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{env: env, provider: p, clientID: id, secret: secret, oauth: oauth2.Config{
		ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirectURI, Scopes: []string{"openid"},
	}}
}

func loopbackNets() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }
