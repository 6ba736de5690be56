package authn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/authn/recovery"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

var recoveryCodeRE = regexp.MustCompile(`<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>`)

// trustLoopbackProxy lets a test client speak for other addresses
// (X-Forwarded-For), so each part of a test has its own per-IP count.
func trustLoopbackProxy() servertest.Option {
	return func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1/32", "::1/128"} }
}

func setRecoveryPolicy(t *testing.T, env *plEnv, mode string) {
	t.Helper()
	pols := env.Server.Console().Policies
	p, err := pols.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.RecoveryCodes = mode
	if _, err := pols.Update(context.Background(), p); err != nil {
		t.Fatalf("policy recovery_codes=%s: %v", mode, err)
	}
}

// generateCodes creates a set on the account page of b (freshly signed in
// with a passkey) and returns the codes the page shows once.
func generateCodes(t *testing.T, b *plClient) ([]string, string) {
	t.Helper()
	resp, body := b.post("/account/recovery-codes", url.Values{"next": {"/account"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d\n%s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("codes page Cache-Control %q, want no-store", cc)
	}
	var codes []string
	for _, m := range recoveryCodeRE.FindAllStringSubmatch(body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != recovery.Count {
		t.Fatalf("%d codes on the page, want %d\n%s", len(codes), recovery.Count, body)
	}
	return codes, body
}

// useCode posts the recovery form of a signed-out browser.
func useCode(b *plClient, ident, code string) (*http.Response, string) {
	b.t.Helper()
	if b.csrf == "" {
		b.get("/login/recovery")
	}
	return b.post("/login/recovery", url.Values{"identifier": {ident}, "code": {code}})
}

// TestRecoveryCodes: off by default (no link, no pages); offered, an
// account creates ten codes after a fresh passkey sign-in only, sees them
// once (no-store), gets a mail; a code signs a signed-out browser in once,
// typed any way, at basic assurance (amr otp), straight to adding a
// passkey, with a mail, an audit entry and auth event; unknown account
// and wrong code answer alike; used and replaced codes fail; a forged
// form is refused.
func TestRecoveryCodes(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, append(opts, trustLoopbackProxy())...)
		ctx := context.Background()
		tag := randomString()[:6]
		email := "rc-" + tag + "@example.com"
		u := plUser(t, env, email, true)

		// Off by default.
		off := env.client(t)
		if resp, body := off.get("/login"); resp.StatusCode != http.StatusOK || strings.Contains(body, "recovery-link") {
			t.Fatalf("login page while off: %d, recovery link shown: %v", resp.StatusCode, strings.Contains(body, "recovery-link"))
		}
		if resp, _ := off.get("/login/recovery"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("recovery page while off: %d, want 404", resp.StatusCode)
		}
		a := selfClient(t, env, u, passkeyAMR, time.Now())
		if _, body := a.get("/account"); strings.Contains(body, `id="recovery"`) {
			t.Fatal("account page shows recovery codes while off")
		}
		if resp, _ := a.post("/account/recovery-codes", url.Values{}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("generate while off: %d, want 404", resp.StatusCode)
		}

		setRecoveryPolicy(t, env, policy.RecoveryOffer)
		if _, body := off.get("/login"); !strings.Contains(body, `id="recovery-link" href="/login/recovery"`) {
			t.Fatal("login page lacks the recovery link")
		}
		if _, body := a.get("/account"); !strings.Contains(body, `id="recovery-none"`) || !strings.Contains(body, `id="create-codes"`) {
			t.Fatalf("account page: no recovery section with a create button")
		}
		// A sign-in by link, or an old passkey sign-in, is not enough.
		for _, s := range []struct {
			amr []string
			at  time.Time
		}{{[]string{"otp"}, time.Now()}, {passkeyAMR, time.Now().Add(-time.Hour)}} {
			b := noRedirect(selfClient(t, env, u, s.amr, s.at))
			resp, body := b.post("/account/recovery-codes", url.Values{})
			wantSeeOther(t, resp, body, "done=reauth_recovery#recovery")
		}
		// A forged form.
		if resp, _ := a.post("/account/recovery-codes", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged generate: %d, want 403", resp.StatusCode)
		}

		codes, page := generateCodes(t, a)
		if !strings.Contains(page, `download="recovery-codes.txt"`) || !strings.Contains(page, "shown only this once") {
			t.Error("codes page lacks the download or the warning")
		}
		if m, _ := env.mailFor(t, 1, email); !strings.Contains(m.Subject, "New recovery codes") || !strings.Contains(m.Text, "10 recovery codes") {
			t.Errorf("generation mail: %q\n%s", m.Subject, m.Text)
		}
		hashes, _ := env.Store.UnusedRecoveryCodeHashes(ctx, u.ID)
		for _, h := range hashes {
			for _, c := range codes {
				if strings.Contains(h, strings.ReplaceAll(c, "-", "")) {
					t.Fatal("a code is stored in the clear")
				}
			}
		}
		if _, body := a.get("/account"); !strings.Contains(body, "<strong>10</strong> of 10 recovery codes left") {
			t.Error("account page does not count the codes")
		}

		// Signed out: the form, and the same answer for an unknown
		// account and a wrong code.
		b := env.client(t)
		b.ip = "192.0.2.10"
		if resp, body := b.get("/login/recovery"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="code"`) {
			t.Fatalf("recovery page: %d", resp.StatusCode)
		}
		if resp, _ := b.post("/login/recovery", url.Values{"identifier": {email}, "code": {codes[0]}, "csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged sign-in: %d, want 403", resp.StatusCode)
		}
		ghost := "ghost-" + tag + "@example.com"
		respU, bodyU := useCode(b, ghost, codes[0])
		respW, bodyW := useCode(b, email, "0000-0000-0000-0000")
		respM, _ := useCode(b, email, "not a code")
		for name, r := range map[string]*http.Response{"unknown account": respU, "wrong code": respW, "malformed code": respM} {
			if r.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", name, r.StatusCode)
			}
		}
		norm := func(body, ident string) string {
			return plCSRF.ReplaceAllString(strings.ReplaceAll(body, ident, "IDENT"), "")
		}
		if norm(bodyU, ghost) != norm(bodyW, email) || !strings.Contains(bodyU, "That didn&#39;t work") {
			t.Error("unknown account and wrong code answer differently")
		}

		// The right code, typed loosely.
		nb := noRedirect(b)
		resp, body := nb.post("/login/recovery", url.Values{"identifier": {"  " + strings.ToUpper(email)}, "code": {strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))}})
		wantSeeOther(t, resp, body, "/passlink/passkey?via=recovery&next=%2Faccount")
		if _, body := b.get(resp.Header.Get("Location")); !strings.Contains(body, `id="recovery-used"`) || !strings.Contains(body, "9 codes remain") || !strings.Contains(body, `id="add-passkey"`) {
			t.Fatalf("passkey offer after a code:\n%s", body)
		}
		sessions, err := env.Store.ListUserLoginSessions(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s := sessions[0]; s.ACR != models.ACRBasic || strings.Join(s.AMR, " ") != "otp" {
			t.Errorf("session acr %q amr %v, want basic and [otp]", s.ACR, s.AMR)
		}
		if m, _ := env.mailFor(t, 2, email); !strings.Contains(m.Subject, "recovery code was used") || !strings.Contains(m.Text, "9 unused codes remain") {
			t.Errorf("use mail: %q\n%s", m.Subject, m.Text)
		}
		evs, _ := env.Store.ListUserAuthEvents(ctx, u.ID, store.EventFilter{Method: models.MethodRecoveryCode}, 20)
		var results []string
		for _, e := range evs {
			results = append(results, e.Event+":"+e.Result)
		}
		if got := strings.Join(results, " "); !strings.Contains(got, "login:success") || !strings.Contains(got, "login:failure") || !strings.Contains(got, models.EventRecoveryCodesGenerated) {
			t.Errorf("auth events %q", got)
		}
		acts := strings.Join(auditActions(t, env, u.ID), " ")
		for _, want := range []string{models.AuditRecoveryCodesGenerated, models.AuditRecoveryCodeUsed} {
			if !strings.Contains(acts, want) {
				t.Errorf("audit %q lacks %s", acts, want)
			}
		}

		// Used once; replaced sets stop working.
		c2 := env.client(t)
		c2.ip = "192.0.2.11"
		if resp, _ := useCode(c2, email, codes[0]); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a used code: %d, want 400", resp.StatusCode)
		}
		_, page = generateCodes(t, a)
		if !strings.Contains(page, "previous codes no longer work") {
			t.Error("a new set does not say the old one stopped working")
		}
		if resp, _ := useCode(c2, email, codes[1]); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a replaced code: %d, want 400", resp.StatusCode)
		}
	})
}

// TestRecoveryCodeConcurrentUse: the same code posted by several browsers
// at once signs in exactly one of them (one conditional update).
func TestRecoveryCodeConcurrentUse(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, append(opts, trustLoopbackProxy())...)
		setRecoveryPolicy(t, env, policy.RecoveryOffer)
		email := "race-" + randomString()[:6] + "@example.com"
		u := plUser(t, env, email, true)
		codes, _ := generateCodes(t, selfClient(t, env, u, passkeyAMR, time.Now()))
		const racers = 5 // the account's limit in 15 minutes
		browsers := make([]*plClient, racers)
		for i := range browsers {
			browsers[i] = noRedirect(env.client(t))
			browsers[i].ip = fmt.Sprintf("198.51.100.%d", i+1)
			browsers[i].get("/login/recovery")
		}
		statuses := make([]int, racers)
		var wg sync.WaitGroup
		for i, b := range browsers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := b.post("/login/recovery", url.Values{"identifier": {email}, "code": {codes[0]}})
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		wins := 0
		for _, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				wins++
			case http.StatusBadRequest:
			default:
				t.Errorf("racer got %d", s)
			}
		}
		if wins != 1 {
			t.Fatalf("%d browsers signed in with one code (%v), want exactly 1", wins, statuses)
		}
		if n, _ := env.Store.CountRecoveryCodes(context.Background(), u.ID); n != recovery.Count-1 {
			t.Fatalf("%d codes left, want %d", n, recovery.Count-1)
		}
	})
}

// TestRecoveryCodeRateLimits: per account (5 in 15 minutes, unknown
// accounts alike) and per client address (10 a minute), answered 429
// with Retry-After, even for the right code.
func TestRecoveryCodeRateLimits(t *testing.T) {
	env := newPLEnv(t, trustLoopbackProxy())
	setRecoveryPolicy(t, env, policy.RecoveryOffer)
	email := "rl-" + randomString()[:6] + "@example.com"
	u := plUser(t, env, email, true)
	codes, _ := generateCodes(t, selfClient(t, env, u, passkeyAMR, time.Now()))
	for _, ident := range []string{email, "nobody-" + randomString()[:6] + "@example.com"} {
		for i := range 5 {
			b := env.client(t)
			b.ip = fmt.Sprintf("203.0.113.%d", i+1) // a new address each time
			if resp, _ := useCode(b, ident, "0000-0000-0000-0000"); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%s attempt %d: %d", ident, i+1, resp.StatusCode)
			}
		}
		b := env.client(t)
		b.ip = "203.0.113.99"
		resp, body := useCode(b, ident, codes[0])
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many tries") {
			t.Fatalf("%s: 6th attempt %d (Retry-After %q), want 429", ident, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	b := env.client(t)
	b.ip = "192.0.2.77"
	for i := range 10 {
		if resp, _ := useCode(b, fmt.Sprintf("x%d-%s@example.com", i, randomString()[:4]), "x"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("address attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := useCode(b, "y@example.com", "x"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th from one address: %d, want 429", resp.StatusCode)
	}
}
