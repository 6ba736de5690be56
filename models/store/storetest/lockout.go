package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// lockoutTests: whom a stricter passkey policy would leave without a
// passkey that signs in (each requirement alone and together), and the
// lifting of a suspension, once.
var lockoutTests = []subtest{
	{"UsersWithoutQualifyingPasskey", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		allowed, other := newID("aaguid"), newID("aaguid")
		cred := func(u *models.User, mod func(c *models.WebAuthnCredential)) {
			c := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey, PublicKey: "pk",
				AAGUID: allowed, AttestationFormat: "packed"}
			mod(c)
			must(t, s.CreateCredential(ctx, c))
		}
		// Each person's credentials, and the requirements that leave them
		// without a qualifying one.
		synced := createUser(t, s)
		cred(synced, func(c *models.WebAuthnCredential) { c.BackupEligible = true })
		otherModel := createUser(t, s)
		cred(otherModel, func(c *models.WebAuthnCredential) { c.AAGUID = other })
		unattested := createUser(t, s) // the right model, claimed only
		cred(unattested, func(c *models.WebAuthnCredential) { c.AttestationFormat = "none" })
		compromised := createUser(t, s)
		cred(compromised, func(c *models.WebAuthnCredential) { c.CompromisedStatus = "REVOKED" })
		good := createUser(t, s) // a bad one and a good one
		cred(good, func(c *models.WebAuthnCredential) { c.BackupEligible, c.AAGUID = true, other })
		cred(good, func(c *models.WebAuthnCredential) {})
		suspendedOnly := createUser(t, s) // no usable passkey today: nothing to lose
		cred(suspendedOnly, func(c *models.WebAuthnCredential) { c.BackupEligible = true })
		creds, err := s.ListUserCredentials(ctx, suspendedOnly.ID)
		must(t, err)
		must(t, s.SuspendCredential(ctx, creds[0].ID, store.Now()))
		cloned := createUser(t, s) // a clone-flagged good one does not count
		cred(cloned, func(c *models.WebAuthnCredential) { c.CloneWarning = true })
		cred(cloned, func(c *models.WebAuthnCredential) { c.BackupEligible = true })
		disabled := createUser(t, s)
		cred(disabled, func(c *models.WebAuthnCredential) { c.BackupEligible = true })
		must(t, s.SetUserDisabled(ctx, disabled.ID, true))
		keyOnly := createUser(t, s) // security keys are not passkeys
		must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: keyOnly.ID, Kind: models.CredentialSecurityKey, PublicKey: "pk", BackupEligible: true}))
		createUser(t, s) // no credential at all

		mine := []string{synced.ID, otherModel.ID, unattested.ID, compromised.ID, good.ID, suspendedOnly.ID, cloned.ID, disabled.ID, keyOnly.ID}
		for _, tc := range []struct {
			name string
			req  store.PasskeyRequirement
			want []string
		}{
			{"none", store.PasskeyRequirement{}, nil},
			{"device-bound", store.PasskeyRequirement{DeviceBound: true}, []string{synced.ID, cloned.ID}},
			{"allow-list", store.PasskeyRequirement{AllowedAAGUIDs: []string{allowed}}, []string{otherModel.ID, unattested.ID}},
			{"not-compromised", store.PasskeyRequirement{NotCompromised: true}, []string{compromised.ID}},
			{"all", store.PasskeyRequirement{DeviceBound: true, AllowedAAGUIDs: []string{allowed}, NotCompromised: true},
				[]string{synced.ID, otherModel.ID, unattested.ID, compromised.ID, cloned.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, users, err := s.UsersWithoutQualifyingPasskey(ctx, tc.req, 1_000_000)
				must(t, err)
				var got []string
				for _, u := range users {
					if slices.Contains(mine, u.ID) {
						got = append(got, u.ID)
					}
				}
				slices.Sort(got)
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("locked out %v, want %v", got, want)
				}
				n, few, err := s.UsersWithoutQualifyingPasskey(ctx, tc.req, 1)
				must(t, err)
				if n < int64(len(want)) || (n > 0 && len(few) != 1) {
					t.Fatalf("count %d with %d listed under limit 1, want at least %d and one", n, len(few), len(want))
				}
			})
		}
		// From a device-bound requirement to the allow list as well: only
		// those who had a device-bound passkey and none of the model.
		_, users, err := s.UsersNewlyWithoutQualifyingPasskey(ctx, store.PasskeyRequirement{DeviceBound: true},
			store.PasskeyRequirement{DeviceBound: true, AllowedAAGUIDs: []string{allowed}}, 1_000_000)
		must(t, err)
		var got []string
		for _, u := range users {
			if slices.Contains(mine, u.ID) {
				got = append(got, u.ID)
			}
		}
		slices.Sort(got)
		want := []string{otherModel.ID, unattested.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("newly locked out %v, want %v (not the synced ones, already out)", got, want)
		}
	}},
	{"LiftCredentialSuspensionOnce", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := createUser(t, s)
		c := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey, PublicKey: "pk"}
		must(t, s.CreateCredential(ctx, c))
		if err := s.LiftCredentialSuspension(ctx, c.ID); !errors.Is(err, models.ErrConsumed) {
			t.Fatalf("lifting an active credential: %v, want ErrConsumed", err)
		}
		if err := s.LiftCredentialSuspension(ctx, newID("cred")); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("lifting an unknown credential: %v, want ErrNotFound", err)
		}
		must(t, s.SuspendCredential(ctx, c.ID, store.Now()))
		must(t, s.LiftCredentialSuspension(ctx, c.ID))
		got, err := s.GetCredential(ctx, c.ID)
		must(t, err)
		if got.SuspendedAt != nil {
			t.Fatalf("still suspended at %v", got.SuspendedAt)
		}
		if err := s.LiftCredentialSuspension(ctx, c.ID); !errors.Is(err, models.ErrConsumed) {
			t.Fatalf("a second lift: %v, want ErrConsumed", err)
		}
	}},
}
