package authn_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	upstreamidp "github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// upstreamEnv is a Sesame (env, on localhost) that signs people in
// through a second, real Sesame (idp, on 127.0.0.1 so the browser keeps
// their cookies apart) configured as the upstream OIDC provider "acme":
// real discovery, real JWKS, real code exchange with PKCE.
type upstreamEnv struct {
	*plEnv
	idp *servertest.Env
	// services are the downstream server's admin services.
	services *console.Services
	// idpCookie is the browser's current session at the upstream.
	idpCookie *http.Cookie
}

func newUpstreamEnv(t *testing.T, opts ...servertest.Option) *upstreamEnv {
	t.Helper()
	env := newPLEnv(t, append([]servertest.Option{servertest.AllowOutbound("127.0.0.0/8")}, opts...)...)
	idp := servertest.New(t, append([]servertest.Option{servertest.LoopbackIPIssuer()}, opts...)...)
	id, secret := idp.CreateClient(clients.Spec{Name: "Sesame downstream", RedirectURIs: []string{env.Issuer + upstreamidp.CallbackPath},
		Scopes: []string{"openid", "email", "profile", "groups"}, SkipConsent: true})
	// The server's own services: a change reaches its caches at once.
	svc := env.Server.Console().Services
	ctx := console.WithActor(context.Background(), console.CLIActor())
	// Acme's "engineers" become Sesame's "staff" when an account is created.
	if _, err := svc.Upstreams.Create(ctx, upstreamidp.Spec{ID: "acme", Name: "Acme Corp", Issuer: idp.Issuer, ClientID: id, ClientSecret: secret,
		Scopes: []string{"openid", "email", "profile", "groups"}, GroupMap: map[string]string{"engineers": "staff"}}); err != nil {
		t.Fatalf("create upstream: %v", err)
	}
	for _, g := range []struct {
		st   *servertest.Env
		name string
	}{{env.Env, "staff"}, {idp, "engineers"}} {
		if err := g.st.Store.CreateGroup(context.Background(), &models.Group{ID: "g-" + g.name, Name: g.name}); err != nil {
			t.Fatal(err)
		}
	}
	return &upstreamEnv{plEnv: env, idp: idp, services: svc}
}

// signInUpstream makes the browser signed in at the upstream as a new
// upstream user with email, and returns that user (its id is the
// upstream subject).
func (e *upstreamEnv) signInUpstream(t *testing.T, ctx context.Context, email string) *models.User {
	t.Helper()
	u := e.idp.CreateUser(email)
	e.idpCookie = e.idp.LoginCookie(u.ID, []string{"pop", "hwk"}, models.ACRPhishingResistant)
	e.setIdPCookie(t, ctx)
	return u
}

func (e *upstreamEnv) setIdPCookie(t *testing.T, ctx context.Context) {
	t.Helper()
	c := e.idpCookie
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: e.idp.Issuer}); err != nil {
		t.Fatalf("upstream session cookie: %v", err)
	}
}

// signOutHere drops the downstream's cookies (the upstream session stays).
func (e *upstreamEnv) signOutHere(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("clear cookies: %v", err)
	}
	e.setIdPCookie(t, ctx)
}

