package authn_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/internal/testbin"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// oauth2ProxyModule is the oauth2-proxy release the tests run (the one in
// the module list CI builds from; .ci/run installs the same).
const oauth2ProxyModule = "github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6"

// oauth2ProxyBinary returns oauth2-proxy from CI's cache (built there when
// missing).
func oauth2ProxyBinary(t *testing.T) string {
	t.Helper()
	return testbin.Tool(t, "oauth2-proxy", oauth2ProxyModule)
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// upstream is the app oauth2-proxy guards: it answers who the proxy says
// the caller is, and counts the requests that reached it.
type upstream struct {
	url  string
	mu   sync.Mutex
	seen []string // X-Forwarded-Email of each request
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{url: "http://" + ln.Addr().String() + "/"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Get("X-Forwarded-Email"))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Intranet</title><h1>Welcome to the intranet</h1><p id="who">%s</p><p id="groups">%s</p>`,
			htmlEscape(r.Header.Get("X-Forwarded-Email")), htmlEscape(r.Header.Get("X-Forwarded-Groups")))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return u
}

func (u *upstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// oauth2ProxyGuideFlags are the settings docs/integrations/oauth2-proxy.md
// documents (TestOAuth2ProxyGuideMatchesCI keeps them equal); the others
// depend on where the test runs.
var oauth2ProxyGuideFlags = []string{
	"--provider=oidc",
	"--provider-display-name=Sesame",
	"--email-domain=*",
	"--scope=openid email profile groups",
	"--code-challenge-method=S256",
	"--skip-provider-button=true",
	"--pass-user-headers=true",
}

// startOAuth2Proxy runs oauth2-proxy in front of up, as the OIDC client
// clientID of the issuer, until the test ends; it returns the proxy's URL
// (on localhost, as the browser reaches it).
func startOAuth2Proxy(t *testing.T, issuer, clientID, secret string, port int, up *upstream, extra ...string) string {
	t.Helper()
	cookie := make([]byte, 32)
	_, _ = rand.Read(cookie)
	base := fmt.Sprintf("http://localhost:%d", port)
	args := append([]string{
		"--provider=oidc",
		"--provider-display-name=Sesame",
		"--oidc-issuer-url=" + issuer,
		"--client-id=" + clientID,
		"--client-secret=" + secret,
		"--redirect-url=" + base + "/oauth2/callback",
		"--http-address=127.0.0.1:" + fmt.Sprint(port),
		"--upstream=" + up.url,
		"--cookie-secret=" + base64.RawURLEncoding.EncodeToString(cookie)[:32],
		"--cookie-secure=false",
	}, append(oauth2ProxyGuideFlags, extra...)...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, oauth2ProxyBinary(t), args...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start oauth2-proxy: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("oauth2-proxy said:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/ping")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			t.Fatalf("oauth2-proxy exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy did not answer /ping: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mailedCode waits for the verification code mailed to email.
func mailedCode(t *testing.T, smtp *mailtest.Server, email string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == email {
				if sub := verifyCodeRE.FindStringSubmatch(m.Text); sub != nil {
					return sub[1]
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no verification code mailed to %s", email)
	return ""
}

// signUpToCodePage opens start (an app, or an authorization request),
// follows it to Sesame's sign-in, signs up with a passkey and stops on the
// page that asks for the mailed code.
func signUpToCodePage(t *testing.T, ctx context.Context, env *servertest.Env, start, email, name string) {
	t.Helper()
	browsertest.Do(t, ctx, "open the app", chromedp.Navigate(start), chromedp.WaitVisible("#passkey-button"))
	if loc := browsertest.Location(t, ctx); !strings.HasPrefix(loc, env.Issuer+"/login?interaction=") {
		t.Fatalf("%s did not lead to Sesame's sign-in: %s", start, loc)
	}
	browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.Do(t, ctx, "sign up", chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", name), chromedp.Click("#signup-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/verify-email?")
	browsertest.Do(t, ctx, "wait for the code page", chromedp.WaitVisible("#verify-button"))
}

// TestOAuth2ProxyGroupsAndVerifiedEmailInChromium puts a stock
// oauth2-proxy (built from its Go module) in front of a small upstream on
// loopback, as a confidential Sesame client that admits the group staff
// only, and drives Chromium (virtual passkey authenticator) through it:
// Ada signs up with a passkey, proves her address with the mailed code
// (oauth2-proxy refuses unverified addresses by default), is made a member
// of staff meanwhile, and reaches the upstream, which the proxy tells her
// address and groups. Bob signs up and proves his address too, but is in
// no allowed group: Sesame shows "You don't have access to Intranet", the
// proxy gets no code, and the upstream never sees him.
func TestOAuth2ProxyGroupsAndVerifiedEmailInChromium(t *testing.T) {
	// Chromium first: without it (and SESAME_REQUIRE_BROWSER unset) the
	// test skips before building anything; then the proxy binary, before
	// the clock of anything else starts.
	ctx := browsertest.New(t)
	t.Logf("oauth2-proxy: %s", oauth2ProxyBinary(t))
	smtp := mailtest.Start(t)
	env := servertest.New(t, servertest.SMTP(smtp))
	env.DeliverMail()
	ctx0 := context.Background()
	now := time.Now()
	if err := env.Store.CreateGroup(ctx0, &models.Group{ID: "grp-staff", Name: "staff", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	id, secret := env.CreateClient(clients.Spec{
		Name: "Intranet", SkipConsent: true,
		RedirectURIs:  []string{fmt.Sprintf("http://localhost:%d/oauth2/callback", port)},
		Scopes:        []string{"openid", "profile", "email", "groups"},
		AllowedGroups: []string{"staff"},
	})
	up := startUpstream(t)
	proxy := startOAuth2Proxy(t, env.Issuer, id, secret, port, up, "--allowed-group=staff")

	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

	// Ada: passkey sign-up, added to staff while the code is on its way,
	// then the code from the SMTP server.
	signUpToCodePage(t, ctx, env, proxy+"/", "ada@example.com", "Ada Lovelace")
	ada, err := env.Store.GetUserByEmail(ctx0, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.AddGroupMember(ctx0, "staff", ada.ID); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, "type Ada's code", chromedp.SendKeys("#code", mailedCode(t, smtp, "ada@example.com")), chromedp.Click("#verify-button"))
	browsertest.WaitLocation(t, ctx, proxy+"/")
	browsertest.WaitText(t, ctx, "h1", "Welcome to the intranet")
	if who := browsertest.WaitText(t, ctx, "#who", "ada@example.com"); who != "ada@example.com" {
		t.Fatalf("the upstream was told %q", who)
	}
	if groups := browsertest.Eval[string](t, ctx, `document.querySelector("#groups").textContent`); groups != "staff" {
		t.Errorf("the upstream was told groups %q, want staff", groups)
	}
	browsertest.Screenshot(t, ctx, "oauth2-proxy-upstream")
	if got := up.requests(); len(got) == 0 || got[len(got)-1] != "ada@example.com" {
		t.Fatalf("upstream requests: %v", got)
	}

	// Bob, in a fresh session (cookies cleared): verified, but outside
	// staff.
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	// Ada's passkey must not sign in by autofill on the login page.
	defer browsertest.WithoutAutofill(t, ctx)()
	before := len(up.requests())
	signUpToCodePage(t, ctx, env, proxy+"/", "bob@example.com", "Bob Outsider")
	browsertest.Do(t, ctx, "type Bob's code", chromedp.SendKeys("#code", mailedCode(t, smtp, "bob@example.com")), chromedp.Click("#verify-button"))
	browsertest.WaitText(t, ctx, "h1", "have access to Intranet")
	browsertest.Screenshot(t, ctx, "oauth2-proxy-no-access")
	if loc := browsertest.Location(t, ctx); !strings.HasPrefix(loc, env.Issuer) {
		t.Fatalf("Bob left Sesame for %s", loc)
	}
	bob, err := env.Store.GetUserByEmail(ctx0, "bob@example.com")
	if err != nil || !bob.EmailVerified {
		t.Fatalf("Bob's address is not proven (%v): the refusal must be the group's", err)
	}
	// Trying again, with his Sesame session, changes nothing.
	browsertest.Do(t, ctx, "open the app again", chromedp.Navigate(proxy+"/"))
	browsertest.WaitText(t, ctx, "h1", "have access to Intranet")
	if got := up.requests(); len(got) != before {
		t.Fatalf("the upstream saw requests for Bob: %v", got[before:])
	}
	// The page's way on is a fresh sign-in for the same app.
	browsertest.Do(t, ctx, "sign in with another account", chromedp.Click("#error-action"), chromedp.WaitVisible("#passkey-button"))
	if loc := browsertest.Location(t, ctx); !strings.HasPrefix(loc, env.Issuer+"/login?interaction=") {
		t.Fatalf("the no-access page's link led to %s", loc)
	}
}
