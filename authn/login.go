package authn

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// handleLogin shows the sign-in page, for an interaction (an app asked)
// or on its own (to reach the account page). It offers only the methods
// that the client's policy allows.
func (h *Handler) handleLogin(c *gin.Context) error {
	view := templates.LoginView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Passkey: true, Passlink: h.passlinks != nil,
		Password: h.passwords != nil, SignupOpen: h.signupAllowed(c), RPID: h.rpID}
	t := h.tr(c)
	title, app, logo := t.T("login.title"), "", ""
	consoleLogin := false
	var colors [2]string // the app's own primary and accent colours
	if c.Query("interaction") == "" {
		// login_return.go. The console sends its admins here and accepts
		// only a phishing-resistant sign-in: offer just those, by name.
		if ret := h.rememberReturn(c); ret == "/console" || strings.HasPrefix(ret, "/console/") {
			title, app = t.T("login.title_console"), t.T("login.console_name")
			view.Passlink, view.SignupOpen, consoleLogin = false, false, true
		}
	}
	var (
		in     *models.Interaction
		client *models.Client
	)
	if id := c.Query("interaction"); id != "" {
		var err error
		if in, client, err = h.interaction(c, id); err != nil {
			return err
		}
		view.Interaction, view.LoginHint = in.ID, in.LoginHint
		view.Passkey = clientAllows(client, models.MethodPasskey)
		view.Passlink = h.passlinks != nil && passlinkOffered(in, client)
		level := requiredACR(in)
		// Password + security key is phishing-resistant, so it qualifies
		// up to phr (a user without a key enrols one first); the passkey
		// levels above it need a passkey (assurance.go).
		// So do an app's approved authenticator models: a password sign-in
		// proves none.
		view.Password = h.passwords != nil && clientAllows(client, models.MethodPasswordKey) && !passkeyLevel(level) && len(clientModels(client)) == 0
		view.StrongOnly = !models.ACRSatisfies(models.ACRBasic, strings.Fields(in.ACRValues))
		if view.StrongOnly {
			view.Level = t.T(levelKey(level))
		}
		title, app, logo = t.T("login.title_app", "app", client.Name), client.Name, client.LogoURI
		colors = [2]string{client.PrimaryColor, client.AccentColor}
		if view.Passkey {
			su, err := h.stepUpFor(c, in)
			if err != nil {
				return err
			}
			if su != nil {
				view.StepUp, view.StepUpEmail, view.Qualifying = true, su.user.Email, su.qualifying
				if !passkeyLevel(level) {
					view.Level = t.T("level.passkey")
				}
				if approved := clientModels(client); len(approved) > 0 {
					view.Level += " " + h.modelWords(c, approved)
				}
				view.Passlink, view.Password, view.SignupOpen = false, false, false
				if su.qualifying == 0 {
					title = t.T("login.title_enrol", "app", client.Name)
				}
			}
		}
	}
	// Upstream providers give a basic sign-in too: not on the console's
	// page or a step-up.
	// A request for more than basic may still start there (the passkey
	// is asked afterwards), unless this browser has just done so.
	if !consoleLogin && !view.StepUp && (view.Interaction == "" || view.Passlink || upstreamClientAllows(c, h, view.Interaction)) {
		if ls, _, _ := h.currentUser(c); !view.StrongOnly || ls == nil {
			view.Upstreams = h.upstreamButtons(c, view.Interaction)
		}
	}
	// A recovery code gives a basic sign-in: offered where that is
	// enough (not the console, not a step-up).
	view.Recovery = !consoleLogin && !view.StrongOnly && !view.StepUp && h.recoveryMode(c) != policy.RecoveryOff
	status := http.StatusOK
	switch {
	case !view.Passkey && view.Password:
		// The password page is this app's sign-in page (it links to an
		// emailed link when that is allowed too).
		c.Redirect(http.StatusSeeOther, "/login/password?interaction="+url.QueryEscape(view.Interaction))
		return nil
	case !view.Passkey && !view.Passlink && len(view.Upstreams) == 0:
		// A clear page rather than a form that cannot work.
		status, title = http.StatusForbidden, t.T("login.title_none", "app", app)
	}
	if view.Passkey && !view.StepUp && status == http.StatusOK {
		// The page carries the discoverable ceremony its autofill
		// starts with (webauthn.js), as the options request would have
		// answered it: sealed for this browser, nothing stored, so a
		// passkey chosen from the suggestions needs no request first.
		// Without one (a client's passkey rules the service refuses)
		// the page still works: the options request answers the error.
		opts, ceremony, err := h.passkeys.BeginLoginWith(c.Request.Context(), nil, clientPasskeyOptions(in, client),
			h.sessions.Browser(c.Writer, c.Request), interactionID(in))
		if err == nil {
			view.Ceremony, view.CeremonyOptions = ceremony, string(opts)
		} else {
			h.log.InfoContext(c.Request.Context(), "login page: no autofill ceremony", "err", err)
		}
	}
	c.Header("Cache-Control", "no-store")
	page := t.page(title, app, logo)
	page.AppPrimary, page.AppAccent = colors[0], colors[1]
	return h.pages.Login(c.Writer, status, page, view)
}

// handleSignup shows the account creation page.
func (h *Handler) handleSignup(c *gin.Context) error {
	view := templates.LoginView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Passkey: true, SignupOpen: h.signupAllowed(c), RPID: h.rpID}
	t := h.tr(c)
	title, app, logo := t.T("signup.title"), "", ""
	var colors [2]string // the app's own primary and accent colours
	if id := c.Query("interaction"); id != "" {
		in, client, err := h.interaction(c, id)
		if err != nil {
			return err
		}
		view.Interaction, view.LoginHint = in.ID, in.LoginHint
		view.Passkey = clientAllows(client, models.MethodPasskey)
		title, app, logo = t.T("signup.title_app", "app", client.Name), client.Name, client.LogoURI
		colors = [2]string{client.PrimaryColor, client.AccentColor}
	}
	c.Header("Cache-Control", "no-store")
	page := t.page(title, app, logo)
	page.AppPrimary, page.AppAccent = colors[0], colors[1]
	return h.pages.Signup(c.Writer, http.StatusOK, page, view)
}
