package console

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// --- Policies --------------------------------------------------------

func newPolicyView(p policy.Policy, t tfunc) templates.ConsolePoliciesView {
	v := templates.ConsolePoliciesView{
		P: templates.PolicyFields{SignupOpen: p.SignupOpen, RequireVerifiedEmail: p.RequireVerifiedEmail, PasslinkRateEmail: p.PasslinkRateEmail, PasslinkRateIP: p.PasslinkRateIP, MDSFile: p.MDSFile,
			SuspendCompromised: p.SuspendCompromisedPasskeys, RegistrationMaxRedirectURIs: p.RegistrationMaxRedirectURIs, RegistrationRateIP: p.RegistrationRateIP,
			TokenExchange: p.TokenExchange, BackchannelLogout: p.BackchannelLogout, FrontchannelLogout: p.FrontchannelLogout,
			PairwiseSubjects: p.PairwiseSubjects, DeviceGrant: p.DeviceGrant, DPoP: p.DPoP, PAR: p.PushedAuthorizationRequests,
			RequirePAR: p.RequirePushedAuthorizationRequests},
		Allow: strings.Join(p.AAGUIDAllow, "\n"), Deny: strings.Join(p.AAGUIDDeny, "\n"), Errors: map[string]string{},
	}
	for _, m := range policy.LoginMethods {
		v.Methods = append(v.Methods, templates.Option{Value: m, Label: t("console.method." + m), Checked: slices.Contains(p.DefaultLoginMethods, m)})
	}
	for _, o := range []templates.Option{
		{Value: "required", Label: t("console.policies.uv_required")},
		{Value: "preferred", Label: t("console.policies.uv_preferred")},
		{Value: "discouraged", Label: t("console.policies.uv_discouraged")},
	} {
		o.Checked = p.UserVerification == o.Value
		v.UV = append(v.UV, o)
	}
	for _, o := range []templates.Option{{Value: policy.SyncedAllow, Label: t("console.policy.synced_allow")}, {Value: policy.SyncedGrace, Label: t("console.policy.synced_grace")},
		{Value: policy.SyncedBlock, Label: t("console.policy.synced_block")}} {
		o.Checked = p.SyncedPasskeys == o.Value || (p.SyncedPasskeys == "" && o.Value == policy.SyncedAllow)
		v.Synced = append(v.Synced, o)
	}
	for _, o := range []templates.Option{{Value: policy.RecoveryOff, Label: t("console.policies.recovery_off")},
		{Value: policy.RecoveryOffer, Label: t("console.policies.recovery_offer")},
		{Value: policy.RecoveryRequire, Label: t("console.policies.recovery_require")}} {
		o.Checked = p.RecoveryCodes == o.Value || (p.RecoveryCodes == "" && o.Value == policy.RecoveryOff)
		v.Recovery = append(v.Recovery, o)
	}
	for _, o := range []templates.Option{
		{Value: "none", Label: t("console.policies.att_none")},
		{Value: "direct", Label: t("console.policies.att_direct")},
	} {
		o.Checked = p.Attestation == o.Value
		v.Attestation = append(v.Attestation, o)
	}
	v.AllowNames, v.DenyNames = aaguidNames(p.AAGUIDAllow, t), aaguidNames(p.AAGUIDDeny, t)
	v.AllowModes = allowModeOptions(p.AAGUIDAllowMode, t)
	v.RegModes, v.RegGrants, v.RegSchemes = registrationOptions(p, t)
	d := func(x policy.Duration) string { return uiDuration(time.Duration(x)) }
	v.Durations = []templates.DurationField{
		{Name: "passlink_ttl", Label: t("console.policies.passlink_ttl"), Value: d(p.PasslinkTTL), Hint: t("console.policies.passlink_ttl_hint")},
		{Name: "login_session_ttl", Label: t("console.policies.session_ttl"), Value: d(p.LoginSessionTTL), Hint: t("console.policies.session_ttl_hint")},
		{Name: "access_token_ttl", Label: t("console.policies.access_ttl"), Value: d(p.AccessTokenTTL), Hint: t("console.policies.token_ttl_hint")},
		{Name: "refresh_token_ttl", Label: t("console.policies.refresh_ttl"), Value: d(p.RefreshTokenTTL), Hint: t("console.policies.refresh_ttl_hint")},
		{Name: "id_token_ttl", Label: t("console.policies.id_ttl"), Value: d(p.IDTokenTTL), Hint: t("console.policies.token_ttl_hint")},
	}
	return v
}

