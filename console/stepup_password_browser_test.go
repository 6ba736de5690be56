package console_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/axe"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsolePasswordKeyAdminInChromium: an admin who uses a password and
// a security key (CDP virtual security key: no resident key, no user
// verification) is sent by the console to the hosted sign-in, takes its
// "password and security key" way, comes back to the console page they
// asked for (/login?return), and deletes a client: the console's confirmation asks
// for the password, then the key (step-up), and the client is gone.
func TestConsolePasswordKeyAdminInChromium(t *testing.T) {
	env, ctx, _ := passwordKeyAdminInConsole(t, "keyadmin@example.test", "/console/users")
	bg := context.Background()

	view, _, err := env.Server.Console().Clients.Create(bg, clients.Spec{Name: "Old App", RedirectURIs: []string{"https://old.example/cb"}})
	must(t, err)
	browsertest.Do(t, ctx, "open the client", chromedp.Navigate(env.Issuer+"/console/clients/"+view.ID), chromedp.WaitVisible("#client_name"))
	browsertest.Do(t, ctx, "delete it",
		chromedp.Click("details.danger-zone summary"),
		chromedp.Click(`details.danger-zone button[type=submit]`))
	acceptConfirmation(t, ctx)
	browsertest.Do(t, ctx, "wait for the step-up", chromedp.WaitVisible("#stepup-password"))
	browsertest.Screenshot(t, ctx, "console-stepup-password-key")
	for _, v := range axe.Check(t, ctx) {
		if v.Serious() {
			t.Errorf("step-up dialog: %s", v)
		}
	}
	browsertest.Do(t, ctx, "confirm with password and key",
		chromedp.SendKeys("#stepup-password", stepUpPassword), chromedp.Click("#stepup-password-key"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console/clients?done=client_deleted")
	if _, err := env.Store.GetClient(bg, view.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("client still there after delete: %v", err)
	}
}

// TestConsoleStepUpGermanInChromium: the step-up before a destructive
// action speaks German to a German admin (password + security key): the
// dialog, a wrong password refused in German (the server's problem
// detail), and Cancel leaves the action undone with the German "not
// confirmed" words; the client is still there. The dialog passes axe.
func TestConsoleStepUpGermanInChromium(t *testing.T) {
	env, ctx, u := passwordKeyAdminInConsole(t, "schluessel@example.test", "/console/clients")
	bg := context.Background()
	// German from now on (a sign-in saves the browser's language).
	must(t, env.Store.SetUserLocale(bg, u.ID, "de"))

	view, _, err := env.Server.Console().Clients.Create(bg, clients.Spec{Name: "Alte App", RedirectURIs: []string{"https://old.example/cb"}})
	must(t, err)
	browsertest.Do(t, ctx, "open the client", chromedp.Navigate(env.Issuer+"/console/clients/"+view.ID), chromedp.WaitVisible(`html[lang="de"] #client_name`))
	browsertest.Do(t, ctx, "delete it",
		chromedp.Click("details.danger-zone summary"),
		chromedp.Click(`details.danger-zone button[type=submit]`))
	acceptConfirmation(t, ctx)
	browsertest.Do(t, ctx, "wait for the step-up", chromedp.WaitVisible("#stepup-password"))
	browsertest.WaitText(t, ctx, "dialog.stepup-dialog h2", "Bestätigen Sie, dass Sie es sind")
	browsertest.WaitText(t, ctx, "#stepup-password-key", "Mit Sicherheitsschlüssel bestätigen")
	for _, v := range axe.Check(t, ctx) {
		if v.Serious() {
			t.Errorf("German step-up dialog: %s", v)
		}
	}

	// A wrong password: refused in German, the dialog stays.
	browsertest.Do(t, ctx, "a wrong password", chromedp.SendKeys("#stepup-password", "not my password"), chromedp.Click("#stepup-password-key"))
	browsertest.WaitText(t, ctx, "#stepup-error", "Das Passwort ist falsch")

	// Cancel: nothing changes, said in German where the action was.
	browsertest.Do(t, ctx, "cancel", chromedp.Click(`dialog.stepup-dialog button[type=button]`))
	browsertest.WaitText(t, ctx, "details.danger-zone .form-status", "Nicht bestätigt, daher wurde nichts geändert.")
	if _, err := env.Store.GetClient(bg, view.ID); err != nil {
		t.Fatalf("the client went although the step-up was cancelled: %v", err)
	}
}

// stepUpPassword is the password of passwordKeyAdminInConsole's admin.
const stepUpPassword = "correct horse battery staple 42"

// passwordKeyAdminInConsole makes an admin who signs in with a password
// and a security key: the key is enrolled at a first (basic) sign-in, then
// the console page sends the browser to the hosted sign-in, whose password
// + key way brings it back to page, signed in strongly.
func passwordKeyAdminInConsole(t *testing.T, email, page string) (*servertest.Env, context.Context, *models.User) {
	t.Helper()
	env := servertest.New(t, servertest.With(func(c *config.Config) { c.PasswordMemory, c.PasswordIterations = 64, 1 }))
	bg := context.Background()
	pw := stepUpPassword
	u := env.CreateUser(email)
	params, err := password.ParamsFrom(env.Config.PasswordMemory, env.Config.PasswordIterations, env.Config.PasswordParallelism)
	must(t, err)
	h, err := password.NewHasher(params).Hash(pw)
	must(t, err)
	must(t, env.Store.SetUserPassword(bg, u.ID, h))
	must(t, env.Store.SetUserRole(bg, u.ID, models.RoleAdmin))

	ctx := browsertest.New(t)
	t.Cleanup(browsertest.WithoutAutofill(t, ctx))
	browsertest.AddAuthenticator(t, ctx, browsertest.SecurityKey())
	browsertest.Do(t, ctx, "enrol a key", chromedp.Navigate(env.Issuer+"/login/password"), chromedp.WaitVisible("#password-form"),
		chromedp.SendKeys("#email", u.Email), chromedp.SendKeys("#password", pw),
		chromedp.Click("#password-continue"), chromedp.WaitVisible("#key-button"), chromedp.Click("#key-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	browsertest.Do(t, ctx, "open the console", chromedp.Navigate(env.Issuer+page), chromedp.WaitVisible("#password-link"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/login?return="+url.QueryEscape(page))
	browsertest.Do(t, ctx, "password + key",
		chromedp.Click("#password-link"), chromedp.WaitVisible("#password-form"),
		chromedp.SendKeys("#email", u.Email), chromedp.SendKeys("#password", pw), chromedp.Click("#password-continue"))
	browsertest.WaitLocation(t, ctx, env.Issuer+page)
	return env, ctx, u
}
