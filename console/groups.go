package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Groups manages groups and their members. Tokens read memberships fresh
// (oidc.grantGroups), so every change here applies from the next token:
// there is no cache to drop.
type Groups struct {
	st    groupStore
	audit *Audit
}

// GroupSpec is the settable part of a group. The name is fixed once the
// group exists: tokens carry it and clients' allowed_groups name it.
type GroupSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// GroupView is a group as the console and API show it.
type GroupView struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberCount int64     `json:"member_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewGroup(g *models.Group) GroupView {
	return GroupView{Name: g.Name, Description: g.Description, MemberCount: g.MemberCount, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

// maxGroupDescription bounds a group's description (runes).
const maxGroupDescription = 500

// Validate reports every problem of a trimmed spec at once.
func (s *GroupSpec) Validate() error {
	s.Name, s.Description = strings.TrimSpace(s.Name), strings.TrimSpace(s.Description)
	var errs []error
	if msg := models.GroupNameProblem(s.Name); msg != "" {
		errs = append(errs, &clients.ValidationError{Field: "name", Message: msg})
	}
	if msg := descriptionProblem(s.Description); msg != "" {
		errs = append(errs, &clients.ValidationError{Field: "description", Message: msg})
	}
	return errors.Join(errs...)
}

func descriptionProblem(d string) string {
	if utf8.RuneCountInString(d) > maxGroupDescription || strings.IndexFunc(d, unicode.IsControl) >= 0 {
		return fmt.Sprintf("at most %d characters, on one line", maxGroupDescription)
	}
	return ""
}

// errGroupTaken answers a name another group holds.
var errGroupTaken = fieldConflict("name", "another group has this name")

// fieldConflict is a 409 naming the field that collides.
func fieldConflict(field, msg string) *Problem {
	p := problem(http.StatusConflict, "conflict", "Already exists", "")
	p.Errors = []FieldError{{Field: field, Message: msg}}
	return p
}

// List returns the groups whose name or description contains q
// (case-insensitively), ordered by name, and whether more follow. Groups
// are few, like clients: the whole list is read and paged in memory.
func (s *Groups) List(ctx context.Context, q string, offset, limit int) ([]GroupView, bool, error) {
	if len(q) > MaxQueryLen {
		return nil, false, invalid("q", "at most %d characters", MaxQueryLen)
	}
	if offset < 0 || offset > MaxOffset {
		return nil, false, invalid("offset", "between 0 and %d", MaxOffset)
	}
	limit = ClampLimit(limit)
	all, err := s.st.ListGroups(ctx)
	if err != nil {
		return nil, false, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	out := []GroupView{}
	for i := range all {
		g := &all[i]
		if q != "" && !strings.Contains(strings.ToLower(g.Name), q) && !strings.Contains(strings.ToLower(g.Description), q) {
			continue
		}
		out = append(out, viewGroup(g))
	}
	return pageOf(out, offset, limit)
}

// pageOf cuts one page out of a list read whole.
func pageOf[T any](all []T, offset, limit int) ([]T, bool, error) {
	if offset >= len(all) {
		return []T{}, false, nil
	}
	all = all[offset:]
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	return all, more, nil
}

// Get returns one group with its member count.
func (s *Groups) Get(ctx context.Context, name string) (*GroupView, error) {
	g, err := s.st.GroupSummary(ctx, name)
	if err != nil {
		return nil, err
	}
	v := viewGroup(g)
	return &v, nil
}

// Members returns a page of a group's members, ordered by address, and
// whether more follow.
func (s *Groups) Members(ctx context.Context, name string, offset, limit int) ([]UserView, bool, error) {
	if offset < 0 || offset > MaxOffset {
		return nil, false, invalid("offset", "between 0 and %d", MaxOffset)
	}
	g, err := s.st.GroupSummary(ctx, name)
	if err != nil {
		return nil, false, err
	}
	limit = ClampLimit(limit)
	rows, err := s.st.GroupMembers(ctx, g.ID, offset, limit+1)
	if err != nil {
		return nil, false, err
	}
	out, more := userPage(rows, limit)
	return out, more, nil
}

// Create adds a group; a taken name is a 409 naming the field.
func (s *Groups) Create(ctx context.Context, spec GroupSpec) (*GroupView, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	now := time.Now().UTC()
	g := &models.Group{ID: id.String(), Name: spec.Name, Description: spec.Description, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateGroup(ctx, g); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, errGroupTaken
		}
		return nil, err
	}
	v := viewGroup(g)
	if err := s.audit.Record(ctx, "group.create", "group", g.Name, nil, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Update replaces a group's description. spec.Name, when given, must be
// the group's: renaming would silently change what tokens and clients
// mean by it.
func (s *Groups) Update(ctx context.Context, name string, spec GroupSpec) (*GroupView, error) {
	if strings.TrimSpace(spec.Name) == "" {
		spec.Name = name
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Name != name {
		return nil, invalid("name", "a group cannot be renamed: create a new group and move its members")
	}
	before, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.st.UpdateGroupDescription(ctx, name, spec.Description); err != nil {
		return nil, err
	}
	after, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, "group.update", "group", name, before, after); err != nil {
		return nil, err
	}
	return after, nil
}

// Delete removes a group and its memberships. Clients that still list it
// let none of its former members in until an admin edits them (fail
// closed); ClientsAllowing names them first.
func (s *Groups) Delete(ctx context.Context, name string) error {
	before, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if err := s.st.DeleteGroup(ctx, name); err != nil {
		return err
	}
	return s.audit.Record(ctx, "group.delete", "group", name, before, nil)
}

// ClientsAllowing returns the names of the clients whose allowed_groups
// list the group (what deleting it would lock).
func (s *Groups) ClientsAllowing(ctx context.Context, name string) ([]string, error) {
	all, err := s.st.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range all {
		for _, g := range c.AllowedGroups {
			if g == name {
				out = append(out, c.Name)
				break
			}
		}
	}
	return out, nil
}

// errNotMember and errAlreadyMember answer membership changes that change
// nothing.
var (
	errNotMember     = problem(http.StatusNotFound, "not-found", "Not a member", "The user is not a member of this group.")
	errAlreadyMember = problem(http.StatusConflict, "conflict", "Already a member", "The user is already a member of this group.")
	errNoSuchUser    = func(ref string) *Problem { return invalid("user", "no user %s", ref) }
)

// resolveUser finds a member by id, or by address when ref holds "@".
func (s *Groups) resolveUser(ctx context.Context, ref string) (*models.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 320 {
		return nil, invalid("user", "a user id or email address is required")
	}
	var (
		u   *models.User
		err error
	)
	if strings.Contains(ref, "@") {
		u, err = s.st.GetUserByEmail(ctx, ref)
	} else {
		u, err = s.st.GetUser(ctx, ref)
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, errNoSuchUser(ref)
	}
	return u, err
}

// AddMember makes the user (an id or an email address) a member of the
// group; the user's next token carries it.
func (s *Groups) AddMember(ctx context.Context, name, userRef string) (*UserView, error) {
	if _, err := s.st.GroupSummary(ctx, name); err != nil {
		return nil, err
	}
	u, err := s.resolveUser(ctx, userRef)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddGroupMember(ctx, name, u.ID); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, errAlreadyMember
		}
		return nil, err
	}
	v := ViewUser(u)
	if err := s.audit.Record(ctx, "group.add_member", "group", name, nil, map[string]string{"user_id": u.ID, "email": u.Email}); err != nil {
		return nil, err
	}
	return &v, nil
}

// RemoveMember ends a membership; the user's next token lacks the group.
func (s *Groups) RemoveMember(ctx context.Context, name, userID string) error {
	if _, err := s.st.GroupSummary(ctx, name); err != nil {
		return err
	}
	if err := s.st.RemoveGroupMember(ctx, name, userID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return errNotMember
		}
		return err
	}
	return s.audit.Record(ctx, "group.remove_member", "group", name, map[string]string{"user_id": userID}, nil)
}

// UserGroups returns the names of the user's groups, sorted.
func (s *Groups) UserGroups(ctx context.Context, userID string) ([]string, error) {
	if _, err := s.st.GetUser(ctx, userID); err != nil {
		return nil, err
	}
	names, err := s.st.UserGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	return nonNil(names), nil
}