func (u *UI) policiesShow(c *gin.Context) error {
	p, err := u.c.Policies.Current(c.Request.Context())
	if err != nil {
		return err
	}
	v := newPolicyView(p, u.tr(c))
	v.Metadata = u.metadataView(c)
	u.nameModels(c.Request.Context(), v.AllowNames, v.DenyNames)
	return u.pages.ConsolePolicies(c.Writer, 200, u.page(c, "console.policies.title"), u.shell(c, "policies"), v)
}

func (u *UI) policiesSave(c *gin.Context) error {
	errs := map[string]string{}
	p := policy.Policy{
		SignupOpen:           c.PostForm("signup_open") == "on",
		RequireVerifiedEmail: c.PostForm("require_verified_email") == "on",
		DefaultLoginMethods:  c.PostFormArray("default_login_methods"),
		UserVerification:     c.PostForm("user_verification"),
		Attestation:          c.PostForm("attestation"),
		AAGUIDAllow:          strings.Fields(c.PostForm("aaguid_allow")),
		AAGUIDDeny:           strings.Fields(c.PostForm("aaguid_deny")),
		AAGUIDAllowMode:      c.PostForm("aaguid_allow_mode"),
		MDSFile:              strings.TrimSpace(c.PostForm("mds_file")),
		SyncedPasskeys:       c.PostForm("synced_passkeys"),
		RecoveryCodes:        c.PostForm("recovery_codes"),
		// The form posts these as checkboxes.
		SuspendCompromisedPasskeys:         c.PostForm("suspend_compromised_passkeys") == "on",
		TokenExchange:                      c.PostForm("token_exchange") == "on",
		BackchannelLogout:                  c.PostForm("backchannel_logout") == "on",
		FrontchannelLogout:                 c.PostForm("frontchannel_logout") == "on",
		PairwiseSubjects:                   c.PostForm("pairwise_subjects") == "on",
		DeviceGrant:                        c.PostForm("device_grant") == "on",
		DPoP:                               c.PostForm("dpop") == "on",
		PushedAuthorizationRequests:        c.PostForm("pushed_authorization_requests") == "on",
		RequirePushedAuthorizationRequests: c.PostForm("require_pushed_authorization_requests") == "on",
	}
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.PostForm(name)))
		if err != nil || n < 0 {
			errs[name] = u.T(c, "console.policies.whole_number")
		}
		return n
	}
	p.PasslinkRateEmail, p.PasslinkRateIP = num("passlink_rate_email"), num("passlink_rate_ip")
	dur := func(name string) policy.Duration {
		d, err := time.ParseDuration(strings.TrimSpace(c.PostForm(name)))
		if err != nil || d <= 0 {
			errs[name] = u.T(c, "console.policies.duration")
		}
		return policy.Duration(d)
	}
	p.PasslinkTTL, p.LoginSessionTTL = dur("passlink_ttl"), dur("login_session_ttl")
	p.AccessTokenTTL, p.RefreshTokenTTL, p.IDTokenTTL = dur("access_token_ttl"), dur("refresh_token_ttl"), dur("id_token_ttl")
	if err := u.registrationFromForm(c, &p, errs); err != nil {
		return err
	}
	// A stricter passkey rule is previewed (Policies.Preview, as the
	// admin API and the CLI do) and saved only once confirmed.
	var lockout *templates.Lockout
	if len(errs) == 0 && c.PostForm("confirm_lockout") != "on" && u.c.Policies.Validate(p.Normalize()) == nil {
		l, err := u.c.Policies.Preview(c.Request.Context(), p)
		if err != nil {
			return err
		}
		if lockout = lockoutView(l, u.tr(c)); lockout != nil {
			errs["_"] = u.T(c, "console.policies.lockout")
		}
	}
	if len(errs) == 0 {
		_, err := u.c.Policies.Update(c.Request.Context(), p)
		if err == nil {
			redirectDone(c, "/console/policies", "policies_saved")
			return nil
		}
		pr := toProblem(err)
		if pr.Status != 422 {
			return err
		}
		for _, fe := range pr.Errors {
			errs[fe.Field] = u.fieldMessage(c, fe)
		}
		if len(pr.Errors) == 0 {
			errs["_"] = pr.Detail
			if s, ok := problemText(u.pages.Catalog(), u.lang(c), pr); ok && u.lang(c) != i18n.Default {
				errs["_"] = s
			}
		}
	}
	v := newPolicyView(p, u.tr(c))
	for _, f := range v.Durations {
		if errs[f.Name] != "" {
			for i := range v.Durations {
				if v.Durations[i].Name == f.Name {
					v.Durations[i].Value = c.PostForm(f.Name)
				}
			}
		}
	}
	v.Errors, v.Problem, v.Lockout = errs, u.T(c, "console.policies.not_saved_fields"), lockout
	if lockout != nil {
		v.Problem = u.T(c, "console.policies.not_saved")
	}
	v.Metadata = u.metadataView(c)
	u.nameModels(c.Request.Context(), v.AllowNames, v.DenyNames)
	return u.pages.ConsolePolicies(c.Writer, 422, u.page(c, "console.policies.title"), u.shell(c, "policies"), v)
}

