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
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// --- Policies --------------------------------------------------------

func newPolicyView(p policy.Policy) templates.ConsolePoliciesView {
	v := templates.ConsolePoliciesView{
		P: templates.PolicyFields{SignupOpen: p.SignupOpen, RequireVerifiedEmail: p.RequireVerifiedEmail, PasslinkRateEmail: p.PasslinkRateEmail, PasslinkRateIP: p.PasslinkRateIP, MDSFile: p.MDSFile,
			SuspendCompromised: p.SuspendCompromisedPasskeys, RegistrationMaxRedirectURIs: p.RegistrationMaxRedirectURIs, RegistrationRateIP: p.RegistrationRateIP,
			TokenExchange: p.TokenExchange, BackchannelLogout: p.BackchannelLogout, FrontchannelLogout: p.FrontchannelLogout,
			PairwiseSubjects: p.PairwiseSubjects},
		Allow: strings.Join(p.AAGUIDAllow, "\n"), Deny: strings.Join(p.AAGUIDDeny, "\n"), Errors: map[string]string{},
	}
	for _, m := range policy.LoginMethods {
		v.Methods = append(v.Methods, templates.Option{Value: m, Label: MethodName(m), Checked: slices.Contains(p.DefaultLoginMethods, m)})
	}
	for _, o := range []templates.Option{
		{Value: "required", Label: "Required — PIN, fingerprint or face every time"},
		{Value: "preferred", Label: "Preferred — when the device can"},
		{Value: "discouraged", Label: "Discouraged — a touch is enough"},
	} {
		o.Checked = p.UserVerification == o.Value
		v.UV = append(v.UV, o)
	}
	for _, o := range []templates.Option{{Value: policy.SyncedAllow, Label: "Allow"}, {Value: policy.SyncedGrace, Label: "Grace: allow, warn and record each use"},
		{Value: policy.SyncedBlock, Label: "Block (only device-bound passkeys)"}} {
		o.Checked = p.SyncedPasskeys == o.Value || (p.SyncedPasskeys == "" && o.Value == policy.SyncedAllow)
		v.Synced = append(v.Synced, o)
	}
	for _, o := range []templates.Option{{Value: policy.RecoveryOff, Label: "Off"},
		{Value: policy.RecoveryOffer, Label: "Offer: people may create codes on their account page"},
		{Value: policy.RecoveryRequire, Label: "Require for accounts without a second passkey"}} {
		o.Checked = p.RecoveryCodes == o.Value || (p.RecoveryCodes == "" && o.Value == policy.RecoveryOff)
		v.Recovery = append(v.Recovery, o)
	}
	for _, o := range []templates.Option{
		{Value: "none", Label: "None — any passkey, its model unproven"},
		{Value: "direct", Label: "Direct — the device proves its model (needed for the model lists)"},
	} {
		o.Checked = p.Attestation == o.Value
		v.Attestation = append(v.Attestation, o)
	}
	v.AllowNames, v.DenyNames = aaguidNames(p.AAGUIDAllow), aaguidNames(p.AAGUIDDeny)
	v.AllowModes = allowModeOptions(p.AAGUIDAllowMode)
	v.RegModes, v.RegGrants, v.RegSchemes = registrationOptions(p)
	d := func(x policy.Duration) string { return uiDuration(time.Duration(x)) }
	v.Durations = []templates.DurationField{
		{Name: "passlink_ttl", Label: "Sign-in link expiry", Value: d(p.PasslinkTTL), Hint: "e.g. 10m"},
		{Name: "login_session_ttl", Label: "Login session lifetime", Value: d(p.LoginSessionTTL), Hint: "e.g. 720h; applies to sessions started from now on"},
		{Name: "access_token_ttl", Label: "Access token lifetime", Value: d(p.AccessTokenTTL), Hint: "e.g. 1h; applies to tokens issued from now on, unless the app sets its own"},
		{Name: "refresh_token_ttl", Label: "Refresh token lifetime", Value: d(p.RefreshTokenTTL), Hint: "e.g. 720h; applies to tokens issued from now on, unless the app sets its own"},
		{Name: "id_token_ttl", Label: "ID token lifetime", Value: d(p.IDTokenTTL), Hint: "e.g. 1h; applies to tokens issued from now on, unless the app sets its own"},
	}
	return v
}

