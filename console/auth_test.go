package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// publicConsoleRoutes are the console routes anyone may call, and why
// none of them grants admin rights by itself: setup needs a live one-time
// setup token. Admins sign in at the hosted /login like everyone.
var publicConsoleRoutes = map[string]string{
	"GET /console/setup/:token":          "needs a live setup token",
	"POST /console/setup/:token/options": "needs a live setup token",
	"POST /console/setup/:token/verify":  "needs a live setup token and a registered passkey",
}

// fill replaces gin path parameters with placeholder values.
func fill(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "x"
		}
	}
	return strings.Join(parts, "/")
}

// Every admin route refuses anonymous callers, signed-in non-admins, and
// admins whose session is not phishing-resistant (a passlink alone), with
// or without a valid CSRF token; tokens without the sesame:admin scope are
// refused too. The test walks gin's whole route table, so a route added
// later without Auth fails it.
func TestEveryAdminRouteRefusesNonAdmins(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)

		anon := browser(t, env)
		user := browser(t, env)
		user.signIn("", models.ACRPhishingResistant)
		basic := browser(t, env)
		basic.signIn(models.RoleAdmin, models.ACRBasic)
		idle := browser(t, env)
		_, ls := idle.signIn(models.RoleAdmin, models.ACRPhishingResistant)
		if err := env.Store.TouchLoginSession(context.Background(), ls.ID, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		noCSRF := browser(t, env)
		noCSRF.signIn(models.RoleAdmin, models.ACRPhishingResistant)
		noCSRF.csrf = ""
		// A user's token from another client never carries admin rights,
		// nor does a machine token without the scope.
		plain := &caller{t: t, env: env, bearer: adminToken(t, env, "openid")}
		garbage := &caller{t: t, env: env, bearer: "not-a-token"}

		callers := map[string]*caller{"anonymous": anon, "non-admin": user, "passlink-only admin": basic,
			"idle admin": idle, "token without sesame:admin": plain, "invalid token": garbage}
		checked, public := 0, 0
		for _, r := range env.Server.Handler().(*gin.Engine).Routes() {
			if !strings.HasPrefix(r.Path, "/console") && !strings.HasPrefix(r.Path, "/api/admin") {
				continue
			}
			key := r.Method + " " + r.Path
			if _, ok := publicConsoleRoutes[key]; ok {
				public++
				for name, c := range map[string]*caller{"anonymous": anon, "non-admin": user} {
					resp, body, _ := c.do(r.Method, fill(r.Path), map[string]any{})
					if resp.StatusCode < 400 {
						t.Errorf("public %s as %s with bogus input: %d %.200s", key, name, resp.StatusCode, body)
					}
				}
				continue
			}
			checked++
			for name, c := range callers {
				for _, accept := range []string{"application/json", "text/html"} {
					c.headers = map[string]string{"Accept": accept}
					resp, body, _ := c.do(r.Method, fill(r.Path), map[string]any{})
					switch {
					case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
					case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), console.PathLogin):
					default:
						t.Errorf("%s as %s (Accept %s): status %d, want 401, 403 or a redirect to sign in: %.200s",
							key, name, accept, resp.StatusCode, body)
					}
				}
				c.headers = nil
			}
			// Unsafe methods of a real admin without the CSRF token.
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				resp, body, _ := noCSRF.do(r.Method, fill(r.Path), map[string]any{})
				if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s by an admin without CSRF token: status %d: %.200s", key, resp.StatusCode, body)
				}
			}
		}
		if public != len(publicConsoleRoutes) {
			t.Errorf("%d of %d public console routes are mounted; update publicConsoleRoutes", public, len(publicConsoleRoutes))
		}
		if checked < 20 {
			t.Errorf("only %d admin routes found; is the console mounted?", checked)
		}
	})
}

