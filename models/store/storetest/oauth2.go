package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var oauth2Tests = []subtest{
	{"CreateGet", func(t *testing.T, s *store.Store) {
		r := newRequest(models.KindRefreshToken, newID("req"), newID("client"), newID("user"), newID("sid"))
		r.AccessSignature = newID("sig")
		must(t, s.CreateOAuth2Request(t.Context(), r))
		if r.CreatedAt.IsZero() {
			t.Error("CreatedAt not set")
		}
		got, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
		must(t, err)
		sameRow(t, r, got)

		// The key is (kind, signature): the same signature under another
		// kind is another record, the same pair again is a conflict.
		other := *r
		other.Kind = models.KindAccessToken
		must(t, s.CreateOAuth2Request(t.Context(), &other))
		dup := *r
		wantErr(t, "create duplicate record", s.CreateOAuth2Request(t.Context(), &dup), models.ErrAlreadyExists)

		_, err = s.GetOAuth2Request(t.Context(), models.KindAuthorizeCode, r.Signature)
		wantErr(t, "get record under another kind", err, models.ErrNotFound)
	}},
	{"CreateManyGetBySignature", func(t *testing.T, s *store.Store) {
		// A code's records share its signature and are written together
		// (one multi-row INSERT) and read together (one SELECT).
		rid, client, user := newID("req"), newID("client"), newID("user")
		code := newRequest(models.KindAuthorizeCode, rid, client, user, "")
		pkce, oidc := *code, *code
		pkce.Kind, oidc.Kind = models.KindPKCE, models.KindOIDC
		oidc.Data = `{"oidc":true}`
		other := newRequest(models.KindAuthorizeCode, rid, client, user, "")
		must(t, s.CreateOAuth2Requests(t.Context(), nil))
		must(t, s.CreateOAuth2Requests(t.Context(), []*models.OAuth2Request{code, &pkce, &oidc, other}))
		for _, r := range []*models.OAuth2Request{code, &pkce, &oidc, other} {
			if r.CreatedAt.IsZero() {
				t.Errorf("%s: CreatedAt not set", r.Kind)
			}
			got, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
			must(t, err)
			sameRow(t, r, got)
		}
		got, err := s.GetOAuth2RequestsBySignature(t.Context(), code.Signature, models.KindAuthorizeCode, models.KindPKCE, models.KindOIDC)
		must(t, err)
		byKind := map[string]models.OAuth2Request{}
		for _, r := range got {
			byKind[r.Kind] = r
		}
		if len(got) != 3 || len(byKind) != 3 {
			t.Fatalf("records under the code's signature: %d (%v), want code, pkce and oidc", len(got), byKind)
		}
		for _, r := range []*models.OAuth2Request{code, &pkce, &oidc} {
			g := byKind[r.Kind]
			sameRow(t, r, &g)
		}
		got, err = s.GetOAuth2RequestsBySignature(t.Context(), code.Signature, models.KindPKCE)
		must(t, err)
		if len(got) != 1 || got[0].Kind != models.KindPKCE {
			t.Errorf("only pkce asked: got %v", got)
		}
		got, err = s.GetOAuth2RequestsBySignature(t.Context(), newID("sig"), models.KindAuthorizeCode)
		must(t, err)
		if len(got) != 0 {
			t.Errorf("unknown signature: got %v", got)
		}
		// One conflicting row fails the whole statement: nothing is written.
		fresh := newRequest(models.KindAccessToken, rid, client, user, "")
		dup := *code
		wantErr(t, "create a batch with a duplicate", s.CreateOAuth2Requests(t.Context(), []*models.OAuth2Request{fresh, &dup}), models.ErrAlreadyExists)
		if requestExists(t, s, fresh) {
			t.Error("a failed batch wrote a row")
		}
	}},
	{"DeactivateSingleUse", func(t *testing.T, s *store.Store) {
		r := createRequest(t, s, models.KindAuthorizeCode, newID("req"), newID("client"), newID("user"), "")
		if r.DeactivatedAt != nil {
			t.Error("a new record has DeactivatedAt")
		}
		before := store.Now()
		must(t, s.DeactivateOAuth2Request(t.Context(), r.Kind, r.Signature))
		after := store.Now()
		got, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
		must(t, err)
		if got.Active {
			t.Error("record still active after deactivation")
		}
		// The refresh-token reuse interval is measured from it.
		if got.DeactivatedAt == nil || got.DeactivatedAt.Before(before) || got.DeactivatedAt.After(after) {
			t.Errorf("DeactivatedAt = %v, want within [%v, %v]", got.DeactivatedAt, before, after)
		}
		wantErr(t, "deactivate twice", s.DeactivateOAuth2Request(t.Context(), r.Kind, r.Signature), models.ErrConsumed)
		wantErr(t, "deactivate missing", s.DeactivateOAuth2Request(t.Context(), r.Kind, newID("sig")), models.ErrConsumed)
	}},
	{"DeactivatedWithin", func(t *testing.T, s *store.Store) {
		// The reuse interval's clock: the one that stamped the
		// deactivation (the database's on PostgreSQL).
		r := createRequest(t, s, models.KindRefreshToken, newID("req"), newID("client"), newID("user"), "")
		within, err := s.DeactivatedWithin(t.Context(), r.Kind, r.Signature, time.Minute)
		must(t, err)
		if within {
			t.Error("an active record counts as deactivated")
		}
		must(t, s.DeactivateOAuth2Request(t.Context(), r.Kind, r.Signature))
		for _, tc := range []struct {
			d    time.Duration
			want bool
		}{{time.Minute, true}, {time.Second, true}, {time.Microsecond, false}} {
			if tc.d == time.Microsecond {
				time.Sleep(2 * time.Millisecond)
			}
			got, err := s.DeactivatedWithin(t.Context(), r.Kind, r.Signature, tc.d)
			must(t, err)
			if got != tc.want {
				t.Errorf("DeactivatedWithin(%s) = %v, want %v", tc.d, got, tc.want)
			}
		}
		other, err := s.DeactivatedWithin(t.Context(), models.KindAccessToken, r.Signature, time.Minute)
		must(t, err)
		if other {
			t.Error("another kind's record counts")
		}
	}},
	{"DeactivateRace", func(t *testing.T, s *store.Store) {
		r := createRequest(t, s, models.KindAuthorizeCode, newID("req"), newID("client"), newID("user"), "")
		errs := race(racers, func() error { return s.DeactivateOAuth2Request(t.Context(), r.Kind, r.Signature) })
		exactlyOneWins(t, errs, models.ErrConsumed)
	}},
	{"ByRequestIDTouchesOnlyThatKindAndID", func(t *testing.T, s *store.Store) {
		client, subject := newID("client"), newID("user")
		rid, otherRID := newID("req"), newID("req")
		refresh1 := createRequest(t, s, models.KindRefreshToken, rid, client, subject, "")
		refresh2 := createRequest(t, s, models.KindRefreshToken, rid, client, subject, "")
		access := createRequest(t, s, models.KindAccessToken, rid, client, subject, "")
		otherRefresh := createRequest(t, s, models.KindRefreshToken, otherRID, client, subject, "")

		for _, c := range []struct {
			kind, rid string
			want      bool
		}{{models.KindRefreshToken, rid, true}, {models.KindAccessToken, rid, true}, {models.KindAuthorizeCode, rid, false}, {models.KindRefreshToken, newID("req"), false}} {
			got, err := s.HasActiveOAuth2Request(t.Context(), c.kind, c.rid)
			must(t, err)
			if got != c.want {
				t.Errorf("HasActiveOAuth2Request(%s) = %v, want %v", c.kind, got, c.want)
			}
		}
		// A record deactivated earlier (a rotation) keeps its time when the
		// family is revoked.
		must(t, s.DeactivateOAuth2Request(t.Context(), refresh1.Kind, refresh1.Signature))
		rotated, err := s.GetOAuth2Request(t.Context(), refresh1.Kind, refresh1.Signature)
		must(t, err)
		must(t, s.DeactivateOAuth2RequestsByRequestID(t.Context(), models.KindRefreshToken, rid))
		for _, c := range []struct {
			r      *models.OAuth2Request
			active bool
		}{{refresh1, false}, {refresh2, false}, {access, true}, {otherRefresh, true}} {
			got, err := s.GetOAuth2Request(t.Context(), c.r.Kind, c.r.Signature)
			must(t, err)
			if got.Active != c.active {
				t.Errorf("%s of %s: active = %v, want %v", c.r.Kind, c.r.RequestID, got.Active, c.active)
			}
		}
		if got, err := s.GetOAuth2Request(t.Context(), refresh1.Kind, refresh1.Signature); err != nil || got.DeactivatedAt == nil || !got.DeactivatedAt.Equal(*rotated.DeactivatedAt) {
			t.Errorf("revocation moved a rotated record's DeactivatedAt: %v, %v → %v", err, rotated.DeactivatedAt, got)
		}
		if got, err := s.GetOAuth2Request(t.Context(), refresh2.Kind, refresh2.Signature); err != nil || got.DeactivatedAt == nil {
			t.Errorf("revoked record without DeactivatedAt: %v", err)
		}
		if has, err := s.HasActiveOAuth2Request(t.Context(), models.KindRefreshToken, rid); err != nil || has {
			t.Errorf("HasActiveOAuth2Request after revocation = %v, %v", has, err)
		}
		// Again is no error (revoking a revoked family is fine).
		must(t, s.DeactivateOAuth2RequestsByRequestID(t.Context(), models.KindRefreshToken, rid))

		must(t, s.DeleteOAuth2RequestsByRequestID(t.Context(), models.KindRefreshToken, rid))
		wantRequests(t, s, false, refresh1, refresh2)
		wantRequests(t, s, true, access, otherRefresh)
		must(t, s.DeleteOAuth2RequestsByRequestID(t.Context(), models.KindRefreshToken, rid))
	}},
	{"DeleteOne", func(t *testing.T, s *store.Store) {
		rid := newID("req")
		a := createRequest(t, s, models.KindAccessToken, rid, newID("client"), "", "")
		b := createRequest(t, s, models.KindAccessToken, rid, a.ClientID, "", "")
		must(t, s.DeleteOAuth2Request(t.Context(), a.Kind, a.Signature))
		wantRequests(t, s, false, a)
		wantRequests(t, s, true, b)
		wantErr(t, "delete missing record", s.DeleteOAuth2Request(t.Context(), a.Kind, a.Signature), nil)
	}},
	{"RevokeSessionTokens", func(t *testing.T, s *store.Store) {
		client, subject := newID("client"), newID("user")
		sid, otherSID := newID("sid"), newID("sid")
		code, access, refresh := grantTokens(t, s, client, subject, sid)
		_, otherAccess, otherRefresh := grantTokens(t, s, client, subject, otherSID)
		_, noSIDAccess, noSIDRefresh := grantTokens(t, s, client, subject, "")

		must(t, s.RevokeSessionTokens(t.Context(), sid))
		wantRequests(t, s, false, access, refresh)
		wantRequests(t, s, true, code, otherAccess, otherRefresh, noSIDAccess, noSIDRefresh)

		// An empty session id must not match every grant without a session.
		must(t, s.RevokeSessionTokens(t.Context(), ""))
		wantRequests(t, s, true, noSIDAccess, noSIDRefresh)
	}},
	{"RevokeUserClientTokens", func(t *testing.T, s *store.Store) {
		user, otherUser := newID("user"), newID("user")
		client, otherClient := newID("client"), newID("client")
		code, access, refresh := grantTokens(t, s, client, user, "")
		_, ocAccess, ocRefresh := grantTokens(t, s, otherClient, user, "")
		_, ouAccess, ouRefresh := grantTokens(t, s, client, otherUser, "")

		must(t, s.RevokeUserClientTokens(t.Context(), user, client))
		wantRequests(t, s, false, access, refresh)
		wantRequests(t, s, true, code, ocAccess, ocRefresh, ouAccess, ouRefresh)
	}},
}

