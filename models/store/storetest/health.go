package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// healthTests cover the credential health findings (counts, lists, a
// user's credentials) and the adoption funnel. Counts are over whole
// tables, so each test compares before and after its own rows.
var healthTests = []subtest{
	{"CredentialHealth", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		denied, compromised, allowed := uuid.NewString(), uuid.NewString(), uuid.NewString()
		q := store.HealthQuery{StaleBefore: at(-90 * 24 * time.Hour), DeniedAAGUIDs: []string{denied}, CompromisedAAGUIDs: []string{compromised}}
		before, err := s.CountCredentialHealth(ctx, q)
		must(t, err)

		a, b := createUser(t, s), createUser(t, s)
		mk := func(u *models.User, aaguid string, created time.Time, used *time.Time, synced, clone bool) string {
			c := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey, PublicKey: "k", AAGUID: aaguid,
				BackupEligible: synced, CloneWarning: clone, CreatedAt: created, UpdatedAt: created, LastUsedAt: used}
			must(t, s.CreateCredential(ctx, c))
			return c.ID
		}
		fresh := mk(a, allowed, at(-time.Hour), nil, true, false)
		old := mk(a, denied, at(-200*24*time.Hour), ptr(at(-100*24*time.Hour)), false, false)
		cloned := mk(b, compromised, at(-10*24*time.Hour), ptr(at(-24*time.Hour)), true, true)
		forgotten := mk(b, allowed, at(-200*24*time.Hour), nil, false, false)
		// Flagged by the FIDO metadata check, whatever its AAGUID.
		revoked := &models.WebAuthnCredential{ID: newID("cred"), UserID: b.ID, Kind: models.CredentialPasskey, PublicKey: "k", AAGUID: allowed,
			CompromisedStatus: "REVOKED", LastUsedAt: ptr(at(-time.Hour))}
		must(t, s.CreateCredential(ctx, revoked))
		want := map[string][]string{
			fresh:      {store.FindingNeverUsed, store.FindingSynced},
			old:        {store.FindingDeniedModel, store.FindingStale, store.FindingDeviceBound},
			cloned:     {store.FindingCloneWarning, store.FindingCompromisedModel, store.FindingSynced},
			forgotten:  {store.FindingNeverUsed, store.FindingStale, store.FindingDeviceBound},
			revoked.ID: {store.FindingCompromisedModel, store.FindingDeviceBound},
		}
		// The counts: each finding's credentials and users went up by
		// what the four credentials above hold.
		after, err := s.CountCredentialHealth(ctx, q)
		must(t, err)
		if d := after.Total.Credentials - before.Total.Credentials; d != 5 {
			t.Errorf("total credentials went up by %d, want 5", d)
		}
		if d := after.Total.Users - before.Total.Users; d != 2 {
			t.Errorf("total users went up by %d, want 2", d)
		}
		for _, f := range store.Findings {
			var creds int64
			users := map[string]bool{}
			for id, fs := range want {
				if slices.Contains(fs, f) {
					creds++
					users[map[string]string{fresh: a.ID, old: a.ID, cloned: b.ID, forgotten: b.ID, revoked.ID: b.ID}[id]] = true
				}
			}
			got := after.By[f]
			if dc, du := got.Credentials-before.By[f].Credentials, got.Users-before.By[f].Users; dc != creds || du != int64(len(users)) {
				t.Errorf("%s went up by %d credentials of %d users, want %d of %d", f, dc, du, creds, len(users))
			}
		}

		// A user's credentials carry exactly their findings.
		for u, n := range map[*models.User]int{a: 2, b: 3} {
			rows, err := s.ListCredentialHealth(ctx, store.HealthFilter{HealthQuery: q, UserID: u.ID}, 10)
			must(t, err)
			if len(rows) != n {
				t.Fatalf("%d credentials of %s, want %d", len(rows), u.ID, n)
			}
			for _, r := range rows {
				if !slices.Equal(r.Findings, want[r.ID]) {
					t.Errorf("findings of %s = %v, want %v", r.ID, r.Findings, want[r.ID])
				}
				if r.Email != u.Email || r.UserID != u.ID {
					t.Errorf("credential %s: owner %s <%s>, want %s", r.ID, r.UserID, r.Email, u.Email)
				}
			}
		}

		// A finding selects its credentials, a page at a time by id.
		for _, f := range store.Findings {
			var got []string
			after := ""
			for {
				rows, err := s.ListCredentialHealth(ctx, store.HealthFilter{HealthQuery: q, Finding: f, AfterID: after}, 1)
				must(t, err)
				if len(rows) == 0 {
					break
				}
				for _, r := range rows {
					if !slices.Contains(r.Findings, f) {
						t.Errorf("%s listed %s without it: %v", f, r.ID, r.Findings)
					}
					if _, ours := want[r.ID]; ours {
						got = append(got, r.ID)
					}
				}
				after = rows[len(rows)-1].ID
			}
			var wantIDs []string
			for id, fs := range want {
				if slices.Contains(fs, f) {
					wantIDs = append(wantIDs, id)
				}
			}
			slices.Sort(wantIDs)
			if !slices.Equal(got, wantIDs) {
				t.Errorf("%s listed %v, want %v", f, got, wantIDs)
			}
		}

		// An allow list makes every other model a denied one.
		qa := q
		qa.DeniedAAGUIDs, qa.AllowedAAGUIDs = nil, []string{allowed}
		rows, err := s.ListCredentialHealth(ctx, store.HealthFilter{HealthQuery: qa, UserID: a.ID, Finding: store.FindingDeniedModel}, 10)
		must(t, err)
		if len(rows) != 1 || rows[0].ID != old {
			t.Errorf("off the allow list: %v, want only %s", rows, old)
		}
		// Without a stale date or status source, nothing is stale or
		// compromised.
		rows, err = s.ListCredentialHealth(ctx, store.HealthFilter{UserID: b.ID}, 10)
		must(t, err)
		for _, r := range rows {
			if slices.Contains(r.Findings, store.FindingStale) || (r.ID != revoked.ID && slices.Contains(r.Findings, store.FindingCompromisedModel)) || slices.Contains(r.Findings, store.FindingDeniedModel) {
				t.Errorf("empty query found %v on %s", r.Findings, r.ID)
			}
		}
		if _, err := s.ListCredentialHealth(ctx, store.HealthFilter{Finding: "nonsense"}, 10); err == nil {
			t.Error("an unknown finding was accepted")
		}
	}},
	{"AdoptionFunnel", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		from := at(-30 * 24 * time.Hour)
		before, err := s.AdoptionFunnel(ctx, from)
		must(t, err)
		cred := func(u *models.User, kind string, synced bool) {
			must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: kind, PublicKey: "k", BackupEligible: synced}))
		}
		event := func(u *models.User, ago time.Duration, method, event, result string) {
			recordEvent(t, s, models.AuthEvent{At: at(-ago), UserID: u.ID, Method: method, Event: event, Result: result})
		}
		users := make([]*models.User, 9)
		for i := range users {
			users[i] = createUser(t, s)
		}
		// 0: no credential at all.
		cred(users[1], models.CredentialPasskey, true) // 1: one synced passkey, unused
		cred(users[2], models.CredentialPasskey, true) // 2: two synced passkeys, unused
		cred(users[2], models.CredentialPasskey, true)
		cred(users[3], models.CredentialPasskey, false) // 3: device-bound, passkey sign-ins only
		event(users[3], time.Hour, models.MethodPasskey, models.EventLogin, models.ResultSuccess)
		event(users[3], time.Hour, models.MethodPasslink, models.EventLogin, models.ResultFailure)
		cred(users[4], models.CredentialPasskey, true) // 4: two passkeys, also an email link
		cred(users[4], models.CredentialPasskey, false)
		event(users[4], time.Hour, models.MethodPasskey, models.EventLogin, models.ResultSuccess)
		event(users[4], 2*time.Hour, models.MethodPasslink, models.EventLogin, models.ResultSuccess)
		cred(users[5], models.CredentialPasskey, true) // 5: two passkeys, last passkey sign-in 40 days ago
		cred(users[5], models.CredentialPasskey, true)
		event(users[5], 40*24*time.Hour, models.MethodPasskey, models.EventLogin, models.ResultSuccess)
		cred(users[6], models.CredentialPasskey, false) // 6: signed up with a device-bound passkey
		event(users[6], time.Hour, models.MethodPasskey, models.EventRegister, models.ResultSuccess)
		cred(users[7], models.CredentialPasskey, true) // 7: one synced passkey, passkey sign-ins only
		event(users[7], time.Hour, models.MethodPasskey, models.EventLogin, models.ResultSuccess)
		cred(users[8], models.CredentialSecurityKey, false) // 8: a security key is not a passkey
		event(users[8], time.Hour, models.MethodPasswordKey, models.EventLogin, models.ResultSuccess)

		after, err := s.AdoptionFunnel(ctx, from)
		must(t, err)
		got := store.Funnel{SignedUp: after.SignedUp - before.SignedUp, FirstPasskey: after.FirstPasskey - before.FirstPasskey,
			Strong: after.Strong - before.Strong, PasskeyOnly: after.PasskeyOnly - before.PasskeyOnly}
		if want := (store.Funnel{SignedUp: 9, FirstPasskey: 7, Strong: 5, PasskeyOnly: 2}); got != want {
			t.Errorf("funnel went up by %+v, want %+v", got, want)
		}
	}},
}
