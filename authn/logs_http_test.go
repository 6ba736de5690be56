package authn_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsCarryNoBearerSecrets: sign-in links, admin setup links,
// authorization codes, PKCE verifiers and tokens are bearer secrets; no log
// line, at any level, may contain one (the access log names the route
// pattern, never the raw path or query).
func TestLogsCarryNoBearerSecrets(t *testing.T) {
	ctx := context.Background()
	logs := &lockedBuffer{}
	smtp := mailtest.Start(t)
	env := &plEnv{Env: servertest.NewLogged(t, logs, servertest.SMTP(smtp)), smtp: smtp}
	env.DeliverMail()
	var secrets []string

	// The first admin's setup link, opened (GET) and refused (a bad POST).
	setup, err := console.EnsureSetupLink(ctx, env.Store, env.Issuer)
	if err != nil || setup == "" {
		t.Fatalf("setup link %q: %v", setup, err)
	}
	secrets = append(secrets, setup[strings.LastIndexByte(setup, '/')+1:])
	admin := env.client(t)
	admin.get(strings.TrimPrefix(setup, env.Issuer))
	admin.post(strings.TrimPrefix(setup, env.Issuer), url.Values{"garbage": {"1"}})

	// A sign-in by link within an authorization, then the code flow.
	rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	email := "logs-" + randomString() + "@example.com"
	plUser(t, env, email, true)
	b := env.client(t)
	a, ia := b.startAuthorization(rp)
	b.requestLink(ia, email)
	_, link := env.mailTo(t, 1, email)
	secrets = append(secrets, strings.TrimPrefix(link, "/passlink/"))
	b.get(link)
	b.post(link, url.Values{"action": {"signin"}})
	// A user without a passkey is offered one first; "Not now" goes on.
	resp, body := b.get("/oauth2/authorize/resume?interaction=" + url.QueryEscape(ia))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	cb, _ := url.Parse(loc)
	secrets = append(secrets, cb.Query().Get("code"), a.verifier)
	a.finish(t, loc)
	// The spent link and code again: refusals are logged too.
	b.post(link, url.Values{"action": {"signin"}})
	if _, err := a.rp.oauth.Exchange(ctx, cb.Query().Get("code")); err == nil {
		t.Fatal("a spent code was exchanged again")
	}
	// A 404 under a path that looks like a secret.
	b.get("/passlink/" + secrets[1] + "/x")

	out := logs.String()
	if !strings.Contains(out, `"path":"/passlink/:token"`) {
		t.Fatalf("the access log does not name the route pattern:\n%s", out)
	}
	for _, s := range secrets {
		if len(s) < 16 {
			t.Fatalf("secret %q too short to search for", s)
		}
		if strings.Contains(out, s) {
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, s) {
					t.Errorf("a log line carries a bearer secret: %s", line)
				}
			}
		}
	}
}
