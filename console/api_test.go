package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// caller is an HTTP client of the admin API or console.
type caller struct {
	t       *testing.T
	env     *servertest.Env
	http    *http.Client
	csrf    string
	bearer  string
	headers map[string]string
	// audited makes call check that each change it makes (a write
	// answered 2xx) is in the audit log with its actor and before/after.
	audited bool
}

var csrfRe = regexp.MustCompile(`data-csrf="([^"]+)"`)

// browser returns a caller with a fresh cookie jar and the CSRF token for
// it (read from the hosted sign-in page, which sets the binding cookie).
func browser(t *testing.T, env *servertest.Env) *caller {
	t.Helper()
	c := &caller{t: t, env: env, http: env.Browser()}
	// See every answer as it is: a redirect to sign in is a refusal.
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.http.Get(env.Issuer + console.PathLogin)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page (status %d)", resp.StatusCode)
	}
	c.csrf = string(m[1])
	return c
}

// signIn makes a user with the given role and signs them in in c's jar.
func (c *caller) signIn(role, acr string) (*models.User, *models.LoginSession) {
	c.t.Helper()
	u := c.env.CreateUser("u-" + time.Now().Format("150405.000000000") + "@example.test")
	if role != "" {
		if err := c.env.Store.SetUserRole(context.Background(), u.ID, role); err != nil {
			c.t.Fatal(err)
		}
		u.Role = role
	}
	amr := []string{"pop", "mfa"}
	if acr == models.ACRBasic {
		amr = []string{"email"}
	}
	ls := c.env.Login(c.http, u.ID, amr, acr, time.Now())
	return u, ls
}

// adminToken registers a client_credentials client with the admin scope
// and returns an access token for it.
func adminToken(t testing.TB, env *servertest.Env, scopes ...string) string {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{clients.ScopeAdmin}
	}
	id, secret := env.CreateClient(clients.Spec{Name: "automation", GrantTypes: []string{clients.GrantClientCredentials}, Scopes: scopes})
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}}
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// do sends a request; body is marshalled as JSON unless nil.
func (c *caller) do(method, path string, body any) (*http.Response, []byte, *http.Request) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.env.Issuer+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
		req.Header.Set("Origin", c.env.Issuer)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	hc := c.http
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Give the validator a body it can read again.
	if body != nil {
		bb, _ := json.Marshal(body)
		req.Body = io.NopCloser(bytes.NewReader(bb))
	}
	return resp, b, req
}

// spec is the OpenAPI document, with the test server as its server.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	seen   map[string]bool
}

func loadSpec(t *testing.T, env *servertest.Env) *spec {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(console.OpenAPI())
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: env.Issuer + console.APIPrefix}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &spec{doc: doc, router: r, seen: map[string]bool{}}
}

// check validates a real response against the document.
func (s *spec) check(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return
	}
	s.seen[req.Method+" "+route.Path] = true
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

func (c *caller) call(s *spec, method, path string, body any, want int) []byte {
	c.t.Helper()
	var before []models.AuditEntry
	if c.audited {
		before = c.auditLog()
	}
	resp, b, req := c.do(method, path, body)
	if resp.StatusCode != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	s.check(c.t, req, resp, b)
	if c.audited && method != http.MethodGet && resp.StatusCode < 300 && !readOnlyWrite(path) {
		added := c.auditLog()[:0:0]
		if after := c.auditLog(); len(after) > len(before) {
			added = after[:len(after)-len(before)]
		}
		if len(added) == 0 {
			c.t.Errorf("%s %s changed something (%d) and wrote no audit entry", method, path, resp.StatusCode)
		}
		for _, e := range added {
			if e.ActorKind == "" || e.ActorID == "" || (e.BeforeJSON == "" && e.AfterJSON == "") {
				c.t.Errorf("%s %s: audit entry %s without actor or before/after: %+v", method, path, e.Action, e)
			}
		}
	}
	return b
}

