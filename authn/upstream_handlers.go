package authn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Sign-in through an upstream identity provider (authn/upstream): the
// redirect there, the callback, and the link of a new upstream identity
// to an existing account, which waits until the person proves that
// account with a passkey or an emailed link (never on the address alone).

const (
	upstreamStartPath = "/login/upstream"
	upstreamLinkPath  = "/login/upstream/link"
)

func (h *Handler) mountUpstream(r gin.IRouter) {
	if h.upstream == nil {
		return
	}
	r.GET(upstreamStartPath, h.page(h.handleUpstreamStart))
	r.GET(upstream.CallbackPath, h.page(h.handleUpstreamCallback))
	r.GET(upstreamLinkPath, h.page(h.handleUpstreamLink))
	r.POST("/account/upstream/remove", h.page(h.handleRemoveIdentity))
}

// MountCrossSite registers what other sites post to, on a router without
// the same-origin form check: a provider answering with
// response_mode=form_post (Apple) posts the callback.
func (h *Handler) MountCrossSite(r gin.IRouter) {
	if h.upstream == nil {
		return
	}
	r.POST(upstream.CallbackPath, h.page(h.handleUpstreamFormPost))
}

// handleUpstreamFormPost turns a form_post callback into the GET one. The
// cross-site POST carries none of Sesame's SameSite=Lax cookies, so the
// browser binding cannot be checked here; the 303's GET is a top-level
// navigation, which carries them. Nothing is read or spent before that.
func (h *Handler) handleUpstreamFormPost(c *gin.Context) error {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.Request.ParseForm(); err != nil {
		return errPage(http.StatusBadRequest, "upstream.bad_state")
	}
	q := url.Values{}
	for _, k := range []string{"state", "code", "error", "error_description"} {
		if v := c.Request.PostForm.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	// Apple's first authorization names the person only here: kept on
	// the flow, server-side (never in the URL), for the callback to use.
	if user := c.Request.PostForm.Get("user"); user != "" && q.Get("code") != "" {
		if err := h.upstream.NoteUser(c.Request.Context(), q.Get("state"), user); err != nil {
			h.log.WarnContext(c.Request.Context(), "upstream form_post user", "err", err)
		}
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, upstream.CallbackPath+"?"+q.Encode())
	return nil
}

// upstreamButtons are the providers the login page offers for the
// interaction (or none): upstream sign-ins are basic assurance, so they
// are offered where an emailed link would be.
func (h *Handler) upstreamButtons(c *gin.Context, interaction string) []templates.UpstreamButton {
	if h.upstream == nil {
		return nil
	}
	ps, err := h.upstream.Enabled(c.Request.Context())
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "list upstream providers", "err", err)
		return nil
	}
	out := make([]templates.UpstreamButton, 0, len(ps))
	for _, p := range ps {
		q := url.Values{"provider": {p.ID}}
		if interaction != "" {
			q.Set("interaction", interaction)
		}
		out = append(out, templates.UpstreamButton{ID: p.ID, Name: p.Name, Icon: p.Icon, Href: upstreamStartPath + "?" + q.Encode()})
	}
	return out
}

// handleUpstreamStart sends the browser to the upstream. It is a GET (a
// link on the login page): a form's POST answered by a redirect to the
// upstream would need the upstream in CSP form-action.
func (h *Handler) handleUpstreamStart(c *gin.Context) error {
	id := c.Query("interaction")
	if id != "" {
		in, client, err := h.interaction(c, id)
		if err != nil {
			return err
		}
		if !upstreamOffered(in, client) {
			return errPage(http.StatusForbidden, "errors.method_not_allowed")
		}
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	to, err := h.upstream.Start(c.Request.Context(), c.Query("provider"), id, browser, c.Query("login_hint"), c.ClientIP())
	if errors.Is(err, upstream.ErrLimited) {
		h.record(c, authEvent{method: models.MethodUpstream, interactionID: id, name: models.EventLogin, result: models.ResultFailure, reason: "rate_limited"})
		c.Header("Retry-After", "600")
		return errPage(http.StatusTooManyRequests, "upstream.limited")
	}
	if errors.Is(err, upstream.ErrProvider) {
		h.log.WarnContext(c.Request.Context(), "upstream start", "provider", c.Query("provider"), "err", err)
		return errPage(http.StatusBadGateway, "upstream.unavailable")
	}
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, to)
	return nil
}

