package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// FuzzAdminAPIBodies: whatever JSON body reaches a writing endpoint of the
// admin API (create and update a client, invite an admin, the global
// policy), and whatever query string a listing gets (limit, offset, q,
// the audit log's cursor and time filters, or parameters it does not
// know), the answer is 2xx with a JSON body or 4xx problem+json whose
// status is the response's — never a 5xx, never a panic. A crafted or
// tampered audit cursor is a 4xx: cursors are authenticated (audit.go).
func FuzzAdminAPIBodies(f *testing.F) {
	env := servertest.New(f)
	bearer := adminToken(f, env)
	existing, _ := env.CreateClient(clients.Spec{Name: "Fuzzed app", RedirectURIs: []string{"https://app.example/cb"}})
	p := console.APIPrefix
	endpoints := []struct{ method, path string }{
		{"POST", p + "/clients"},
		{"PUT", p + "/clients/" + existing},
		{"POST", p + "/admin-invites"},
		{"PUT", p + "/policies"},
		{"GET", p + "/clients"},
		{"GET", p + "/users"},
		{"GET", p + "/audit"},
	}
	call := func(t testing.TB, method, path string, body []byte) (*http.Response, []byte) {
		req, err := http.NewRequest(method, env.Issuer+path, bytes.NewReader(body))
		if err != nil {
			return nil, nil
		}
		if method != "GET" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// The current policy, as the API gives it, seeds the policy endpoint.
	_, policy := call(f, "GET", p+"/policies", nil)
	// Seeds from the admin API tests (api_test.go) and their refusals.
	for _, s := range []struct {
		endpoint uint8
		body     string
		query    string
	}{
		{0, `{"client_name":"Web app","redirect_uris":["https://app.example/cb"]}`, ""},
		{0, `{"client_name":"Bad","redirect_uris":["javascript:alert(1)","https://*.example/cb"]}`, ""},
		{0, `{"client_name":"x","typo":1}`, ""},
		{0, `{"client_name":"M","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":"{\"keys\":[]}"}`, ""},
		{1, `{"client_name":"Renamed","redirect_uris":["http://127.0.0.1/cb"],"allowed_web_origins":["https://app.example"]}`, ""},
		{1, `null`, ""},
		{2, `{"email":"new-admin@example.test"}`, ""},
		{2, `{"email":"nope"}`, ""},
		{3, string(policy), ""},
		{3, `{"allowed_methods":[]}`, ""},
		{0, `{`, ""}, {0, `[]`, ""}, {0, `"x"`, ""}, {0, `{"client_name":1e999}`, ""}, {0, "\xff\xfe", ""},
		{4, "", "q=web&limit=10"},
		{4, "", "limit=1000"},
		{5, "", "offset=-1&limit=0"},
		{5, "", "sort=name%3BDROP+TABLE+users&filter=%27+OR+1%3D1+--&page_token=AAAA"},
		{5, "", "q=' OR 1=1 --"},
		{6, "", "limit=2"},
		{6, "", "cursor=!!"},
		{6, "", "cursor=eyJhdCI6IjIwMjYtMDEtMDFUMDA6MDA6MDBaIiwiaWQiOiJ4In0.c2ln"},
		{6, "", "since=yesterday&until=2026-01-02T15:04:05Z&action=%00"},
	} {
		f.Add(s.endpoint, []byte(s.body), s.query)
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte, query string) {
		e := endpoints[int(endpoint)%len(endpoints)]
		path := e.path
		if e.method == "GET" {
			body = nil
			if query != "" {
				path += "?" + query
			}
		}
		resp, b := call(t, e.method, path, body)
		if resp == nil {
			return // not a URL a client could send
		}
		switch {
		case resp.StatusCode == http.StatusBadRequest && string(b) == "400 Bad Request":
			// net/http's own refusal of a request line it cannot parse
			// (a space or control character in the query): it never
			// reached the API.
		case resp.StatusCode >= 500:
			t.Fatalf("%s %s %q: %d %s", e.method, path, body, resp.StatusCode, b)
		case resp.StatusCode >= 400:
			var prob struct {
				Status int `json:"status"`
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || json.Unmarshal(b, &prob) != nil || prob.Status != resp.StatusCode {
				t.Fatalf("%s %s %q: %d %s %s, want problem+json", e.method, path, body, resp.StatusCode, ct, b)
			}
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			if !json.Valid(b) {
				t.Fatalf("%s %s %q: %d, body not JSON: %s", e.method, path, body, resp.StatusCode, b)
			}
		default:
			t.Fatalf("%s %s %q: unexpected %d", e.method, path, body, resp.StatusCode)
		}
	})
}