// --- Keys ------------------------------------------------------------

func (u *UI) keysShow(c *gin.Context) error {
	ks, err := u.c.Keys.List(c.Request.Context())
	if err != nil {
		return err
	}
	order := map[string]int{"current": 0, "active": 0, "next": 1, "retired": 2}
	var rows []templates.KeyRow
	for _, k := range ks {
		r := templates.KeyRow{KID: k.KID, Alg: k.Alg, State: u.word(c, "console.keys.state_", k.State, k.State), Created: u.when(c, k.CreatedAt), Activated: u.whenPtr(c, k.ActivatedAt),
			Retired: u.whenPtr(c, k.RetiredAt), Expires: u.whenPtr(c, k.ExpiresAt)}
		switch k.State {
		case "current", "active":
			r.StateClass = "ok"
		case "next":
			r.StateClass = "info"
		}
		if k.RetiredAt == nil {
			r.Retired = "—"
		}
		if k.ExpiresAt == nil {
			r.Expires = "—"
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b templates.KeyRow) int {
		if d := order[a.State] - order[b.State]; d != 0 {
			return d
		}
		return strings.Compare(a.Alg, b.Alg)
	})
	return u.pages.ConsoleKeys(c.Writer, 200, u.page(c, "console.keys.title"), u.shell(c, "keys"), rows)
}

// --- Audit log -------------------------------------------------------

