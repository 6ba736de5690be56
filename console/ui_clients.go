package console

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// uiPageSize is how many rows a console table shows.
const uiPageSize = 20

func newClientForm(spec clients.Spec, isNew bool, t tfunc) templates.ClientForm {
	f := templates.ClientForm{New: isNew, Redirects: strings.Join(spec.RedirectURIs, "\n"),
		PostLogouts: strings.Join(spec.PostLogoutRedirectURIs, "\n"), Origins: strings.Join(spec.AllowedWebOrigins, "\n"),
		ExchangeTo: strings.Join(spec.TokenExchangeResources, "\n"), ExchangeFrom: strings.Join(spec.TokenExchangeSubjectAudiences, "\n"), Confidential: !spec.Public, Errors: map[string]string{},
		Spec: templates.ClientSpec{Name: spec.Name, LogoURI: spec.LogoURI, JWKSURI: spec.JWKSURI, PrimaryColor: spec.PrimaryColor, AccentColor: spec.AccentColor,
			AccessTokenTTL: secondsText(spec.AccessTokenTTL), RefreshTokenTTL: secondsText(spec.RefreshTokenTTL), IDTokenTTL: secondsText(spec.IDTokenTTL),
			SkipConsent: spec.SkipConsent, Disabled: spec.Disabled, DPoPBound: spec.DPoPBoundAccessTokens,
			BackchannelLogoutURI: spec.BackchannelLogoutURI, BackchannelLogoutSessionRequired: spec.BackchannelLogoutSessionRequired,
			RequirePAR:            spec.RequirePushedAuthorizationRequests,
			FrontchannelLogoutURI: spec.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: spec.FrontchannelLogoutSessionRequired,
			SectorIdentifierURI: spec.SectorIdentifierURI}}
	has := func(l []string, v string) bool { return slices.Contains(l, v) }
	for _, m := range []templates.Option{
		{Value: clients.AuthClientSecretBasic, Label: t("console.client.auth_basic")},
		{Value: clients.AuthClientSecretPost, Label: t("console.client.auth_post")},
		{Value: clients.AuthPrivateKeyJWT, Label: t("console.client.auth_jwt")},
	} {
		m.Checked = spec.TokenEndpointAuthMethod == m.Value
		f.AuthMethods = append(f.AuthMethods, m)
	}
	for _, g := range []templates.Option{
		{Value: clients.GrantAuthorizationCode, Label: t("console.client.grant_code"), Hint: t("console.client.grant_code_hint")},
		{Value: clients.GrantRefreshToken, Label: t("console.client.grant_refresh"), Hint: t("console.client.grant_refresh_hint")},
		{Value: clients.GrantClientCredentials, Label: t("console.client.grant_cc"), Hint: t("console.client.grant_cc_hint")},
		{Value: clients.GrantDeviceCode, Label: t("console.client.grant_device"), Hint: t("console.client.grant_device_hint")},
		{Value: clients.GrantTokenExchange, Label: t("console.client.grant_exchange"), Hint: t("console.client.grant_exchange_hint")},
	} {
		g.Checked = has(spec.GrantTypes, g.Value)
		f.Grants = append(f.Grants, g)
	}
	for _, s := range []string{clients.ScopeOpenID, clients.ScopeProfile, clients.ScopeEmail, clients.ScopeOfflineAccess, clients.ScopeGroups, clients.ScopeAdmin, clients.ScopeIntrospect} {
		f.Scopes = append(f.Scopes, templates.Option{Value: s, Label: s, Checked: has(spec.Scopes, s)})
	}
	// The allowed groups, checked; the page adds the other groups
	// (UI.groupOptions).
	for _, g := range spec.AllowedGroups {
		f.Groups = append(f.Groups, templates.Option{Value: g, Label: g, Checked: true})
	}
	for _, m := range []string{models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey} {
		f.Methods = append(f.Methods, templates.Option{Value: m, Label: t("console.method." + m), Checked: has(spec.AllowedLoginMethods, m)})
	}
	for _, a := range []string{clients.AlgRS256, clients.AlgES256, clients.AlgEdDSA} {
		f.Algs = append(f.Algs, templates.Option{Value: a, Label: a, Checked: spec.IDTokenSignedAlg == a})
	}
	for _, a := range []templates.Option{
		{Value: "", Label: t("console.client.acr_any")},
		{Value: models.ACRBasic, Label: t("console.client.acr_basic")},
		{Value: models.ACRPhishingResistant, Label: t("console.client.acr_phr")},
		{Value: models.ACRUserVerified, Label: t("console.client.acr_uv")},
		{Value: models.ACRDeviceBound, Label: t("console.client.acr_bound")},
		{Value: models.ACRAttested, Label: t("console.client.acr_attested")},
	} {
		a.Checked = spec.MinACR == a.Value
		f.ACRs = append(f.ACRs, a)
	}
	for _, v := range []templates.Option{
		{Value: "", Label: t("console.client.global_policy")},
		{Value: policy.SyncedAllow, Label: t("console.policy.synced_allow")},
		{Value: policy.SyncedGrace, Label: t("console.policy.synced_grace")},
		{Value: policy.SyncedBlock, Label: t("console.policy.synced_block")},
	} {
		v.Checked = spec.SyncedPasskeys == v.Value
		f.Synced = append(f.Synced, v)
	}
	f.Allow, f.AllowNames = strings.Join(spec.AAGUIDAllow, "\n"), aaguidNames(spec.AAGUIDAllow, t)
	f.AllowModes = allowModeOptions(spec.AAGUIDAllowMode, t)
	for _, v := range []templates.Option{
		{Value: "", Label: t("console.client.global_policy")},
		{Value: "required", Label: t("console.client.uv_required")},
		{Value: "preferred", Label: t("console.client.uv_preferred")},
		{Value: "discouraged", Label: t("console.client.uv_discouraged")},
	} {
		v.Checked = spec.UserVerification == v.Value
		f.UVs = append(f.UVs, v)
	}
	for _, v := range []templates.Option{
		{Value: clients.SubjectPublic, Label: t("console.client.subject_public")},
		{Value: clients.SubjectPairwise, Label: t("console.client.subject_pairwise")},
	} {
		v.Checked = spec.SubjectType == v.Value || (spec.SubjectType == "" && v.Value == clients.SubjectPublic)
		f.SubjectTypes = append(f.SubjectTypes, v)
	}
	for _, v := range []templates.Option{
		{Value: models.TokenFormatOpaque, Label: t("console.client.format_opaque")},
		{Value: models.TokenFormatJWT, Label: t("console.client.format_jwt")},
	} {
		v.Checked = spec.AccessTokenFormat == v.Value || (spec.AccessTokenFormat == "" && v.Value == models.TokenFormatOpaque)
		f.TokenFormats = append(f.TokenFormats, v)
	}
	return f
}

