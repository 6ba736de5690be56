package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// The console's side of dynamic client registration (registration.go):
// the App registration page (mode in force, initial access tokens, the
// mint form that shows a token once; revoking goes through the admin API
// with step-up, console.js), and the registration part of the policies
// form.

func (u *UI) mountRegistration(r gin.IRouter) {
	r.GET("/console/registration", u.handle(u.registrationShow))
	r.POST("/console/registration/tokens", u.handle(u.registrationMint))
}

func (u *UI) renderRegistration(c *gin.Context, status int, v templates.ConsoleRegistrationView) error {
	ctx := c.Request.Context()
	p, err := u.c.Policies.Current(ctx)
	if err != nil {
		return err
	}
	v.Mode, v.ModeText = p.Registration, u.word(c, "console.registration.mode_text_", p.Registration, "")
	v.ModeName = u.word(c, "console.registration.mode_name_", p.Registration, p.Registration)
	list, err := u.c.Registration.List(ctx)
	if err != nil {
		return err
	}
	for _, t := range list {
		row := templates.InitialTokenRow{ID: t.ID, Label: t.Label, CreatedBy: t.CreatedBy, Created: u.when(c, t.CreatedAt), Expires: u.when(c, t.ExpiresAt),
			LastUsed: u.whenPtr(c, t.LastUsedAt), Uses: t.Uses, MaxUses: t.MaxUses, UsesLeft: t.UsesLeft,
			State: u.word(c, "console.registration.state_", t.State, strings.ReplaceAll(t.State, "_", " ")), StateClass: "", Revocable: t.State == TokenActive}
		if row.Revocable {
			row.StateClass = "ok"
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	if v.ExpiresDays == "" {
		v.ExpiresDays = "7"
	}
	if v.MaxUses == "" {
		v.MaxUses = "1"
	}
	return u.pages.ConsoleRegistration(c.Writer, status, u.page(c, "console.nav.registration"), u.shell(c, "registration"), v)
}

func (u *UI) registrationShow(c *gin.Context) error {
	return u.renderRegistration(c, http.StatusOK, templates.ConsoleRegistrationView{})
}

func (u *UI) registrationMint(c *gin.Context) error {
	v := templates.ConsoleRegistrationView{Label: c.PostForm("label"), ExpiresDays: strings.TrimSpace(c.PostForm("expires_days")),
		MaxUses: strings.TrimSpace(c.PostForm("max_uses")), Errors: map[string]string{}}
	// The form's own checks (days, whole numbers) and the service's are
	// reported together: the service is asked even when a number is bad.
	own := map[string]string{}
	days, err := strconv.Atoi(v.ExpiresDays)
	if err != nil || days < 1 || days > 365 {
		own["expires_in"], days = u.T(c, "console.registration.days_error"), 0
	}
	uses, err := strconv.Atoi(v.MaxUses)
	if err != nil {
		own["max_uses"], uses = u.T(c, "console.registration.uses_error"), 0
	}
	t, err := u.c.Registration.Mint(c.Request.Context(), InitialTokenSpec{Label: v.Label, ExpiresIn: int64(days) * 86400, MaxUses: uses})
	if err == nil {
		// The value is shown in this answer only (no redirect carries it).
		return u.renderRegistration(c, http.StatusCreated, templates.ConsoleRegistrationView{
			Minted: &templates.MintedToken{ID: t.ID, Label: t.Label, Token: t.Token, Expires: u.when(c, t.ExpiresAt), MaxUses: t.MaxUses}})
	}
	if !u.fieldErrors(c, err, v.Errors, &v.Problem) {
		return err
	}
	if v.Errors["label"] == "required" {
		v.Errors["label"] = u.T(c, "console.registration.label_error")
	}
	for f, msg := range own {
		v.Errors[f] = msg
	}
	v.Problem = u.T(c, "console.registration.not_minted")
	return u.renderRegistration(c, http.StatusUnprocessableEntity, v)
}

// registrationFromForm sets p's dynamic registration settings from the
// policies form; a form without them (an older page still open) keeps the
// current values, so saving never switches registration by accident.
func (u *UI) registrationFromForm(c *gin.Context, p *policy.Policy, errs map[string]string) error {
	if c.PostForm("registration") == "" {
		cur, err := u.c.Policies.Current(c.Request.Context())
		if err != nil {
			return err
		}
		p.Registration, p.RegistrationGrantTypes, p.RegistrationRedirectSchemes = cur.Registration, cur.RegistrationGrantTypes, cur.RegistrationRedirectSchemes
		p.RegistrationMaxRedirectURIs, p.RegistrationRateIP = cur.RegistrationMaxRedirectURIs, cur.RegistrationRateIP
		return nil
	}
	p.Registration = c.PostForm("registration")
	p.RegistrationGrantTypes = c.PostFormArray("registration_grant_types")
	p.RegistrationRedirectSchemes = c.PostFormArray("registration_redirect_schemes")
	// Checked here: the policy reads an empty list as "the defaults".
	if len(p.RegistrationGrantTypes) == 0 {
		errs["registration_grant_types"] = u.T(c, "console.registration.choose_grant")
	}
	if len(p.RegistrationRedirectSchemes) == 0 {
		errs["registration_redirect_schemes"] = u.T(c, "console.registration.choose_scheme")
	}
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.PostForm(name)))
		if err != nil || n < 1 {
			errs[name] = u.T(c, "console.registration.number_error")
		}
		return n
	}
	p.RegistrationMaxRedirectURIs, p.RegistrationRateIP = num("registration_max_redirect_uris"), num("registration_rate_ip")
	return nil
}

// registrationOptions are the policies form's registration choices.
func registrationOptions(p policy.Policy, t tfunc) (modes, grants, schemes []templates.Option) {
	for _, o := range []templates.Option{
		{Value: config.RegistrationOff, Label: t("console.registration.mode_off")},
		{Value: config.RegistrationProtected, Label: t("console.registration.mode_protected")},
		{Value: config.RegistrationOpen, Label: t("console.registration.mode_open")},
	} {
		o.Checked = p.Registration == o.Value
		modes = append(modes, o)
	}
	grantLabels := map[string]string{"authorization_code": t("console.registration.grant_code"), "refresh_token": t("console.client.grant_refresh"),
		"client_credentials": t("console.registration.grant_cc"), "urn:ietf:params:oauth:grant-type:device_code": t("console.registration.grant_device")}
	for _, g := range config.RegistrationGrantTypes {
		grants = append(grants, templates.Option{Value: g, Label: grantLabels[g], Hint: g, Checked: slices.Contains(p.RegistrationGrantTypes, g)})
	}
	schemeLabels := map[string]string{"https": "https", "http": t("console.registration.scheme_http"), "private-use": t("console.registration.scheme_private")}
	for _, sc := range config.RegistrationRedirectSchemes {
		schemes = append(schemes, templates.Option{Value: sc, Label: schemeLabels[sc], Checked: slices.Contains(p.RegistrationRedirectSchemes, sc)})
	}
	return modes, grants, schemes
}

// keepRegistrationMetadata keeps the RFC 7591 informational metadata the
// client form does not show (client_uri, policy_uri, tos_uri, contacts).
func (u *UI) keepRegistrationMetadata(c *gin.Context, id string, spec *clients.Spec) error {
	cur, err := u.c.Clients.Get(c.Request.Context(), id)
	if err != nil {
		return err
	}
	spec.ClientURI, spec.PolicyURI, spec.TOSURI, spec.Contacts = cur.ClientURI, cur.PolicyURI, cur.TOSURI, cur.Contacts
	return nil
}
