package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// cannedWeb answers requests for exact URLs with recorded bodies (the
// providers' published discovery documents): no network, and any other
// URL is an error, so a preset asking elsewhere fails.
type cannedWeb struct {
	mu    sync.Mutex
	pages map[string]string
	asked []string
}

func (c *cannedWeb) RoundTrip(r *http.Request) (*http.Response, error) {
	u := *r.URL
	u.RawQuery = ""
	c.mu.Lock()
	c.asked = append(c.asked, r.Method+" "+u.String())
	body, ok := c.pages[r.Method+" "+u.String()]
	c.mu.Unlock()
	if !ok {
		return nil, errors.New("canned web: nothing at " + r.Method + " " + u.String())
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func discoveryDoc(issuer, auth, token, jwks string) string {
	b, _ := json.Marshal(map[string]any{"issuer": issuer, "authorization_endpoint": auth, "token_endpoint": token, "jwks_uri": jwks,
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}})
	return string(b)
}

// TestPresetsMatchTheProviders pins each preset against its provider's
// published values: the issuer (so discovery is read from the provider's
// documented address and must name that issuer), the authorization
// endpoint the person is sent to, the scopes asked for and the claim
// mapping. Sources: Google's OpenID Connect guide
// (accounts.google.com/.well-known/openid-configuration), Microsoft
// identity platform v2.0 (login.microsoftonline.com/{tenant}/v2.0; email
// and xms_edov are optional claims), Sign in with Apple (appleid.apple.com,
// scopes name and email, answered by form_post), GitLab as OpenID provider (gitlab.com, the ID
// token's groups are groups_direct), GitHub's OAuth apps and REST API
// (github.com/login/oauth, api.github.com/user and /user/emails).
func TestPresetsMatchTheProviders(t *testing.T) {
	const tenant = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
	entra := "https://login.microsoftonline.com/" + tenant
	web := &cannedWeb{pages: map[string]string{
		"GET https://accounts.google.com/.well-known/openid-configuration": discoveryDoc("https://accounts.google.com",
			"https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v3/certs"),
		"GET " + entra + "/v2.0/.well-known/openid-configuration": discoveryDoc(entra+"/v2.0",
			entra+"/oauth2/v2.0/authorize", entra+"/oauth2/v2.0/token", entra+"/discovery/v2.0/keys"),
		"GET https://appleid.apple.com/.well-known/openid-configuration": discoveryDoc("https://appleid.apple.com",
			"https://appleid.apple.com/auth/authorize", "https://appleid.apple.com/auth/token", "https://appleid.apple.com/auth/keys"),
		"GET https://gitlab.com/.well-known/openid-configuration": discoveryDoc("https://gitlab.com",
			"https://gitlab.com/oauth/authorize", "https://gitlab.com/oauth/token", "https://gitlab.com/oauth/discovery/keys"),
		"POST https://github.com/login/oauth/access_token": `{"access_token":"gho_x","token_type":"bearer","scope":"read:user,user:email"}`,
		"GET https://api.github.com/user":                  `{"id":1,"login":"octocat"}`,
		"GET https://api.github.com/user/emails":           `[{"email":"octo@example.com","primary":true,"verified":true}]`,
	}}
	st := storetest.OpenSQLite(t)
	svc, err := upstream.New(st, upstream.Config{RedirectURL: "https://id.example.com/login/upstream/callback", Key: make([]byte, 32),
		HTTPClient: &http.Client{Transport: web}})
	if err != nil {
		t.Fatal(err)
	}
	oidcScopes := []string{"openid", "email", "profile"}
	for _, tc := range []struct {
		preset    string
		issuer    string // given by the admin, when the preset needs it
		kind      string
		wantIss   string
		wantAuth  string
		scopes    []string
		claims    map[string]string
		wantCalls []string // after the authorization URL, for GitHub: the exchange and the API
		formPost  bool     // response_mode=form_post (Apple requires it when scopes are asked for)
	}{
		{preset: "google", kind: models.UpstreamOIDC, wantIss: "https://accounts.google.com",
			wantAuth: "https://accounts.google.com/o/oauth2/v2/auth", scopes: oidcScopes},
		{preset: "microsoft", issuer: entra + "/v2.0", kind: models.UpstreamOIDC, wantIss: entra + "/v2.0",
			wantAuth: entra + "/oauth2/v2.0/authorize", scopes: oidcScopes, claims: map[string]string{"email_verified": "xms_edov"}},
		{preset: "apple", kind: models.UpstreamOIDC, wantIss: "https://appleid.apple.com",
			wantAuth: "https://appleid.apple.com/auth/authorize", scopes: []string{"openid", "email", "name"}, formPost: true},
		{preset: "gitlab", kind: models.UpstreamOIDC, wantIss: "https://gitlab.com",
			wantAuth: "https://gitlab.com/oauth/authorize", scopes: oidcScopes, claims: map[string]string{"groups": "groups_direct"}},
		{preset: "github", kind: models.UpstreamGitHub, wantIss: "https://github.com",
			wantAuth: "https://github.com/login/oauth/authorize", scopes: []string{"read:user", "user:email"},
			wantCalls: []string{"POST https://github.com/login/oauth/access_token", "GET https://api.github.com/user", "GET https://api.github.com/user/emails"}},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			spec := upstream.Spec{Preset: tc.preset, Issuer: tc.issuer, ClientID: "client-" + tc.preset, ClientSecret: "secret"}
			if err := spec.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			spec.Normalize()
			if errs := spec.Validate(true); len(errs) > 0 {
				t.Fatalf("the preset does not validate: %+v", errs)
			}
			p := spec.Provider(svc.Box(), "")
			if p.Kind != tc.kind || p.Issuer != tc.wantIss || !slices.Equal(p.Scopes, tc.scopes) || !maps.Equal(map[string]string(p.Claims), tc.claims) {
				t.Fatalf("preset %s: kind %s issuer %s scopes %v claims %v", tc.preset, p.Kind, p.Issuer, p.Scopes, p.Claims)
			}
			if err := st.CreateUpstreamProvider(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			web.mu.Lock()
			web.asked = nil
			web.mu.Unlock()
			to, err := svc.Start(context.Background(), p.ID, "", "browser", "pat@example.com", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(to)
			q := u.Query()
			if u.Scheme+"://"+u.Host+u.Path != tc.wantAuth || q.Get("scope") != strings.Join(tc.scopes, " ") || q.Get("client_id") != spec.ClientID ||
				q.Get("redirect_uri") != "https://id.example.com/login/upstream/callback" || q.Get("code_challenge_method") != "S256" ||
				q.Get("login_hint") != "pat@example.com" || (tc.kind == models.UpstreamOIDC) != q.Has("nonce") ||
				(q.Get("response_mode") == "form_post") != tc.formPost {
				t.Fatalf("authorization URL %s", to)
			}
			if tc.kind == models.UpstreamOIDC {
				want := []string{"GET " + tc.wantIss + "/.well-known/openid-configuration"}
				if !slices.Equal(web.asked, want) {
					t.Fatalf("asked %v, want discovery only: %v", web.asked, want)
				}
				return
			}
			web.mu.Lock()
			web.asked = nil
			web.mu.Unlock()
			res, err := svc.Finish(context.Background(), upstream.Callback{State: q.Get("state"), Code: "c"}, "browser")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(web.asked, tc.wantCalls) || res.Identity.Subject != "1" || !res.Identity.EmailVerified {
				t.Fatalf("asked %v, identity %+v; want %v", web.asked, res.Identity, tc.wantCalls)
			}
		})
	}
	// Entra ID's issuer names the directory: left as the preset has it,
	// the spec is refused.
	t.Run("microsoft without a tenant", func(t *testing.T) {
		spec := upstream.Spec{Preset: "microsoft", ClientID: "c", ClientSecret: "s"}
		if err := spec.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		spec.Normalize()
		errs := spec.Validate(true)
		if len(errs) != 1 || errs[0].Field != "issuer" || !strings.Contains(errs[0].Message, "TENANT_ID") {
			t.Fatalf("errors %+v, want one on the issuer naming TENANT_ID", errs)
		}
	})
}
