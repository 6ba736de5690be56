package authn_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	upstreamidp "github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/telemetry/telemetrytest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// upstreamOverHTTP signs browser b in through the badIdP (answering in
// mode with email): the start, the provider's redirect back and the
// callback, as a browser follows them. It returns where the callback's
// redirects within Sesame ended and that page's status.
func upstreamOverHTTP(t *testing.T, env *servertest.Env, b *browser, idp *badIdP, mode, email string) (*url.URL, int) {
	t.Helper()
	return upstreamFor(t, env, b, idp, mode, email, "")
}

// upstreamFor is upstreamOverHTTP for an interaction (or none).
func upstreamFor(t *testing.T, env *servertest.Env, b *browser, idp *badIdP, mode, email, interaction string) (*url.URL, int) {
	t.Helper()
	idp.set(mode, email)
	q := url.Values{"provider": {"bad"}}
	if interaction != "" {
		q.Set("interaction", interaction)
	}
	resp, err := b.c.Get(env.Issuer + "/login/upstream?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to, idp.issuer+"/authorize?") {
		t.Fatalf("start: %d to %q", resp.StatusCode, to)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, env.Issuer+upstreamidp.CallbackPath+"?") {
		t.Fatalf("the provider sent the browser to %q", back)
	}
	resp, err = b.c.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.Request.URL, resp.StatusCode
}

