package passlink_test

import (
	"context"
	"testing"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// BenchmarkRequestRedeem measures one passlink from request to sign-in
// at the service level, on a real store: two rate-limit upserts, the
// account lookup, the rendered mail, one transaction with the passlink row
// and the outbox mail; then the link's lookup and one transaction that
// uses it (conditional update) and loads the user. Mail delivery is not
// included (it is asynchronous). Run:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench RequestRedeem -benchtime 2s ./authn/passlink/
func BenchmarkRequestRedeem(b *testing.B) {
	storetest.EachDialect(b, func(b *testing.B, st *store.Store) {
		e := newEnv(b, st, func(c *passlink.Config) { c.RateEmail, c.RateIP = 1<<30, 1<<30 })
		b.Run("serial", func(b *testing.B) {
			email := addr()
			createUser(b, st, email, true)
			for b.Loop() {
				requestRedeem(b, e, email)
			}
		})
		// Concurrent sign-ins of different people (one address each).
		b.Run("parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				email := addr()
				createUser(b, st, email, true)
				for pb.Next() {
					requestRedeem(b, e, email)
				}
			})
		})
	})
}

// requestRedeem requests a link and signs in with it, using the token of
// the mail just enqueued.
func requestRedeem(b *testing.B, e *env, email string) {
	ctx := context.Background()
	sent, err := e.svc.Request(ctx, passlink.Request{Email: email, BrowserHash: browserA, UserAgent: "bench", Device: "Go", IP: "192.0.2.1"})
	if err != nil || sent.Limited {
		b.Fatalf("request: %+v %v", sent, err)
	}
	if _, err := e.svc.SignIn(ctx, e.capt.token(email), browserA, ""); err != nil {
		b.Fatalf("sign in: %v", err)
	}
}
