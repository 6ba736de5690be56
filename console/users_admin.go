package console

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/templates"
)

// An administrator's everyday work on users: find them (filters, last
// sign-in, passkeys), add one (and send the sign-up link), edit the
// address, name and verified state, sign them out everywhere or withdraw
// their apps' grants without disabling them, read their sign-in history.
// Each change is audited with its actor and before/after.

// UserQuery selects users for the list: Query matches the address or the
// name; each flag keeps only users that have it.
type UserQuery struct {
	Query      string
	Admins     bool
	Disabled   bool
	Unverified bool
}

// UserListItem is a user as the list shows them.
type UserListItem struct {
	UserView
	// LastSignInAt is the last successful sign-in, null when none.
	LastSignInAt *time.Time `json:"last_sign_in_at"`
	// Credentials counts passkeys and security keys.
	Credentials int64 `json:"credentials"`
}

// List returns the users q selects with their activity, and whether more
// follow.
func (s *Users) List(ctx context.Context, q UserQuery, offset, limit int) ([]UserListItem, bool, error) {
	if len(q.Query) > MaxQueryLen {
		return nil, false, invalid("q", "at most %d characters", MaxQueryLen)
	}
	if offset < 0 || offset > MaxOffset {
		return nil, false, invalid("offset", "between 0 and %d", MaxOffset)
	}
	limit = ClampLimit(limit)
	rows, err := s.st.SearchUsersFiltered(ctx, store.UserFilter{Query: q.Query, Admins: q.Admins, Disabled: q.Disabled, Unverified: q.Unverified}, offset, limit+1)
	if err != nil {
		return nil, false, err
	}
	views, more := userPage(rows, limit)
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	act, err := s.st.UsersActivity(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	out := make([]UserListItem, len(views))
	for i, v := range views {
		out[i] = UserListItem{UserView: v}
		if a, ok := act[v.ID]; ok {
			out[i].Credentials = a.Passkeys
			if !a.LastSignIn.IsZero() {
				t := a.LastSignIn
				out[i].LastSignInAt = &t
			}
		}
	}
	return out, more, nil
}

// NewUser is an administrator's new user.
type NewUser struct {
	Email         string `json:"email"`
	DisplayName   string `json:"display_name"`
	EmailVerified bool   `json:"email_verified"`
	// SendLink mails the new user a sign-in link (they then add a
	// passkey): the sign-up link.
	SendLink bool `json:"send_link"`
}

// AddedUser is the answer to "add a user".
type AddedUser struct {
	User UserView `json:"user"`
	// Link is the sign-up link sent, null when none was asked for.
	Link *PasslinkSent `json:"link"`
}

// maxEmailLen bounds an address (RFC 5321's path limit).
const maxEmailLen = 254

// checkEmail returns the bare address in raw, or a field problem.
func checkEmail(field, raw string) (string, error) {
	email := strings.TrimSpace(raw)
	if a, err := mail.ParseAddress(email); email == "" || len(email) > maxEmailLen || err != nil || a.Address != email || a.Name != "" {
		return "", invalid(field, "a bare email address such as ada@example.com")
	}
	return email, nil
}

// checkName returns the trimmed display name, or a field problem.
func checkName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	if utf8.RuneCountInString(name) > maxNameLen || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", invalid("display_name", "at most %d characters, on one line", maxNameLen)
	}
	return name, nil
}

// Add creates a user as an administrator and, when asked, mails them a
// sign-up link (a one-time sign-in after which they add a passkey). Asking
// for the link where none can be sent refuses before anything is created.
func (s *Users) Add(ctx context.Context, in NewUser) (*AddedUser, error) {
	email, eerr := checkEmail("email", in.Email)
	name, nerr := checkName(in.DisplayName)
	if err := joinProblems(eerr, nerr); err != nil {
		return nil, err
	}
	if in.SendLink && s.passlinks == nil {
		return nil, errPasslinksOff
	}
	v, err := s.Create(ctx, email, name, in.EmailVerified)
	if errors.Is(err, models.ErrAlreadyExists) {
		return nil, fieldConflict("email", "another user has this address")
	}
	if err != nil {
		return nil, err
	}
	out := &AddedUser{User: *v}
	if in.SendLink {
		sent, err := s.SendPasslink(ctx, v.ID)
		if err != nil {
			return nil, fmt.Errorf("add user: the user was created, but the link was not sent: %w", err)
		}
		out.Link = sent
	}
	return out, nil
}