// TestUpstreamLinkByPasskeyCountedAndShown, over HTTP with a virtual
// authenticator, on both dialects:
//   - a new upstream identity whose verified address belongs to an account
//     with a passkey waits on the linking page; a passkey sign-in of that
//     account in another browser links nothing, in the browser that holds
//     the link it links it (the emailed-link proof is
//     TestUpstreamSignInInChromium's);
//   - the account's domain bound to the provider: the policy decides —
//     with local methods allowed the passkey still signs in, without them
//     it is refused (home_realm), and an administrator keeps the passkey;
//   - the upstream sign-ins are counted: the console's statistics chart
//     the method and its failures by reason, /metrics counts
//     sesame_sign_ins_total{method="upstream"};
//   - an administrator sees the linked identity on the user's console page
//     and in the admin API's user (upstream_identities).
func TestUpstreamLinkByPasskeyCountedAndShown(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append([]servertest.Option{servertest.AllowOutbound("127.0.0.0/8"),
			servertest.With(func(c *config.Config) { c.MetricsToken = metricsToken })}, opts...)...)
		idp := newBadIdP(t)
		svc := env.Server.Console().Services
		actx := console.WithActor(context.Background(), console.CLIActor())
		if _, err := svc.Upstreams.Create(actx, upstreamidp.Spec{ID: "bad", Name: "Bad IdP", Issuer: idp.issuer, ClientID: "sesame", ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		email := "carol-" + randomString()[:6] + "@carol.example"
		carol := env.CreateUser(email)
		dev := signedIn(t, env, carol.ID).addPasskey(t)
		identity := func() *models.UpstreamIdentity {
			t.Helper()
			i, err := env.Store.GetUpstreamIdentity(ctx, "bad", "sub-"+email)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			return i
		}

		// The link waits for a proof.
		b := newBrowser(t, env)
		b.page("/login")
		at, status := upstreamOverHTTP(t, env, b, idp, "ok", email)
		if at.Path != "/login/upstream/link" || status != http.StatusOK || identity() != nil {
			t.Fatalf("a new identity with an account's address: ended at %s (%d), identity %+v", at, status, identity())
		}
		// A proof in another browser proves nothing here.
		other := newBrowser(t, env)
		other.page("/login")
		other.signIn("", "", dev)
		if i := identity(); i != nil {
			t.Fatalf("linked by a passkey sign-in in another browser: %+v", i)
		}
		// The proof in this browser links it.
		b.signIn("", "", dev)
		if i := identity(); i == nil || i.UserID != carol.ID {
			t.Fatalf("after the passkey proof: identity %+v, want linked to %s", i, carol.ID)
		}
		// From now on the provider signs straight in (past the passkey
		// offer: the account has one).
		b2 := newBrowser(t, env)
		b2.page("/login")
		if at, status := upstreamOverHTTP(t, env, b2, idp, "ok", email); status != http.StatusOK || at.Path == "/login/upstream/link" {
			t.Fatalf("a linked identity's sign-in ended at %s (%d)", at, status)
		}
		if ls, _ := env.Store.ListUserLoginSessions(ctx, carol.ID); len(ls) < 3 {
			t.Fatalf("%d sessions of carol, want the two passkey ones and the upstream one", len(ls))
		}
		// An app asking for a phishing-resistant sign-in: the upstream
		// sign-in starts the session at basic, the app waits on the login
		// page, and the account's passkey then gets it its code.
		t.Run("phishing-resistant app", func(t *testing.T) {
			rp := newRelyingParty(t, env, clients.Spec{Name: "Strict", SkipConsent: true})
			a := rp.start(oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant))
			b := newBrowser(t, env)
			in := b.openAuthorization(a)
			at, status := upstreamFor(t, env, b, idp, "ok", email, in)
			if status != http.StatusOK || at.Path != "/login" || at.Query().Get("interaction") != in {
				t.Fatalf("after the upstream sign-in: %s (%d), want the login page of the held interaction", at, status)
			}
			claims := a.finish(t, b.follow(b.signIn(in, "", dev)))
			if claims.Sub != carol.ID || !models.ACRAtLeast(claims.ACR, models.ACRPhishingResistant) || slices.Contains(claims.AMR, "fed") {
				t.Fatalf("the app got sub %s acr %s amr %v, want %s at least at %s by the passkey", claims.Sub, claims.ACR, claims.AMR, carol.ID, models.ACRPhishingResistant)
			}
		})

		// Unlinking is the account's own: another account's identity id
		// posted from carol's /account removes nothing.
		t.Run("unlink only one's own", func(t *testing.T) {
			dora := env.CreateUser("dora-" + randomString()[:6] + "@example.com")
			doras := &models.UpstreamIdentity{ID: "ui-" + randomString(), ProviderID: "bad", Subject: "sub-dora", UserID: dora.ID, CreatedAt: time.Now()}
			if err := env.Store.CreateUpstreamIdentity(ctx, doras); err != nil {
				t.Fatal(err)
			}
			acct := signedIn(t, env, carol.ID)
			acct.wantRedirect(t, "/account/upstream/remove", url.Values{"csrf": {acct.csrf}, "identity_id": {doras.ID}}, "/account?done=upstream")
			if _, err := env.Store.GetUpstreamIdentity(ctx, "bad", "sub-dora"); err != nil {
				t.Fatalf("carol's form removed dora's identity: %v", err)
			}
			if status, _ := acct.form(t, "/account/upstream/remove", url.Values{"csrf": {"forged"}, "identity_id": {identity().ID}}); status < 400 {
				t.Fatalf("a forged CSRF token: %d", status)
			}
			if identity() == nil {
				t.Fatal("a forged form removed carol's identity")
			}
		})

		// A disabled account is not signed in by its provider.
		t.Run("disabled account", func(t *testing.T) {
			if err := env.Store.SetUserDisabled(ctx, carol.ID, true); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = env.Store.SetUserDisabled(ctx, carol.ID, false) }()
			before, _ := env.Store.ListUserLoginSessions(ctx, carol.ID)
			if _, status := upstreamOverHTTP(t, env, newBrowser(t, env), idp, "ok", email); status != http.StatusForbidden {
				t.Fatalf("a disabled account's upstream sign-in: %d, want 403", status)
			}
			if after, _ := env.Store.ListUserLoginSessions(ctx, carol.ID); len(after) != len(before) {
				t.Fatal("a disabled account got a session")
			}
			wantFailure(t, env, "disabled")
		})

		// A refusal, to be counted by reason.
		if _, status := upstreamOverHTTP(t, env, newBrowser(t, env), idp, "unverified", "nobody-"+randomString()[:6]+"@carol.example"); status != http.StatusForbidden {
			t.Fatalf("unverified address: %d, want 403", status)
		}

		// Home-realm: carol.example bound to the provider.
		cur, err := svc.Upstreams.Get(actx, "bad")
		if err != nil {
			t.Fatal(err)
		}
		spec := cur.Spec
		spec.Domains, spec.LocalMethods = []string{"carol.example"}, true
		if _, err := svc.Upstreams.Update(actx, "bad", spec); err != nil {
			t.Fatal(err)
		}
		passkey := func(t *testing.T) apiResponse {
			t.Helper()
			b := newBrowser(t, env)
			b.page("/login")
			o := b.options("/webauthn/login/options", map[string]string{})
			return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, dev.get(t, o.PublicKey, env.Issuer)))
		}
		t.Run("local methods allowed", func(t *testing.T) {
			if res := passkey(t); res.status != http.StatusOK {
				t.Fatalf("passkey of a bound domain with local methods: %s", res)
			}
		})
		spec.LocalMethods = false
		if _, err := svc.Upstreams.Update(actx, "bad", spec); err != nil {
			t.Fatal(err)
		}
		t.Run("local methods refused", func(t *testing.T) {
			before, _ := env.Store.ListUserLoginSessions(ctx, carol.ID)
			if res := passkey(t); res.status != http.StatusForbidden {
				t.Fatalf("passkey of a bound domain without local methods: %s, want 403", res)
			}
			if after, _ := env.Store.ListUserLoginSessions(ctx, carol.ID); len(after) != len(before) {
				t.Fatalf("the refused passkey sign-in started a session (%d → %d)", len(before), len(after))
			}
			evs, err := env.Store.RecentAuthEvents(ctx, time.Now().Add(-time.Hour), 1000)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, ev := range evs {
				found = found || (ev.UserID == carol.ID && ev.Method == models.MethodPasskey && ev.Result == models.ResultFailure && ev.Reason == "home_realm")
			}
			if !found {
				t.Error("no failed passkey sign-in of carol with reason home_realm")
			}
		})
		t.Run("an administrator keeps the passkey", func(t *testing.T) {
			if err := env.Store.SetUserRole(ctx, carol.ID, models.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = env.Store.SetUserRole(ctx, carol.ID, "") }()
			if res := passkey(t); res.status != http.StatusOK {
				t.Fatalf("an administrator's passkey of a bound domain: %s", res)
			}
		})

		t.Run("counted", func(t *testing.T) {
			// The console's statistics, over the same database.
			stats := console.NewStatsService(env.Store, console.StatsOptions{})
			defer stats.Close()
			dash, err := stats.Dashboard(actx, console.RangeByName("1h"))
			if err != nil {
				t.Fatal(err)
			}
			var ok int64
			for _, s := range dash.ByMethod.Series {
				if s.Key == models.MethodUpstream {
					for _, p := range s.Points {
						ok += p
					}
				}
			}
			failed := false
			for _, f := range dash.Failures {
				failed = failed || (f.Key == "upstream:unverified_email" && f.Total >= 1)
			}
			if ok < 1 || !failed {
				t.Errorf("statistics: %d upstream sign-ins charted, unverified failure listed %v; series %+v failures %+v", ok, failed, dash.ByMethod.Series, dash.Failures)
			}
			s := telemetrytest.Get(t, env.Issuer+"/metrics", metricsToken)
			for _, result := range []string{"success", "failure"} {
				if v, _ := s.Value("sesame_sign_ins_total", map[string]string{"method": "upstream", "result": result}); v < 1 {
					t.Errorf("sesame_sign_ins_total{method=upstream,result=%s} = %v", result, v)
				}
			}
		})

		t.Run("shown to admins", func(t *testing.T) {
			d, err := svc.Users.Show(actx, carol.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Identities) != 1 || d.Identities[0].Provider != "bad" || d.Identities[0].Email != email {
				t.Fatalf("admin API's upstream_identities: %+v", d.Identities)
			}
			admin := env.CreateUser("admin-" + randomString()[:6] + "@example.test")
			if err := env.Store.SetUserRole(ctx, admin.ID, models.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			ab := newBrowser(t, env)
			env.Login(ab.c, admin.ID, []string{"pop", "hwk"}, models.ACRPhishingResistant, time.Now())
			resp, body := ab.page("/console/users/" + carol.ID)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Bad IdP ("+email+")") {
				t.Fatalf("console user page: %d, no linked identity in it", resp.StatusCode)
			}
		})
	})
}

