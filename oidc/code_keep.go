package oidc

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// An authorization code is exchanged a moment after the resume wrote it,
// usually at the replica that wrote it. That replica keeps the code's
// records (the code's row, holding its PKCE and OpenID Connect records)
// for the exchange, which then reads nothing: one statement less per code
// flow. An exchange that reaches another replica reads the database.
//
// What the memory cannot know — the code spent at another replica since —
// the exchange's own statement decides: its spend is a conditional update
// (store.RedeemOAuth2Request). A code spent before, whose exchange here
// only learns so from that statement, is a replay all the same: the
// tokens issued for it are revoked, as fosite revokes them when it reads a
// spent code (RFC 6749 §4.1.2, RFC 9700 §4.14).

const (
	// keptCodeSize bounds the codes held; each is taken by the exchange
	// that follows within a second.
	keptCodeSize = 1024
	// keptCodeTTL is how long a code waits here for its exchange; a later
	// one reads the database.
	keptCodeTTL = time.Minute
)

// KeepCodes keeps the authorization codes among rows, records the caller
// has just written (committed), for their exchange.
func (s *Storage) KeepCodes(rows []*models.OAuth2Request) {
	if s.kept == nil {
		return
	}
	bySig := map[string][]models.OAuth2Request{}
	for _, r := range rows {
		if r.Kind == models.KindAuthorizeCode || heldByCode(r.Kind) {
			bySig[r.Signature] = append(bySig[r.Signature], *r)
		}
	}
	for sig, rs := range bySig {
		if slices.ContainsFunc(rs, func(r models.OAuth2Request) bool { return r.Kind == models.KindAuthorizeCode }) {
			s.kept.Put(sig, rs)
		}
	}
}

// takeKept removes and returns the records kept for the code under
// signature; each is taken at most once.
func (s *Storage) takeKept(signature string) ([]models.OAuth2Request, bool) {
	if s.kept == nil {
		return nil, false
	}
	return s.kept.Take(signature)
}

// forgetKept drops the records kept for a code that was written again
// (spent) on this replica.
func (s *Storage) forgetKept(signature string) {
	if s.kept != nil {
		s.kept.Forget(signature)
	}
}

// replayedKept revokes, after an exchange whose kept code lost its spend
// (models.ErrConsumed), the tokens issued for that code by the exchange
// that won: the code was used twice. err is returned as it was.
func (s *Storage) replayedKept(ctx context.Context, signature string, err error) error {
	if !errors.Is(err, models.ErrConsumed) {
		return err
	}
	m, ok := ctx.Value(memoKey{}).(*recordMemo)
	if !ok {
		return err
	}
	requestID, ok := m.kept[signature]
	if !ok {
		return err
	}
	// The context holds no transaction yet (a deferred one wrote nothing):
	// these statements stand alone, as fosite's revocation does.
	if rerr := s.st.DeleteOAuth2RequestsByRequestID(ctx, models.KindAccessToken, requestID); rerr != nil {
		return errors.Join(err, rerr)
	}
	if rerr := s.st.DeactivateOAuth2RequestsByRequestID(ctx, models.KindRefreshToken, requestID); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}