// upstreamOffered: the app accepts a basic sign-in by a method outside
// Sesame's own (an app that allows emailed links, or names "upstream").
// An app asking for more than basic gets it afterwards: the person then
// signs in with a passkey (upstreamComplete holds the interaction).
func upstreamOffered(_ *models.Interaction, client *models.Client) bool {
	return clientAllows(client, models.MethodUpstream) || clientAllows(client, models.MethodPasslink)
}

// handleUpstreamCallback validates the upstream's answer and signs in,
// creates the account, or holds a link for a proof. Every refusal is a
// plain page; nothing is written but the refusal's event.
func (h *Handler) handleUpstreamCallback(c *gin.Context) error {
	ctx := c.Request.Context()
	browser := h.sessions.Browser(c.Writer, c.Request)
	res, err := h.upstream.Finish(ctx, upstream.Callback{State: c.Query("state"), Code: c.Query("code"),
		Error: c.Query("error"), ErrorDescription: c.Query("error_description")}, browser)
	if err != nil {
		return h.upstreamRefused(c, res, err)
	}
	return h.upstreamSignIn(c, res)
}

func (h *Handler) upstreamRefused(c *gin.Context, res *upstream.Result, err error) error {
	ia := ""
	if res != nil && res.Flow != nil {
		ia = res.Flow.InteractionID
	}
	reason := upstream.Reason(err)
	h.record(c, authEvent{method: models.MethodUpstream, interactionID: ia, name: models.EventLogin, result: models.ResultFailure, reason: reason})
	h.log.InfoContext(c.Request.Context(), "upstream sign-in refused", "reason", reason, "err", err)
	retry := "/login"
	if ia != "" {
		retry += "?interaction=" + url.QueryEscape(ia)
	}
	switch reason {
	case "upstream_denied":
		return &pageError{status: http.StatusForbidden, key: "upstream.denied", cause: err, args: []any{"retry", retry}}
	case "bad_state":
		return &pageError{status: http.StatusBadRequest, key: "upstream.bad_state", cause: err}
	case "provider_unavailable":
		return &pageError{status: http.StatusBadGateway, key: "upstream.unavailable", cause: err}
	default:
		return &pageError{status: http.StatusBadGateway, key: "upstream.bad_token", cause: err}
	}
}

// upstreamSignIn acts on a validated identity. The identity is found by
// (provider, subject) only; an address is never enough to reach an
// account.
func (h *Handler) upstreamSignIn(c *gin.Context, res *upstream.Result) error {
	ctx := c.Request.Context()
	p, id, f := res.Provider, res.Identity, res.Flow
	link, err := h.st.GetUpstreamIdentity(ctx, p.ID, id.Subject)
	switch {
	case err == nil:
		u, err := h.st.GetUser(ctx, link.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			h.record(c, authEvent{method: models.MethodUpstream, userID: u.ID, interactionID: f.InteractionID, name: models.EventLogin,
				result: models.ResultFailure, reason: "disabled"})
			return errPage(http.StatusForbidden, "upstream.disabled")
		}
		if err := h.st.WithTx(ctx, func(ctx context.Context) error { return h.syncGroups(ctx, c, p, u, id) }); err != nil {
			// Fail closed: a group the upstream took away must not
			// outlive this sign-in.
			return err
		}
		if id.NameFromForm {
			h.nameIfNameless(ctx, u, id.Name)
		}
		return h.upstreamComplete(c, res, u, link, "")
	case !errors.Is(err, models.ErrNotFound):
		return err
	}
	// A new identity. Only a verified address counts, and only to find
	// the account the person must then prove.
	if !id.EmailVerified || id.Email == "" {
		h.upstreamRefusal(c, f, "unverified_email")
		return errPage(http.StatusForbidden, "upstream.unverified", "provider", p.Name)
	}
	existing, err := h.st.GetUserByEmail(ctx, id.Email)
	switch {
	case err == nil:
		if err := h.st.HoldUpstreamLink(ctx, f.ID, id.Subject, id.Email, id.Name, existing.ID, clock.Now().Add(upstream.FlowTTL)); err != nil {
			return err
		}
		h.record(c, authEvent{method: models.MethodUpstream, userID: existing.ID, interactionID: f.InteractionID, name: models.EventLogin,
			result: models.ResultFailure, reason: "link_pending"})
		c.Redirect(http.StatusSeeOther, upstreamLinkPath+"?flow="+url.QueryEscape(f.ID))
		return nil
	case !errors.Is(err, models.ErrNotFound):
		return err
	}
	if p.Provisioning != models.ProvisionCreate {
		h.upstreamRefusal(c, f, "no_account")
		return errPage(http.StatusForbidden, "upstream.no_account", "provider", p.Name)
	}
	if !h.signupAllowed(c) {
		h.upstreamRefusal(c, f, "signup_closed")
		return errPage(http.StatusForbidden, "upstream.signup_closed")
	}
	u := &models.User{ID: uuid.NewString(), Email: id.Email, EmailVerified: true, DisplayName: id.Name}
	ident := &models.UpstreamIdentity{ID: uuid.NewString(), ProviderID: p.ID, Subject: id.Subject, UserID: u.ID, Email: id.Email, CreatedAt: clock.Now()}
	err = h.st.WithTx(ctx, func(ctx context.Context) error {
		if err := h.st.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := h.st.CreateUpstreamIdentity(ctx, ident); err != nil {
			return err
		}
		return h.syncGroups(ctx, c, p, u, id)
	})
	if errors.Is(err, models.ErrAlreadyExists) {
		// A race with another sign-up of the address or identity.
		h.upstreamRefusal(c, f, "conflict")
		return errPage(http.StatusConflict, "upstream.bad_state")
	}
	if err != nil {
		return err
	}
	return h.upstreamComplete(c, res, u, ident, "signup")
}

