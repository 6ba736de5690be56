package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Lockout preview: before a stricter passkey policy is saved (synced
// passkeys blocked, an enforced AAGUID allow list, compromised models
// suspended; globally or for one app), who would be left without a
// passkey that signs in. The console shows them and saves only when the
// admin confirms; the API previews (POST …/preview) and refuses a save
// that locks people out without ?confirm_lockout=true (409 lockout).

// LockoutPreviewMax is how many of the people locked out a preview names.
const LockoutPreviewMax = 20

// lockoutStore is what the preview reads (*store.Store).
type lockoutStore interface {
	UsersNewlyWithoutQualifyingPasskey(ctx context.Context, cur, next store.PasskeyRequirement, limit int) (int64, []models.User, error)
}

// LockoutUser is a person a policy would lock out.
type LockoutUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Lockout is who a policy change would leave without a passkey that signs
// in: Count people, the first LockoutPreviewMax of them by address.
type Lockout struct {
	Count int64         `json:"count"`
	Users []LockoutUser `json:"users"`
	// Requirement says what a passkey must be under the new policy.
	Requirement Requirement `json:"requirement"`
}

// Requirement is what a passkey must be to sign in under a policy.
type Requirement struct {
	DeviceBound    bool     `json:"device_bound"`
	AllowedAAGUIDs []string `json:"allowed_aaguids"`
	NotCompromised bool     `json:"not_compromised"`
}

func (r Requirement) store() store.PasskeyRequirement {
	return store.PasskeyRequirement{DeviceBound: r.DeviceBound, AllowedAAGUIDs: r.AllowedAAGUIDs, NotCompromised: r.NotCompromised}
}

// globalRequirement is what the global policy p asks of every passkey (a
// grace mode asks nothing: it only warns).
func globalRequirement(p policy.Policy) Requirement {
	r := Requirement{DeviceBound: p.SyncedPasskeys == policy.SyncedBlock, NotCompromised: p.SuspendCompromisedPasskeys, AllowedAAGUIDs: []string{}}
	if p.AAGUIDAllowMode != policy.ModelGrace {
		r.AllowedAAGUIDs = normalAAGUIDs(p.AAGUIDAllow)
	}
	return r
}

// clientRequirement is what app spec asks of passkeys under the global
// policy p: its own synced-passkey policy replaces the global one, and
// its own allow list narrows the global one (an app can only ask for
// more).
func clientRequirement(p policy.Policy, spec clients.Spec) Requirement {
	r := globalRequirement(p)
	switch spec.SyncedPasskeys {
	case policy.SyncedBlock:
		r.DeviceBound = true
	case policy.SyncedAllow, policy.SyncedGrace:
		r.DeviceBound = false
	}
	if spec.AAGUIDAllowMode != policy.ModelGrace && len(spec.AAGUIDAllow) > 0 {
		own := normalAAGUIDs(spec.AAGUIDAllow)
		if len(r.AllowedAAGUIDs) > 0 {
			own = slices.DeleteFunc(own, func(a string) bool { return !slices.Contains(r.AllowedAAGUIDs, a) })
			if len(own) == 0 {
				own = []string{"00000000-0000-0000-0000-000000000000"} // no model meets both lists
			}
		}
		r.AllowedAAGUIDs = own
	}
	return r
}

// normalAAGUIDs is a list as the store keeps AAGUIDs: lower case.
func normalAAGUIDs(l []string) []string {
	out := make([]string, 0, len(l))
	for _, a := range l {
		out = append(out, strings.ToLower(strings.TrimSpace(a)))
	}
	return out
}

// lockout counts who moving from requirement cur to next locks out.
func lockout(ctx context.Context, st lockoutStore, cur, next Requirement) (Lockout, error) {
	n, users, err := st.UsersNewlyWithoutQualifyingPasskey(ctx, cur.store(), next.store(), LockoutPreviewMax)
	if err != nil {
		return Lockout{}, err
	}
	out := Lockout{Count: n, Users: make([]LockoutUser, 0, len(users)), Requirement: next}
	for _, u := range users {
		out.Users = append(out.Users, LockoutUser{ID: u.ID, Email: u.Email})
	}
	return out, nil
}

// Preview is who saving p as the global policy would lock out (people
// with a passkey that signs in today and none under p).
func (s *Policies) Preview(ctx context.Context, p policy.Policy) (Lockout, error) {
	cur, err := s.live.Current(ctx)
	if err != nil {
		return Lockout{}, err
	}
	return lockout(ctx, s.lock, globalRequirement(cur), globalRequirement(p.Normalize()))
}

// Preview is who saving spec for app id would lock out at its sign-ins.
func (s *Clients) Preview(ctx context.Context, id string, spec clients.Spec) (Lockout, error) {
	cur, err := s.svc.Get(ctx, id)
	if err != nil {
		return Lockout{}, err
	}
	p, err := s.policies.Current(ctx)
	if err != nil {
		return Lockout{}, err
	}
	return lockout(ctx, s.policies.lock, clientRequirement(p, ViewClient(cur).Spec), clientRequirement(p, spec))
}

// ErrLockout refuses a save that would lock people out without the
// admin's confirmation.
func errLockout(l Lockout) *Problem {
	names := make([]string, 0, 3)
	for _, u := range l.Users[:min(3, len(l.Users))] {
		names = append(names, u.Email)
	}
	who := strings.Join(names, ", ")
	if l.Count > int64(len(names)) {
		who += ", …"
	}
	return problem(http.StatusConflict, "lockout", "This locks people out",
		fmt.Sprintf("Saving this leaves %d %s without a passkey that signs in (%s). See who with the preview endpoint; send confirm_lockout=true to save anyway.",
			l.Count, map[bool]string{true: "person", false: "people"}[l.Count == 1], who))
}
