// Package e2e runs the example apps as a developer does — each built and
// started with its one command — against a real Sesame (servertest), and
// drives them in Chromium with a virtual passkey.
package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// bins holds the example binaries, built once per test run.
var bins struct {
	once sync.Once
	dir  string
	err  error
}

// binary builds the examples (go build ./api ./spa ./webapp) once and
// returns the path of one.
func binary(t *testing.T, name string) string {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "sesame-examples-")
		if bins.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", bins.dir+string(os.PathSeparator), "./api", "./spa", "./webapp")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			bins.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return filepath.Join(bins.dir, name)
}

func TestMain(m *testing.M) {
	code := browsertest.Main(m) // one Chromium for all, a fresh profile each
	if bins.dir != "" {
		_ = os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs an example binary with args until the test ends, and waits
// until it answers on addr.
func start(t *testing.T, name, addr string, args ...string) {
	t.Helper()
	cmd := exec.Command(binary(t, name), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s:\n%s", name, addr, out.String())
}

// sdkDir is the browser SDK's package directory; its node_modules must be
// installed (npm ci, as .ci/run does).
func sdkDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "sdk", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oauth4webapi")); err != nil {
		t.Fatalf("the browser SDK's dependencies are not installed: run `npm ci` in %s (.ci/run does)", dir)
	}
	return dir
}

// group makes sure the group exists and u (if any) is in it.
func group(t *testing.T, env *servertest.Env, name string, u *models.User) {
	t.Helper()
	ctx := context.Background()
	if _, err := env.Store.GetGroup(ctx, name); err != nil {
		if err := env.Store.CreateGroup(ctx, &models.Group{ID: uuid.NewString(), Name: name, Description: name}); err != nil {
			t.Fatal(err)
		}
	}
	if u != nil {
		if err := env.Store.AddGroupMember(ctx, name, u.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// reportsScope defines the custom scope reports:read the examples ask for.
func reportsScope(t *testing.T, env *servertest.Env) {
	t.Helper()
	now := time.Now()
	err := env.Store.CreateCustomScope(context.Background(), &models.CustomScope{Name: "reports:read", Description: "Read the reports",
		Claims: models.ScopeClaims{{Claim: "teams", Source: models.ClaimFromGroups}}, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	env.Server.Provider().InvalidateScopes()
}

func userByEmail(t *testing.T, env *servertest.Env, email string) *models.User {
	t.Helper()
	u, err := env.Store.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// signUpWithPasskey goes from Sesame's login page to a new account with a
// passkey (the tab must have a virtual authenticator).
func signUpWithPasskey(t *testing.T, ctx context.Context, env *servertest.Env, email, name string) {
	t.Helper()
	browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
	browsertest.Do(t, ctx, "go to sign-up", chromedp.WaitVisible(`a[href^="/signup"]`), chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.WaitLoaded(t, ctx)
	browsertest.Do(t, ctx, "sign up with a passkey", chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", name), chromedp.Click("#signup-button"))
}

// signInWithPasskey signs in on Sesame's login page with the passkey
// button. Call the returned func before the action that leads there: it
// turns autofill off for the pages that follow (Chromium's virtual
// authenticator would answer the autofill request at once, and the test
// would not know which path signed in).
func signInWithPasskey(t *testing.T, ctx context.Context, env *servertest.Env) (then func()) {
	t.Helper()
	restore := browsertest.WithoutAutofill(t, ctx)
	return func() {
		t.Helper()
		defer restore()
		browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
		browsertest.WaitLoaded(t, ctx)
		browsertest.Do(t, ctx, "sign in with the passkey", chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	}
}

func newEmail(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
}

// waitOutput waits until the element's text starts with an HTTP status
// and returns it.
func waitOutput(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got = browsertest.Eval[string](t, ctx, `(document.querySelector(`+"`"+sel+"`"+`) || {}).textContent || ""`)
		if len(got) >= 3 && got[0] >= '1' && got[0] <= '5' || strings.HasPrefix(got, "error") {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never showed an answer (last %q)", sel, got)
	return ""
}

func httpGetStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
