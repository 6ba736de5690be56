package storetest

import (
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// everydayTests cover the console's everyday reads and writes: filtered
// user search, activity beside users and clients, a user's filtered
// history, editing an identity, withdrawing grants.
var everydayTests = []subtest{
	{"SearchUsersFiltered", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tag := randHex(6)
		mk := func(name string, verified bool) *models.User {
			u := &models.User{ID: newID("user"), Email: name + tag + "@example.test", DisplayName: name, EmailVerified: verified}
			must(t, s.CreateUser(ctx, u))
			return u
		}
		admin, off, unver, plain := mk("admin", true), mk("off", true), mk("unver", false), mk("plain", true)
		must(t, s.SetUserRole(ctx, admin.ID, models.RoleAdmin))
		must(t, s.SetUserDisabled(ctx, off.ID, true))
		for _, tc := range []struct {
			name string
			f    store.UserFilter
			want []string
		}{
			{"all of the tag", store.UserFilter{Query: tag}, []string{admin.ID, off.ID, unver.ID, plain.ID}},
			{"admins", store.UserFilter{Query: tag, Admins: true}, []string{admin.ID}},
			{"disabled", store.UserFilter{Query: tag, Disabled: true}, []string{off.ID}},
			{"unverified", store.UserFilter{Query: tag, Unverified: true}, []string{unver.ID}},
			{"both flags", store.UserFilter{Query: tag, Admins: true, Disabled: true}, nil},
		} {
			got, err := s.SearchUsersFiltered(ctx, tc.f, 0, 50)
			must(t, err)
			var ids []string
			for _, u := range got {
				ids = append(ids, u.ID)
			}
			if len(ids) != len(tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
				continue
			}
			for i := range ids {
				if ids[i] != tc.want[i] {
					t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
				}
			}
		}
	}},
	{"UsersAndClientsActivity", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, b, idle := createUser(t, s), createUser(t, s), createUser(t, s)
		c := createClient(t, s)
		last := at(-time.Hour)
		for _, e := range []models.AuthEvent{
			{UserID: a.ID, ClientID: c.ID, At: at(-3 * time.Hour), Result: models.ResultSuccess},
			{UserID: a.ID, ClientID: c.ID, At: last, Result: models.ResultSuccess},
			{UserID: a.ID, ClientID: c.ID, At: at(-time.Minute), Result: "failure", Reason: "timeout"},
			{UserID: b.ID, ClientID: c.ID, At: at(-2 * time.Hour), Result: models.ResultSuccess},
			{UserID: b.ID, ClientID: c.ID, At: at(-40 * 24 * time.Hour), Result: models.ResultSuccess},
		} {
			e.ID, e.Event, e.Method = newID("event"), models.EventLogin, models.MethodPasskey
			must(t, s.RecordAuthEvent(ctx, &e))
		}
		must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: a.ID, Kind: models.CredentialPasskey, PublicKey: "k"}))
		must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: a.ID, Kind: models.CredentialSecurityKey, PublicKey: "k"}))
		got, err := s.UsersActivity(ctx, []string{a.ID, b.ID, idle.ID})
		must(t, err)
		if !got[a.ID].LastSignIn.Equal(last) || got[a.ID].Passkeys != 2 {
			t.Errorf("activity of a = %+v, want last %v and 2 credentials", got[a.ID], last)
		}
		if got[b.ID].LastSignIn.IsZero() || got[b.ID].Passkeys != 0 {
			t.Errorf("activity of b = %+v", got[b.ID])
		}
		if _, ok := got[idle.ID]; ok {
			t.Errorf("a user without activity has some: %+v", got[idle.ID])
		}
		if empty, err := s.UsersActivity(ctx, nil); err != nil || len(empty) != 0 {
			t.Errorf("no ids: %v, %v", empty, err)
		}
		ca, err := s.ClientsActivity(ctx, at(-30*24*time.Hour))
		must(t, err)
		if got := ca[c.ID]; !got.LastUsed.Equal(last) || got.ActiveUsers != 2 {
			t.Errorf("client activity = %+v, want last %v and 2 users (the 40-day-old sign-in outside)", got, last)
		}
	}},
	{"ListUserAuthEventsFiltered", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		c := createClient(t, s)
		var ids []string
		for i, e := range []models.AuthEvent{
			{Method: models.MethodPasskey, Result: models.ResultSuccess, ClientID: c.ID},
			{Method: models.MethodPasslink, Result: models.ResultSuccess},
			{Method: models.MethodPasskey, Result: "failure", Reason: "timeout", ClientID: c.ID},
			{Method: models.MethodPasskey, Result: models.ResultSuccess},
		} {
			e.ID, e.UserID, e.Event, e.At = newID("event"), u.ID, models.EventLogin, at(time.Duration(i-10)*time.Minute)
			must(t, s.RecordAuthEvent(ctx, &e))
			ids = append(ids, e.ID)
		}
		for _, tc := range []struct {
			name string
			f    store.EventFilter
			want []string
		}{
			{"all, newest first", store.EventFilter{}, []string{ids[3], ids[2], ids[1], ids[0]}},
			{"failures", store.EventFilter{Result: "failure"}, []string{ids[2]}},
			{"passkey", store.EventFilter{Method: models.MethodPasskey}, []string{ids[3], ids[2], ids[0]}},
			{"client", store.EventFilter{ClientID: c.ID}, []string{ids[2], ids[0]}},
			{"before", store.EventFilter{Before: at(-8*time.Minute - 30*time.Second)}, []string{ids[1], ids[0]}},
		} {
			got, err := s.ListUserAuthEvents(ctx, u.ID, tc.f, 10)
			must(t, err)
			var gotIDs []string
			for _, e := range got {
				gotIDs = append(gotIDs, e.ID)
			}
			if len(gotIDs) != len(tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, gotIDs, tc.want)
				continue
			}
			for i := range gotIDs {
				if gotIDs[i] != tc.want[i] {
					t.Errorf("%s: got %v, want %v", tc.name, gotIDs, tc.want)
					break
				}
			}
		}
	}},
	{"SetUserIdentity", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s), createUser(t, s)
		must(t, s.SetUserIdentity(ctx, u.ID, store.UserIdentity{Email: "New-" + u.ID + "@Example.test", DisplayName: "Ada", EmailVerified: false}))
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if got.Email != "New-"+u.ID+"@Example.test" || got.EmailNormalized != "new-"+u.ID+"@example.test" || got.DisplayName != "Ada" ||
			got.EmailVerified || !got.EmailVerificationDue {
			t.Errorf("after the change: %+v", got)
		}
		// Another user's address, in any case, is taken; nothing changes.
		err = s.SetUserIdentity(ctx, u.ID, store.UserIdentity{Email: "  " + other.EmailNormalized, DisplayName: "X", EmailVerified: true})
		wantErr(t, "taken address", err, models.ErrAlreadyExists)
		if again, _ := s.GetUser(ctx, u.ID); again.DisplayName != "Ada" {
			t.Errorf("a refused change wrote: %+v", again)
		}
		// Same address, now verified: not due any more proof than before.
		must(t, s.SetUserIdentity(ctx, u.ID, store.UserIdentity{Email: got.Email, DisplayName: "Ada L", EmailVerified: true}))
		if again, _ := s.GetUser(ctx, u.ID); !again.EmailVerified || again.DisplayName != "Ada L" {
			t.Errorf("verified: %+v", again)
		}
		wantErr(t, "missing user", s.SetUserIdentity(ctx, newID("missing"), store.UserIdentity{Email: "x@example.test"}), models.ErrNotFound)
	}},
	{"RevokeUserGrantsKeepsSessions", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		c1, c2 := createClient(t, s), createClient(t, s)
		must(t, s.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: c1.ID, Scopes: models.StringList{"openid"}}))
		must(t, s.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: c2.ID, Scopes: models.StringList{"openid"}}))
		r := newRequest(models.KindRefreshToken, newID("req"), c1.ID, u.ID, "")
		must(t, s.CreateOAuth2Request(ctx, r))
		ls := newLoginSession(u.ID, time.Hour)
		must(t, s.CreateLoginSession(ctx, ls))
		n, err := s.RevokeUserGrants(ctx, u.ID)
		must(t, err)
		if n != 2 {
			t.Errorf("withdrew %d grants, want 2", n)
		}
		if l, _ := s.ListConsents(ctx, u.ID); len(l) != 0 {
			t.Errorf("consents left: %v", l)
		}
		_, err = s.GetOAuth2Request(ctx, models.KindRefreshToken, r.Signature)
		wantErr(t, "refresh token after revoke", err, models.ErrNotFound)
		if live, _ := s.CountLiveLoginSessions(ctx, u.ID); live != 1 {
			t.Errorf("live sessions = %d, want the one kept", live)
		}
		must(t, s.RevokeUserLoginSessions(ctx, u.ID))
		if live, _ := s.CountLiveLoginSessions(ctx, u.ID); live != 0 {
			t.Errorf("live sessions after revoke = %d", live)
		}
	}},
	{"GroupsOfUsers", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, b, none := createUser(t, s), createUser(t, s), createUser(t, s)
		g1, g2 := "g-"+randHex(4), "g-"+randHex(4)
		if g1 > g2 {
			g1, g2 = g2, g1
		}
		for _, g := range []string{g1, g2} {
			must(t, s.CreateGroup(ctx, &models.Group{ID: newID("grp"), Name: g}))
		}
		must(t, s.AddGroupMember(ctx, g2, a.ID))
		must(t, s.AddGroupMember(ctx, g1, a.ID))
		must(t, s.AddGroupMember(ctx, g2, b.ID))
		got, err := s.GroupsOfUsers(ctx, []string{a.ID, b.ID, none.ID})
		must(t, err)
		if len(got[a.ID]) != 2 || got[a.ID][0] != g1 || got[a.ID][1] != g2 || len(got[b.ID]) != 1 || len(got[none.ID]) != 0 {
			t.Errorf("groups of users = %v", got)
		}
	}},
	{"ListAuthEventsRangePagesByKeyset", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		c := createClient(t, s)
		same := at(-time.Hour)
		var ids []string
		for i := range 5 {
			e := models.AuthEvent{ID: newID("ev"), UserID: u.ID, ClientID: c.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess, At: same}
			if i == 4 {
				e.Result, e.At = models.ResultFailure, at(-30*time.Minute)
			}
			must(t, s.RecordAuthEvent(ctx, &e))
			ids = append(ids, e.ID)
		}
		// Four events at the same instant page by id, none twice.
		r := store.EventRange{UserID: u.ID, Result: models.ResultSuccess}
		seen := map[string]bool{}
		for range 10 {
			page, err := s.ListAuthEventsRange(ctx, r, 3)
			must(t, err)
			for _, e := range page {
				if seen[e.ID] {
					t.Fatalf("%s listed twice", e.ID)
				}
				seen[e.ID] = true
			}
			if len(page) < 3 {
				break
			}
			r.BeforeAt, r.BeforeID = page[len(page)-1].At, page[len(page)-1].ID
		}
		if len(seen) != 4 {
			t.Errorf("paged %d successes, want 4", len(seen))
		}
		got, err := s.ListAuthEventsRange(ctx, store.EventRange{ClientID: c.ID, Since: at(-45 * time.Minute)}, 10)
		must(t, err)
		if len(got) != 1 || got[0].ID != ids[4] {
			t.Errorf("since: %+v", got)
		}
		got, err = s.ListAuthEventsRange(ctx, store.EventRange{ClientID: c.ID, Until: at(-45 * time.Minute)}, 10)
		must(t, err)
		if len(got) != 4 {
			t.Errorf("until: %d events", len(got))
		}
	}},
}
