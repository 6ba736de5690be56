package storetest

import (
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var adminTests = []subtest{
	{"RoleAndCount", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		before, err := s.CountAdmins(ctx)
		must(t, err)
		u := createUser(t, s)
		must(t, s.SetUserRole(ctx, u.ID, models.RoleAdmin))
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if !got.IsAdmin() {
			t.Fatalf("role = %q, want admin", got.Role)
		}
		if n, _ := s.CountAdmins(ctx); n != before+1 {
			t.Errorf("CountAdmins = %d, want %d", n, before+1)
		}
		must(t, s.SetUserDisabled(ctx, u.ID, true))
		if n, _ := s.CountAdmins(ctx); n != before {
			t.Errorf("a disabled admin counted: %d, want %d", n, before)
		}
		wantErr(t, "role of missing user", s.SetUserRole(ctx, newID("missing"), models.RoleAdmin), models.ErrNotFound)
	}},
	{"SearchUsersEscapesWildcards", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tag := randHex(6)
		a := &models.User{ID: newID("user"), Email: "a_" + tag + "@example.test", DisplayName: "Ann " + tag}
		b := &models.User{ID: newID("user"), Email: "ab" + tag + "@example.test", DisplayName: "Bob"}
		must(t, s.CreateUser(ctx, a))
		must(t, s.CreateUser(ctx, b))
		got, err := s.SearchUsers(ctx, "A_"+tag, 0, 10)
		must(t, err)
		if len(got) != 1 || got[0].ID != a.ID {
			t.Errorf("search a_: got %d users, want only %s", len(got), a.ID)
		}
		got, err = s.SearchUsers(ctx, "ann "+tag, 0, 10)
		must(t, err)
		if len(got) != 1 || got[0].ID != a.ID {
			t.Errorf("search by name: got %d users", len(got))
		}
		got, err = s.SearchUsers(ctx, "%", 0, 10)
		must(t, err)
		for _, u := range got {
			if u.ID == a.ID || u.ID == b.ID {
				t.Errorf("%% matched %s literally-less", u.Email)
			}
		}
	}},
	{"DeleteUserTakesTokens", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		c := createClient(t, s)
		r := newRequest(models.KindRefreshToken, newID("req"), c.ID, u.ID, "")
		must(t, s.CreateOAuth2Request(ctx, r))
		must(t, s.DeleteUser(ctx, u.ID))
		_, err := s.GetUser(ctx, u.ID)
		wantErr(t, "get deleted user", err, models.ErrNotFound)
		_, err = s.GetOAuth2Request(ctx, models.KindRefreshToken, r.Signature)
		wantErr(t, "token of deleted user", err, models.ErrNotFound)
		wantErr(t, "delete again", s.DeleteUser(ctx, u.ID), models.ErrNotFound)
	}},
	{"StepUp", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		ls := newLoginSession(u.ID, time.Hour)
		must(t, s.CreateLoginSession(ctx, ls))
		when := at(0)
		must(t, s.SetLoginSessionSteppedUp(ctx, ls.ID, when))
		got, err := s.GetLoginSession(ctx, ls.ID)
		must(t, err)
		if got.SteppedUpAt == nil || !got.SteppedUpAt.Equal(when) {
			t.Errorf("SteppedUpAt = %v, want %v", got.SteppedUpAt, when)
		}
		must(t, s.RevokeLoginSession(ctx, ls.ID))
		wantErr(t, "step up a revoked session", s.SetLoginSessionSteppedUp(ctx, ls.ID, when), models.ErrNotFound)
	}},
	{"InviteSingleUse", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		email := newID("admin") + "@Example.test"
		in := &models.AdminInvite{ID: newID("inv"), TokenHash: randHex(32), Email: email, CreatedBy: "cli",
			CreatedAt: at(0), ExpiresAt: at(time.Hour)}
		must(t, s.CreateAdminInvite(ctx, in))
		live, err := s.HasLiveAdminInvite(ctx, email)
		must(t, err)
		if !live {
			t.Error("HasLiveAdminInvite = false for a fresh invite")
		}
		got, err := s.GetAdminInviteByTokenHash(ctx, in.TokenHash)
		must(t, err)
		sameRow(t, in, got)
		exactlyOneWins(t, race(racers, func() error { return s.ConsumeAdminInvite(ctx, in.ID, "u1") }), models.ErrConsumed)
		_, err = s.GetAdminInviteByTokenHash(ctx, in.TokenHash)
		wantErr(t, "get used invite", err, models.ErrConsumed)

		old := &models.AdminInvite{ID: newID("inv"), TokenHash: randHex(32), Email: email, CreatedAt: at(-2 * time.Hour), ExpiresAt: at(-time.Hour)}
		must(t, s.CreateAdminInvite(ctx, old))
		_, err = s.GetAdminInviteByTokenHash(ctx, old.TokenHash)
		wantErr(t, "get expired invite", err, models.ErrExpired)
		wantErr(t, "consume expired invite", s.ConsumeAdminInvite(ctx, old.ID, "u1"), models.ErrConsumed)
		_, err = s.GetAdminInviteByTokenHash(ctx, randHex(32))
		wantErr(t, "get unknown invite", err, models.ErrNotFound)

		n, err := s.DeleteExpiredAdminInvites(ctx, 30*time.Minute)
		must(t, err)
		if n < 1 {
			t.Errorf("swept %d expired invites, want at least 1", n)
		}
		_, err = s.GetAdminInviteByTokenHash(ctx, old.TokenHash)
		wantErr(t, "get swept invite", err, models.ErrNotFound)
		_, err = s.GetAdminInviteByTokenHash(ctx, in.TokenHash)
		wantErr(t, "used, unexpired invite stays", err, models.ErrConsumed)
	}},
}

