package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var userTests = []subtest{
	{"CeremonyWithCredentials", func(t *testing.T, s *store.Store) {
		// A passkey sign-in's finish: for the ceremony the browser
		// presented (sealed, not stored), the credential's account and the
		// ceremony's interaction read at once, the same answers as
		// ListCredentialsWith and GetInteraction give apart; the ceremony
		// is left unspent.
		ctx := t.Context()
		u, other := createUser(t, s), createUser(t, s)
		in := createInteraction(t, s, createClient(t, s).ID, 5*time.Minute)
		base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		var ids []string
		for i := range 2 {
			c := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, PublicKey: "AQ", CreatedAt: base.Add(time.Duration(i) * time.Minute),
				Kind: models.CredentialPasskey, Transports: models.StringList{"internal"}, LastUsedAt: &base}
			must(t, s.CreateCredential(ctx, c))
			ids = append(ids, c.ID)
		}
		must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: other.ID, PublicKey: "AQ"}))
		ceremony := func(expiresIn time.Duration, interactionID string) *models.WebAuthnCeremony {
			return &models.WebAuthnCeremony{ID: newID("cer"), BrowserHash: randHex(32), Kind: models.CeremonyLogin, UserID: u.ID,
				InteractionID: interactionID, Data: `{"mode":"user"}`, CreatedAt: at(0), ExpiresAt: at(expiresIn)}
		}

		cer := ceremony(5*time.Minute, in.ID)
		got, err := s.CeremonyWithCredentials(ctx, cer, ids[1])
		must(t, err)
		if got.Ceremony != cer {
			t.Errorf("the ceremony read is %+v, want the one presented", got.Ceremony)
		}
		wantOwner, wantCreds, err := s.ListCredentialsWith(ctx, ids[1])
		must(t, err)
		sameRow(t, wantOwner, got.Owner)
		if len(got.Credentials) != len(wantCreds) || len(got.Credentials) != 2 {
			t.Fatalf("credentials: %d, want the account's %d", len(got.Credentials), len(wantCreds))
		}
		for i := range got.Credentials {
			sameRow(t, &wantCreds[i], &got.Credentials[i])
		}
		wantIn, err := s.GetInteraction(ctx, in.ID)
		must(t, err)
		if got.Interaction == nil {
			t.Fatal("the ceremony's interaction was not read")
		}
		sameRow(t, wantIn, got.Interaction)
		// Read, not spent: SpendCeremony still spends it, once, and then
		// the read says so.
		must(t, s.SpendCeremony(ctx, cer))
		wantErr(t, "spend a spent ceremony", s.SpendCeremony(ctx, cer), models.ErrConsumed)
		again, err := s.CeremonyWithCredentials(ctx, cer, ids[1])
		wantErr(t, "read a spent ceremony", err, models.ErrConsumed)
		if again != nil {
			t.Errorf("a spent ceremony read %+v", again)
		}

		// An unknown credential: the ceremony alone. A consumed
		// interaction is read as it stands; a ceremony without one, or
		// whose interaction is gone, reads none.
		must(t, s.ConsumeInteraction(ctx, in.ID))
		cer = ceremony(5*time.Minute, in.ID)
		got, err = s.CeremonyWithCredentials(ctx, cer, newID("cred"))
		must(t, err)
		if got.Ceremony == nil || got.Ceremony.ID != cer.ID || got.Owner != nil || len(got.Credentials) != 0 {
			t.Fatalf("unknown credential: %+v; want the ceremony alone", got)
		}
		if got.Interaction == nil || got.Interaction.ID != in.ID || !errors.Is(got.Interaction.Usable(time.Now()), models.ErrConsumed) {
			t.Fatalf("consumed interaction: %+v, want it read, consumed", got.Interaction)
		}
		for _, id := range []string{"", newID("ia")} {
			got, err = s.CeremonyWithCredentials(ctx, ceremony(5*time.Minute, id), ids[0])
			must(t, err)
			if got.Interaction != nil || len(got.Credentials) != 2 {
				t.Fatalf("interaction %q: read %+v and %d credentials, want no interaction and 2", id, got.Interaction, len(got.Credentials))
			}
		}

		old := ceremony(-time.Second, in.ID)
		_, err = s.CeremonyWithCredentials(ctx, old, ids[0])
		wantErr(t, "an expired ceremony", err, models.ErrExpired)
		wantErr(t, "spend an expired ceremony", s.SpendCeremony(ctx, old), models.ErrExpired)
	}},
	{"ListCredentialsWith", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		// The owner with every kind of column set (a pointer, JSON, times),
		// so the joined read is checked against GetUser field by field.
		uid := newID("user")
		name, due := "owner-"+uid, time.Now().Add(48*time.Hour).UTC().Truncate(time.Second)
		u := &models.User{ID: uid, Email: uid + "@Example.test", EmailVerified: true, DisplayName: "Owner", Role: models.RoleAdmin,
			Username: &name, GivenName: "Ada", FamilyName: "Lovelace", Locale: "en-GB", Picture: "https://example.test/a.png",
			Attributes: models.JSONObject{"team": "blue", "level": float64(3)}, DeletionDueAt: &due}
		must(t, s.CreateUser(ctx, u))
		other := createUser(t, s)
		stored, err := s.GetUser(ctx, u.ID)
		must(t, err)
		base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		var want []string
		for i := range 3 {
			c := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, PublicKey: "AQ", CreatedAt: base.Add(time.Duration(3-i) * time.Minute),
				Kind: models.CredentialPasskey, Name: "Key", AAGUID: "00000000-0000-0000-0000-00000000000" + string(rune('1'+i)), SignCount: int64(i),
				Transports: models.StringList{"usb", "nfc"}, BackupEligible: true, LastUsedAt: &base}
			must(t, s.CreateCredential(ctx, c))
			want = append([]string{c.ID}, want...) // oldest first
		}
		theirs := &models.WebAuthnCredential{ID: newID("cred"), UserID: other.ID, PublicKey: "AQ"}
		must(t, s.CreateCredential(ctx, theirs))
		for _, id := range want {
			owner, got, err := s.ListCredentialsWith(ctx, id)
			must(t, err)
			if owner == nil {
				t.Fatalf("ListCredentialsWith(%s): no owner", id)
			}
			sameRow(t, stored, owner)
			ids := make([]string, len(got))
			for i, c := range got {
				ids[i] = c.ID
				if c.UserID != u.ID || c.PublicKey != "AQ" {
					t.Fatalf("ListCredentialsWith(%s): %+v, want the account's full records", id, c)
				}
				full, err := s.GetCredential(ctx, c.ID)
				must(t, err)
				sameRow(t, full, &got[i])
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("ListCredentialsWith(%s) = %v, want the account's %v, oldest first", id, ids, want)
			}
		}
		if owner, got, err := s.ListCredentialsWith(ctx, theirs.ID); err != nil || len(got) != 1 || got[0].ID != theirs.ID || owner == nil || owner.ID != other.ID {
			t.Fatalf("ListCredentialsWith(the other account's) = %v, %v, %v, want only theirs and its owner", owner, got, err)
		}
		if owner, got, err := s.ListCredentialsWith(ctx, newID("cred")); err != nil || len(got) != 0 || owner != nil {
			t.Fatalf("ListCredentialsWith(unknown) = %v, %v, %v, want none", owner, got, err)
		}
	}},
	{"SetLocale", func(t *testing.T, s *store.Store) {
		id := newID("user")
		must(t, s.CreateUser(t.Context(), &models.User{ID: id, Email: id + "@example.test", DisplayName: "Lena", Locale: "en-GB"}))
		must(t, s.SetUserLocale(t.Context(), id, "de"))
		got, err := s.GetUser(t.Context(), id)
		must(t, err)
		if got.Locale != "de" || got.DisplayName != "Lena" {
			t.Errorf("after SetUserLocale: locale %q name %q, want de and the name kept", got.Locale, got.DisplayName)
		}
		if err := s.SetUserLocale(t.Context(), newID("nobody"), "de"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetUserLocale of nobody = %v, want ErrNotFound", err)
		}
	}},
	{"CreateGet", func(t *testing.T, s *store.Store) {
		id := newID("user")
		u := &models.User{ID: id, Email: "  Mixed.Case+" + id + "@Example.TEST ", EmailVerified: true, DisplayName: "Zoë Example"}
		must(t, s.CreateUser(t.Context(), u))
		if want := "mixed.case+" + id + "@example.test"; u.EmailNormalized != want {
			t.Errorf("EmailNormalized = %q, want %q", u.EmailNormalized, want)
		}
		if u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
			t.Errorf("timestamps not set: created %v updated %v", u.CreatedAt, u.UpdatedAt)
		}
		got, err := s.GetUser(t.Context(), id)
		must(t, err)
		sameRow(t, u, got)

		_, err = s.GetUser(t.Context(), newID("missing"))
		wantErr(t, "get missing user", err, models.ErrNotFound)
	}},
	{"DuplicateID", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		err := s.CreateUser(t.Context(), &models.User{ID: u.ID, Email: newID("other") + "@example.test"})
		wantErr(t, "create user with taken id", err, models.ErrAlreadyExists)
	}},
	{"EmailUniqueCaseInsensitive", func(t *testing.T, s *store.Store) {
		local := newID("dup")
		must(t, s.CreateUser(t.Context(), &models.User{ID: newID("user"), Email: local + "@Example.test"}))
		for _, email := range []string{local + "@Example.test", local + "@EXAMPLE.TEST", " " + local + "@example.test\t"} {
			err := s.CreateUser(t.Context(), &models.User{ID: newID("user"), Email: email})
			wantErr(t, "create user with address "+email, err, models.ErrAlreadyExists)
		}
	}},
	{"GetByEmail", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		for _, email := range []string{u.Email, u.EmailNormalized, "  " + u.EmailNormalized + " ", u.ID + "@EXAMPLE.test"} {
			got, err := s.GetUserByEmail(t.Context(), email)
			must(t, err)
			if got.ID != u.ID {
				t.Errorf("GetUserByEmail(%q) = %s, want %s", email, got.ID, u.ID)
			}
		}
		_, err := s.GetUserByEmail(t.Context(), newID("nobody")+"@example.test")
		wantErr(t, "get user by unknown address", err, models.ErrNotFound)
	}},
	{"ListPaging", func(t *testing.T, s *store.Store) {
		// Distinct, increasing creation times in the future, so these users
		// sort after any other rows of a shared database, in this order.
		var mine []string
		base := at(time.Hour)
		for i := range 5 {
			id := newID("user")
			must(t, s.CreateUser(t.Context(), &models.User{
				ID: id, Email: id + "@example.test", CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
			}))
			mine = append(mine, id)
		}
		const limit = 2
		var all []string
		seen := map[string]bool{}
		for offset := 0; ; offset += limit {
			page, err := s.ListUsers(t.Context(), offset, limit)
			must(t, err)
			if len(page) > limit {
				t.Fatalf("page at %d has %d users, limit %d", offset, len(page), limit)
			}
			for _, u := range page {
				if seen[u.ID] {
					t.Fatalf("user %s listed twice", u.ID)
				}
				seen[u.ID] = true
				if slices.Contains(mine, u.ID) {
					all = append(all, u.ID)
				}
			}
			if len(page) < limit {
				break
			}
		}
		if !slices.Equal(all, mine) {
			t.Errorf("paged users = %v, want %v in creation order", all, mine)
		}
	}},
	{"DisableRevokesSessionsAndTokens", func(t *testing.T, s *store.Store) {
		u, other := createUser(t, s), createUser(t, s)
		c := createClient(t, s)
		ls1 := createLoginSession(t, s, u.ID, time.Hour)
		ls2 := createLoginSession(t, s, u.ID, time.Hour)
		otherLS := createLoginSession(t, s, other.ID, time.Hour)
		code, access, refresh := grantTokens(t, s, c.ID, u.ID, ls1.ID)
		_, access2, refresh2 := grantTokens(t, s, c.ID, u.ID, "")
		_, otherAccess, otherRefresh := grantTokens(t, s, c.ID, other.ID, otherLS.ID)

		must(t, s.SetUserDisabled(t.Context(), u.ID, true))
		got, err := s.GetUser(t.Context(), u.ID)
		must(t, err)
		if !got.Disabled {
			t.Error("user not disabled")
		}
		if !got.UpdatedAt.After(u.UpdatedAt) && !got.UpdatedAt.Equal(u.UpdatedAt) {
			t.Errorf("UpdatedAt went back: %v before %v", got.UpdatedAt, u.UpdatedAt)
		}
		for _, ls := range []*models.LoginSession{ls1, ls2} {
			_, err := s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash)
			wantErr(t, "login session of disabled user", err, models.ErrNotFound)
		}
		if list, err := s.ListUserLoginSessions(t.Context(), u.ID); err != nil || len(list) != 0 {
			t.Errorf("disabled user's sessions = %d (%v), want none", len(list), err)
		}
		wantRequests(t, s, false, access, refresh, access2, refresh2)
		// Codes are not tokens: they expire on their own.
		wantRequests(t, s, true, code)

		// Another user keeps everything.
		_, err = s.GetLoginSessionByTokenHash(t.Context(), otherLS.TokenHash)
		wantErr(t, "other user's login session", err, nil)
		wantRequests(t, s, true, otherAccess, otherRefresh)

		must(t, s.SetUserDisabled(t.Context(), u.ID, false))
		got, err = s.GetUser(t.Context(), u.ID)
		must(t, err)
		if got.Disabled {
			t.Error("user still disabled after enabling")
		}

		wantErr(t, "disable missing user", s.SetUserDisabled(t.Context(), newID("missing"), true), models.ErrNotFound)
	}},
}
