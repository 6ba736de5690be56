package authn_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"

	upstreamidp "github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// badIdP is a small OIDC provider that answers as told: a refusal, or an
// ID token that is valid or deliberately wrong (another issuer, expired,
// signed with a key its JWKS does not list). Discovery, PKCE and the code
// exchange are real.
type badIdP struct {
	t *testing.T
	// issuer is its address, and the issuer it claims unless claims is
	// set (a stand-in for a provider's public issuer: servertest.NewRouted).
	issuer, claims string
	key            *rsa.PrivateKey
	// rogue signs the "unknown kid" tokens; its key is in no JWKS.
	rogue *rsa.PrivateKey

	mu   sync.Mutex
	mode string
	// email is the address the next token carries.
	email  string
	codes  map[string]badCode
	tokens map[string]int // code → token requests
	// callbacks are the redirects to Sesame it handed out.
	callbacks []string
}

type badCode struct{ nonce, challenge, mode, email string }

func newBadIdP(t *testing.T) *badIdP { return newBadIdPAs(t, "") }

// newBadIdPAs is a badIdP claiming to be issuer claims ("": its address).
func newBadIdPAs(t *testing.T, claims string) *badIdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &badIdP{t: t, issuer: "http://" + ln.Addr().String(), claims: claims, codes: map[string]badCode{}, tokens: map[string]int{}}
	if b.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if b.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		iss := b.iss()
		writeJSONBody(w, map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSONBody(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &b.key.PublicKey, KeyID: "good", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", b.authorize)
	mux.HandleFunc("POST /token", b.token)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

func writeJSONBody(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (b *badIdP) iss() string {
	if b.claims != "" {
		return b.claims
	}
	return b.issuer
}

func (b *badIdP) set(mode, email string) {
	b.mu.Lock()
	b.mode, b.email = mode, email
	b.mu.Unlock()
}

func (b *badIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	back := url.Values{"state": {q.Get("state")}}
	if b.mode == "deny" {
		back.Set("error", "access_denied")
		back.Set("error_description", "The user said no")
	} else {
		code := "c-" + randomString()
		b.codes[code] = badCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), mode: b.mode, email: b.email}
		back.Set("code", code)
	}
	if b.mode == "form_post" {
		// As Apple answers (response_mode=form_post): a page of this
		// site posting the answer to Sesame, cross-site.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Working…</title><form id="f" method="post" action="%s">`, html.EscapeString(to.String()))
		for k := range back {
			fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(back.Get(k)))
		}
		fmt.Fprint(w, `</form><script>document.getElementById("f").submit()</script>`)
		return
	}
	to.RawQuery = back.Encode()
	b.callbacks = append(b.callbacks, to.String())
	http.Redirect(w, r, to.String(), http.StatusSeeOther)
}

