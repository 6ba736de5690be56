package upstream_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// fakeOP is an OpenID provider on 127.0.0.1 with real discovery, JWKS and
// a code exchange checking PKCE; the ID token of each code carries the
// claims the test case gives (over valid defaults), signed with the
// listed key or a rogue one.
type fakeOP struct {
	*httptest.Server
	// issuer is the one it claims (its URL unless set: a stand-in for a
	// provider's public issuer, reached through routeTo).
	issuer     string
	key, rogue *rsa.PrivateKey
	mu         sync.Mutex
	grants     map[string]grant
	// seen is every secret value the exchange handed out or received
	// (code, verifier, tokens), to look for in the database after.
	seen []string
}

type grant struct {
	challenge string
	claims    map[string]any
	rogue     bool
}

func newFakeOP(t *testing.T) *fakeOP { return newFakeOPAs(t, "") }

// newFakeOPAs is a fakeOP claiming to be issuer ("": its own URL).
func newFakeOPAs(t *testing.T, issuer string) *fakeOP {
	t.Helper()
	op := &fakeOP{grants: map[string]grant{}, issuer: issuer}
	var err error
	if op.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if op.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		iss := op.iss()
		writeJSON(w, map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "good", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", op.token)
	op.Server = httptest.NewServer(mux)
	t.Cleanup(op.Close)
	return op
}

func (op *fakeOP) iss() string {
	if op.issuer != "" {
		return op.issuer
	}
	return op.URL
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
	op.mu.Lock()
	g, ok := op.grants[code]
	delete(op.grants, code)
	op.mu.Unlock()
	sum := sha256.Sum256([]byte(verifier))
	if id, secret, _ := r.BasicAuth(); !ok || id != "sesame" || secret != "op-secret" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	key, kid := op.key, "good"
	if g.rogue {
		key, kid = op.rogue, "good" // the JWKS's kid, another key
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	raw, err := jwt.Signed(signer).Claims(g.claims).CompactSerialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	at, rt := "at-"+code, "rt-"+code
	op.mu.Lock()
	op.seen = append(op.seen, code, verifier, at, rt, raw)
	op.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": at, "refresh_token": rt, "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

// signIn runs Start, the provider's approval with the claims set (nil
// deletes a claim) over valid defaults, and Finish.
func (op *fakeOP) signIn(t *testing.T, svc *upstream.Service, provider string, set map[string]any, rogue bool) (*upstream.Result, error) {
	t.Helper()
	cb := op.approve(t, svc, provider, set, rogue, nil)
	return svc.Finish(context.Background(), cb, "browser")
}

// approve runs Start and the provider's approval with the claims set (nil
// deletes a claim) over valid defaults, and returns the callback;
// between runs between the two with the state.
func (op *fakeOP) approve(t *testing.T, svc *upstream.Service, provider string, set map[string]any, rogue bool, between func(state string)) upstream.Callback {
	t.Helper()
	to, err := svc.Start(context.Background(), provider, "", "browser", "", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	q := u.Query()
	if between != nil {
		between(q.Get("state"))
	}
	now := time.Now()
	claims := map[string]any{"iss": op.iss(), "sub": "sub-1", "aud": "sesame", "nonce": q.Get("nonce"), "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "email": "pat@example.com", "email_verified": true, "name": "Pat"}
	for k, v := range set {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	code := "code-" + q.Get("state")[:10]
	op.mu.Lock()
	op.grants[code] = grant{challenge: q.Get("code_challenge"), claims: claims, rogue: rogue}
	op.mu.Unlock()
	return upstream.Callback{State: q.Get("state"), Code: code}
}

// TestIDTokenChecks: an upstream's ID token is taken only when it is
// signed with a key of the provider's JWKS and names the provider as
// issuer, Sesame's client as its audience (and as azp when it names one,
// or has several audiences), this redirect's nonce, and has not expired
// beyond one minute of clock skew (OIDC Core §3.1.3.7). The claim mapping
// reads a provider's own names; only a boolean true (or "true") verifies
// an address. On both dialects: the redirect's state is the store's.
func TestIDTokenChecks(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		op := newFakeOP(t)
		svc := newService(t, st, upstream.Spec{ID: "op", Name: "OP", Issuer: op.URL, ClientID: "sesame", ClientSecret: "op-secret"})
		// The same provider with Entra-like claim names.
		if err := st.CreateUpstreamProvider(context.Background(), (&upstream.Spec{ID: "mapped", Name: "Mapped", Kind: models.UpstreamOIDC,
			Issuer: op.URL, ClientID: "sesame", ClientSecret: "op-secret", Provisioning: models.ProvisionCreate,
			Claims: map[string]string{"subject": "oid", "email": "upn", "email_verified": "xms_edov", "name": "display", "groups": "roles"}}).
			Provider(svc.Box(), "")); err != nil {
			t.Fatal(err)
		}
		ago := func(d time.Duration) int64 { return time.Now().Add(-d).Unix() }
		for _, tc := range []struct {
			name     string
			provider string
			set      map[string]any
			rogue    bool
			reason   string // "" accepted
			want     upstream.Identity
		}{
			{name: "valid", want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", EmailVerified: true, Name: "Pat"}},
			{name: "another issuer", set: map[string]any{"iss": "https://evil.example"}, reason: "bad_token"},
			{name: "another audience", set: map[string]any{"aud": "someone-else"}, reason: "bad_token"},
			{name: "several audiences without azp", set: map[string]any{"aud": []string{"sesame", "other"}}, reason: "bad_token"},
			{name: "several audiences, azp us", set: map[string]any{"aud": []string{"sesame", "other"}, "azp": "sesame"},
				want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", EmailVerified: true, Name: "Pat"}},
			{name: "azp another client", set: map[string]any{"azp": "other"}, reason: "bad_token"},
			{name: "another nonce", set: map[string]any{"nonce": "replayed-from-elsewhere"}, reason: "bad_token"},
			{name: "no nonce", set: map[string]any{"nonce": nil}, reason: "bad_token"},
			{name: "signed with a key not in the JWKS", rogue: true, reason: "bad_token"},
			{name: "expired within the skew", set: map[string]any{"exp": ago(30 * time.Second), "iat": ago(5 * time.Minute)},
				want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", EmailVerified: true, Name: "Pat"}},
			{name: "expired beyond the skew", set: map[string]any{"exp": ago(upstream.DefaultSkew + 30*time.Second), "iat": ago(5 * time.Minute)},
				reason: "id_token_expired"},
			{name: "no subject", set: map[string]any{"sub": nil}, reason: "bad_token"},
			{name: "email_verified false", set: map[string]any{"email_verified": false},
				want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", Name: "Pat"}},
			{name: "email_verified missing", set: map[string]any{"email_verified": nil},
				want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", Name: "Pat"}},
			{name: `email_verified "true" (Apple)`, set: map[string]any{"email_verified": "true"},
				want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", EmailVerified: true, Name: "Pat"}},
			{name: `email_verified "yes"`, set: map[string]any{"email_verified": "yes"},
				want: upstream.Identity{Subject: "sub-1", Email: "pat@example.com", Name: "Pat"}},
			{name: "mapped claims", provider: "mapped", set: map[string]any{"oid": "oid-7", "upn": "pat@corp.example", "xms_edov": true,
				"display": "Pat Corp", "roles": []string{"eng", "ops"}},
				want: upstream.Identity{Subject: "oid-7", Email: "pat@corp.example", EmailVerified: true, Name: "Pat Corp", Groups: []string{"eng", "ops"}}},
			// Entra ID's groups overage: the groups are elsewhere, so
			// the claim says nothing about them (memberships unchanged).
			{name: "mapped, groups elsewhere", provider: "mapped", set: map[string]any{"oid": "oid-7", "upn": "pat@corp.example",
				"display": "Pat Corp", "_claim_names": map[string]any{"roles": "src1"},
				"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/oid-7/getMemberObjects"}}},
				want: upstream.Identity{Subject: "oid-7", Email: "pat@corp.example", Name: "Pat Corp", GroupsUnknown: true}},
			// The standard email_verified means nothing where the
			// provider's is another claim.
			{name: "mapped, without its verification claim", provider: "mapped", set: map[string]any{"oid": "oid-7", "upn": "pat@corp.example"},
				want: upstream.Identity{Subject: "oid-7", Email: "pat@corp.example"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := tc.provider
				if p == "" {
					p = "op"
				}
				res, err := op.signIn(t, svc, p, tc.set, tc.rogue)
				if tc.reason != "" {
					if err == nil || upstream.Reason(err) != tc.reason {
						t.Fatalf("Finish: %v (reason %q), want %s", err, upstream.Reason(err), tc.reason)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := res.Identity
				got.AMR, got.ACR = nil, ""
				if !sameIdentity(got, tc.want) {
					t.Fatalf("identity %+v, want %+v", got, tc.want)
				}
			})
		}
	})
}

func sameIdentity(a, b upstream.Identity) bool {
	if len(a.Groups) != len(b.Groups) {
		return false
	}
	for i := range a.Groups {
		if a.Groups[i] != b.Groups[i] {
			return false
		}
	}
	a.Groups, b.Groups = nil, nil
	return a.Subject == b.Subject && a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Name == b.Name && a.GroupsUnknown == b.GroupsUnknown
}

// TestUpstreamStoresNothingButWhatIsNeeded: of a redirect Sesame keeps
// the state's hash, the nonce and the PKCE verifier sealed; of the
// exchange nothing — no code, access, refresh or ID token — and the client
// secret only sealed. Every text column of the upstream tables is read
// back on both dialects.
func TestUpstreamStoresNothingButWhatIsNeeded(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		op := newFakeOP(t)
		svc := newService(t, st, upstream.Spec{ID: "op", Name: "OP", Issuer: op.URL, ClientID: "sesame", ClientSecret: "op-secret"})
		to, err := svc.Start(context.Background(), "op", "", "browser", "", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(to)
		state := u.Query().Get("state")
		if _, err := op.signIn(t, svc, "op", nil, false); err != nil {
			t.Fatal(err)
		}
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		secrets := append([]string{"op-secret", state}, op.seen...)
		n := 0
		for _, table := range []string{"upstream_providers", "upstream_flows", "upstream_identities"} {
			rows, err := db.QueryContext(t.Context(), "SELECT * FROM "+table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					var s string
					switch v := v.(type) {
					case string:
						s = v
					case []byte:
						s = string(v)
					default:
						continue
					}
					n++
					for _, secret := range secrets {
						if len(secret) >= 8 && strings.Contains(s, secret) {
							t.Errorf("%s.%s holds a secret in the clear: %.40q…", table, cols[i], secret)
						}
					}
				}
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if n == 0 || len(op.seen) < 5 {
			t.Fatalf("read %d values, saw %d secrets", n, len(op.seen))
		}
	})
}