func (e *upstreamEnv) identity(t *testing.T, subject string) *models.UpstreamIdentity {
	t.Helper()
	i, err := e.Store.GetUpstreamIdentity(context.Background(), "acme", subject)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestUpstreamSignInInChromium: an app's sign-in page offers "Continue
// with Acme Corp"; the first upstream sign-in creates the account (its
// address verified by the upstream) and offers a passkey; the app gets an
// ID token with amr ["fed"] at basic assurance. A new upstream identity
// whose verified address belongs to an existing account is not linked on
// the address: the linking page asks for a proof, a proof of another
// account links nothing, and an emailed link to the account's address
// links it, after which the upstream signs straight in.
func TestUpstreamSignInInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		e := newUpstreamEnv(t, opts...)
		rp := newRelyingParty(t, e.Env, clients.Spec{Name: "Acme Notes", SkipConsent: true})
		ctx := browsertest.New(t)
		recordCSPViolations(t, ctx)
		shots := !strings.Contains(t.Name(), "postgres")

		// 1. First sign-in: an account is created.
		alice := e.signInUpstream(t, ctx, "alice-"+randomString()[:6]+"@acme.example")
		if err := e.idp.Store.AddGroupMember(context.Background(), "engineers", alice.ID); err != nil {
			t.Fatal(err)
		}
		a := rp.start()
		browsertest.Do(t, ctx, "login page", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"))
		if shots {
			checkHostedPage(t, ctx, hostedPage{name: "upstream-1-login", primary: "#passkey-button", dark: true})
		}
		browsertest.Do(t, ctx, "continue with acme", chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#not-now"))
		browsertest.WaitLocation(t, ctx, e.Issuer+"/passlink/passkey")
		notNow(t, e.Issuer, ctx)
		claims := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
		u, err := e.Store.GetUserByEmail(context.Background(), alice.Email)
		if err != nil {
			t.Fatalf("no account for %s: %v", alice.Email, err)
		}
		if claims.Sub != u.ID || strings.Join(claims.AMR, " ") != "fed" || claims.ACR != models.ACRBasic || !u.EmailVerified {
			t.Errorf("first sign-in: sub %s (account %s), amr %v, acr %s, verified %v", claims.Sub, u.ID, claims.AMR, claims.ACR, u.EmailVerified)
		}
		if i := e.identity(t, alice.ID); i == nil || i.UserID != u.ID {
			t.Fatalf("identity (acme, %s) = %+v, want linked to %s", alice.ID, i, u.ID)
		}
		wantEvent(t, e, u.ID, "signup")
		if groups, err := e.Store.UserGroups(context.Background(), u.ID); err != nil || len(groups) != 1 || groups[0] != "staff" {
			t.Errorf("groups of the new account: %v %v, want [staff] (mapped from engineers)", groups, err)
		}

		// 2. An existing account: no link on the address alone.
		e.signOutHere(t, ctx)
		bob := plUser(t, e.plEnv, "bob-"+randomString()[:6]+"@acme.example", true)
		idpBob := e.signInUpstream(t, ctx, bob.Email)
		a = rp.start()
		browsertest.Do(t, ctx, "login page", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"),
			chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#link-passlink"))
		browsertest.WaitLocation(t, ctx, e.Issuer+"/login/upstream/link")
		if shots {
			checkHostedPage(t, ctx, hostedPage{name: "upstream-2-link", primary: "#link-passkey", dark: true})
		}
		if i := e.identity(t, idpBob.ID); i != nil {
			t.Fatalf("linked on the address alone: %+v", i)
		}

		// 2a. A proof of another account links nothing.
		mallory := plUser(t, e.plEnv, "mallory-"+randomString()[:6]+"@example.com", true)
		proveByLink(t, e, ctx, mallory.Email, 1)
		if i := e.identity(t, idpBob.ID); i != nil {
			t.Fatalf("linked by another account's proof: %+v", i)
		}

		// 2b. The account's own proof links it.
		e.signOutHere(t, ctx)
		a = rp.start()
		browsertest.Do(t, ctx, "login page", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"),
			chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#link-passlink"))
		proveByLink(t, e, ctx, bob.Email, 2)
		claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
		if claims.Sub != bob.ID {
			t.Fatalf("proof sign-in: sub %s, want %s", claims.Sub, bob.ID)
		}
		if i := e.identity(t, idpBob.ID); i == nil || i.UserID != bob.ID {
			t.Fatalf("after the proof: identity %+v, want linked to %s", i, bob.ID)
		}

		// 2c. From now on the upstream signs straight in.
		e.signOutHere(t, ctx)
		a = rp.start()
		browsertest.Do(t, ctx, "login page", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"),
			chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#not-now"))
		notNow(t, e.Issuer, ctx)
		claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
		if claims.Sub != bob.ID || strings.Join(claims.AMR, " ") != "fed" {
			t.Fatalf("linked sign-in: sub %s amr %v, want %s [fed]", claims.Sub, claims.AMR, bob.ID)
		}

		// 3. The account page lists the linked identity; unlinking it
		// means the next upstream sign-in asks for a proof again.
		browsertest.Do(t, ctx, "account", chromedp.Navigate(e.Issuer+"/account"), chromedp.WaitVisible("#linked-identities"))
		browsertest.WaitText(t, ctx, "#linked-identities", "Acme Corp")
		if shots {
			browsertest.Do(t, ctx, "scroll", chromedp.ScrollIntoView("#linked"))
			checkHostedPage(t, ctx, hostedPage{name: "upstream-3-account"})
		}
		browsertest.Do(t, ctx, "unlink", chromedp.Click("#linked-identities button"), chromedp.WaitVisible(".notice"))
		if i := e.identity(t, idpBob.ID); i != nil {
			t.Fatalf("still linked after unlinking: %+v", i)
		}
		e.signOutHere(t, ctx)
		a = rp.start()
		browsertest.Do(t, ctx, "login page", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"),
			chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#link-passlink"))

		// 4. Home-realm discovery: hrd.example is bound to Acme, without
		// Sesame's own methods. Typing such an address goes straight
		// there (with it as login_hint) ...
		actx := console.WithActor(context.Background(), console.CLIActor())
		cur, err := e.services.Upstreams.Get(actx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		spec := cur.Spec
		spec.Domains, spec.LocalMethods = []string{"hrd.example"}, false
		if _, err := e.services.Upstreams.Update(actx, "acme", spec); err != nil {
			t.Fatal(err)
		}
		e.signOutHere(t, ctx)
		dave := e.signInUpstream(t, ctx, "dave-"+randomString()[:6]+"@hrd.example")
		a = rp.start()
		browsertest.Do(t, ctx, "type a bound address", chromedp.Navigate(a.url), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", strings.ToUpper(dave.Email[:1])+dave.Email[1:]), chromedp.Click("#continue-button"),
			chromedp.WaitVisible("#not-now"))
		notNow(t, e.Issuer, ctx)
		claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
		if claims.Email != dave.Email || strings.Join(claims.AMR, " ") != "fed" {
			t.Fatalf("home-realm sign-in: %+v", claims)
		}
		// ... and its accounts cannot use an emailed link instead.
		e.signOutHere(t, ctx)
		erin := plUser(t, e.plEnv, "erin-"+randomString()[:6]+"@hrd.example", true)
		browsertest.Do(t, ctx, "email me a link", chromedp.Navigate(e.Issuer+"/passlink"), chromedp.WaitVisible("#passlink-form"),
			chromedp.SendKeys("#email", erin.Email), chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
		_, link := e.mailTo(t, 3, erin.Email)
		browsertest.Do(t, ctx, "use the link", chromedp.Navigate(e.Issuer+link), chromedp.WaitVisible("#passlink-signin"),
			chromedp.Click("#passlink-signin"), chromedp.WaitVisible("h1"))
		browsertest.WaitText(t, ctx, "h1", "Sign in with Acme Corp")
		if ls, _ := e.Store.ListUserLoginSessions(context.Background(), erin.ID); len(ls) != 0 {
			t.Fatalf("a local sign-in of a bound domain started %d sessions", len(ls))
		}

		// 5. Pass-through, opt-in: the upstream (a Sesame whose session is
		// a device-bound passkey, phishing-resistant) is trusted with its
		// amr and acr.
		spec.PassAMR = true
		if _, err := e.services.Upstreams.Update(actx, "acme", spec); err != nil {
			t.Fatal(err)
		}
		e.signOutHere(t, ctx)
		e.signInUpstream(t, ctx, "frank-"+randomString()[:6]+"@acme.example")
		a = rp.start()
		browsertest.Do(t, ctx, "pass-through", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"),
			chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#not-now"))
		notNow(t, e.Issuer, ctx)
		claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
		if strings.Join(claims.AMR, " ") != "fed pop hwk" || claims.ACR != models.ACRPhishingResistant {
			t.Fatalf("pass-through: amr %v acr %s, want [fed pop hwk] %s", claims.AMR, claims.ACR, models.ACRPhishingResistant)
		}

		// 6. Without pass-through, an app asking for a phishing-resistant
		// sign-in may still start with the upstream; the new account is
		// offered a passkey, and with it the app gets its level.
		spec.PassAMR = false
		if _, err := e.services.Upstreams.Update(actx, "acme", spec); err != nil {
			t.Fatal(err)
		}
		e.signOutHere(t, ctx)
		gina := e.signInUpstream(t, ctx, "gina-"+randomString()[:6]+"@acme.example")
		browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
		a = rp.start(oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant))
		browsertest.Do(t, ctx, "strong request", chromedp.Navigate(a.url), chromedp.WaitVisible("#upstream-acme"),
			chromedp.Click("#upstream-acme"), chromedp.WaitVisible("#add-passkey"), chromedp.Click("#add-passkey"))
		// Creating the passkey is itself a phishing-resistant sign-in: the
		// held request goes on to the app.
		claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
		if claims.Email != gina.Email || !models.ACRAtLeast(claims.ACR, models.ACRPhishingResistant) || slices.Contains(claims.AMR, "fed") {
			t.Fatalf("strong request after an upstream sign-in: %+v", claims)
		}
	})
}

// proveByLink follows the linking page's "Email me a sign-in link" for
// email and uses the link in this browser, ending past the passkey offer;
// n is the number of mails sent so far, this one included.
func proveByLink(t *testing.T, e *upstreamEnv, ctx context.Context, email string, n int) {
	t.Helper()
	browsertest.Do(t, ctx, "email me a link", chromedp.Click("#link-passlink"), chromedp.WaitVisible("#passlink-form"),
		chromedp.SendKeys("#email", email), chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
	_, link := e.mailTo(t, n, email)
	browsertest.Do(t, ctx, "use the link", chromedp.Navigate(e.Issuer+link), chromedp.WaitVisible("#passlink-signin"),
		chromedp.Click("#passlink-signin"), chromedp.WaitVisible("#not-now"))
	notNow(t, e.Issuer, ctx)
}

func wantEvent(t *testing.T, e *upstreamEnv, userID, reason string) {
	t.Helper()
	evs, err := e.Store.RecentAuthEvents(context.Background(), time.Now().Add(-time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.UserID == userID && ev.Method == models.MethodUpstream && ev.Result == models.ResultSuccess && ev.Reason == reason {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d upstream events (reason %q) for %s, want 1", n, reason, userID)
	}
}

// notNow follows the passkey offer's "Not now" (its link, read and
// opened: a click raced the page's own script now and then).
func notNow(t *testing.T, issuer string, ctx context.Context) {
	t.Helper()
	browsertest.Do(t, ctx, "passkey offer", chromedp.WaitVisible("#not-now"))
	href := browsertest.Eval[string](t, ctx, `document.getElementById("not-now").getAttribute("href")`)
	browsertest.Do(t, ctx, "not now", chromedp.Navigate(issuer+href))
}