// TestUpstreamFormPostCallback: a provider answering by form_post (Apple)
// posts the callback from its own site, without Sesame's SameSite=Lax
// cookies. The POST reads nothing and spends nothing: it answers with the
// GET of the callback carrying the same answer, which the browser makes
// with its cookies, and the sign-in completes there. A body over 64 KiB is
// refused. On both dialects.
func TestUpstreamFormPostCallback(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append([]servertest.Option{servertest.AllowOutbound("127.0.0.0/8")}, opts...)...)
		idp := newBadIdP(t)
		svc := env.Server.Console().Services
		actx := console.WithActor(context.Background(), console.CLIActor())
		if _, err := svc.Upstreams.Create(actx, upstreamidp.Spec{ID: "bad", Name: "Bad IdP", Issuer: idp.issuer, ClientID: "sesame", ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		email := "posted-" + randomString()[:6] + "@example.com"
		idp.set("ok", email)
		b := newBrowser(t, env)
		b.page("/login")
		resp, err := b.c.Get(env.Issuer + "/login/upstream?provider=bad")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noFollow.Get(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		answer, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || answer.Query().Get("code") == "" {
			t.Fatalf("the provider's answer %q: %v", resp.Header.Get("Location"), err)
		}
		post := func(body string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+upstreamidp.CallbackPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", idp.issuer)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			resp, err := noFollow.Do(req) // no cookies: a cross-site POST carries none of Sesame's
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			return resp
		}
		if resp := post("state=" + strings.Repeat("x", 70<<10)); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 70 KiB callback: %d, want 413", resp.StatusCode)
		}
		resp = post(answer.Query().Encode())
		to, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || to == nil || to.Path != upstreamidp.CallbackPath ||
			to.Query().Get("state") != answer.Query().Get("state") || to.Query().Get("code") != answer.Query().Get("code") {
			t.Fatalf("form_post callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, err := env.Store.GetUserByEmail(context.Background(), email); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the POST itself acted: %v", err)
		}
		resp, err = b.c.Get(env.Issuer + to.String())
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/passlink/passkey" {
			t.Fatalf("the GET after the form_post ended at %s (%d)", resp.Request.URL, resp.StatusCode)
		}
		if _, err := env.Store.GetUserByEmail(context.Background(), email); err != nil {
			t.Fatalf("no account after the form_post sign-in: %v", err)
		}
	})
}