var auditTests = []subtest{
	{"ListFiltersAndCursor", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		target := newID("client")
		base := at(-time.Minute)
		var made []*models.AuditEntry
		for i := range 5 {
			e := &models.AuditEntry{ID: newID("aud"), At: base.Add(time.Duration(i) * time.Second), ActorID: "admin-1",
				ActorKind: models.ActorUser, Action: "client.update", TargetType: "client", TargetID: target,
				BeforeJSON: `{"a":1}`, AfterJSON: `{"a":2}`, IP: "192.0.2.1"}
			if i == 4 {
				e.Action = "client.delete"
			}
			must(t, s.CreateAuditEntry(ctx, e))
			made = append(made, e)
		}
		all, err := s.ListAuditEntries(ctx, store.AuditFilter{TargetType: "client", TargetID: target}, 10)
		must(t, err)
		if len(all) != 5 || all[0].ID != made[4].ID {
			t.Fatalf("got %d entries, want 5 newest first", len(all))
		}
		sameRow(t, made[4], &all[0])
		page1, err := s.ListAuditEntries(ctx, store.AuditFilter{TargetID: target}, 2)
		must(t, err)
		last := page1[len(page1)-1]
		page2, err := s.ListAuditEntries(ctx, store.AuditFilter{TargetID: target, BeforeAt: last.At, BeforeID: last.ID}, 10)
		must(t, err)
		if len(page1) != 2 || len(page2) != 3 || page2[0].ID != made[2].ID {
			t.Errorf("cursor pages: %d then %d", len(page1), len(page2))
		}
		del, err := s.ListAuditEntries(ctx, store.AuditFilter{TargetID: target, Action: "client.delete"}, 10)
		must(t, err)
		if len(del) != 1 {
			t.Errorf("action filter: %d entries", len(del))
		}
		since, err := s.ListAuditEntries(ctx, store.AuditFilter{TargetID: target, Since: made[3].At}, 10)
		must(t, err)
		if len(since) != 2 {
			t.Errorf("since filter: %d entries, want 2", len(since))
		}
	}},
}

var policyTests = []subtest{
	{"PutGetVersion", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		name := newID("pol")
		_, err := s.GetPolicy(ctx, name)
		wantErr(t, "get missing policy", err, models.ErrNotFound)
		p := &models.Policy{Name: name, Value: `{"signup_open":true}`, UpdatedBy: "a"}
		must(t, s.PutPolicy(ctx, p))
		if p.Version != 1 {
			t.Errorf("version %d, want 1", p.Version)
		}
		p2 := &models.Policy{Name: name, Value: `{"signup_open":false}`, UpdatedBy: "b"}
		must(t, s.PutPolicy(ctx, p2))
		got, err := s.GetPolicy(ctx, name)
		must(t, err)
		if got.Version != 2 || got.Value != p2.Value || got.UpdatedBy != "b" {
			t.Errorf("got %+v", got)
		}
	}},
}
