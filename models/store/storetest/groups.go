package storetest

import (
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func createGroup(t *testing.T, s *store.Store) *models.Group {
	t.Helper()
	g := &models.Group{ID: newID("grp"), Name: newID("team"), Description: "a team", CreatedAt: at(0), UpdatedAt: at(0)}
	must(t, s.CreateGroup(t.Context(), g))
	return g
}

var groupTests = []subtest{
	{"CreateGetListDelete", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		g := createGroup(t, s)
		dup := &models.Group{ID: newID("grp"), Name: g.Name, CreatedAt: at(0), UpdatedAt: at(0)}
		wantErr(t, "same name again", s.CreateGroup(ctx, dup), models.ErrAlreadyExists)
		must(t, s.UpdateGroupDescription(ctx, g.Name, "renamed team"))
		got, err := s.GetGroup(ctx, g.Name)
		must(t, err)
		if got.ID != g.ID || got.Description != "renamed team" || len(got.Members) != 0 {
			t.Errorf("GetGroup = %+v", got)
		}
		u := createUser(t, s)
		must(t, s.AddGroupMember(ctx, g.Name, u.ID))
		list, err := s.ListGroups(ctx)
		must(t, err)
		i := slices.IndexFunc(list, func(x models.Group) bool { return x.ID == g.ID })
		if i < 0 || list[i].MemberCount != 1 || list[i].Name != g.Name {
			t.Fatalf("ListGroups: group %s missing or wrong count: %+v", g.Name, list)
		}
		must(t, s.DeleteGroup(ctx, g.Name))
		_, err = s.GetGroup(ctx, g.Name)
		wantErr(t, "get deleted group", err, models.ErrNotFound)
		names, err := s.UserGroups(ctx, u.ID)
		must(t, err)
		if len(names) != 0 {
			t.Errorf("memberships survived their group: %v", names)
		}
		wantErr(t, "delete again", s.DeleteGroup(ctx, g.Name), models.ErrNotFound)
		wantErr(t, "describe missing", s.UpdateGroupDescription(ctx, g.Name, "x"), models.ErrNotFound)
	}},
	{"Members", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, b := createGroup(t, s), createGroup(t, s)
		u, v := createUser(t, s), createUser(t, s)
		must(t, s.AddGroupMember(ctx, b.Name, u.ID))
		must(t, s.AddGroupMember(ctx, a.Name, u.ID))
		must(t, s.AddGroupMember(ctx, a.Name, v.ID))
		wantErr(t, "add twice", s.AddGroupMember(ctx, a.Name, u.ID), models.ErrAlreadyExists)
		wantErr(t, "unknown group", s.AddGroupMember(ctx, newID("nogroup"), u.ID), models.ErrNotFound)
		wantErr(t, "unknown user", s.AddGroupMember(ctx, a.Name, newID("nouser")), models.ErrNotFound)

		names, err := s.UserGroups(ctx, u.ID)
		must(t, err)
		want := []string{a.Name, b.Name}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("UserGroups = %v, want %v", names, want)
		}
		got, err := s.GetGroup(ctx, a.Name)
		must(t, err)
		if len(got.Members) != 2 {
			t.Errorf("members of %s = %d, want 2", a.Name, len(got.Members))
		}

		must(t, s.RemoveGroupMember(ctx, a.Name, u.ID))
		wantErr(t, "remove twice", s.RemoveGroupMember(ctx, a.Name, u.ID), models.ErrNotFound)
		names, err = s.UserGroups(ctx, u.ID)
		must(t, err)
		if !slices.Equal(names, []string{b.Name}) {
			t.Errorf("after removal UserGroups = %v, want [%s]", names, b.Name)
		}
		// Deleting a user ends its memberships (foreign keys).
		must(t, s.DeleteUser(ctx, v.ID))
		got, err = s.GetGroup(ctx, a.Name)
		must(t, err)
		if len(got.Members) != 0 {
			t.Errorf("deleted user still a member: %+v", got.Members)
		}
	}},
	// An upstream provider's mapping adds and removes only what it
	// granted; an administrator's membership (and another provider's) is
	// never touched, and an administrator adding a granted one takes it
	// over.
	{"GrantedGroups", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		staff, ops, hand, other := createGroup(t, s), createGroup(t, s), createGroup(t, s), createGroup(t, s)
		u := createUser(t, s)
		acme, beta := models.GrantedByUpstream("acme"), models.GrantedByUpstream("beta")
		sync := func(grantor string, want []string, wantAdded, wantRemoved []string) {
			t.Helper()
			added, removed, err := s.SyncGrantedGroups(ctx, u.ID, grantor, want)
			must(t, err)
			slices.Sort(wantAdded)
			slices.Sort(wantRemoved)
			if !slices.Equal(added, wantAdded) || !slices.Equal(removed, wantRemoved) {
				t.Fatalf("sync %s %v: added %v removed %v, want %v %v", grantor, want, added, removed, wantAdded, wantRemoved)
			}
		}
		grantors := func(want map[string]string) {
			t.Helper()
			got, err := s.GroupGrantors(ctx, u.ID)
			must(t, err)
			if len(got) != len(want) {
				t.Fatalf("grantors = %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("grantors = %v, want %v", got, want)
				}
			}
		}
		must(t, s.AddGroupMember(ctx, hand.Name, u.ID))
		sync(acme, []string{staff.Name, hand.Name, newID("nosuchgroup")}, []string{staff.Name}, nil)
		sync(beta, []string{other.Name, staff.Name}, []string{other.Name}, nil)
		grantors(map[string]string{staff.Name: acme, hand.Name: "", other.Name: beta})
		// The same claims again change nothing.
		sync(acme, []string{staff.Name, hand.Name}, nil, nil)
		// acme stops asserting staff and hand, asserts ops: staff goes
		// (acme's), hand stays (the administrator's), beta's stays.
		sync(acme, []string{ops.Name}, []string{ops.Name}, []string{staff.Name})
		grantors(map[string]string{ops.Name: acme, hand.Name: "", other.Name: beta})
		// No groups at all from acme.
		sync(acme, nil, nil, []string{ops.Name})
		// An administrator adding a granted membership takes it over.
		must(t, s.AddGroupMember(ctx, other.Name, u.ID))
		wantErr(t, "add an administrator's again", s.AddGroupMember(ctx, other.Name, u.ID), models.ErrAlreadyExists)
		sync(beta, nil, nil, nil)
		grantors(map[string]string{hand.Name: "", other.Name: ""})
	}},
	{"SummaryAndMemberPages", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		g := createGroup(t, s)
		var emails []string
		for range 5 {
			u := createUser(t, s)
			must(t, s.AddGroupMember(ctx, g.Name, u.ID))
			emails = append(emails, u.EmailNormalized)
		}
		slices.Sort(emails)
		sum, err := s.GroupSummary(ctx, g.Name)
		must(t, err)
		if sum.ID != g.ID || sum.MemberCount != 5 || sum.Description != g.Description || len(sum.Members) != 0 {
			t.Errorf("GroupSummary = %+v", sum)
		}
		var got []string
		for off := 0; off < 6; off += 2 {
			page, err := s.GroupMembers(ctx, g.ID, off, 2)
			must(t, err)
			for _, u := range page {
				got = append(got, u.EmailNormalized)
			}
		}
		if !slices.Equal(got, emails) {
			t.Errorf("pages of members = %v, want %v", got, emails)
		}
		_, err = s.GroupSummary(ctx, newID("nogroup"))
		wantErr(t, "summary of a missing group", err, models.ErrNotFound)
	}},
	{"MissingGroups", func(t *testing.T, s *store.Store) {
		g := createGroup(t, s)
		gone := newID("gone")
		missing, err := s.MissingGroups(t.Context(), []string{g.Name, gone})
		must(t, err)
		if !slices.Equal(missing, []string{gone}) {
			t.Errorf("MissingGroups = %v, want [%s]", missing, gone)
		}
		missing, err = s.MissingGroups(t.Context(), nil)
		must(t, err)
		if missing != nil {
			t.Errorf("MissingGroups(nil) = %v", missing)
		}
	}},
	{"ClientAllowedGroups", func(t *testing.T, s *store.Store) {
		c := newClient()
		c.AllowedGroups = models.StringList{"staff", "ops"}
		must(t, s.CreateClient(t.Context(), c))
		got, err := s.GetClient(t.Context(), c.ID)
		must(t, err)
		if !slices.Equal(got.AllowedGroups, []string{"staff", "ops"}) {
			t.Errorf("AllowedGroups = %v", got.AllowedGroups)
		}
	}},
	{"Profile", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, v := createUser(t, s), createUser(t, s)
		name := "user-" + randHex(6)
		p := store.UserProfile{Username: &name, GivenName: "Ada", FamilyName: "Lovelace", Locale: "en-GB",
			Picture: "https://example.test/ada.png", Attributes: models.JSONObject{"roles": []any{"admin", "dev"}}}
		must(t, s.SetUserProfile(ctx, u.ID, p))
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if got.Username == nil || *got.Username != name || got.GivenName != "Ada" || got.FamilyName != "Lovelace" ||
			got.Locale != "en-GB" || got.Picture != p.Picture {
			t.Errorf("profile = %+v", got)
		}
		if roles, _ := got.Attributes["roles"].([]any); len(roles) != 2 || roles[0] != "admin" {
			t.Errorf("attributes = %v", got.Attributes)
		}
		// A username is unique; the loser keeps its profile untouched.
		wantErr(t, "taken username", s.SetUserProfile(ctx, v.ID, store.UserProfile{Username: &name, GivenName: "Eve"}), models.ErrAlreadyExists)
		other, err := s.GetUser(ctx, v.ID)
		must(t, err)
		if other.Username != nil || other.GivenName != "" || other.Attributes == nil || len(other.Attributes) != 0 {
			t.Errorf("refused profile was written: %+v", other)
		}
		// Users without a username do not collide (NULLs).
		must(t, s.SetUserProfile(ctx, v.ID, store.UserProfile{GivenName: "Bob"}))
		wantErr(t, "missing user", s.SetUserProfile(ctx, newID("nouser"), p), models.ErrNotFound)
	}},
}