func (h *Handler) upstreamRefusal(c *gin.Context, f *models.UpstreamFlow, reason string) {
	h.record(c, authEvent{method: models.MethodUpstream, interactionID: f.InteractionID, name: models.EventLogin,
		result: models.ResultFailure, reason: reason})
}

// syncGroups makes the account's memberships granted by the provider
// those its group mapping gives for the groups the upstream asserts in
// this sign-in: one who left an upstream group leaves the Sesame group it
// mapped to at the next sign-in. A membership an administrator gave, or
// another provider, is never touched; groups that do not exist are
// skipped. Each change is audited with the provider as its actor (and so
// reaches the group.member_* webhooks).
func (h *Handler) syncGroups(ctx context.Context, c *gin.Context, p *models.UpstreamProvider, u *models.User, id upstream.Identity) error {
	if id.GroupsUnknown {
		return nil
	}
	var want []string
	for _, g := range id.Groups {
		if to := p.GroupMap[g]; to != "" && !slices.Contains(want, to) {
			want = append(want, to)
		}
	}
	grantor := models.GrantedByUpstream(p.ID)
	added, removed, err := h.st.SyncGrantedGroups(ctx, u.ID, grantor, want)
	if err != nil {
		return err
	}
	member := map[string]string{"user_id": u.ID, "email": u.Email, "granted_by": grantor}
	audit := func(action, group string, before, after any) error {
		e := &models.AuditEntry{ID: uuid.NewString(), At: clock.Now().UTC(), ActorID: grantor, ActorKind: models.ActorSystem,
			ActorLabel: truncateString("groups claim of "+p.Name, 320), Action: action, TargetType: "group", TargetID: group,
			BeforeJSON: jsonOrEmpty(before), AfterJSON: jsonOrEmpty(after),
			IP: truncateString(c.ClientIP(), 64), UserAgent: truncateString(c.Request.UserAgent(), 512)}
		return h.st.CreateAuditEntry(ctx, e)
	}
	for _, g := range added {
		if err := audit("group.add_member", g, nil, member); err != nil {
			return err
		}
	}
	for _, g := range removed {
		if err := audit("group.remove_member", g, member, nil); err != nil {
			return err
		}
	}
	return nil
}

// upstreamComplete ends an upstream sign-in like any other, then offers a
// passkey as after an emailed link.
func (h *Handler) upstreamComplete(c *gin.Context, res *upstream.Result, u *models.User, ident *models.UpstreamIdentity, reason string) error {
	amr, acr := upstreamAssurance(res)
	_ = h.st.TouchUpstreamIdentity(c.Request.Context(), ident.ID, clock.Now())
	s := signIn{user: u, method: models.MethodUpstream, amr: amr, acr: acr, interactionID: res.Flow.InteractionID, reason: reason}
	// Below the level the app asks (a phishing-resistant sign-in, say):
	// the session starts, but the app waits for a passkey sign-in on the
	// login page (after the passkey offer, for an account without one).
	if in := h.liveInteraction(c, s.interactionID); in != nil && !models.ACRSatisfies(acr, strings.Fields(in.ACRValues)) {
		s.holdInteraction = loginFor(in.ID)
	}
	next, err := h.completeSignIn(c, s)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, h.passkeyOfferOr(c, u, next))
	return nil
}