// TestUpstreamProviderUnavailable: a provider that cannot be reached (its
// discovery fails), an unknown one and a disabled one answer the start
// with a plain 502 page, and no redirect row is written. On both dialects.
func TestUpstreamProviderUnavailable(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append([]servertest.Option{servertest.AllowOutbound("127.0.0.0/8")}, opts...)...)
		svc := env.Server.Console().Services
		actx := console.WithActor(context.Background(), console.CLIActor())
		// Port 1 on loopback: nothing listens.
		for _, sp := range []upstreamidp.Spec{
			{ID: "down", Name: "Down", Issuer: "http://127.0.0.1:1", ClientID: "sesame", ClientSecret: "s"},
			{ID: "off", Name: "Off", Issuer: "http://127.0.0.1:1", ClientID: "sesame", ClientSecret: "s", Disabled: true},
		} {
			if _, err := svc.Upstreams.Create(actx, sp); err != nil {
				t.Fatal(err)
			}
		}
		db, err := env.Store.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		for _, provider := range []string{"down", "off", "nope"} {
			t.Run(provider, func(t *testing.T) {
				b := newBrowser(t, env)
				resp, body := b.page("/login/upstream?provider=" + provider)
				if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "<h1") {
					t.Fatalf("start with %s: %d, want a 502 page", provider, resp.StatusCode)
				}
				var n int
				if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM upstream_flows").Scan(&n); err != nil || n != 0 {
					t.Fatalf("%d redirect rows (%v), want none", n, err)
				}
			})
		}
	})
}