// auditLog is the whole audit log, newest first.
func (c *caller) auditLog() []models.AuditEntry {
	c.t.Helper()
	es, err := c.env.Store.ListAuditEntries(context.Background(), store.AuditFilter{}, 10000)
	if err != nil {
		c.t.Fatal(err)
	}
	return es
}

// readOnlyWrite reports whether path is a POST that changes nothing: a
// search, an export, a dry run, a preview.
func readOnlyWrite(path string) bool {
	for _, s := range []string{"dry_run=true", "/search", "/export", "/preview"} {
		if strings.Contains(path, s) {
			return true
		}
	}
	return false
}

// TestAPIResponsesMatchOpenAPI calls every admin API route and checks each
// answer against the OpenAPI document; each change it makes must be in the
// audit log with its actor and a before or after (caller.audited).
func TestAPIResponsesMatchOpenAPI(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		s := loadSpec(t, env)
		api := &caller{t: t, env: env, bearer: adminToken(t, env), audited: true}
		p := console.APIPrefix

		api.call(s, "GET", p+"/openapi.json", nil, 200)

		// Clients: create (secret once), list, get, update, rotate, errors.
		var created struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		b := api.call(s, "POST", p+"/clients", clients.Spec{Name: "Web app", RedirectURIs: []string{"https://app.example/cb"}}, 201)
		_ = json.Unmarshal(b, &created)
		if created.ID == "" || created.Secret == "" {
			t.Fatalf("create: no id or secret: %s", b)
		}
		api.call(s, "POST", p+"/clients", clients.Spec{Name: "Bad", RedirectURIs: []string{"javascript:alert(1)", "https://*.example/cb"}}, 422)
		api.call(s, "POST", p+"/clients", map[string]any{"client_name": "x", "typo": 1}, 400)
		api.call(s, "GET", p+"/clients?q=web&limit=10", nil, 200)
		api.call(s, "GET", p+"/clients?limit=1000", nil, 422)
		api.call(s, "GET", p+"/clients/"+created.ID, nil, 200)
		api.call(s, "GET", p+"/clients/nope", nil, 404)
		b = api.call(s, "GET", p+"/clients/"+created.ID, nil, 200)
		if strings.Contains(string(b), created.Secret) || strings.Contains(string(b), "argon2") {
			t.Error("a client's secret or hash is shown after creation")
		}
		api.call(s, "PUT", p+"/clients/"+created.ID, clients.Spec{Name: "Web app 2", RedirectURIs: []string{"https://app.example/cb"}}, 200)
		api.call(s, "PUT", p+"/clients/"+created.ID+"?rotate_secret=true", clients.Spec{Name: "Web app 2", RedirectURIs: []string{"https://app.example/cb"}}, 200)
		api.call(s, "POST", p+"/clients/"+created.ID+"/rotate-secret", nil, 200)
		api.call(s, "PUT", p+"/clients/"+created.ID, clients.Spec{Name: "Web app 2", RedirectURIs: []string{"https://app.example/cb"},
			LogoURI: "https://app.example/logo.svg", AccessTokenTTL: 600, RefreshTokenTTL: 86400, IDTokenTTL: 300,
			MinACR: models.ACRPhishingResistant, UserVerification: "required"}, 200)
		api.call(s, "PUT", p+"/clients/"+created.ID, clients.Spec{Name: "Web app 2", RedirectURIs: []string{"https://app.example/cb"}, AccessTokenTTL: 5}, 422)
		api.call(s, "POST", p+"/clients/"+created.ID+"/disable", nil, 200)
		api.call(s, "POST", p+"/clients/"+created.ID+"/enable", nil, 200)
		api.call(s, "POST", p+"/clients/nope/disable", nil, 404)

		// Users.
		u := env.CreateUser("searchable@example.test")
		other := env.CreateUser("other-admin@example.test")
		api.call(s, "GET", p+"/users?q=searchable", nil, 200)
		api.call(s, "GET", p+"/users?q="+strings.Repeat("x", 300), nil, 422)
		api.call(s, "GET", p+"/users/"+u.ID, nil, 200)
		api.call(s, "GET", p+"/users/nope", nil, 404)
		api.call(s, "POST", p+"/users/"+u.ID+"/disable", nil, 200)
		api.call(s, "POST", p+"/users/"+u.ID+"/enable", nil, 200)
		api.call(s, "POST", p+"/users/"+u.ID+"/grant-admin", nil, 200)
		api.call(s, "POST", p+"/users/"+other.ID+"/grant-admin", nil, 200)
		api.call(s, "POST", p+"/users/"+u.ID+"/revoke-admin", nil, 200)
		api.call(s, "POST", p+"/users/"+u.ID+"/passlink", nil, 202)
		exerciseEverydayUsersAPI(t, env, api, s, u)
		exerciseBulkUsersAPI(t, env, api, s)
		exerciseExportsAPI(t, env, api, s)
		exerciseEventsSearchAPI(t, env, api, s)
		exerciseCancelDeletionAPI(t, env, api, s)
		api.call(s, "POST", p+"/users/nope/passlink", nil, 404)
		// Recovery codes: counted on the user, invalidated (step-up), audited.
		if err := env.Store.ReplaceRecoveryCodes(t.Context(), u.ID, []string{"hash-a", "hash-b"}); err != nil {
			t.Fatal(err)
		}
		var ud struct {
			RecoveryCodes int64 `json:"recovery_codes"`
		}
		_ = json.Unmarshal(api.call(s, "GET", p+"/users/"+u.ID, nil, 200), &ud)
		var inv console.RecoveryCodesInvalidated
		_ = json.Unmarshal(api.call(s, "DELETE", p+"/users/"+u.ID+"/recovery-codes", nil, 200), &inv)
		if ud.RecoveryCodes != 2 || inv.Invalidated != 2 || inv.UserID != u.ID {
			t.Errorf("recovery codes: shown %d, invalidated %+v", ud.RecoveryCodes, inv)
		}
		api.call(s, "DELETE", p+"/users/nope/recovery-codes", nil, 404)
		if n, _ := env.Store.CountRecoveryCodes(t.Context(), u.ID); n != 0 {
			t.Errorf("%d recovery codes left after invalidation", n)
		}
		api.call(s, "DELETE", p+"/users/"+u.ID+"/credentials/nope", nil, 404)
		api.call(s, "DELETE", p+"/users/"+u.ID, nil, 204)
		// The last admin stays.
		api.call(s, "POST", p+"/users/"+other.ID+"/revoke-admin", nil, 409)
		api.call(s, "POST", p+"/admin-invites", map[string]string{"email": "new-admin@example.test"}, 201)
		api.call(s, "POST", p+"/admin-invites", map[string]string{"email": "nope"}, 422)

		exerciseScopesAPI(t, env, api, s)
		exerciseResourcesAPI(t, env, api, s)

		// Keys, policies, audit, stats.
		api.call(s, "GET", p+"/keys", nil, 200)
		api.call(s, "POST", p+"/keys/rotate", nil, 200)
		api.call(s, "POST", p+"/keys/rotate", map[string]string{"alg": "HS256"}, 422)
		var pol map[string]any
		_ = json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &pol)
		delete(pol, "restart_required")
		pol["signup_open"] = false
		api.call(s, "PUT", p+"/policies", pol, 200)
		pol["passlink_ttl"] = "10h"
		api.call(s, "PUT", p+"/policies", pol, 422)
		b = api.call(s, "GET", p+"/audit?limit=2", nil, 200)
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(b, &page)
		if page.NextCursor == "" {
			t.Fatal("audit: no next cursor after many changes")
		}
		api.call(s, "GET", p+"/audit?limit=2&cursor="+url.QueryEscape(page.NextCursor), nil, 200)
		api.call(s, "GET", p+"/audit?action=client.create&target_type=client", nil, 200)
		api.call(s, "GET", p+"/audit?cursor=!!", nil, 422)
		// Cursors are authenticated: a position of the caller's choosing, or
		// a tampered one, is refused rather than queried.
		crafted := base64.RawURLEncoding.EncodeToString([]byte("2099-01-01T00:00:00Z|zzz"))
		api.call(s, "GET", p+"/audit?cursor="+url.QueryEscape(crafted), nil, 422)
		enc, sig, _ := strings.Cut(page.NextCursor, ".")
		api.call(s, "GET", p+"/audit?cursor="+url.QueryEscape(crafted+"."+sig), nil, 422)
		api.call(s, "GET", p+"/audit?cursor="+url.QueryEscape(enc+"."+crafted), nil, 422)
		api.call(s, "GET", p+"/audit?since=yesterday", nil, 422)
		api.call(s, "GET", p+"/stats/headline", nil, 200)
		api.call(s, "GET", p+"/stats/dashboard?range=7d", nil, 200)
		api.call(s, "GET", p+"/stats/dashboard?range=1y", nil, 422)
		api.call(s, "GET", p+"/stats/funnel", nil, 200)
		api.call(s, "GET", p+"/stats/drilldown?method=passkey&range=7d", nil, 200)
		api.call(s, "GET", p+"/stats/drilldown?client_id="+created.ID, nil, 200)
		api.call(s, "GET", p+"/stats/drilldown?client_id=", nil, 200)
		api.call(s, "GET", p+"/stats/drilldown?method=carrier-pigeon", nil, 422)
		api.call(s, "GET", p+"/credentials/health", nil, 200)
		api.call(s, "GET", p+"/credentials?finding=stale&limit=5", nil, 200)
		api.call(s, "GET", p+"/credentials?finding=lost", nil, 422)

		api.call(s, "DELETE", p+"/clients/"+created.ID, nil, 204)
		api.call(s, "DELETE", p+"/clients/"+created.ID, nil, 404)
		callGroupsAPI(t, env, s, api)
		exerciseWebhooksAPI(t, env, api, s)
		exerciseBrandingAPI(t, env, api, s)
		exerciseLockoutAPI(t, env, api, s)
		exerciseRegistrationAPI(t, env, api, s)
		exerciseUpstreamsAPI(t, env, api, s)

		// Errors of authentication match the document too.
		anon := &caller{t: t, env: env}
		anon.call(s, "GET", p+"/clients", nil, 401)

		// Every route of the API was exercised and validated.
		for _, r := range env.Server.Handler().(*gin.Engine).Routes() {
			if !strings.HasPrefix(r.Path, p) {
				continue
			}
			key := r.Method + " " + openAPIPath(strings.TrimPrefix(r.Path, p))
			if !s.seen[key] {
				t.Errorf("route %s was not validated against the OpenAPI document", key)
			}
		}
	})
}

// openAPIPath turns gin's /clients/:id into /clients/{id}.
func openAPIPath(p string) string {
	return regexp.MustCompile(`:([a-z]+)`).ReplaceAllString(p, "{$1}")
}

// The audit log records who changed what, from where, with before/after.
func TestAuditRecordsChanges(t *testing.T) {
	env := servertest.New(t)
	api := &caller{t: t, env: env, bearer: adminToken(t, env)}
	resp, b, _ := api.do("POST", console.APIPrefix+"/clients", clients.Spec{Name: "Audited", RedirectURIs: []string{"https://a.example/cb"}})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	_ = json.Unmarshal(b, &c)
	rows, err := env.Store.ListAuditEntries(context.Background(), store.AuditFilter{TargetID: c.ID}, 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("audit rows: %d, %v", len(rows), err)
	}
	e := rows[0]
	if e.Action != "client.create" || e.ActorKind != models.ActorClient || e.IP == "" || !strings.Contains(e.AfterJSON, "Audited") {
		t.Errorf("audit entry: %+v", e)
	}
	if strings.Contains(e.AfterJSON, c.Secret) || strings.Contains(e.AfterJSON, "argon2") {
		t.Error("the audit log holds the client secret or its hash")
	}
}
