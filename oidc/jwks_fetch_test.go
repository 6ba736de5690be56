package oidc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestClientJWKSURIFetchIsGuarded_CWE918: a private_key_jwt client's
// jwks_uri is fetched through the outbound guard (internal/httpx): a
// loopback address is never connected to unless the operator allows its
// network, an oversized key set and a redirect are refused, and each
// failure is invalid_client for the client (RFC 6749 §5.2), not a server
// error. The JWKS is served over plain http on loopback, so the rows are
// patched after registration (which requires https): the registration
// rule is not what is tested here, the fetch is.
func TestClientJWKSURIFetchIsGuarded_CWE918(t *testing.T) {
	t.Parallel()
	// RS256: the assertion alg of a client with a jwks_uri (oidc/client.go).
	priv := clientKey(t, "RS256")
	jwks := publicJWKS(t, priv)
	big := append(jwks[:len(jwks)-1:len(jwks)-1], []byte(`,"padding":"`+strings.Repeat("a", 64<<10)+`"}`)...)

	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/jwks":
			_, _ = w.Write(jwks)
		case "/big":
			_, _ = w.Write(big)
		case "/redirect":
			http.Redirect(w, r, "/jwks-moved", http.StatusFound)
		case "/jwks-moved":
			_, _ = w.Write(jwks)
		}
	}))
	t.Cleanup(srv.Close)
	hitsOf := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path]
	}

	// client registers a private_key_jwt client whose jwks_uri is path on
	// the loopback server.
	client := func(t *testing.T, env *servertest.Env, path string) string {
		t.Helper()
		id, _ := env.CreateClient(clients.Spec{
			Name: "JWKS URI Machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"},
			TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: "https://jwks.example.test" + path,
		})
		m, err := env.Store.GetClient(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		m.JWKSURI = srv.URL + path
		if err := env.Store.UpdateClient(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		return id
	}
	token := func(t *testing.T, env *servertest.Env, id string) (int, map[string]any) {
		t.Helper()
		resp, out := postEndpoint(t, env, "/oauth2/token", "", "", url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {"profile"},
			"client_assertion_type": {jwtBearerAssertion},
			"client_assertion":      {clientAssertion(t, priv, id, env.Issuer+"/oauth2/token")},
		})
		return resp.StatusCode, out
	}
	refused := func(t *testing.T, what string, status int, out map[string]any) {
		t.Helper()
		desc, _ := out["error_description"].(string)
		if status != http.StatusUnauthorized || out["error"] != "invalid_client" || !strings.Contains(desc, "could not be fetched from its jwks_uri") {
			t.Fatalf("%s: %d %v, want 401 invalid_client for the fetch", what, status, out)
		}
	}

	t.Run("LoopbackRefusedByDefault", func(t *testing.T) {
		env := servertest.New(t)
		status, out := token(t, env, client(t, env, "/jwks"))
		refused(t, "jwks_uri on loopback", status, out)
		if n := hitsOf("/jwks"); n != 0 {
			t.Fatalf("the loopback JWKS was fetched %d times, want never", n)
		}
	})

	allowed := servertest.New(t, servertest.AllowOutbound("127.0.0.0/8"))
	t.Run("LoopbackAllowedByTheAllowList", func(t *testing.T) {
		status, out := token(t, allowed, client(t, allowed, "/jwks"))
		if status != http.StatusOK || out["access_token"] == nil {
			t.Fatalf("jwks_uri on an allowed network: %d %v", status, out)
		}
		if hitsOf("/jwks") == 0 {
			t.Fatal("the JWKS was not fetched")
		}
	})
	t.Run("OversizedJWKSRefused", func(t *testing.T) {
		status, out := token(t, allowed, client(t, allowed, "/big"))
		refused(t, "a JWKS over 64 KiB", status, out)
	})
	t.Run("RedirectNotFollowed", func(t *testing.T) {
		status, out := token(t, allowed, client(t, allowed, "/redirect"))
		refused(t, "a jwks_uri that redirects", status, out)
		if n := hitsOf("/jwks-moved"); n != 0 {
			t.Fatalf("the redirect target was fetched %d times, want never", n)
		}
	})
}