func (u *UI) policiesShow(c *gin.Context) error {
	p, err := u.c.Policies.Current(c.Request.Context())
	if err != nil {
		return err
	}
	v := newPolicyView(p)
	v.Metadata = u.metadataView(c.Request.Context())
	u.nameModels(c.Request.Context(), v.AllowNames, v.DenyNames)
	return u.pages.ConsolePolicies(c.Writer, 200, templates.Page{Title: "Policies"}, u.shell(c, "policies"), v)
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
		SuspendCompromisedPasskeys: c.PostForm("suspend_compromised_passkeys") == "on",
		TokenExchange:              c.PostForm("token_exchange") == "on",
		BackchannelLogout:          c.PostForm("backchannel_logout") == "on",
		FrontchannelLogout:         c.PostForm("frontchannel_logout") == "on",
		PairwiseSubjects:           c.PostForm("pairwise_subjects") == "on",
	}
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.PostForm(name)))
		if err != nil || n < 0 {
			errs[name] = "Enter a whole number."
		}
		return n
	}
	p.PasslinkRateEmail, p.PasslinkRateIP = num("passlink_rate_email"), num("passlink_rate_ip")
	dur := func(name string) policy.Duration {
		d, err := time.ParseDuration(strings.TrimSpace(c.PostForm(name)))
		if err != nil || d <= 0 {
			errs[name] = "Enter a duration such as 10m, 1h or 720h."
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
		if lockout = lockoutView(l); lockout != nil {
			errs["_"] = "This change locks people out: see who below, then confirm, or choose Grace first to see who it affects."
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
			errs[fe.Field] = fe.Message
		}
		if len(pr.Errors) == 0 {
			errs["_"] = pr.Detail
		}
	}
	v := newPolicyView(p)
	for _, f := range v.Durations {
		if errs[f.Name] != "" {
			for i := range v.Durations {
				if v.Durations[i].Name == f.Name {
					v.Durations[i].Value = c.PostForm(f.Name)
				}
			}
		}
	}
	v.Errors, v.Problem, v.Lockout = errs, "The policies were not saved. Check the fields marked below.", lockout
	if lockout != nil {
		v.Problem = "The policies were not saved."
	}
	v.Metadata = u.metadataView(c.Request.Context())
	u.nameModels(c.Request.Context(), v.AllowNames, v.DenyNames)
	return u.pages.ConsolePolicies(c.Writer, 422, templates.Page{Title: "Policies"}, u.shell(c, "policies"), v)
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
		r := templates.KeyRow{KID: k.KID, Alg: k.Alg, State: k.State, Created: uiWhen(k.CreatedAt), Activated: uiWhenPtr(k.ActivatedAt),
			Retired: uiWhenPtr(k.RetiredAt), Expires: uiWhenPtr(k.ExpiresAt)}
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
	return u.pages.ConsoleKeys(c.Writer, 200, templates.Page{Title: "Signing keys"}, u.shell(c, "keys"), rows)
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
		v.Rows = append(v.Rows, templates.AuditRow{At: e.At.UTC().Format("2006-01-02 15:04:05"), Actor: actorLabel(e), ActorKind: e.ActorKind,
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
	return u.pages.ConsoleAudit(c.Writer, 200, templates.Page{Title: "Audit log"}, u.shell(c, "audit"), v)
}

func actorLabel(e models.AuditEntry) string {
	if e.ActorLabel != "" {
		return e.ActorLabel
	}
	return e.ActorID
}

// allowModeOptions are an allow list's modes, mode selected: what
// happens to passkeys of models off the list.
func allowModeOptions(mode string) []templates.Option {
	out := []templates.Option{
		{Value: policy.ModelEnforce, Label: "Refuse them (enforce)"},
		{Value: policy.ModelGrace, Label: "Accept, warn and record (grace)"},
	}
	for i := range out {
		out[i].Checked = mode == out[i].Value || (mode == "" && out[i].Value == policy.ModelEnforce)
	}
	return out
}

// lockoutView is the console's notice of who a change locks out (nil:
// nobody).
func lockoutView(l Lockout) *templates.Lockout {
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
		needs = append(needs, "device-bound (not synced)")
	}
	if len(l.Requirement.AllowedAAGUIDs) > 0 {
		needs = append(needs, "of an allowed model, proven by attestation")
	}
	if l.Requirement.NotCompromised {
		needs = append(needs, "of a model not reported compromised")
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
func aaguidNames(ids []string) []templates.Option {
	var out []templates.Option
	for _, id := range ids {
		name := passkey.AuthenticatorName(id)
		if name == "" {
			name = "unknown model"
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
