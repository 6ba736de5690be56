package clients

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzSpec: any JSON body of the admin API's client endpoints (and the
// CLI's --json) either fails to decode, is refused by Validate, or is a
// registration whose every redirect URI is absolute, fragment-free and
// wildcard-free, https or loopback http or a private-use scheme — and
// normalising it again changes nothing.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{
		`{"name":"App","redirect_uris":["https://app.example/cb"]}`,
		`{"name":"SPA","public":true,"redirect_uris":["http://127.0.0.1:8080/cb"],"token_endpoint_auth_method":"none"}`,
		`{"name":"M2M","grant_types":["client_credentials"],"scopes":["sesame:admin"]}`,
		`{"name":"x","redirect_uris":["https://*.example/cb","http://evil.example/cb","https://a.example/cb#f"]}`,
		`{"name":"n","redirect_uris":["com.example.app:/cb"],"public":true}`,
		`{"name":"","scopes":["openid","sesame:introspect"],"public":true}`,
		`{"name":"t","access_token_ttl":-5,"logo_uri":"javascript:alert(1)"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var s Spec
		if json.Unmarshal(body, &s) != nil {
			return
		}
		s.Normalize()
		if s.Validate() != nil {
			return
		}
		for _, raw := range append(append([]string(nil), s.RedirectURIs...), s.PostLogoutRedirectURIs...) {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme == "" || u.Fragment != "" || strings.ContainsAny(raw, "*# \t\r\n") {
				t.Fatalf("accepted redirect URI %q", raw)
			}
			if strings.EqualFold(u.Scheme, "http") && !isLoopback(u.Hostname()) {
				t.Fatalf("accepted http redirect URI off loopback: %q", raw)
			}
		}
		if s.Public && (s.TokenEndpointAuthMethod != AuthNone || has(s.Scopes, ScopeIntrospect) || has(s.Scopes, ScopeAdmin)) {
			t.Fatalf("accepted a public client with %q and scopes %v", s.TokenEndpointAuthMethod, s.Scopes)
		}
		again := s
		again.Normalize()
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("Normalize is not stable:\n%s\n%s", a, b)
		}
	})
}

func has(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