func (b *badIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	b.mu.Lock()
	code := r.PostForm.Get("code")
	b.tokens[code]++
	c, ok := b.codes[code]
	delete(b.codes, code) // single use, as RFC 6749 §4.1.2 asks
	b.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSONBody(w, map[string]string{"error": "invalid_grant"})
		return
	}
	id, _, _ := r.BasicAuth()
	now := time.Now()
	claims := map[string]any{"iss": b.iss(), "sub": "sub-" + c.email, "aud": id, "nonce": c.nonce, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "email": c.email, "email_verified": true, "name": "Bad IdP user"}
	key, kid := b.key, "good"
	switch c.mode {
	case "wrong_iss":
		claims["iss"] = "https://evil.example"
	case "expired":
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case "unknown_kid":
		key, kid = b.rogue, "rogue"
	case "unverified":
		claims["email_verified"] = false
	case "apple":
		// Apple's ID token never names the person.
		delete(claims, "name")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		b.t.Error(err)
		return
	}
	raw, err := jwt.Signed(signer).Claims(claims).CompactSerialize()
	if err != nil {
		b.t.Error(err)
		return
	}
	writeJSONBody(w, map[string]any{"access_token": "at-" + code, "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

// TestUpstreamErrorsInChromium: every way an upstream answer can be wrong
// ends on a plain page that says what happened, with nothing written (no
// account, no linked identity): the person refused (access_denied), a
// forged state, a replayed callback (its state is spent, so its code never
// reaches the token endpoint a second time), an ID token from another
// issuer, an expired one, and one signed with a key the upstream's JWKS
// does not list (OIDC Core §3.1.3.7). Each refusal is an event with its
// reason.
func TestUpstreamErrorsInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append([]servertest.Option{servertest.AllowOutbound("127.0.0.0/8")}, opts...)...)
		idp := newBadIdP(t)
		svc := env.Server.Console().Services
		ctx := console.WithActor(context.Background(), console.CLIActor())
		if _, err := svc.Upstreams.Create(ctx, upstreamidp.Spec{ID: "bad", Name: "Bad IdP", Issuer: idp.issuer, ClientID: "sesame", ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		bctx := browsertest.New(t)
		recordCSPViolations(t, bctx)
		shots := !strings.Contains(t.Name(), "postgres")

		nothingWritten := func(t *testing.T, email string) {
			t.Helper()
			if _, err := env.Store.GetUserByEmail(context.Background(), email); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("an account for %s exists (%v)", email, err)
			}
			if _, err := env.Store.GetUpstreamIdentity(context.Background(), "bad", "sub-"+email); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("an identity for %s exists (%v)", email, err)
			}
		}
		start := func(t *testing.T) {
			t.Helper()
			browsertest.Do(t, bctx, "login", chromedp.Navigate(env.Issuer+"/login"), chromedp.WaitVisible("#upstream-bad"), chromedp.Click("#upstream-bad"),
				chromedp.WaitVisible("h1"))
		}
		for _, tc := range []struct {
			mode, reason, title string
		}{
			{"deny", "upstream_denied", "Sign-in was cancelled"},
			{"wrong_iss", "bad_token", "We couldn't verify this sign-in"},
			{"expired", "id_token_expired", "We couldn't verify this sign-in"},
			{"unknown_kid", "bad_token", "We couldn't verify this sign-in"},
			// OIDC Core §5.1: an address the provider did not verify
			// neither creates an account nor finds one.
			{"unverified", "unverified_email", "Your address isn't confirmed"},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				email := tc.mode + "-" + randomString()[:6] + "@bad.example"
				idp.set(tc.mode, email)
				start(t)
				browsertest.WaitText(t, bctx, "h1", tc.title)
				if shots && tc.mode == "expired" {
					checkHostedPage(t, bctx, hostedPage{name: "upstream-4-error"})
				}
				nothingWritten(t, email)
				wantFailure(t, env, tc.reason)
			})
		}

		// An unverified address that belongs to an account is not even
		// a reason to ask for a proof: nothing is held, nothing linked.
		t.Run("unverified_existing", func(t *testing.T) {
			email := "owner-" + randomString()[:6] + "@bad.example"
			owner := env.CreateUser(email)
			idp.set("unverified", email)
			start(t)
			browsertest.WaitText(t, bctx, "h1", "Your address isn't confirmed")
			if _, err := env.Store.GetUpstreamIdentity(context.Background(), "bad", "sub-"+email); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("identity for an unverified address: %v", err)
			}
			if ls, _ := env.Store.ListUserLoginSessions(context.Background(), owner.ID); len(ls) != 0 {
				t.Errorf("the account was signed in by an unverified address")
			}
		})

		// Provisioning "link": a new person gets no account.
		t.Run("link_only", func(t *testing.T) {
			cur, err := svc.Upstreams.Get(ctx, "bad")
			if err != nil {
				t.Fatal(err)
			}
			spec := cur.Spec
			spec.Provisioning = models.ProvisionLink
			if _, err := svc.Upstreams.Update(ctx, "bad", spec); err != nil {
				t.Fatal(err)
			}
			defer func() {
				spec.Provisioning = models.ProvisionCreate
				if _, err := svc.Upstreams.Update(ctx, "bad", spec); err != nil {
					t.Fatal(err)
				}
			}()
			email := "new-" + randomString()[:6] + "@bad.example"
			idp.set("ok", email)
			start(t)
			browsertest.WaitText(t, bctx, "h1", "No account to sign in to")
			nothingWritten(t, email)
			wantFailure(t, env, "no_account")
		})

		// A closed sign-up holds for upstream sign-ins too.
		t.Run("signup_closed", func(t *testing.T) {
			pols := env.Server.Console().Policies
			set := func(open bool) {
				t.Helper()
				p, err := pols.Current(ctx)
				if err != nil {
					t.Fatal(err)
				}
				p.SignupOpen = open
				if _, err := pols.Update(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			set(false)
			defer set(true)
			email := "closed-" + randomString()[:6] + "@bad.example"
			idp.set("ok", email)
			start(t)
			browsertest.WaitText(t, bctx, "h1", "New accounts can't be created here")
			nothingWritten(t, email)
			wantFailure(t, env, "signup_closed")
		})

		// An answer by form_post (Apple's): a cross-site POST, which
		// carries no SameSite=Lax cookie; Sesame answers it with a GET of
		// the callback, which does, and the sign-in completes.
		t.Run("form_post", func(t *testing.T) {
			email := "posted-" + randomString()[:6] + "@bad.example"
			idp.set("form_post", email)
			start(t)
			browsertest.WaitLocation(t, bctx, env.Issuer+"/passlink/passkey")
			if _, err := env.Store.GetUserByEmail(context.Background(), email); err != nil {
				t.Fatalf("the form_post sign-in made no account: %v", err)
			}
		})

		t.Run("forged_state", func(t *testing.T) {
			browsertest.Do(t, bctx, "forged callback", chromedp.Navigate(env.Issuer+upstreamidp.CallbackPath+"?state=forged&code=x"), chromedp.WaitVisible("h1"))
			browsertest.WaitText(t, bctx, "h1", "This sign-in can't be completed")
		})

		t.Run("replayed_code", func(t *testing.T) {
			email := "ok-" + randomString()[:6] + "@bad.example"
			idp.set("ok", email)
			start(t)
			browsertest.Do(t, bctx, "signed in", chromedp.WaitVisible("#not-now"))
			if _, err := env.Store.GetUserByEmail(context.Background(), email); err != nil {
				t.Fatalf("the valid sign-in made no account: %v", err)
			}
			idp.mu.Lock()
			callback := idp.callbacks[len(idp.callbacks)-1]
			idp.mu.Unlock()
			browsertest.Do(t, bctx, "replay", chromedp.Navigate(callback), chromedp.WaitVisible("h1"))
			browsertest.WaitText(t, bctx, "h1", "This sign-in can't be completed")
			u, _ := url.Parse(callback)
			idp.mu.Lock()
			n := idp.tokens[u.Query().Get("code")]
			idp.mu.Unlock()
			if n != 1 {
				t.Errorf("the code reached the token endpoint %d times, want 1", n)
			}
			wantFailure(t, env, "bad_state")
		})

		// Each start writes a flow row: one address may start a bounded
		// number (across replicas: the limiter counts in the database).
		// Last, as it uses up this address's allowance.
		t.Run("start_limited", func(t *testing.T) {
			b := env.Browser()
			for i := 0; ; i++ {
				resp, err := b.Get(env.Issuer + "/login/upstream?provider=bad")
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					if resp.Header.Get("Retry-After") == "" {
						t.Error("429 without Retry-After")
					}
					break
				}
				if resp.StatusCode != http.StatusSeeOther || i > upstreamidp.StartLimit {
					t.Fatalf("start %d: status %d, want 303 until the limit of %d", i, resp.StatusCode, upstreamidp.StartLimit)
				}
			}
			wantFailure(t, env, "rate_limited")
		})
	})
}

// wantFailure checks a failed upstream sign-in was recorded with reason.
func wantFailure(t *testing.T, env *servertest.Env, reason string) {
	t.Helper()
	evs, err := env.Store.RecentAuthEvents(context.Background(), time.Now().Add(-time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Method == models.MethodUpstream && ev.Result == models.ResultFailure && ev.Reason == reason {
			return
		}
	}
	t.Errorf("no failed upstream event with reason %q", reason)
}