// TestUpstreamFormPostKeepsApplesName: Apple's first authorization names
// the person only in the form_post's user field. The POST keeps the name
// on the flow its state names, server-side (the GET it answers with
// carries state and code only), for an Apple flow only, and only with a
// code; the field's address is never kept. On both dialects.
func TestUpstreamFormPostKeepsApplesName(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		svc := env.Server.Console().Services
		actx := console.WithActor(context.Background(), console.CLIActor())
		for _, sp := range []upstreamidp.Spec{{Preset: "apple", ClientID: "com.example.sesame", ClientSecret: "apple-jwt"},
			{ID: "bad", Name: "Bad IdP", Issuer: "http://127.0.0.1:1", ClientID: "sesame", ClientSecret: "s"}} {
			if _, err := svc.Upstreams.Create(actx, sp); err != nil {
				t.Fatal(err)
			}
		}
		// A flow as Start writes it (Start itself would fetch Apple's
		// discovery).
		flow := func(provider string) (string, *models.UpstreamFlow) {
			state := randomString()
			sum := sha256.Sum256([]byte(state))
			f := &models.UpstreamFlow{ID: "uf-" + randomString(), StateHash: hex.EncodeToString(sum[:]), ProviderID: provider,
				BrowserHash: "b", Nonce: "n", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(upstreamidp.FlowTTL)}
			if err := env.Store.CreateUpstreamFlow(context.Background(), f); err != nil {
				t.Fatal(err)
			}
			return state, f
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		user := `{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"jane@example.com"}`
		for _, tc := range []struct {
			name, provider string
			form           url.Values
			want           string
		}{
			{"apple, first authorization", "apple", url.Values{"code": {"c1"}, "user": {user}}, "Jane Appleseed"},
			{"apple, refused", "apple", url.Values{"error": {"user_cancelled_authorize"}, "user": {user}}, ""},
			{"another provider", "bad", url.Values{"code": {"c1"}, "user": {user}}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				state, f := flow(tc.provider)
				tc.form.Set("state", state)
				req, _ := http.NewRequest(http.MethodPost, env.Issuer+upstreamidp.CallbackPath, strings.NewReader(tc.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://appleid.apple.com")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				to, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusSeeOther || to == nil || to.Path != upstreamidp.CallbackPath || to.Query().Get("state") != state ||
					to.Query().Has("user") || strings.Contains(to.RawQuery, "Jane") {
					t.Fatalf("form_post: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				got, err := env.Store.GetUpstreamFlow(context.Background(), f.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Name != tc.want || got.Email != "" || got.UsedAt != nil {
					t.Fatalf("flow after the POST: name %q email %q used %v, want name %q, no address, unused", got.Name, got.Email, got.UsedAt, tc.want)
				}
			})
		}
	})
}

// TestUpstreamAppleNameReachesTheAccount: a whole Apple sign-in over HTTP
// (Apple's discovery, JWKS and token endpoint stood in on loopback as
// https://appleid.apple.com), its callback a cross-site form_post. The
// first authorization's user field names the account it creates (the
// address is the ID token's, not the field's); it names an existing
// account that has no name, never renames one that has; a later
// authorization (no user field) creates an account without a name. On
// both dialects.
func TestUpstreamAppleNameReachesTheAccount(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		idp := newBadIdPAs(t, "https://appleid.apple.com")
		env := servertest.NewRouted(t, "appleid.apple.com", idp.issuer, append([]servertest.Option{servertest.AllowOutbound("127.0.0.0/8")}, opts...)...)
		ctx := context.Background()
		actx := console.WithActor(ctx, console.CLIActor())
		if _, err := env.Server.Console().Services.Upstreams.Create(actx, upstreamidp.Spec{Preset: "apple", ClientID: "sesame", ClientSecret: "apple-jwt"}); err != nil {
			t.Fatal(err)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		// signInAt runs the sign-in of email in browser b, Apple posting
		// user (if any) with its answer, and returns the path it ended at.
		signInAt := func(t *testing.T, b *browser, email, user string) string {
			t.Helper()
			idp.set("apple", email)
			resp, err := b.c.Get(env.Issuer + "/login/upstream?provider=apple")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			auth, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || auth.Host != "appleid.apple.com" || auth.Query().Get("response_mode") != "form_post" {
				t.Fatalf("start: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp, err = noFollow.Get(idp.issuer + auth.Path + "?" + auth.RawQuery); err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			answer, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || answer.Query().Get("code") == "" {
				t.Fatalf("Apple's answer %q: %v", resp.Header.Get("Location"), err)
			}
			form := answer.Query()
			if user != "" {
				form.Set("user", user)
			}
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+upstreamidp.CallbackPath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://appleid.apple.com")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if resp, err = noFollow.Do(req); err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp, err = b.c.Get(env.Issuer + resp.Header.Get("Location")); err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the sign-in ended at %s (%d)", resp.Request.URL, resp.StatusCode)
			}
			return resp.Request.URL.Path
		}
		// signIn is signInAt in a fresh browser, ending past the account's
		// creation or sign-in; it returns the account.
		signIn := func(t *testing.T, email, user string) *models.User {
			t.Helper()
			if at := signInAt(t, newBrowser(t, env), email, user); at != "/passlink/passkey" {
				t.Fatalf("the sign-in ended at %s", at)
			}
			u, err := env.Store.GetUserByEmail(ctx, email)
			if err != nil {
				t.Fatalf("no account for %s: %v", email, err)
			}
			return u
		}
		jane := `{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"someone-else@example.com"}`
		linked := func(t *testing.T, name string) string {
			t.Helper()
			email := "linked-" + randomString()[:6] + "@privaterelay.appleid.com"
			u := env.CreateUser(email)
			if err := env.Store.SetUserDisplayName(ctx, u.ID, name); err != nil {
				t.Fatal(err)
			}
			if err := env.Store.CreateUpstreamIdentity(ctx, &models.UpstreamIdentity{ID: "ui-" + randomString(), ProviderID: "apple",
				Subject: "sub-" + email, UserID: u.ID, Email: email, CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			return email
		}
		for _, tc := range []struct {
			name  string
			email func(t *testing.T) string
			user  string
			want  string
		}{
			{"first authorization creates a named account", func(*testing.T) string { return "jane-" + randomString()[:6] + "@privaterelay.appleid.com" }, jane, "Jane Appleseed"},
			{"later authorization: no name", func(*testing.T) string { return "anon-" + randomString()[:6] + "@privaterelay.appleid.com" }, "", ""},
			{"names a nameless account", func(t *testing.T) string { return linked(t, "") }, jane, "Jane Appleseed"},
			{"never renames an account", func(t *testing.T) string { return linked(t, "Kept Name") }, jane, "Kept Name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				email := tc.email(t)
				u := signIn(t, email, tc.user)
				if u.DisplayName != tc.want || u.Email != email || !u.EmailVerified {
					t.Fatalf("account %q <%s> verified %v, want %q <%s> verified", u.DisplayName, u.Email, u.EmailVerified, tc.want, email)
				}
			})
		}
		// The first authorization finds an existing nameless account by
		// its address: the link waits for a proof (a passkey here), and
		// the account takes the name when it is linked.
		t.Run("names a nameless account linked after a proof", func(t *testing.T) {
			email := "proven-" + randomString()[:6] + "@example.com"
			u := env.CreateUser(email)
			if err := env.Store.SetUserDisplayName(ctx, u.ID, ""); err != nil {
				t.Fatal(err)
			}
			dev := signedIn(t, env, u.ID).addPasskey(t)
			b := newBrowser(t, env)
			b.page("/login")
			if at := signInAt(t, b, email, jane); at != "/login/upstream/link" {
				t.Fatalf("the sign-in ended at %s, want the linking page", at)
			}
			b.page("/login")
			b.signIn("", "", dev)
			if _, err := env.Store.GetUpstreamIdentity(ctx, "apple", "sub-"+email); err != nil {
				t.Fatalf("not linked after the proof: %v", err)
			}
			if got, err := env.Store.GetUser(ctx, u.ID); err != nil || got.DisplayName != "Jane Appleseed" {
				t.Fatalf("after the link: %+v %v, want the name from Apple's form", got, err)
			}
		})
	})
}
