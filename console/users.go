package console

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/models"
)

// Users manages end users and admins.
type Users struct {
	st    userStore
	audit *Audit
	// passlinks sends sign-in links (users_passlink.go); nil: off.
	passlinks PasslinkSender
	// live is the global policy (suspend_compromised_passkeys decides
	// whether a lifted suspension would hold); nil: unknown, treated as on.
	live LivePolicy
	// names names authenticator models (ModelNamer).
	names ModelNamer
}

// ModelNamer names an authenticator model by its AAGUID: the passkey
// service's ModelName (the FIDO metadata in force, then the bundled
// list). The zero value knows the bundled list only (the CLI).
type ModelNamer func(ctx context.Context, aaguid string) string

// name is the model of aaguid for people ("" when unknown).
func (n ModelNamer) name(ctx context.Context, aaguid string) string {
	if n == nil {
		return passkey.AuthenticatorName(aaguid)
	}
	return n(ctx, aaguid)
}

// SetModelNamer makes the services name models with n (at wiring time).
func (s *Services) SetModelNamer(n ModelNamer) { s.Users.names, s.Health.names = n, n }

// UserView is a user as the console and API show it.
type UserView struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	DisplayName   string `json:"display_name"`
	// Username is the preferred_username claim; "" when unset.
	Username string `json:"username"`
	Disabled bool   `json:"disabled"`
	Admin    bool   `json:"admin"`
	// DeletionDueAt is when the user's own deletion request takes effect;
	// null when none is pending.
	DeletionDueAt *time.Time `json:"deletion_due_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ViewUser builds the view of u.
func ViewUser(u *models.User) UserView {
	v := UserView{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, DisplayName: u.DisplayName,
		Disabled: u.Disabled, Admin: u.IsAdmin(), DeletionDueAt: u.DeletionDueAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Username != nil {
		v.Username = *u.Username
	}
	return v
}

// CredentialView is a WebAuthn credential without its key material.
type CredentialView struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	AAGUID  string `json:"aaguid"`
	Model   string `json:"model"`
	Synced  bool   `json:"synced"`
	UV      bool   `json:"user_verified"`
	Flagged bool   `json:"clone_warning"`
	// CompromisedStatus and SuspendedAt: the FIDO metadata reports the
	// model compromised (authn/passkey/mdsfetch.go).
	CompromisedStatus string     `json:"compromised_status"`
	SuspendedAt       *time.Time `json:"suspended_at"`
	CreatedAt         time.Time  `json:"created_at"`
	LastUsedAt        *time.Time `json:"last_used_at"`
}

// SessionView is a login session without its secret.
type SessionView struct {
	ID         string    `json:"id"`
	ACR        string    `json:"acr"`
	AMR        []string  `json:"amr"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AuthTime   time.Time `json:"auth_time"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// EventView is one recorded sign-in attempt.
type EventView struct {
	At       time.Time `json:"at"`
	Event    string    `json:"event"`
	Method   string    `json:"method"`
	Result   string    `json:"result"`
	Reason   string    `json:"reason"`
	ClientID string    `json:"client_id"`
	IP       string    `json:"ip"`
	// UserAgent is the browser's User-Agent header as sent.
	UserAgent string `json:"user_agent"`
}

// UserDetail is the user page: the user, their profile and groups,
// credentials, live sessions and recent sign-ins.
type UserDetail struct {
	User        UserView         `json:"user"`
	Profile     ProfileSpec      `json:"profile"`
	Groups      []string         `json:"groups"`
	Credentials []CredentialView `json:"credentials"`
	Sessions    []SessionView    `json:"sessions"`
	Events      []EventView      `json:"recent_events"`
	// Grants are the apps the user granted access (remembered consents).
	Grants []GrantView `json:"grants"`
	// RecoveryCodes is how many unused recovery codes the user has.
	RecoveryCodes int64 `json:"recovery_codes"`
	// Identities are the upstream identities linked to the account.
	Identities []IdentityView `json:"upstream_identities"`
}

// IdentityView is an upstream identity linked to an account: the
// provider and its subject, and the verified address it had when linked.
type IdentityView struct {
	ID         string     `json:"id"`
	Provider   string     `json:"provider"`
	Subject    string     `json:"subject"`
	Email      string     `json:"email"`
	LinkedAt   time.Time  `json:"linked_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// GrantView is an app a user granted access, with the scopes granted.