// specFromForm reads a client's settings from the posted form.
func specFromForm(c *gin.Context) clients.Spec {
	lines := func(name string) []string { return strings.Fields(c.PostForm(name)) }
	s := clients.Spec{
		Name:                   c.PostForm("client_name"),
		RedirectURIs:           lines("redirect_uris"),
		PostLogoutRedirectURIs: lines("post_logout_redirect_uris"),
		AllowedWebOrigins:      lines("allowed_web_origins"),
		GrantTypes:             c.PostFormArray("grant_types"),
		Scopes:                 c.PostFormArray("scopes"),
		Public:                 c.PostForm("client_type") == "public",
		IDTokenSignedAlg:       c.PostForm("id_token_signed_response_alg"),
		SkipConsent:            c.PostForm("skip_consent") == "on",
		AllowedLoginMethods:    c.PostFormArray("allowed_login_methods"),
		JWKSURI:                c.PostForm("jwks_uri"),
		Disabled:               c.PostForm("disabled") == "on",
		LogoURI:                c.PostForm("logo_uri"),
		PrimaryColor:           c.PostForm("primary_color"),
		AccentColor:            c.PostForm("accent_color"),
		AccessTokenTTL:         formSeconds(c, "access_token_ttl"),
		RefreshTokenTTL:        formSeconds(c, "refresh_token_ttl"),
		IDTokenTTL:             formSeconds(c, "id_token_ttl"),
		MinACR:                 c.PostForm("min_acr"),
		UserVerification:       c.PostForm("user_verification"),
		SyncedPasskeys:         c.PostForm("synced_passkeys"),
		AAGUIDAllow:            lines("aaguid_allow"),
		AAGUIDAllowMode:        c.PostForm("aaguid_allow_mode"),
		AllowedGroups:          c.PostFormArray("allowed_groups"),
		BackchannelLogoutURI:   c.PostForm("backchannel_logout_uri"),

		BackchannelLogoutSessionRequired: c.PostForm("backchannel_logout_session_required") == "on",
		FrontchannelLogoutURI:            c.PostForm("frontchannel_logout_uri"),

		RequirePushedAuthorizationRequests: c.PostForm("require_pushed_authorization_requests") == "on",
		FrontchannelLogoutSessionRequired:  c.PostForm("frontchannel_logout_session_required") == "on",
		SubjectType:                        c.PostForm("subject_type"),
		SectorIdentifierURI:                c.PostForm("sector_identifier_uri"),
		AccessTokenFormat:                  c.PostForm("access_token_format"),
		DPoPBoundAccessTokens:              c.PostForm("dpop_bound_access_tokens") == "on",
		TokenExchangeResources:             lines("token_exchange_resources"),
		TokenExchangeSubjectAudiences:      lines("token_exchange_subject_audiences"),
	}
	if !s.Public {
		s.TokenEndpointAuthMethod = c.PostForm("token_endpoint_auth_method")
	}
	return s
}