// joinProblems merges field problems into one 422 naming every field.
func joinProblems(errs ...error) error {
	var out *Problem
	for _, err := range errs {
		var p *Problem
		if err == nil || !errors.As(err, &p) {
			continue
		}
		if out == nil {
			cp := *p
			cp.Errors = nil
			out = &cp
		}
		out.Errors = append(out.Errors, p.Errors...)
	}
	if out == nil {
		return nil
	}
	return out
}

// UserUpdate is an administrator's edit of a user: only the fields sent
// change. A new address is unverified unless email_verified says
// otherwise in the same request; the user is then asked to prove it at
// their next sign-in.
type UserUpdate struct {
	Email         *string `json:"email,omitempty"`
	DisplayName   *string `json:"display_name,omitempty"`
	EmailVerified *bool   `json:"email_verified,omitempty"`
}

// Update edits a user's address, display name and verified state.
func (s *Users) Update(ctx context.Context, id string, in UserUpdate) (*UserView, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	next := store.UserIdentity{Email: u.Email, EmailVerified: u.EmailVerified, DisplayName: u.DisplayName}
	var errs []error
	if in.Email != nil {
		email, err := checkEmail("email", *in.Email)
		errs = append(errs, err)
		if err == nil && store.NormalizeEmail(email) != u.EmailNormalized {
			next.EmailVerified = false
		}
		next.Email = cmpOr(email, next.Email)
	}
	if in.DisplayName != nil {
		name, err := checkName(*in.DisplayName)
		errs = append(errs, err)
		next.DisplayName = name
	}
	if in.EmailVerified != nil {
		next.EmailVerified = *in.EmailVerified
	}
	if err := joinProblems(errs...); err != nil {
		return nil, err
	}
	before := ViewUser(u)
	moved := store.NormalizeEmail(next.Email) != u.EmailNormalized
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.SetUserIdentity(ctx, id, next); err != nil {
			return err
		}
		if !moved {
			return nil
		}
		return s.addressMoved(ctx, u, next)
	})
	if errors.Is(err, models.ErrAlreadyExists) {
		return nil, fieldConflict("email", "another user has this address")
	}
	if err != nil {
		return nil, err
	}
	if moved && s.passlinks != nil {
		s.passlinks.Kick()
	}
	if u, err = s.st.GetUser(ctx, id); err != nil {
		return nil, err
	}
	after := ViewUser(u)
	if err := s.audit.Record(ctx, "user.update", "user", id, before, after); err != nil {
		return nil, err
	}
	return &after, nil
}

// ReverifyTTL is how long the link that proves an address an
// administrator set works.
const ReverifyTTL = 24 * time.Hour