// An admin's console session reaches the API with the CSRF header;
// destructive actions need a fresh passkey confirmation (step-up).
func TestConsoleSessionAndStepUp(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		admin := browser(t, env)
		_, ls := admin.signIn(models.RoleAdmin, models.ACRPhishingResistant)

		resp, b, _ := admin.do("POST", console.APIPrefix+"/clients", clients.Spec{Name: "S", RedirectURIs: []string{"https://s.example/cb"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create via console session: %d %s", resp.StatusCode, b)
		}
		var c struct {
			ID string `json:"client_id"`
		}
		_ = json.Unmarshal(b, &c)

		// Cross-site: refused even with the token.
		admin.headers = map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
		resp, _, _ = admin.do("POST", console.APIPrefix+"/clients", clients.Spec{Name: "X", RedirectURIs: []string{"https://s.example/cb"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site post: %d, want 403", resp.StatusCode)
		}
		admin.headers = nil

		resp, b, _ = admin.do("DELETE", console.APIPrefix+"/clients/"+c.ID, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "step-up-required") {
			t.Fatalf("delete without step-up: %d %s", resp.StatusCode, b)
		}
		old := time.Now().Add(-console.StepUpWindow - time.Minute)
		if err := env.Store.SetLoginSessionSteppedUp(context.Background(), ls.ID, old); err != nil {
			t.Fatal(err)
		}
		if resp, _, _ = admin.do("DELETE", console.APIPrefix+"/clients/"+c.ID, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("delete with a stale step-up: %d, want 403", resp.StatusCode)
		}
		if err := env.Store.SetLoginSessionSteppedUp(context.Background(), ls.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if resp, b, _ = admin.do("DELETE", console.APIPrefix+"/clients/"+c.ID, nil); resp.StatusCode != http.StatusNoContent {
			t.Errorf("delete after step-up: %d %s", resp.StatusCode, b)
		}

		// Step-up options need the session and give assertion options.
		resp, b, _ = admin.do("POST", "/console/stepup/options", map[string]any{})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ceremony"`) {
			t.Errorf("step-up options: %d %s", resp.StatusCode, b)
		}
	})
}

// Disabling an admin needs a step-up; disabling a user revokes their
// sessions and tokens at once; an admin cannot disable themself.
func TestDisableUser(t *testing.T) {
	env := servertest.New(t)
	admin := browser(t, env)
	me, ls := admin.signIn(models.RoleAdmin, models.ACRPhishingResistant)
	other := browser(t, env)
	o, ols := other.signIn(models.RoleAdmin, models.ACRPhishingResistant)

	if resp, b, _ := admin.do("POST", console.APIPrefix+"/users/"+o.ID+"/disable", nil); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(string(b), "step-up-required") {
		t.Fatalf("disable an admin without step-up: %d %s", resp.StatusCode, b)
	}
	_ = env.Store.SetLoginSessionSteppedUp(context.Background(), ls.ID, time.Now())
	if resp, b, _ := admin.do("POST", console.APIPrefix+"/users/"+me.ID+"/disable", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("disable myself: %d %s", resp.StatusCode, b)
	}
	if resp, b, _ := admin.do("POST", console.APIPrefix+"/users/"+o.ID+"/disable", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("disable after step-up: %d %s", resp.StatusCode, b)
	}
	if _, err := env.Store.GetLoginSession(context.Background(), ols.ID); err == nil {
		t.Error("the disabled user's session is still live")
	}
	if resp, _, _ := other.do("GET", console.APIPrefix+"/users", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled admin still reaches the API: %d", resp.StatusCode)
	}
}

// The console sends people to the hosted sign-in with a way back that
// never leaves the console (the guard is httpx.SafeReturn's, tested there).
func TestLoginURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "/login?return=%2Fconsole",
		"/console/clients?q=a":         "/login?return=%2Fconsole%2Fclients%3Fq%3Da",
		"//evil.example/console":       "/login?return=%2Fconsole",
		"/console/../account":          "/login?return=%2Fconsole",
		"https://evil.example/console": "/login?return=%2Fconsole",
		"/\\evil.example":              "/login?return=%2Fconsole",
		"/consolex":                    "/login?return=%2Fconsole",
		"/console\r\nX: y":             "/login?return=%2Fconsole",
	} {
		if got := console.LoginURL(in); got != want {
			t.Errorf("LoginURL(%q) = %q, want %q", in, got, want)
		}
	}
}