var jtiTests = []subtest{
	{"MarkTwice", func(t *testing.T, s *store.Store) {
		jti := newID("jti")
		used, err := s.JTIUsed(t.Context(), jti)
		must(t, err)
		if used {
			t.Fatal("fresh jti reported used")
		}
		must(t, s.MarkJTIUsed(t.Context(), jti, at(time.Hour)))
		used, err = s.JTIUsed(t.Context(), jti)
		must(t, err)
		if !used {
			t.Error("marked jti not reported used")
		}
		wantErr(t, "mark jti again (replay)", s.MarkJTIUsed(t.Context(), jti, at(time.Hour)), models.ErrAlreadyExists)
	}},
	{"ExpiredMayBeReused", func(t *testing.T, s *store.Store) {
		jti := newID("jti")
		must(t, s.MarkJTIUsed(t.Context(), jti, at(-time.Minute)))
		used, err := s.JTIUsed(t.Context(), jti)
		must(t, err)
		if used {
			t.Error("expired jti reported used")
		}
		must(t, s.MarkJTIUsed(t.Context(), jti, at(time.Hour)))
		used, err = s.JTIUsed(t.Context(), jti)
		must(t, err)
		if !used {
			t.Error("re-marked jti not reported used")
		}
	}},
	{"MarkRace", func(t *testing.T, s *store.Store) {
		jti := newID("jti")
		errs := race(racers, func() error { return s.MarkJTIUsed(t.Context(), jti, at(time.Hour)) })
		exactlyOneWins(t, errs, models.ErrAlreadyExists)
	}},
	{"ReplayInsideTransactionKeepsItUsable", func(t *testing.T, s *store.Store) {
		// A replay detected inside a caller's transaction must not poison
		// it (PostgreSQL aborts a transaction on a failed statement).
		jti := newID("jti")
		must(t, s.MarkJTIUsed(t.Context(), jti, at(time.Hour)))
		u := &models.User{ID: newID("user")}
		u.Email = u.ID + "@example.test"
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			wantErr(t, "replay in transaction", s.MarkJTIUsed(ctx, jti, at(time.Hour)), models.ErrAlreadyExists)
			return s.CreateUser(ctx, u)
		})
		must(t, err)
		_, err = s.GetUser(t.Context(), u.ID)
		wantErr(t, "user written after the replay", err, nil)
	}},
}
