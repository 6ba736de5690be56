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
	"testing"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

type ghEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// fakeGitHub answers GitHub's token endpoint (checking the client secret
// and PKCE) and its user and emails API.
func fakeGitHub(t *testing.T, emails *[]ghEmail) *httptest.Server {
	t.Helper()
	challenges := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if r.PostForm.Get("client_secret") != "gh-secret" || challenges[r.PostForm.Get("code")] != base64.RawURLEncoding.EncodeToString(sum[:]) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"gho_test","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"id":583231,"login":"octocat","name":"The Octocat","email":"public@unverified.example"}`))
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(*emails)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// The authorization URL Start returns carries the challenge; the
	// test "approves" it by recording the challenge under a code.
	mux.HandleFunc("GET /approve", func(w http.ResponseWriter, r *http.Request) {
		challenges[r.URL.Query().Get("code")] = r.URL.Query().Get("challenge")
	})
	return srv
}

// TestGitHubAdapterTrustsOnlyVerifiedPrimary: GitHub gives no ID token,
// so the adapter reads the numeric user id (the subject) and the emails
// API, and takes the primary address only when GitHub marks it verified —
// never the profile's public address, never a verified secondary one.
// The state is single use and bound to the browser (RFC 6749 §10.12).
func TestGitHubAdapterTrustsOnlyVerifiedPrimary(t *testing.T) {
	var emails []ghEmail
	gh := fakeGitHub(t, &emails)
	st := storetest.OpenSQLite(t)
	key := make([]byte, 32)
	svc, err := upstream.New(st, upstream.Config{RedirectURL: "http://localhost/login/upstream/callback", Key: key, GitHubAPI: gh.URL,
		HTTPClient: httpx.OutboundClient(httpx.OutboundOptions{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})})
	if err != nil {
		t.Fatal(err)
	}
	spec := upstream.Spec{Preset: "github", Issuer: gh.URL, ClientID: "Iv1.test", ClientSecret: "gh-secret"}
	if err := spec.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	spec.Issuer = gh.URL
	spec.Normalize()
	if errs := spec.Validate(true); len(errs) > 0 {
		t.Fatalf("spec: %+v", errs)
	}
	if err := st.CreateUpstreamProvider(context.Background(), spec.Provider(svc.Box(), "")); err != nil {
		t.Fatal(err)
	}
	login := func(t *testing.T, browser string) (upstream.Callback, string) {
		t.Helper()
		to, err := svc.Start(context.Background(), "github", "", browser, "", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(to)
		q := u.Query()
		if u.Path != "/login/oauth/authorize" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "Iv1.test" {
			t.Fatalf("authorization URL %s", to)
		}
		code := "code-" + q.Get("state")[:8]
		resp, err := http.Get(gh.URL + "/approve?" + url.Values{"code": {code}, "challenge": {q.Get("code_challenge")}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return upstream.Callback{State: q.Get("state"), Code: code}, browser
	}
	for _, tc := range []struct {
		name      string
		emails    []ghEmail
		wantEmail string
	}{
		{"verified primary", []ghEmail{{"octo@example.com", true, true}, {"other@example.com", false, true}}, "octo@example.com"},
		{"unverified primary", []ghEmail{{"octo@example.com", true, false}, {"other@example.com", false, true}}, ""},
		{"no addresses", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emails = tc.emails
			cb, browser := login(t, "browser-a")
			res, err := svc.Finish(context.Background(), cb, browser)
			if err != nil {
				t.Fatal(err)
			}
			id := res.Identity
			if id.Subject != "583231" || id.Email != tc.wantEmail || id.EmailVerified != (tc.wantEmail != "") || id.Name != "The Octocat" {
				t.Fatalf("identity %+v, want subject 583231 and address %q", id, tc.wantEmail)
			}
			if _, err := svc.Finish(context.Background(), cb, browser); !errors.Is(err, upstream.ErrState) {
				t.Fatalf("replayed callback: %v", err)
			}
		})
	}
	t.Run("another browser", func(t *testing.T) {
		cb, _ := login(t, "browser-a")
		if _, err := svc.Finish(context.Background(), cb, "browser-b"); !errors.Is(err, upstream.ErrState) {
			t.Fatalf("callback in another browser: %v", err)
		}
	})
	t.Run("wrong code", func(t *testing.T) {
		cb, browser := login(t, "browser-a")
		cb.Code = "forged"
		if _, err := svc.Finish(context.Background(), cb, browser); !errors.Is(err, upstream.ErrToken) {
			t.Fatalf("forged code: %v", err)
		}
	})
}
