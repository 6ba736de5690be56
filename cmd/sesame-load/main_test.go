package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestLoopbackOnly: the load tool never targets a non-loopback address.
func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"http://localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"https://93.184.216.34", false},
		{"ftp://localhost", false},
		{"not a url", false},
	} {
		u, err := loopbackTokenURL(tc.issuer)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.issuer, err, tc.ok)
		}
		if tc.ok && !strings.HasSuffix(u, "/oauth2/token") {
			t.Errorf("%s: token URL %s", tc.issuer, u)
		}
	}
}

// TestBoundsRefused: the loop's bounds are enforced before any request.
func TestBoundsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-client-id", "a", "-client-secret", "b", "-c", "0"},
		{"-client-id", "a", "-client-secret", "b", "-c", "1000"},
		{"-client-id", "a", "-client-secret", "b", "-d", "1h"},
		{"-client-secret", "b"},
		{"-op", "jwt", "-client-id", "a", "-client-secret", "b"}, // no -resource
	} {
		if err := run(args, &strings.Builder{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestEveryOperationAgainstAServer: each operation runs against a real
// server on both dialects without an error, and with -pid and -pg (the
// test process is the server's) reports CPU per operation and peak RSS.
func TestEveryOperationAgainstAServer(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...)
		id, secret := env.CreateClient(clients.Spec{
			Name: "Load", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, SkipConsent: true,
			GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials", clients.GrantDeviceCode},
			Scopes:     []string{"openid", "profile", "email", "offline_access"},
		})
		const api = "https://orders.example.com/"
		now := time.Now().UTC()
		if err := env.Store.CreateResource(t.Context(), &models.Resource{Name: "orders", Audience: api, Scopes: models.StringList{},
			AccessTokenFormat: models.TokenFormatJWT, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		args := []string{"-op", "all", "-resource", api, "-issuer", env.Issuer, "-client-id", id, "-client-secret", secret,
			"-c", "2", "-d", "400ms", "-n", "20", "-pid", strconv.Itoa(os.Getpid())}
		if env.Store.Dialect() == "postgres" {
			args = append(args, "-pg", env.DatabaseURL())
		}
		var out strings.Builder
		if err := run(args, &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		got := out.String()
		for _, op := range ops {
			i := strings.Index(got, op+", 2 workers")
			if i < 0 {
				t.Fatalf("no run of %s in:\n%s", op, got)
			}
			block := got[i:]
			if j := strings.Index(block[1:], " workers, "); j >= 0 {
				if k := strings.LastIndex(block[:j+1], "\n"); k > 0 {
					block = block[:k]
				}
			}
			if !regexp.MustCompile(`ops: [1-9]\d* \(`).MatchString(block) || !strings.Contains(block, "errors: 0") {
				t.Errorf("%s did not run cleanly:\n%s", op, block)
			}
			if !regexp.MustCompile(`server: +cpu \d+\.\d\d ms/op, peak rss [1-9]\d* MB`).MatchString(block) {
				t.Errorf("%s reports no server CPU and peak RSS:\n%s", op, block)
			}
			if env.Store.Dialect() == "postgres" && !regexp.MustCompile(`database: cpu \d+\.\d\d ms/op`).MatchString(block) {
				t.Errorf("%s reports no database CPU:\n%s", op, block)
			}
		}
		t.Logf("\n%s", got)
	})
}

// TestDatabaseMustBeLoopback: -pg is refused unless it is on loopback.
func TestDatabaseMustBeLoopback(t *testing.T) {
	err := run([]string{"-op", "signin", "-issuer", "http://127.0.0.1:1", "-pg", "postgres://u@10.1.2.3:5432/db"}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("a non-loopback database was accepted: %v", err)
	}
}

// TestHydraOperationsAgainstAStandIn: the hydra-* operations follow Ory
// Hydra's login-and-consent protocol (challenges read and accepted at the
// admin API, verifiers followed at the public one, PKCE at the token
// endpoint, introspection at the admin API), checked step by step by a
// stand-in that refuses anything out of order. The figures in the README
// come from a real Hydra v2.3.0; CI has none, so this checks the tool's
// side of the protocol. -hydra-admin is required and must be loopback.
func TestHydraOperationsAgainstAStandIn(t *testing.T) {
	h := newHydraStandIn(t)
	args := []string{"-issuer", h.public.URL, "-hydra-admin", h.admin.URL, "-client-id", "bench", "-client-secret", "s3cret",
		"-c", "2", "-d", "300ms", "-n", "10", "-pid", strconv.Itoa(os.Getpid())}
	for _, op := range hydraOps {
		var out strings.Builder
		if err := run(append([]string{"-op", op}, args...), &out); err != nil {
			t.Fatalf("%s: %v\n%s", op, err, out.String())
		}
		if !regexp.MustCompile(`ops: [1-9]\d* \(`).MatchString(out.String()) || !strings.Contains(out.String(), "errors: 0") {
			t.Errorf("%s did not run cleanly:\n%s", op, out.String())
		}
	}
	if h.flows.Load() == 0 || h.introspections.Load() == 0 {
		t.Fatalf("the stand-in saw %d flows and %d introspections", h.flows.Load(), h.introspections.Load())
	}
	for _, bad := range [][]string{
		{"-op", "hydra-codeflow", "-issuer", h.public.URL, "-client-id", "a", "-client-secret", "b"},
		{"-op", "hydra-codeflow", "-issuer", h.public.URL, "-hydra-admin", "http://10.1.2.3:4445", "-client-id", "a", "-client-secret", "b"},
	} {
		if err := run(bad, &strings.Builder{}); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

type hydraStandIn struct {
	public, admin         *httptest.Server
	mu                    sync.Mutex
	pending               map[string]*hydraFlow // by challenge and by verifier
	codes                 map[string]*hydraFlow
	tokens                map[string]bool
	flows, introspections atomic.Int64
}

// hydraFlow is one authorization request at the stand-in.
type hydraFlow struct {
	query    url.Values
	step     string // "login", "consent", "done"
	cookie   string
	subject  string
	verifier string
}

func newHydraStandIn(t *testing.T) *hydraStandIn {
	h := &hydraStandIn{pending: map[string]*hydraFlow{}, codes: map[string]*hydraFlow{}, tokens: map[string]bool{}}
	fail := func(w http.ResponseWriter, format string, args ...any) {
		t.Errorf("stand-in: "+format, args...)
		http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest)
	}
	// take finds the flow a challenge or verifier names, at the step it
	// must be at, and forgets that name (each is used once).
	take := func(name, step string) *hydraFlow {
		h.mu.Lock()
		defer h.mu.Unlock()
		f := h.pending[name]
		if f == nil || f.step != step {
			return nil
		}
		delete(h.pending, name)
		return f
	}
	put := func(f *hydraFlow, name string) {
		h.mu.Lock()
		h.pending[name] = f
		h.mu.Unlock()
	}
	pub := http.NewServeMux()
	pub.HandleFunc("GET /oauth2/auth", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Get("login_verifier") != "":
			f := take(q.Get("login_verifier"), "consent")
			if c, err := r.Cookie("csrf"); f == nil || err != nil || c.Value != f.cookie {
				fail(w, "login verifier without its flow or its cookie")
				return
			}
			challenge := rand.Text()
			put(f, challenge)
			http.Redirect(w, r, "http://127.0.0.1:9/consent?consent_challenge="+challenge, http.StatusFound)
		case q.Get("consent_verifier") != "":
			f := take(q.Get("consent_verifier"), "done")
			if f == nil {
				fail(w, "consent verifier without its flow")
				return
			}
			code := rand.Text()
			h.mu.Lock()
			h.codes[code] = f
			h.mu.Unlock()
			http.Redirect(w, r, f.query.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(f.query.Get("state")), http.StatusFound)
		default:
			if q.Get("client_id") != "bench" || q.Get("redirect_uri") != "http://127.0.0.1:9/cb" || q.Get("code_challenge_method") != "S256" ||
				q.Get("code_challenge") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "openid") {
				fail(w, "bad authorization request %v", q)
				return
			}
			f := &hydraFlow{query: q, step: "login", cookie: rand.Text()}
			challenge := rand.Text()
			put(f, challenge)
			http.SetCookie(w, &http.Cookie{Name: "csrf", Value: f.cookie, Path: "/"})
			http.Redirect(w, r, "http://127.0.0.1:9/login?login_challenge="+challenge, http.StatusFound)
		}
	})
	pub.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		h.mu.Lock()
		f := h.codes[r.PostFormValue("code")]
		delete(h.codes, r.PostFormValue("code"))
		h.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || id != "bench" || secret != "s3cret" || f == nil || r.PostFormValue("grant_type") != "authorization_code" ||
			r.PostFormValue("redirect_uri") != f.query.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != f.query.Get("code_challenge") {
			fail(w, "bad token request")
			return
		}
		token := rand.Text()
		h.mu.Lock()
		h.tokens[token] = true
		h.mu.Unlock()
		h.flows.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","id_token":"x.y.z","expires_in":3600}`, token)
	})
	adm := http.NewServeMux()
	challenged := func(step, param string, accept bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			name := r.URL.Query().Get(param)
			h.mu.Lock()
			f := h.pending[name]
			h.mu.Unlock()
			if f == nil || f.step != step {
				fail(w, "%s %s: unknown challenge", r.Method, r.URL.Path)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			if !accept {
				fmt.Fprintf(w, `{"challenge":%q,"requested_scope":["openid","offline_access"],"requested_access_token_audience":[],"subject":%q}`, name, f.subject)
				return
			}
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				fail(w, "accept body: %v", err)
				return
			}
			verifier := rand.Text()
			if step == "login" {
				if body["subject"] == "" || body["subject"] == nil {
					fail(w, "login accepted without a subject")
					return
				}
				f.subject = fmt.Sprint(body["subject"])
				f.step = "consent"
			} else {
				if fmt.Sprint(body["grant_scope"]) != "[openid offline_access]" {
					fail(w, "consent granted %v, want the requested scopes", body["grant_scope"])
					return
				}
				f.step = "done"
			}
			h.mu.Lock()
			delete(h.pending, name) // a challenge is accepted once
			h.mu.Unlock()
			put(f, verifier)
			fmt.Fprintf(w, `{"redirect_to":%q}`, h.public.URL+"/oauth2/auth?client_id=bench&"+map[string]string{"login": "login_verifier", "consent": "consent_verifier"}[step]+"="+verifier)
		}
	}
	adm.HandleFunc("GET /admin/oauth2/auth/requests/login", challenged("login", "login_challenge", false))
	adm.HandleFunc("PUT /admin/oauth2/auth/requests/login/accept", challenged("login", "login_challenge", true))
	adm.HandleFunc("GET /admin/oauth2/auth/requests/consent", challenged("consent", "consent_challenge", false))
	adm.HandleFunc("PUT /admin/oauth2/auth/requests/consent/accept", challenged("consent", "consent_challenge", true))
	adm.HandleFunc("POST /admin/oauth2/introspect", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		active := h.tokens[r.PostFormValue("token")]
		h.mu.Unlock()
		h.introspections.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"active":%t}`, active)
	})
	h.public, h.admin = httptest.NewServer(pub), httptest.NewServer(adm)
	t.Cleanup(h.public.Close)
	t.Cleanup(h.admin.Close)
	return h
}
