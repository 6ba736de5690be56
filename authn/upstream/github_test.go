package upstream_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

type ghEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// fakeGitHub is a GitHub Enterprise server on 127.0.0.1 (its API under
// /api/v3, as the adapter derives it from the provider's issuer): the
// token endpoint checks the client secret and PKCE, the user and emails
// API answer what the test case sets.
type fakeGitHub struct {
	*httptest.Server
	mu         sync.Mutex
	challenges map[string]string // code → PKCE challenge
	user       string            // GET /user's body
	emails     []ghEmail
	emailsCode int // GET /user/emails' status (0: 200)
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	gh := &fakeGitHub{challenges: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		gh.mu.Lock()
		want, ok := gh.challenges[r.PostForm.Get("code")]
		delete(gh.challenges, r.PostForm.Get("code"))
		gh.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		// GitHub answers a bad code with 200 and an error body.
		if r.PostForm.Get("client_secret") != "gh-secret" || !ok || want != base64.RawURLEncoding.EncodeToString(sum[:]) {
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"gho_test","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	api := func(h func(w http.ResponseWriter)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gho_test" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			gh.mu.Lock()
			defer gh.mu.Unlock()
			h(w)
		}
	}
	mux.HandleFunc("GET /api/v3/user", api(func(w http.ResponseWriter) { _, _ = w.Write([]byte(gh.user)) }))
	mux.HandleFunc("GET /api/v3/user/emails", api(func(w http.ResponseWriter) {
		if gh.emailsCode != 0 {
			w.WriteHeader(gh.emailsCode)
			_, _ = w.Write([]byte(`{"message":"Resource not accessible by integration"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(gh.emails)
	}))
	gh.Server = httptest.NewServer(mux)
	t.Cleanup(gh.Close)
	return gh
}

// approve is the person agreeing at GitHub: code will be exchangeable
// with the verifier behind challenge.
func (gh *fakeGitHub) approve(code, challenge string) {
	gh.mu.Lock()
	gh.challenges[code] = challenge
	gh.mu.Unlock()
}

func (gh *fakeGitHub) answer(user string, emails []ghEmail, emailsCode int) {
	gh.mu.Lock()
	gh.user, gh.emails, gh.emailsCode = user, emails, emailsCode
	gh.mu.Unlock()
}

// loopbackClient is the outbound guard's client, allowed to reach the
// test's fakes on 127.0.0.1.
func loopbackClient() *http.Client {
	return httpx.OutboundClient(httpx.OutboundOptions{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
}

// newService is the method over st with a fresh key, and the provider
// spec added to st.
func newService(t *testing.T, st *store.Store, spec upstream.Spec) *upstream.Service {
	t.Helper()
	svc, err := upstream.New(st, upstream.Config{RedirectURL: "http://localhost/login/upstream/callback", Key: make([]byte, 32), HTTPClient: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	spec.Normalize()
	if errs := spec.Validate(true); len(errs) > 0 {
		t.Fatalf("spec: %+v", errs)
	}
	if err := st.CreateUpstreamProvider(context.Background(), spec.Provider(svc.Box(), "")); err != nil {
		t.Fatal(err)
	}
	return svc
}

const octocat = `{"id":583231,"login":"octocat","name":"The Octocat","email":"public@unverified.example"}`

// TestGitHubAdapterTrustsOnlyVerifiedPrimary: GitHub gives no ID token,
// so the adapter reads the numeric user id (the subject, stable across
// renames) and the emails API, and takes the primary address only when
// GitHub marks it verified — never the profile's public address, never a
// verified secondary one. The state is single use and bound to the browser
// (RFC 6749 §10.12). On both dialects: the state's row is the store's.
func TestGitHubAdapterTrustsOnlyVerifiedPrimary(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		gh := newFakeGitHub(t)
		// A GitHub Enterprise server: the preset with the issuer replaced.
		svc := newService(t, st, upstream.Spec{Preset: "github", Issuer: gh.URL, ClientID: "Iv1.test", ClientSecret: "gh-secret"})
		login := func(t *testing.T, browser string) upstream.Callback {
			t.Helper()
			to, err := svc.Start(context.Background(), "github", "", browser, "", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(to)
			q := u.Query()
			if u.Host != gh.Listener.Addr().String() || u.Path != "/login/oauth/authorize" || q.Get("code_challenge_method") != "S256" ||
				q.Get("client_id") != "Iv1.test" || q.Get("scope") != "read:user user:email" || q.Has("nonce") {
				t.Fatalf("authorization URL %s", to)
			}
			code := "code-" + q.Get("state")[:8]
			gh.approve(code, q.Get("code_challenge"))
			return upstream.Callback{State: q.Get("state"), Code: code}
		}
		for _, tc := range []struct {
			name       string
			user       string
			emails     []ghEmail
			emailsCode int
			wantEmail  string
			wantName   string
			wantErr    error
		}{
			{name: "verified primary", user: octocat, emails: []ghEmail{{"other@example.com", false, true}, {"octo@example.com", true, true}},
				wantEmail: "octo@example.com", wantName: "The Octocat"},
			{name: "unverified primary, verified secondary", user: octocat,
				emails: []ghEmail{{"octo@example.com", true, false}, {"other@example.com", false, true}}, wantName: "The Octocat"},
			{name: "only a verified secondary", user: octocat, emails: []ghEmail{{"other@example.com", false, true}}, wantName: "The Octocat"},
			// The profile's public address is whatever the person typed.
			{name: "no addresses, a public profile address", user: octocat, wantName: "The Octocat"},
			{name: "no display name: the login", user: `{"id":583231,"login":"octocat"}`, emails: []ghEmail{{"octo@example.com", true, true}},
				wantEmail: "octo@example.com", wantName: "octocat"},
			{name: "emails API refused (scope not granted)", user: octocat, emailsCode: http.StatusForbidden, wantErr: upstream.ErrToken},
			{name: "user without id", user: `{"login":"ghost"}`, emails: []ghEmail{{"octo@example.com", true, true}}, wantErr: upstream.ErrToken},
		} {
			t.Run(tc.name, func(t *testing.T) {
				gh.answer(tc.user, tc.emails, tc.emailsCode)
				cb := login(t, "browser-a")
				res, err := svc.Finish(context.Background(), cb, "browser-a")
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Finish: %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				id := res.Identity
				if id.Subject != "583231" || id.Email != tc.wantEmail || id.EmailVerified != (tc.wantEmail != "") || id.Name != tc.wantName {
					t.Fatalf("identity %+v, want subject 583231, address %q, name %q", id, tc.wantEmail, tc.wantName)
				}
				if _, err := svc.Finish(context.Background(), cb, "browser-a"); !errors.Is(err, upstream.ErrState) {
					t.Fatalf("replayed callback: %v", err)
				}
			})
		}
		gh.answer(octocat, []ghEmail{{"octo@example.com", true, true}}, 0)
		t.Run("another browser", func(t *testing.T) {
			cb := login(t, "browser-a")
			if _, err := svc.Finish(context.Background(), cb, "browser-b"); !errors.Is(err, upstream.ErrState) {
				t.Fatalf("callback in another browser: %v", err)
			}
		})
		t.Run("wrong code", func(t *testing.T) {
			cb := login(t, "browser-a")
			cb.Code = "forged"
			if _, err := svc.Finish(context.Background(), cb, "browser-a"); !errors.Is(err, upstream.ErrToken) {
				t.Fatalf("forged code: %v", err)
			}
		})
	})
}

// TestGitHubDotComEndpoints: the github preset (no issuer changed) sends
// people to github.com's authorization endpoint, with no network needed
// to start (GitHub has no discovery).
func TestGitHubDotComEndpoints(t *testing.T) {
	st := storetest.OpenSQLite(t)
	svc := newService(t, st, upstream.Spec{Preset: "github", ClientID: "Iv1.test", ClientSecret: "gh-secret"})
	to, err := svc.Start(context.Background(), "github", "", "b", "", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	if u.Scheme+"://"+u.Host+u.Path != "https://github.com/login/oauth/authorize" || u.Query().Get("scope") != "read:user user:email" {
		t.Fatalf("authorization URL %s", to)
	}
}