// upstreamAssurance is ["fed"] at basic assurance; a provider trusted to
// pass its own through adds its amr values, and its acr when that is one
// of Sesame's levels.
func upstreamAssurance(res *upstream.Result) ([]string, string) {
	amr, acr := slices.Clone(upstream.AMR), upstream.ACR
	if res.Provider == nil || !res.Provider.PassAMR {
		return amr, acr
	}
	for _, a := range res.Identity.AMR {
		if a != "" && !slices.Contains(amr, a) {
			amr = append(amr, a)
		}
	}
	if slices.Contains(models.ACRLevels, res.Identity.ACR) {
		acr = res.Identity.ACR
	}
	return amr, acr
}

// handleUpstreamLink explains a pending link: the upstream's verified
// address belongs to an account, and only signing in to that account
// (passkey or emailed link) in this browser links the identity.
func (h *Handler) handleUpstreamLink(c *gin.Context) error {
	ctx := c.Request.Context()
	f, err := h.st.GetUpstreamFlow(ctx, c.Query("flow"))
	if err != nil || f.Stage != models.UpstreamLinkPending || !f.ExpiresAt.After(clock.Now()) || !h.sessions.SameBrowser(c.Request, f.BrowserHash) {
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		return errPage(http.StatusBadRequest, "upstream.link_gone")
	}
	p, err := h.st.GetUpstreamProvider(ctx, f.ProviderID)
	if err != nil {
		return err
	}
	var client *models.Client
	q := ""
	if f.InteractionID != "" {
		in, cl, err := h.interaction(c, f.InteractionID)
		if err != nil {
			return err
		}
		client, q = cl, "?interaction="+url.QueryEscape(in.ID)
	}
	t := h.tr(c)
	v := templates.UpstreamLinkView{Provider: p.Name, MaskedEmail: passlink.MaskEmail(f.Email), LoginHref: "/login" + q,
		PasslinkHref: "", Expiry: t.duration(upstream.FlowTTL)}
	if h.passlinks != nil {
		v.PasslinkHref = "/passlink" + q
	}
	c.Header("Cache-Control", "no-store")
	return h.pages.UpstreamLink(c.Writer, http.StatusOK, t.appPage(t.T("upstream.link_title", "provider", p.Name), client), v)
}