var customScopeTests = []subtest{
	{"CRUD", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		name := "roles_" + randHex(4)
		sc := &models.CustomScope{Name: name, Description: "roles", CreatedAt: at(0), UpdatedAt: at(0),
			Claims: models.ScopeClaims{{Claim: "roles", Source: models.ClaimFromAttribute, Attribute: "roles"}}}
		must(t, s.CreateCustomScope(ctx, sc))
		wantErr(t, "same name", s.CreateCustomScope(ctx, &models.CustomScope{Name: name, CreatedAt: at(0), UpdatedAt: at(0)}), models.ErrAlreadyExists)
		sc.Claims = append(sc.Claims, models.ScopeClaim{Claim: "teams", Source: models.ClaimFromGroups})
		sc.Description = "roles and teams"
		must(t, s.UpdateCustomScope(ctx, sc))
		got, err := s.GetCustomScope(ctx, name)
		must(t, err)
		if got.Description != "roles and teams" || len(got.Claims) != 2 || got.Claims[1] != sc.Claims[1] {
			t.Errorf("GetCustomScope = %+v", got)
		}
		list, err := s.ListCustomScopes(ctx)
		must(t, err)
		if !slices.ContainsFunc(list, func(x models.CustomScope) bool { return x.Name == name }) {
			t.Errorf("ListCustomScopes misses %s", name)
		}
		must(t, s.DeleteCustomScope(ctx, name))
		_, err = s.GetCustomScope(ctx, name)
		wantErr(t, "deleted", err, models.ErrNotFound)
		wantErr(t, "delete again", s.DeleteCustomScope(ctx, name), models.ErrNotFound)
		wantErr(t, "update missing", s.UpdateCustomScope(ctx, sc), models.ErrNotFound)
	}},
}