func (u *UI) auditList(c *gin.Context) error {
	bound := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) > MaxQueryLen {
			s = s[:MaxQueryLen]
		}
		return s
	}
	v := templates.ConsoleAuditView{Action: bound(c.Query("action")), TargetType: bound(c.Query("target_type")), TargetID: bound(c.Query("target_id")), Actor: bound(c.Query("actor_id"))}
	// A date range (whole days, UTC); an unreadable date is dropped.
	var since, until time.Time
	if t, err := time.Parse(dateLayout, c.Query("from")); err == nil {
		since, v.From = t, c.Query("from")
	}
	if t, err := time.Parse(dateLayout, c.Query("to")); err == nil && (since.IsZero() || !t.Before(since)) {
		until, v.To = t.AddDate(0, 0, 1), c.Query("to")
	}
	filters := map[string]string{"action": v.Action, "target_type": v.TargetType, "target_id": v.TargetID, "actor_id": v.Actor}
	export := url.Values{}
	for k, val := range filters {
		export.Set(k, val)
	}
	if !since.IsZero() {
		export.Set("since", since.Format(time.RFC3339))
	}
	if !until.IsZero() {
		export.Set("until", until.Format(time.RFC3339))
	}
	v.ExportCSV, v.ExportJSONL = exportLinks("audit", export)
	v.Filtered = v.Action != "" || v.TargetType != "" || v.TargetID != "" || v.Actor != "" || v.From != "" || v.To != ""
	page, err := u.c.Audit.List(c.Request.Context(), AuditQuery{Action: v.Action, TargetType: v.TargetType, TargetID: v.TargetID,
		ActorID: v.Actor, Since: since, Until: until, Cursor: bound(c.Query("cursor")), Limit: 50})
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		v.Rows = append(v.Rows, templates.AuditRow{At: e.At.UTC().Format(u.T(c, "console.audit.time_layout")), Actor: actorLabel(e), ActorKind: e.ActorKind,
			Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, IP: e.IP, Before: e.BeforeJSON, After: e.AfterJSON})
	}
	if page.NextCursor != "" {
		q := url.Values{"cursor": {page.NextCursor}}
		filters["from"], filters["to"] = v.From, v.To
		for k, val := range filters {
			if val != "" {
				q.Set(k, val)
			}
		}
		v.Next = "/console/audit?" + q.Encode()
	}
	return u.pages.ConsoleAudit(c.Writer, 200, u.page(c, "console.audit.title"), u.shell(c, "audit"), v)
}

func actorLabel(e models.AuditEntry) string {
	if e.ActorLabel != "" {
		return e.ActorLabel
	}
	return e.ActorID
}

// allowModeOptions are an allow list's modes, mode selected: what
// happens to passkeys of models off the list.
func allowModeOptions(mode string, t tfunc) []templates.Option {
	out := []templates.Option{
		{Value: policy.ModelEnforce, Label: t("console.policies.model_enforce")},
		{Value: policy.ModelGrace, Label: t("console.policies.model_grace")},
	}
	for i := range out {
		out[i].Checked = mode == out[i].Value || (mode == "" && out[i].Value == policy.ModelEnforce)
	}
	return out
}

// lockoutView is the console's notice of who a change locks out (nil:
// nobody).
func lockoutView(l Lockout, t tfunc) *templates.Lockout {
	if l.Count == 0 {
		return nil
	}
	v := &templates.Lockout{Count: l.Count}
	for _, usr := range l.Users {
		v.Emails = append(v.Emails, usr.Email)
	}
	v.More = l.Count - int64(len(v.Emails))
	var needs []string
	if l.Requirement.DeviceBound {
		needs = append(needs, t("console.lockout.needs_bound"))
	}
	if len(l.Requirement.AllowedAAGUIDs) > 0 {
		needs = append(needs, t("console.lockout.needs_allowed"))
	}
	if l.Requirement.NotCompromised {
		needs = append(needs, t("console.lockout.needs_not_compromised"))
	}
	v.Needs = strings.Join(needs, ", ")
	return v
}

// nameModels names the models of option lists made by aaguidNames as
// the rest of the console does: by the FIDO metadata in force first.
func (u *UI) nameModels(ctx context.Context, lists ...[]templates.Option) {
	for _, l := range lists {
		for i := range l {
			if n := u.c.Users.names.name(ctx, l[i].Value); n != "" {
				l[i].Label = n
			}
		}
	}
}

// aaguidNames names the authenticator model of each AAGUID (the bundled
// list; UI.nameModels adds the FIDO metadata's names).
func aaguidNames(ids []string, t tfunc) []templates.Option {
	var out []templates.Option
	for _, id := range ids {
		name := passkey.AuthenticatorName(id)
		if name == "" {
			name = t("console.policies.unknown_model")
		}
		out = append(out, templates.Option{Value: id, Label: name})
	}
	return out
}

// uiDuration writes d the short way people type it: 10m, 1h30m, 336h.
func uiDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