// finishUpstreamLink links a pending upstream identity once its account
// is proven: called at the end of a passkey or emailed-link sign-in of
// that account in the browser that holds the link. Anything else (another
// account, another browser, an expired link) links nothing.
func (h *Handler) finishUpstreamLink(c *gin.Context, s signIn) {
	if h.upstream == nil || (s.method != models.MethodPasskey && s.method != models.MethodPasslink) {
		return
	}
	ctx := c.Request.Context()
	// Without providers no link can wait: no query.
	if ps, err := h.upstream.Enabled(ctx); err != nil || len(ps) == 0 {
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	f, err := h.st.PendingUpstreamLink(ctx, s.user.ID, browser, clock.Now())
	if errors.Is(err, models.ErrNotFound) {
		return
	}
	if err == nil {
		if f, err = h.st.FinishUpstreamLink(ctx, f.ID, clock.Now()); err == nil {
			err = h.st.CreateUpstreamIdentity(ctx, &models.UpstreamIdentity{ID: uuid.NewString(), ProviderID: f.ProviderID,
				Subject: f.Subject, UserID: s.user.ID, Email: f.Email, CreatedAt: clock.Now()})
		}
	}
	if err != nil {
		h.log.WarnContext(ctx, "link upstream identity", "err", err)
		return
	}
	h.record(c, authEvent{method: models.MethodUpstream, userID: s.user.ID, interactionID: s.interactionID, name: models.EventUpstreamLinked,
		reason: f.ProviderID})
	// Apple named the person only in the authorization that led here.
	if f.Name != "" && s.user.DisplayName == "" {
		if p, err := h.st.GetUpstreamProvider(ctx, f.ProviderID); err == nil && upstream.NameInForm(p) {
			h.nameIfNameless(ctx, s.user, f.Name)
		}
	}
}

// nameIfNameless gives an account without a display name the one Apple's
// form_post said (an account with one keeps it).
func (h *Handler) nameIfNameless(ctx context.Context, u *models.User, name string) {
	if u.DisplayName != "" || name == "" {
		return
	}
	if err := h.st.SetUserDisplayName(ctx, u.ID, name); err != nil {
		h.log.WarnContext(ctx, "name from upstream", "err", err)
		return
	}
	u.DisplayName = name
}

// upstreamClientAllows reports whether the interaction's app names the
// upstream method (an app allowing emailed links accepts it already).
func upstreamClientAllows(c *gin.Context, h *Handler, id string) bool {
	in, client, err := h.interaction(c, id)
	return err == nil && upstreamOffered(in, client)
}

// identityViews lists the account's linked upstream identities.
func (h *Handler) identityViews(c *gin.Context, u *models.User) ([]templates.IdentityView, error) {
	if h.upstream == nil {
		return nil, nil
	}
	ctx := c.Request.Context()
	ids, err := h.st.ListUserUpstreamIdentities(ctx, u.ID)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	t := h.tr(c)
	out := make([]templates.IdentityView, 0, len(ids))
	for _, i := range ids {
		name := i.ProviderID
		if p, err := h.st.GetUpstreamProvider(ctx, i.ProviderID); err == nil {
			name = p.Name
		}
		out = append(out, templates.IdentityView{ID: i.ID, Provider: name, Email: i.Email, Since: h.pages.Catalog().Date(t.lang, i.CreatedAt)})
	}
	return out, nil
}

// handleRemoveIdentity unlinks one of the account's upstream identities:
// that provider no longer signs in to it (a new sign-in with it would ask
// for a proof again).
func (h *Handler) handleRemoveIdentity(c *gin.Context) error {
	_, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	id := c.PostForm("identity_id")
	// The provider's id goes on the event (the row is gone after).
	provider := ""
	if ids, lerr := h.st.ListUserUpstreamIdentities(c.Request.Context(), u.ID); lerr == nil {
		for _, i := range ids {
			if i.ID == id {
				provider = i.ProviderID
			}
		}
	}
	err = h.st.DeleteUpstreamIdentity(c.Request.Context(), u.ID, id)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if err == nil {
		h.record(c, authEvent{method: models.MethodUpstream, userID: u.ID, name: models.EventUpstreamUnlinked, reason: provider})
	}
	c.Redirect(http.StatusSeeOther, "/account?done=upstream")
	return nil
}

// realmOf is the enabled provider the address's domain is bound to, or nil.
func (h *Handler) realmOf(c *gin.Context, email string) *models.UpstreamProvider {
	if h.upstream == nil {
		return nil
	}
	_, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok || domain == "" {
		return nil
	}
	ps, err := h.upstream.Enabled(c.Request.Context())
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "list upstream providers", "err", err)
		return nil
	}
	for i := range ps {
		if ps[i].Domains.Has(domain) {
			return &ps[i]
		}
	}
	return nil
}

// homeRealm is where an address typed on the login page goes when its
// domain is bound to an upstream the app accepts ("" otherwise): straight
// to that provider, with the address as its login_hint.
func (h *Handler) homeRealm(c *gin.Context, email string, in *models.Interaction, client *models.Client) string {
	p := h.realmOf(c, email)
	if p == nil || (in != nil && !upstreamOffered(in, client)) {
		return ""
	}
	q := url.Values{"provider": {p.ID}, "login_hint": {strings.TrimSpace(email)}}
	if in != nil {
		q.Set("interaction", in.ID)
	}
	return upstreamStartPath + "?" + q.Encode()
}

// localRefused refuses a sign-in with Sesame's own methods for an account
// whose domain is bound to a provider that does not allow them. Admins
// are exempt: the console needs their passkeys.
func (h *Handler) localRefused(c *gin.Context, s signIn) error {
	if s.method == models.MethodUpstream || s.user.Role == models.RoleAdmin {
		return nil
	}
	p := h.realmOf(c, s.user.Email)
	if p == nil || p.LocalMethods {
		return nil
	}
	// The event is recorded after the answer: a passkey sign-in refuses
	// inside its transaction, which rolls back.
	return &refusalEvent{pageError: errPage(http.StatusForbidden, "upstream.local_refused", "provider", p.Name),
		ev: authEvent{method: s.method, userID: s.user.ID, interactionID: s.interactionID, name: models.EventLogin,
			result: models.ResultFailure, reason: "home_realm"}}
}
