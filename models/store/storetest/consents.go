package storetest

import (
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var consentTests = []subtest{
	{"SaveGetUpsert", func(t *testing.T, s *store.Store) {
		u, c := createUser(t, s), createClient(t, s)
		first := &models.Consent{UserID: u.ID, ClientID: c.ID, Scopes: models.StringList{"openid", "profile"}}
		must(t, s.SaveConsent(t.Context(), first))
		got, err := s.GetConsent(t.Context(), u.ID, c.ID)
		must(t, err)
		sameRow(t, first, got)

		second := &models.Consent{UserID: u.ID, ClientID: c.ID, Scopes: models.StringList{"openid", "email"}}
		must(t, s.SaveConsent(t.Context(), second))
		got, err = s.GetConsent(t.Context(), u.ID, c.ID)
		must(t, err)
		if !slices.Equal(got.Scopes, second.Scopes) {
			t.Errorf("scopes after second save = %q, want %q (replaced, not merged)", got.Scopes, second.Scopes)
		}
		sameTime(t, "CreatedAt kept by the upsert", first.CreatedAt, got.CreatedAt)
		if got.UpdatedAt.Before(first.UpdatedAt) {
			t.Errorf("UpdatedAt went back: %v before %v", got.UpdatedAt, first.UpdatedAt)
		}

		_, err = s.GetConsent(t.Context(), u.ID, newID("client"))
		wantErr(t, "get missing consent", err, models.ErrNotFound)
	}},
	{"List", func(t *testing.T, s *store.Store) {
		u, other := createUser(t, s), createUser(t, s)
		c1, c2 := createClient(t, s), createClient(t, s)
		for _, c := range []*models.Consent{
			{UserID: u.ID, ClientID: c2.ID, Scopes: models.StringList{"openid"}},
			{UserID: u.ID, ClientID: c1.ID, Scopes: models.StringList{"openid", "email"}},
			{UserID: other.ID, ClientID: c1.ID, Scopes: models.StringList{"openid"}},
		} {
			must(t, s.SaveConsent(t.Context(), c))
		}
		list, err := s.ListConsents(t.Context(), u.ID)
		must(t, err)
		var got []string
		for _, c := range list {
			if c.UserID != u.ID {
				t.Errorf("listed another user's consent: %+v", c)
			}
			got = append(got, c.ClientID)
		}
		want := []string{c1.ID, c2.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("consented clients = %v, want %v", got, want)
		}
	}},
	{"DeleteRevokesThatClientsTokens", func(t *testing.T, s *store.Store) {
		u, other := createUser(t, s), createUser(t, s)
		c, otherClient := createClient(t, s), createClient(t, s)
		for _, cs := range []*models.Consent{
			{UserID: u.ID, ClientID: c.ID}, {UserID: u.ID, ClientID: otherClient.ID}, {UserID: other.ID, ClientID: c.ID},
		} {
			cs.Scopes = models.StringList{"openid"}
			must(t, s.SaveConsent(t.Context(), cs))
		}
		code, access, refresh := grantTokens(t, s, c.ID, u.ID, "")
		_, ocAccess, ocRefresh := grantTokens(t, s, otherClient.ID, u.ID, "")
		_, ouAccess, ouRefresh := grantTokens(t, s, c.ID, other.ID, "")

		must(t, s.DeleteConsent(t.Context(), u.ID, c.ID))
		_, err := s.GetConsent(t.Context(), u.ID, c.ID)
		wantErr(t, "get withdrawn consent", err, models.ErrNotFound)
		wantRequests(t, s, false, access, refresh)
		wantRequests(t, s, true, code, ocAccess, ocRefresh, ouAccess, ouRefresh)
		for _, k := range [][2]string{{u.ID, otherClient.ID}, {other.ID, c.ID}} {
			_, err := s.GetConsent(t.Context(), k[0], k[1])
			wantErr(t, "other consent", err, nil)
		}

		wantErr(t, "delete consent twice", s.DeleteConsent(t.Context(), u.ID, c.ID), models.ErrNotFound)
	}},
}