// formSeconds reads a lifetime as a duration ("10m", "720h", the
// policies page's units) or a number of seconds; empty is 0 (the global
// setting) and anything unparsable -1, which validation refuses with the
// field's message.
func formSeconds(c *gin.Context, name string) int {
	v := strings.TrimSpace(c.PostForm(name))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	d, err := time.ParseDuration(v)
	if err != nil || d%time.Second != 0 || d < 0 || d > 10*365*24*time.Hour {
		return -1
	}
	return int(d / time.Second)
}

// secondsText shows a lifetime in seconds as a duration ("" for 0).
func secondsText(n int) string {
	if n <= 0 {
		return ""
	}
	return uiDuration(time.Duration(n) * time.Second)
}

func (u *UI) clientList(c *gin.Context) error {
	ctx := c.Request.Context()
	q := strings.TrimSpace(c.Query("q"))
	if len(q) > MaxQueryLen {
		q = q[:MaxQueryLen]
	}
	sortBy := c.Query("sort")
	if sortBy != "created" {
		sortBy = "name"
	}
	registered := c.Query("registered")
	if !slices.Contains(RegisteredBy, registered) {
		registered = ""
	}
	// Clients are few: read them all (a page at a time), sort, page.
	var all []ClientView
	for off := 0; off <= MaxOffset; off += MaxLimit {
		part, more, err := u.c.Clients.List(ctx, ClientQuery{Query: q, Registered: registered}, off, MaxLimit)
		if err != nil {
			return err
		}
		all = append(all, part...)
		if !more {
			break
		}
	}
	if sortBy == "created" {
		slices.SortStableFunc(all, func(a, b ClientView) int { return b.CreatedAt.Compare(a.CreatedAt) })
	}
	page, offset := pageParams(c, uiPageSize)
	v := templates.ConsoleClientsView{Query: q, Sort: sortBy, Total: len(all), Filtered: map[string]string{
		RegisteredDynamic: u.T(c, "console.clients.what_dynamic"), RegisteredAdmin: u.T(c, "console.clients.what_admin")}[registered],
		Sorts: []templates.Option{{Value: "name", Label: u.T(c, "console.common.name"), Checked: sortBy == "name"}, {Value: "created", Label: u.T(c, "console.clients.newest"), Checked: sortBy == "created"}}}
	for _, o := range []templates.Option{{Value: "", Label: u.T(c, "console.clients.by_anyone")}, {Value: RegisteredDynamic, Label: u.T(c, "console.clients.by_app")},
		{Value: RegisteredAdmin, Label: u.T(c, "console.clients.by_admin")}} {
		o.Checked = registered == o.Value
		v.Registered = append(v.Registered, o)
	}
	end := min(offset+uiPageSize, len(all))
	for _, cl := range all[min(offset, len(all)):end] {
		typ := u.T(c, "console.clients.confidential")
		if cl.Public {
			typ = u.T(c, "console.clients.public")
		}
		row := templates.ClientRow{ID: cl.ID, Name: cl.Name, Type: typ, Grants: strings.Join(cl.GrantTypes, ", "), Created: u.when(c, cl.CreatedAt), Disabled: cl.Disabled,
			LastUsed: u.T(c, "console.clients.not_used"), ActiveUsers: "0", Dynamic: cl.Dynamic}
		if cl.LastUsedAt != nil {
			row.LastUsed = u.ago(c, cl.LastUsedAt)
		}
		if cl.ActiveUsers != nil {
			row.ActiveUsers = u.number(c, *cl.ActiveUsers)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Pager = uiMakePager(url.Values{"q": {q}, "sort": {sortBy}, "registered": {registered}}, "/console/clients", page, end < len(all))
	return u.pages.ConsoleClients(c.Writer, 200, u.page(c, "console.clients.title"), u.shell(c, "clients"), v)
}

func (u *UI) clientNew(c *gin.Context) error {
	spec := clients.Spec{}
	spec.Normalize()
	f := newClientForm(spec, true, u.tr(c))
	f.Action, f.Submit = "/console/clients", u.T(c, "console.clients.register")
	if err := u.customScopeOptions(c, &f, spec.Scopes); err != nil {
		return err
	}
	var err error
	if f.Groups, err = u.groupOptions(c.Request.Context(), nil); err != nil {
		return err
	}
	u.nameModels(c.Request.Context(), f.AllowNames)
	return u.pages.ConsoleClientForm(c.Writer, 200, u.page(c, "console.client_form.title"), u.shell(c, "clients"), f)
}

func (u *UI) clientCreate(c *gin.Context) error {
	spec := specFromForm(c)
	view, secret, err := u.c.Clients.Create(c.Request.Context(), spec)
	if err != nil {
		spec.Normalize()
		f := newClientForm(spec, true, u.tr(c))
		f.Action, f.Submit = "/console/clients", u.T(c, "console.clients.register")
		if err := u.customScopeOptions(c, &f, spec.Scopes); err != nil {
			return err
		}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			if f.Groups, err = u.groupOptions(c.Request.Context(), checkedValues(f.Groups)); err != nil {
				return err
			}
			u.nameModels(c.Request.Context(), f.AllowNames)
			return u.pages.ConsoleClientForm(c.Writer, 422, u.page(c, "console.client_form.title"), u.shell(c, "clients"), f)
		}
		return err
	}
	return u.renderSecret(c, view, secret, true)
}

func (u *UI) renderSecret(c *gin.Context, view *ClientView, secret string, isNew bool) error {
	title := u.T(c, "console.client_secret.title_new")
	if !isNew {
		title = u.T(c, "console.client_secret.title_rotated")
	}
	return u.pages.ConsoleClientSecret(c.Writer, 200, templates.Page{Title: title}, u.shell(c, "clients"),
		templates.ConsoleClientSecretView{Client: clientSummary(view), Secret: secret, New: isNew, Setup: clientSetup(u.c.cfg.Issuer, view)})
}

// clientSummary is what a client's page shows of it.
func clientSummary(v *ClientView) templates.ClientSummary {
	return templates.ClientSummary{ID: v.ID, Name: v.Name, Disabled: v.Disabled, HasSecret: v.HasSecret, CreatedAt: v.CreatedAt,
		Dynamic: v.Dynamic, ClientURI: v.ClientURI, PolicyURI: v.PolicyURI, TOSURI: v.TOSURI, Contacts: v.Contacts}
}

// registeredWith says how a dynamic client registered: with which initial
// access token (its label while the token is kept), or openly.
func (u *UI) registeredWith(c *gin.Context, v *ClientView) (string, error) {
	if !v.Dynamic {
		return "", nil
	}
	if v.InitialAccessTokenID == "" {
		return u.T(c, "console.client.open_registration"), nil
	}
	t, err := u.c.Registration.Get(c.Request.Context(), v.InitialAccessTokenID)
	if errors.Is(err, models.ErrNotFound) {
		return u.T(c, "console.client.token_deleted", "id", v.InitialAccessTokenID), nil
	}
	if err != nil {
		return "", err
	}
	return u.T(c, "console.client.token_label", "label", t.Label), nil
}

func (u *UI) clientShow(c *gin.Context) error {
	view, err := u.c.Clients.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return u.renderClient(c, 200, view, nil)
}

func (u *UI) renderClient(c *gin.Context, status int, view *ClientView, f *templates.ClientForm) error {
	if f == nil {
		nf := newClientForm(view.Spec, false, u.tr(c))
		if err := u.customScopeOptions(c, &nf, view.Scopes); err != nil {
			return err
		}
		f = &nf
	}
	f.Action, f.Submit = "/console/clients/"+url.PathEscape(view.ID), u.T(c, "console.common.save_changes")
	u.nameModels(c.Request.Context(), f.AllowNames)
	groups, err := u.groupOptions(c.Request.Context(), checkedValues(f.Groups))
	if err != nil {
		return err
	}
	f.Groups = groups
	typ := u.T(c, "console.clients.confidential")
	if view.Public {
		typ = u.T(c, "console.clients.public")
	}
	sum := clientSummary(view)
	if sum.RegisteredWith, err = u.registeredWith(c, view); err != nil {
		return err
	}
	return u.pages.ConsoleClient(c.Writer, status, templates.Page{Title: view.Name}, u.shell(c, "clients"),
		templates.ConsoleClientView{Client: sum, Form: *f, Type: typ})
}

func (u *UI) clientUpdate(c *gin.Context) error {
	ctx := c.Request.Context()
	id := c.Param("id")
	spec := specFromForm(c)
	if err := u.keepRegistrationMetadata(c, id, &spec); err != nil {
		return err
	}
	if lo, err := u.lockoutBefore(c, id, spec); err != nil || lo != nil {
		if err != nil {
			return err
		}
		cur, err := u.c.Clients.Get(ctx, id)
		if err != nil {
			return err
		}
		spec.Normalize()
		f := newClientForm(spec, false, u.tr(c))
		if err := u.customScopeOptions(c, &f, spec.Scopes); err != nil {
			return err
		}
		f.Lockout = lo
		f.Problem = u.T(c, "console.lockout.problem")
		return u.renderClient(c, 409, cur, &f)
	}
	view, secret, err := u.c.Clients.Update(ctx, id, spec, false)
	if err != nil {
		cur, gerr := u.c.Clients.Get(ctx, id)
		if gerr != nil {
			return gerr
		}
		spec.Normalize()
		f := newClientForm(spec, false, u.tr(c))
		if err := u.customScopeOptions(c, &f, spec.Scopes); err != nil {
			return err
		}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.renderClient(c, 422, cur, &f)
		}
		return err
	}
	if secret != "" { // became confidential: its first secret
		return u.renderSecret(c, view, secret, false)
	}
	redirectDone(c, "/console/clients/"+url.PathEscape(id), "client_saved")
	return nil
}