type GrantView struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

// recentEvents is how many auth events the user page shows.
const recentEvents = 20

// Search returns users whose email or name contains q, and whether more
// follow.
func (s *Users) Search(ctx context.Context, q string, offset, limit int) ([]UserView, bool, error) {
	if len(q) > MaxQueryLen {
		return nil, false, invalid("q", "at most %d characters", MaxQueryLen)
	}
	if offset < 0 || offset > MaxOffset {
		return nil, false, invalid("offset", "between 0 and %d", MaxOffset)
	}
	limit = ClampLimit(limit)
	rows, err := s.st.SearchUsers(ctx, q, offset, limit+1)
	if err != nil {
		return nil, false, err
	}
	out, more := userPage(rows, limit)
	return out, more, nil
}

// Show returns a user with credentials, sessions and recent sign-ins.
func (s *Users) Show(ctx context.Context, id string) (*UserDetail, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	creds, err := s.st.ListUserCredentials(ctx, id)
	if err != nil {
		return nil, err
	}
	sessions, err := s.st.ListUserLoginSessions(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.st.ListAuthEvents(ctx, id, recentEvents)
	if err != nil {
		return nil, err
	}
	groups, err := s.st.UserGroups(ctx, id)
	if err != nil {
		return nil, err
	}
	consents, err := s.st.ListConsents(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &UserDetail{User: ViewUser(u), Profile: ProfileOf(u), Groups: nonNil(groups), Credentials: []CredentialView{}, Sessions: []SessionView{}, Events: []EventView{},
		Grants: make([]GrantView, 0, len(consents))}
	if d.RecoveryCodes, err = s.st.CountRecoveryCodes(ctx, id); err != nil {
		return nil, err
	}
	ids, err := s.st.ListUserUpstreamIdentities(ctx, id)
	if err != nil {
		return nil, err
	}
	d.Identities = make([]IdentityView, 0, len(ids))
	for _, i := range ids {
		d.Identities = append(d.Identities, IdentityView{ID: i.ID, Provider: i.ProviderID, Subject: i.Subject, Email: i.Email,
			LinkedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt})
	}
	for _, c := range consents {
		d.Grants = append(d.Grants, GrantView{ClientID: c.ClientID, Scopes: nonNil(c.Scopes), GrantedAt: c.UpdatedAt})
	}
	for _, c := range creds {
		d.Credentials = append(d.Credentials, CredentialView{ID: c.ID, Kind: c.Kind, Name: c.Name, AAGUID: c.AAGUID,
			Model: s.names.name(ctx, c.AAGUID), Synced: c.BackupEligible, UV: c.UserVerified, Flagged: c.CloneWarning,
			CompromisedStatus: c.CompromisedStatus, SuspendedAt: c.SuspendedAt, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt})
	}
	for _, ls := range sessions {
		d.Sessions = append(d.Sessions, SessionView{ID: ls.ID, ACR: ls.ACR, AMR: nonNil(ls.AMR), IP: ls.IP, UserAgent: ls.UserAgent,
			AuthTime: ls.AuthTime, LastSeenAt: ls.LastSeenAt, ExpiresAt: ls.ExpiresAt})
	}
	for _, e := range events {
		d.Events = append(d.Events, eventView(e))
	}
	return d, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// guardAdminChange refuses acting on oneself and removing the last
// enabled admin.
func (s *Users) guardAdminChange(ctx context.Context, u *models.User) error {
	act := ActorFrom(ctx)
	if act.Kind == models.ActorUser && act.ID == u.ID {
		return ErrSelf
	}
	if !u.IsAdmin() || u.Disabled {
		return nil
	}
	n, err := s.st.CountAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastAdmin
	}
	return nil
}

// Create adds a user (the CLI's user create; people otherwise sign up on
// the hosted pages). A taken address gives an error wrapping
// models.ErrAlreadyExists.
func (s *Users) Create(ctx context.Context, email, name string, verified bool) (*UserView, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	u := &models.User{ID: id.String(), Email: email, DisplayName: name, EmailVerified: verified}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	v := ViewUser(u)
	if err := s.audit.Record(ctx, "user.create", "user", u.ID, nil, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// IsAdmin reports whether the user holds the admin role (the API uses it
// to decide whether disabling needs a step-up).
func (s *Users) IsAdmin(ctx context.Context, id string) (bool, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return false, err
	}
	return u.IsAdmin(), nil
}

// SetDisabled disables (revoking every session and token at once) or
// enables a user.
func (s *Users) SetDisabled(ctx context.Context, id string, disabled bool) (*UserView, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if disabled {
		if err := s.guardAdminChange(ctx, u); err != nil {
			return nil, err
		}
		if u.IsAdmin() {
			if err := checkStepUp(ctx, s.st); err != nil {
				return nil, err
			}
		}
	}
	before := ViewUser(u)
	if err := s.st.SetUserDisabled(ctx, id, disabled); err != nil {
		return nil, err
	}
	u.Disabled = disabled
	after := ViewUser(u)
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	if err := s.audit.Record(ctx, action, "user", id, before, after); err != nil {
		return nil, err
	}
	return &after, nil
}

// SetAdmin grants or takes the admin role.
func (s *Users) SetAdmin(ctx context.Context, id string, admin bool) (*UserView, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if !admin {
		if err := s.guardAdminChange(ctx, u); err != nil {
			return nil, err
		}
	}
	// Either way it changes who holds the keys to everything: a fresh
	// confirmation that the admin is at the keyboard.
	if err := checkStepUp(ctx, s.st); err != nil {
		return nil, err
	}
	before := ViewUser(u)
	role := ""
	if admin {
		role = models.RoleAdmin
	}
	if err := s.st.SetUserRole(ctx, id, role); err != nil {
		return nil, err
	}
	u.Role = role
	after := ViewUser(u)
	action := "user.revoke_admin"
	if admin {
		action = "user.grant_admin"
	}
	if err := s.audit.Record(ctx, action, "user", id, before, after); err != nil {
		return nil, err
	}
	return &after, nil
}

// Delete removes a user with their credentials, sessions and tokens.
func (s *Users) Delete(ctx context.Context, id string) error {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return err
	}
	if err := s.guardAdminChange(ctx, u); err != nil {
		return err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return err
	}
	if err := s.st.DeleteUser(ctx, id); err != nil {
		return err
	}
	return s.audit.Record(ctx, "user.delete", "user", id, ViewUser(u), nil)
}

// RemoveCredential deletes one of a user's passkeys or security keys.
func (s *Users) RemoveCredential(ctx context.Context, userID, credID string) error {
	if credID == "" || len(credID) > 1400 {
		return errNotFound
	}
	c, err := s.st.GetCredential(ctx, credID)
	if err != nil {
		return err
	}
	if c.UserID != userID {
		return errNotFound
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return err
	}
	if err := s.st.DeleteCredential(ctx, userID, credID); err != nil {
		return err
	}
	return s.audit.Record(ctx, "user.remove_credential", "user", userID,
		map[string]string{"credential_id": c.ID, "kind": c.Kind, "name": c.Name, "aaguid": c.AAGUID}, nil)
}

// userPage turns rows fetched with one extra (limit+1) into a page of views
// and whether more follow.
func userPage(rows []models.User, limit int) ([]UserView, bool) {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]UserView, len(rows))
	for i := range rows {
		out[i] = ViewUser(&rows[i])
	}
	return out, more
}
