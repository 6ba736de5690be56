package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// lifecycleTests: a user's own deletion (scheduled, cancelled, purged with
// a pseudonymous trace), a proven change of address that spends the old
// address's links, and single-use recovery codes.
var lifecycleTests = []subtest{
	{"ScheduleAndCancelDeletion", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		c := createLogoutClient(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		signedIn(t, s, ls, c)
		_, access, refresh := grantTokens(t, s, c.ID, u.ID, ls.ID)
		due := at(7 * 24 * time.Hour)
		must(t, s.ScheduleUserDeletion(ctx, u.ID, due))
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if got.DeletionDueAt == nil || !got.DeletionDueAt.Equal(due) {
			t.Fatalf("deletion due %v, want %v", got.DeletionDueAt, due)
		}
		// Scheduling ends the sessions (apps told) and the tokens.
		if n, _ := s.CountLiveLoginSessions(ctx, u.ID); n != 0 {
			t.Errorf("%d live sessions after scheduling", n)
		}
		if got := noticeClients(t, s, ls.ID); len(got) != 1 || got[0] != c.ID {
			t.Errorf("logout notices to %v, want [%s]", got, c.ID)
		}
		wantRequests(t, s, false, access, refresh)
		// Not due yet: not listed, not purged.
		ids, err := s.DueUserDeletions(ctx, at(0), 100)
		must(t, err)
		if containsID(ids, u.ID) {
			t.Error("a deletion listed before it is due")
		}
		wantErr(t, "purge before due", s.PurgeUser(ctx, u.ID, "deleted:x", at(0)), models.ErrConsumed)
		ok, err := s.CancelUserDeletion(ctx, u.ID)
		must(t, err)
		if !ok {
			t.Error("cancel said nothing was pending")
		}
		if ok, _ := s.CancelUserDeletion(ctx, u.ID); ok {
			t.Error("a second cancel cancelled again")
		}
		wantErr(t, "purge after cancel", s.PurgeUser(ctx, u.ID, "deleted:x", at(30*24*time.Hour)), models.ErrConsumed)
		_, err = s.CancelUserDeletion(ctx, "no-such-user")
		wantErr(t, "cancel unknown", err, models.ErrNotFound)
		wantErr(t, "schedule unknown", s.ScheduleUserDeletion(ctx, "no-such-user", due), models.ErrNotFound)
	}},
	{"PurgeUserWebhookIsPseudonymous", func(t *testing.T, s *store.Store) {
		// The user.deleted message of a self-deletion names the pseudonym
		// only: no address, no name, no before/after (docs/webhooks.md).
		ctx := t.Context()
		u := createUser(t, s)
		ep := &models.WebhookEndpoint{ID: newID("wh"), URL: "https://hooks.example/x", EventTypes: models.WebhookUserDeleted, Enabled: true, CreatedAt: at(0), UpdatedAt: at(0)}
		must(t, s.CreateWebhookEndpoint(ctx, ep))
		must(t, s.ScheduleUserDeletion(ctx, u.ID, at(-time.Minute)))
		pseudo := models.PseudonymPrefix + randHex(8)
		must(t, s.PurgeUser(ctx, u.ID, pseudo, at(0)))
		ds, err := s.ListWebhookDeliveries(ctx, ep.ID, "", 10)
		must(t, err)
		if len(ds) != 1 || ds[0].EventType != models.WebhookUserDeleted {
			t.Fatalf("deliveries %+v, want one user.deleted", ds)
		}
		var msg struct {
			Type string `json:"type"`
			Data struct {
				Action string `json:"action"`
				Actor  struct {
					Kind string `json:"kind"`
					ID   string `json:"id"`
				} `json:"actor"`
				Object struct {
					Type string `json:"type"`
					ID   string `json:"id"`
				} `json:"object"`
				Before json.RawMessage `json:"before"`
				After  json.RawMessage `json:"after"`
			} `json:"data"`
		}
		must(t, json.Unmarshal([]byte(ds[0].Payload), &msg))
		d := msg.Data
		if d.Action != "user.deleted" || d.Actor.Kind != models.ActorSystem || d.Object.Type != "user" || d.Object.ID != pseudo ||
			len(d.Before) > 0 && string(d.Before) != "null" || len(d.After) > 0 && string(d.After) != "null" {
			t.Errorf("user.deleted data: %s", ds[0].Payload)
		}
		if strings.Contains(ds[0].Payload, u.ID) || strings.Contains(ds[0].Payload, u.Email) {
			t.Errorf("the message names the deleted user: %s", ds[0].Payload)
		}
	}},
	{"PurgeUserLeavesAPseudonym", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s), createUser(t, s)
		c := createLogoutClient(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		signedIn(t, s, ls, c)
		code, access, refresh := grantTokens(t, s, c.ID, u.ID, ls.ID)
		otherAccess := createRequest(t, s, models.KindAccessToken, newID("req"), c.ID, other.ID, "")
		must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, PublicKey: "AQ", CreatedAt: at(0)}))
		must(t, s.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: c.ID, Scopes: models.StringList{"openid"}}))
		g := createGroup(t, s)
		must(t, s.AddGroupMember(ctx, g.Name, u.ID))
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, []string{randHex(16)}))
		pl := newPasslink(u.ID, time.Hour)
		pl.EmailNormalized = u.EmailNormalized
		must(t, s.CreatePasslink(ctx, pl))
		must(t, s.RecordAuthEvent(ctx, &models.AuthEvent{UserID: u.ID, Method: models.MethodPasskey, Event: models.EventLogin,
			Result: models.ResultSuccess, IP: "192.0.2.1", UserAgent: "Firefox"}))
		about := &models.AuditEntry{ID: newID("aud"), At: at(0), ActorID: "admin-1", ActorKind: models.ActorUser,
			Action: "user.update", TargetType: "user", TargetID: u.ID, BeforeJSON: `{"email":"` + u.Email + `"}`, AfterJSON: `{}`}
		must(t, s.CreateAuditEntry(ctx, about))
		by := &models.AuditEntry{ID: newID("aud"), At: at(0), ActorID: u.ID, ActorKind: models.ActorUser, ActorLabel: u.Email,
			Action: "client.update", TargetType: "client", TargetID: c.ID, IP: "192.0.2.1"}
		must(t, s.CreateAuditEntry(ctx, by))
		must(t, s.ScheduleUserDeletion(ctx, u.ID, at(-time.Minute)))
		ls2 := createLoginSession(t, s, u.ID, time.Hour) // signed in during the grace period
		signedIn(t, s, ls2, c)
		ids, err := s.DueUserDeletions(ctx, at(0), 100)
		must(t, err)
		if !containsID(ids, u.ID) || containsID(ids, other.ID) {
			t.Fatalf("due deletions %v: want %s and not %s", ids, u.ID, other.ID)
		}
		pseudo := models.PseudonymPrefix + randHex(8)
		must(t, s.PurgeUser(ctx, u.ID, pseudo, at(0)))
		_, err = s.GetUser(ctx, u.ID)
		wantErr(t, "deleted user", err, models.ErrNotFound)
		wantRequests(t, s, false, code, access, refresh)
		wantRequests(t, s, true, otherAccess)
		if creds, _ := s.ListUserCredentials(ctx, u.ID); len(creds) != 0 {
			t.Errorf("%d credentials left", len(creds))
		}
		if cs, _ := s.ListConsents(ctx, u.ID); len(cs) != 0 {
			t.Errorf("%d consents left", len(cs))
		}
		if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 0 {
			t.Errorf("%d recovery codes left", n)
		}
		_, err = s.GetPasslink(ctx, pl.ID)
		wantErr(t, "the user's links", err, models.ErrNotFound)
		if got := noticeClients(t, s, ls2.ID); len(got) != 1 {
			t.Errorf("the grace-period session's logout notices: %v", got)
		}
		evs, err := s.ListAuthEvents(ctx, pseudo, 10)
		must(t, err)
		if len(evs) != 1 || evs[0].IP != "" || evs[0].UserAgent != "" {
			t.Errorf("auth events under the pseudonym: %+v, want one without IP and user agent", evs)
		}
		if evs, _ := s.ListAuthEvents(ctx, u.ID, 10); len(evs) != 0 {
			t.Errorf("%d auth events still name the user", len(evs))
		}
		if got := auditIDs(t, s, u.ID); len(got) != 0 {
			t.Errorf("audit entries still name the user: %v", got)
		}
		entries, err := s.ListAuditEntries(ctx, store.AuditFilter{TargetType: "user", TargetID: pseudo}, 10)
		must(t, err)
		var deleted, rewritten bool
		for _, e := range entries {
			deleted = deleted || (e.Action == "user.deleted" && e.ActorKind == models.ActorSystem)
			if e.ID == about.ID {
				rewritten = e.BeforeJSON == "" && e.AfterJSON == ""
			}
		}
		byUser, err := s.ListAuditEntries(ctx, store.AuditFilter{ActorID: pseudo}, 10)
		must(t, err)
		if len(byUser) < 1 || byUser[len(byUser)-1].ID != by.ID || byUser[len(byUser)-1].ActorLabel != "" || byUser[len(byUser)-1].IP != "" {
			t.Errorf("entries by the user: %+v, want theirs under the pseudonym without label and IP", byUser)
		}
		if !deleted || !rewritten {
			t.Errorf("audit under the pseudonym: deleted %v, earlier entry cleared %v (%+v)", deleted, rewritten, entries)
		}
		wantErr(t, "purge twice", s.PurgeUser(ctx, u.ID, pseudo, at(0)), models.ErrNotFound)
		if _, err := s.GetUser(ctx, other.ID); err != nil {
			t.Errorf("another user: %v", err)
		}
	}},
	{"SetUserEmailProven", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s), createUser(t, s)
		login := newPasslink(u.ID, time.Hour)
		login.EmailNormalized = u.EmailNormalized
		must(t, s.CreatePasslink(ctx, login))
		change := newPasslink(u.ID, time.Hour)
		change.Purpose = models.PasslinkEmailChange
		must(t, s.CreatePasslink(ctx, change))
		cancel := newPasslink(u.ID, time.Hour)
		cancel.Purpose, cancel.EmailNormalized = models.PasslinkDeleteCancel, u.EmailNormalized
		must(t, s.CreatePasslink(ctx, cancel))
		_, err := s.SetUserEmailProven(ctx, u.ID, other.Email)
		wantErr(t, "another user's address", err, models.ErrAlreadyExists)
		next := "New-" + randHex(4) + "@Example.test"
		before, err := s.SetUserEmailProven(ctx, u.ID, next)
		must(t, err)
		if before.Email != u.Email {
			t.Errorf("before = %q, want %q", before.Email, u.Email)
		}
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if got.Email != next || got.EmailNormalized != store.NormalizeEmail(next) || !got.EmailVerified || got.EmailVerificationDue {
			t.Errorf("user after = %+v", got)
		}
		for _, tc := range []struct {
			p       *models.Passlink
			pending bool
		}{{login, false}, {change, false}, {cancel, true}} {
			p, err := s.GetPasslink(ctx, tc.p.ID)
			must(t, err)
			if (p.UsedAt == nil) != tc.pending {
				t.Errorf("%s link pending = %v, want %v", p.Purpose, p.UsedAt == nil, tc.pending)
			}
			if !tc.pending && p.Outcome != models.PasslinkSuperseded {
				t.Errorf("%s link outcome %q", p.Purpose, p.Outcome)
			}
		}
		// The old address is free again.
		_, err = s.GetUserByEmail(ctx, u.Email)
		wantErr(t, "old address", err, models.ErrNotFound)
		_, err = s.SetUserEmailProven(ctx, "no-such-user", "x@example.test")
		wantErr(t, "unknown user", err, models.ErrNotFound)
	}},
	{"ProveCurrentEmail", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		must(t, s.SetUserIdentity(ctx, u.ID, store.UserIdentity{Email: "moved-" + u.Email, DisplayName: u.DisplayName}))
		wantErr(t, "an address the account no longer has", s.ProveCurrentEmail(ctx, u.ID, u.Email), models.ErrNotFound)
		must(t, s.ProveCurrentEmail(ctx, u.ID, "MOVED-"+u.Email))
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if !got.EmailVerified || got.EmailVerificationDue {
			t.Errorf("after proof: verified %v, due %v", got.EmailVerified, got.EmailVerificationDue)
		}
	}},
	{"RecoveryCodesSingleUse", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s), createUser(t, s)
		hashes := []string{randHex(16), randHex(16), randHex(16)}
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, hashes))
		if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 3 {
			t.Fatalf("%d codes, want 3", n)
		}
		got, err := s.UnusedRecoveryCodeHashes(ctx, u.ID)
		must(t, err)
		if want := slices.Sorted(slices.Values(hashes)); !slices.Equal(got, want) {
			t.Fatalf("unused hashes %v, want %v", got, want)
		}
		if none, err := s.UnusedRecoveryCodeHashes(ctx, "no-such-user"); err != nil || len(none) != 0 {
			t.Fatalf("unknown user: %v, %v", none, err)
		}
		// Recovery sign-in finds the account by address or username.
		name := "rc-" + randHex(4)
		must(t, s.SetUserProfile(ctx, u.ID, store.UserProfile{Username: &name}))
		if byName, err := s.GetUserByUsername(ctx, " "+strings.ToUpper(name)); err != nil || byName.ID != u.ID {
			t.Fatalf("by username: %v, %v", byName, err)
		}
		_, err = s.GetUserByUsername(ctx, "nobody-"+randHex(4))
		wantErr(t, "an unknown username", err, models.ErrNotFound)
		wantErr(t, "another user's code", s.UseRecoveryCode(ctx, other.ID, hashes[0]), models.ErrNotFound)
		wantErr(t, "a wrong code", s.UseRecoveryCode(ctx, u.ID, randHex(16)), models.ErrNotFound)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.UseRecoveryCode(ctx, u.ID, hashes[0])
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, models.ErrNotFound):
					t.Errorf("racer: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d racers spent one code, want exactly 1", wins.Load())
		}
		if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 2 {
			t.Errorf("%d unused codes, want 2", n)
		}
		if left, _ := s.UnusedRecoveryCodeHashes(ctx, u.ID); slices.Contains(left, hashes[0]) || len(left) != 2 {
			t.Errorf("after use, unused hashes %v", left)
		}
		for _, id := range []string{u.ID, other.ID} {
			if has, err := s.HasRecoveryCodes(ctx, id); err != nil || has != (id == u.ID) {
				t.Errorf("has codes %s: %v, %v", id, has, err)
			}
		}
		fresh := []string{randHex(16)}
		must(t, s.ReplaceRecoveryCodes(ctx, u.ID, fresh))
		wantErr(t, "a replaced code", s.UseRecoveryCode(ctx, u.ID, hashes[1]), models.ErrNotFound)
		n, err := s.DeleteRecoveryCodes(ctx, u.ID)
		must(t, err)
		if n != 1 {
			t.Errorf("revoked %d unused codes, want 1", n)
		}
		wantErr(t, "a revoked code", s.UseRecoveryCode(ctx, u.ID, fresh[0]), models.ErrNotFound)
		if has, err := s.HasRecoveryCodes(ctx, u.ID); err != nil || has {
			t.Errorf("after revocation: has codes %v, %v", has, err)
		}
	}},
}

func containsID(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}
