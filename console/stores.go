package console

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// The slices of the store each console service uses, declared here on
// the consumer's side (*store.Store has them all): a service's
// dependencies can be read off its interface, and it can be tested with
// a fake. Policies, the sign-out and step-up handlers and the setup link
// still take *store.Store (transactions, sessions, invites).

// stepUpStore is what the step-up rule reads (checkStepUp).
type stepUpStore interface {
	GetLoginSession(ctx context.Context, id string) (*models.LoginSession, error)
}

// auditStore backs Audit.
type auditStore interface {
	CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error
	ListAuditEntries(ctx context.Context, f store.AuditFilter, limit int) ([]models.AuditEntry, error)
}

// userStore backs Users.
type userStore interface {
	stepUpStore
	SearchUsers(ctx context.Context, q string, offset, limit int) ([]models.User, error)
	GetUser(ctx context.Context, id string) (*models.User, error)
	ListUserCredentials(ctx context.Context, userID string) ([]models.WebAuthnCredential, error)
	ListUserLoginSessions(ctx context.Context, userID string) ([]models.LoginSession, error)
	ListAuthEvents(ctx context.Context, userID string, limit int) ([]models.AuthEvent, error)
	CountAdmins(ctx context.Context) (int64, error)
	CreateUser(ctx context.Context, u *models.User) error
	SetUserDisabled(ctx context.Context, id string, disabled bool) error
	SetUserRole(ctx context.Context, id, role string) error
	DeleteUser(ctx context.Context, id string) error
	GetCredential(ctx context.Context, id string) (*models.WebAuthnCredential, error)
	DeleteCredential(ctx context.Context, userID, id string) error
	// Suspending a credential and lifting it (credentials_suspend.go).
	SuspendCredential(ctx context.Context, id string, at time.Time) error
	LiftCredentialSuspension(ctx context.Context, id string) error
	SetUserProfile(ctx context.Context, id string, p store.UserProfile) error
	UserGroups(ctx context.Context, userID string) ([]string, error)
	// The everyday actions (users_admin.go).
	SearchUsersFiltered(ctx context.Context, f store.UserFilter, offset, limit int) ([]models.User, error)
	UsersActivity(ctx context.Context, ids []string) (map[string]store.UserActivity, error)
	ListUserAuthEvents(ctx context.Context, userID string, f store.EventFilter, limit int) ([]models.AuthEvent, error)
	SetUserIdentity(ctx context.Context, id string, in store.UserIdentity) error
	CountLiveLoginSessions(ctx context.Context, userID string) (int64, error)
	RevokeUserLoginSessions(ctx context.Context, userID string) error
	ListConsents(ctx context.Context, userID string) ([]models.Consent, error)
	RevokeUserGrants(ctx context.Context, userID string) (int64, error)
	CancelUserDeletion(ctx context.Context, id string) (bool, error)
	// Bulk import and export (users_bulk.go).
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	MissingGroups(ctx context.Context, names []string) ([]string, error)
	AddGroupMember(ctx context.Context, name, userID string) error
	GroupsOfUsers(ctx context.Context, ids []string) (map[string][]string, error)
	// The user's own lifecycle as the admin sees and touches it
	// (users_admin.go, users.go).
	InvalidateAddressLinks(ctx context.Context, emailNormalized string) (int64, error)
	CountRecoveryCodes(ctx context.Context, userID string) (int64, error)
	ListUserUpstreamIdentities(ctx context.Context, userID string) ([]models.UpstreamIdentity, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error)
	RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error
}

// groupStore backs Groups.
type groupStore interface {
	ListGroups(ctx context.Context) ([]models.Group, error)
	GroupSummary(ctx context.Context, name string) (*models.Group, error)
	GroupMembers(ctx context.Context, groupID string, offset, limit int) ([]models.User, error)
	CreateGroup(ctx context.Context, g *models.Group) error
	UpdateGroupDescription(ctx context.Context, name, description string) error
	DeleteGroup(ctx context.Context, name string) error
	AddGroupMember(ctx context.Context, name, userID string) error
	RemoveGroupMember(ctx context.Context, name, userID string) error
	UserGroups(ctx context.Context, userID string) ([]string, error)
	GetUser(ctx context.Context, id string) (*models.User, error)
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	ListClients(ctx context.Context) ([]models.Client, error)
}

// scopeStore backs Scopes.
type scopeStore interface {
	ListCustomScopes(ctx context.Context) ([]models.CustomScope, error)
	GetCustomScope(ctx context.Context, name string) (*models.CustomScope, error)
	CreateCustomScope(ctx context.Context, sc *models.CustomScope) error
	UpdateCustomScope(ctx context.Context, sc *models.CustomScope) error
	DeleteCustomScope(ctx context.Context, name string) error
	ListClients(ctx context.Context) ([]models.Client, error)
	ListResources(ctx context.Context) ([]models.Resource, error)
}

// resourceStore backs Resources.
type resourceStore interface {
	ListResources(ctx context.Context) ([]models.Resource, error)
	GetResource(ctx context.Context, name string) (*models.Resource, error)
	CreateResource(ctx context.Context, r *models.Resource) error
	UpdateResource(ctx context.Context, r *models.Resource) error
	DeleteResource(ctx context.Context, name string) error
	ListCustomScopes(ctx context.Context) ([]models.CustomScope, error)
}

// StatsStore backs StatsService: counts and recent events, never a scan
// of whole tables on a hot path.
type StatsStore interface {
	CountActiveUsersSince(ctx context.Context, from time.Time, withPasskey bool) (int64, error)
	CountAuthEvents(ctx context.Context, q store.CountQuery) ([]store.CountRow, error)
	CountCredentials(ctx context.Context) ([]store.CredentialCount, error)
	ListClients(ctx context.Context) ([]models.Client, error)
	NewAccountsPerDay(ctx context.Context, from, to time.Time) (map[time.Time]int64, error)
	NewAccountsPerHour(ctx context.Context, from, to time.Time) (map[time.Time]int64, error)
	RecentAuthEvents(ctx context.Context, since time.Time, limit int) ([]models.AuthEvent, error)
	UsersByID(ctx context.Context, ids []string) (map[string]*models.User, error)
	AdoptionFunnel(ctx context.Context, from time.Time) (store.Funnel, error)
}

// *store.Store is every one of them.
var (
	_ auditStore    = (*store.Store)(nil)
	_ userStore     = (*store.Store)(nil)
	_ scopeStore    = (*store.Store)(nil)
	_ resourceStore = (*store.Store)(nil)
	_ groupStore    = (*store.Store)(nil)
	_ StatsStore    = (*store.Store)(nil)
	_ healthStore   = (*store.Store)(nil)
)