// addressMoved is what follows an administrator's change of a user's
// address, in its transaction: sign-in links and codes still pending for
// the old address are spent (they must not sign in by a mailbox the
// account no longer has); where mail is on, the old address gets a
// notice and the new one, unless the administrator marked it verified, a
// link that proves it (store.ProveCurrentEmail). Until then the address
// is unverified and the next passkey sign-in asks for the proof
// (models.User.EmailVerificationDue), the path that existed before.
func (s *Users) addressMoved(ctx context.Context, u *models.User, next store.UserIdentity) error {
	if _, err := s.st.InvalidateAddressLinks(ctx, u.EmailNormalized); err != nil {
		return err
	}
	if s.passlinks == nil {
		return nil
	}
	if !next.EmailVerified {
		if err := s.passlinks.SendAccountMail(ctx, passlink.AccountMail{Purpose: models.PasslinkEmailConfirm, UserID: u.ID,
			Email: next.Email, Template: "email_confirm", Lang: templates.MailLanguage(u.Locale, ""), TTL: ReverifyTTL,
			IP: ActorFrom(ctx).IP}); err != nil {
			return err
		}
	}
	return s.passlinks.SendAccountMail(ctx, passlink.AccountMail{UserID: u.ID, Email: u.Email,
		Template: "email_changed_notice", Lang: templates.MailLanguage(u.Locale, ""), Other: map[string]string{"new": next.Email}})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Revoked says what a revocation ended.
type Revoked struct {
	UserID string `json:"user_id"`
	// Sessions is the number of login sessions ended (sign out
	// everywhere); Grants the number of app grants withdrawn.
	Sessions int64 `json:"sessions"`
	Grants   int64 `json:"grants"`
}

// SignOutEverywhere ends every login session of a user and revokes every
// token issued to them; the user stays enabled and may sign in again.
func (s *Users) SignOutEverywhere(ctx context.Context, id string) (*Revoked, error) {
	if _, err := s.st.GetUser(ctx, id); err != nil {
		return nil, err
	}
	n, err := s.st.CountLiveLoginSessions(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.st.RevokeUserLoginSessions(ctx, id); err != nil {
		return nil, err
	}
	out := &Revoked{UserID: id, Sessions: n}
	if err := s.audit.Record(ctx, "user.revoke_sessions", "user", id, map[string]int64{"sessions": n}, map[string]int64{"sessions": 0}); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeGrants withdraws every app grant (remembered consent) of a user
// and revokes their tokens; their login sessions live on, so the next
// visit to an app asks for consent again.
func (s *Users) RevokeGrants(ctx context.Context, id string) (*Revoked, error) {
	if _, err := s.st.GetUser(ctx, id); err != nil {
		return nil, err
	}
	consents, err := s.st.ListConsents(ctx, id)
	if err != nil {
		return nil, err
	}
	before := make([]map[string]any, 0, len(consents))
	for _, c := range consents {
		before = append(before, map[string]any{"client_id": c.ClientID, "scopes": nonNil(c.Scopes)})
	}
	n, err := s.st.RevokeUserGrants(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &Revoked{UserID: id, Grants: n}
	if err := s.audit.Record(ctx, "user.revoke_grants", "user", id, map[string]any{"grants": before}, map[string]any{"grants": []any{}}); err != nil {
		return nil, err
	}
	return out, nil
}

// HistoryQuery filters a user's sign-in history; Before (RFC 3339) pages
// back.
type HistoryQuery struct {
	Result   string
	Method   string
	ClientID string
	Before   time.Time
}

// History is a page of a user's sign-in history.
type History struct {
	Items []EventView `json:"items"`
	// HasMore says older events follow; NextBefore fetches them.
	HasMore    bool   `json:"has_more"`
	NextBefore string `json:"next_before,omitempty"`
}

// historyMethods are the method filter's values.
var historyMethods = []string{models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey, models.MethodUpstream}

// History returns a user's sign-in events q selects, newest first.
func (s *Users) History(ctx context.Context, id string, q HistoryQuery, limit int) (*History, error) {
	var errs []error
	if q.Result != "" && q.Result != models.ResultSuccess && q.Result != models.ResultFailure {
		errs = append(errs, invalid("result", "success or failure"))
	}
	if q.Method != "" && !slices.Contains(historyMethods, q.Method) {
		errs = append(errs, invalid("method", "one of %s", strings.Join(historyMethods, ", ")))
	}
	if len(q.ClientID) > MaxQueryLen {
		errs = append(errs, invalid("client_id", "at most %d characters", MaxQueryLen))
	}
	if err := joinProblems(errs...); err != nil {
		return nil, err
	}
	if _, err := s.st.GetUser(ctx, id); err != nil {
		return nil, err
	}
	limit = ClampLimit(limit)
	rows, err := s.st.ListUserAuthEvents(ctx, id, store.EventFilter{Result: q.Result, Method: q.Method, ClientID: q.ClientID, Before: q.Before}, limit+1)
	if err != nil {
		return nil, err
	}
	h := &History{Items: make([]EventView, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		h.HasMore = true
		h.NextBefore = rows[len(rows)-1].At.UTC().Format(time.RFC3339Nano)
	}
	for _, e := range rows {
		h.Items = append(h.Items, eventView(e))
	}
	return h, nil
}

func eventView(e models.AuthEvent) EventView {
	return EventView{At: e.At, Event: e.Event, Method: e.Method, Result: e.Result, Reason: e.Reason, ClientID: e.ClientID, IP: e.IP, UserAgent: e.UserAgent}
}