// clientSetDisabled disables or enables a client (the button on its page).
func (u *UI) clientSetDisabled(c *gin.Context) error {
	id := c.Param("id")
	disabled := c.PostForm("disabled") == "true"
	if _, err := u.c.Clients.SetDisabled(c.Request.Context(), id, disabled); err != nil {
		return err
	}
	done := "client_enabled"
	if disabled {
		done = "client_disabled"
	}
	redirectDone(c, "/console/clients/"+url.PathEscape(id), done)
	return nil
}

func (u *UI) clientRotate(c *gin.Context) error {
	ctx := c.Request.Context()
	id := c.Param("id")
	secret, err := u.c.Clients.RotateSecret(ctx, id)
	if err != nil {
		return err
	}
	view, err := u.c.Clients.Get(ctx, id)
	if err != nil {
		return err
	}
	return u.renderSecret(c, view, secret, false)
}

// lockoutBefore is who saving spec for client id would lock out of it
// (Clients.Preview, as the admin API and the CLI ask) unless the form
// confirms it; nil when nobody, when confirmed, or when spec is invalid
// (the save reports that).
func (u *UI) lockoutBefore(c *gin.Context, id string, spec clients.Spec) (*templates.Lockout, error) {
	if c.PostForm("confirm_lockout") == "on" {
		return nil, nil
	}
	spec.Normalize()
	if spec.Validate() != nil {
		return nil, nil
	}
	l, err := u.c.Clients.Preview(c.Request.Context(), id, spec)
	if err != nil {
		return nil, err
	}
	return lockoutView(l, u.tr(c)), nil
}
