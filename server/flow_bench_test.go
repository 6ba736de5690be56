package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/loadgen"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// The hot paths of a person and an app, over loopback HTTP against a real
// server, with a software passkey (internal/loadgen, the same requests
// cmd/sesame-load sends). Each benchmark reports, beside ns/op, the SQL
// statements, transactions and row writes of one operation: the round
// trips a change must not quietly add. SESAME_BENCH_STATEMENTS=1 logs
// them per statement kind.

// flowFixture is a server with a confidential client and one person signed
// up with a passkey.
type flowFixture struct {
	env    *servertest.Env
	count  *storetest.Statements
	client loadgen.Client
	rt     http.RoundTripper
	b      *loadgen.Browser
}

func newFlowFixture(tb testing.TB, opts ...servertest.Option) *flowFixture {
	tb.Helper()
	env := servertest.New(tb, append(opts, servertest.UnverifiedEmails())...)
	id, secret := env.CreateClient(clients.Spec{
		Name: "Load", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, SkipConsent: true,
		GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes:     []string{"openid", "profile", "email", "offline_access"},
	})
	f := &flowFixture{env: env, count: storetest.CountStatements(tb, env.Store),
		client: loadgen.Client{ID: id, Secret: secret, RedirectURI: "http://127.0.0.1:9/cb"},
		rt:     &http.Transport{MaxIdleConnsPerHost: 16}}
	f.b = f.person(tb, "bench@example.com")
	return f
}

// dbCPU reads the CPU time of this test's PostgreSQL backends (none on
// SQLite, which runs in this process).
func (f *flowFixture) dbCPU(tb testing.TB) map[int]time.Duration {
	if f.env.Store.Dialect() != "postgres" {
		return nil
	}
	db, err := f.env.Store.SQLDB()
	if err != nil {
		tb.Fatal(err)
	}
	d, err := loadgen.BackendCPU(context.Background(), db, true)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// person signs a new person up, outside any app.
func (f *flowFixture) person(tb testing.TB, email string) *loadgen.Browser {
	tb.Helper()
	key, err := loadgen.NewPasskey()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := loadgen.NewBrowser(f.env.Issuer, f.rt, key)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := b.OpenSignup(ctx); err != nil {
		tb.Fatal(err)
	}
	if next, err := b.SignUp(ctx, "", email, "Bench Person"); err != nil || next != "/account" {
		tb.Fatalf("sign-up: %q, %v", next, err)
	}
	return b
}

// TestLoadFlows: every operation the load tool drives succeeds against a
// real server on both dialects, with what a stock client expects (an ID
// token and a refresh token from the code flow, a new pair from the
// refresh, an active token at introspection).
func TestLoadFlows(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		f := newFlowFixture(t, opts...)
		ctx := context.Background()
		if err := f.b.OpenLogin(ctx); err != nil {
			t.Fatal(err)
		}
		if next, err := f.b.SignIn(ctx, ""); err != nil || next != "/account" {
			t.Fatalf("sign-in: %q, %v", next, err)
		}
		tok, err := f.b.CodeFlow(ctx, f.client)
		if err != nil {
			t.Fatal(err)
		}
		if tok.IDToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" {
			t.Fatalf("code flow tokens: %+v", tok)
		}
		next, err := f.b.Refresh(ctx, f.client, tok.RefreshToken)
		if err != nil || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh: %+v, %v", next, err)
		}
		if err := f.b.Introspect(ctx, f.client, next.AccessToken); err != nil {
			t.Fatal(err)
		}
		// The refreshed-away access token is no longer active.
		if err := f.b.Introspect(ctx, f.client, tok.AccessToken); err == nil {
			t.Fatal("the access token of a used refresh token is still active")
		}
		// A wrong secret is refused.
		bad := f.client
		bad.Secret = "wrong"
		if err := f.b.Introspect(ctx, bad, next.AccessToken); err == nil {
			t.Fatal("introspection with a wrong client secret succeeded")
		}
	})
}

// TestFlowReadsEachRecordOncePerRequest pins the reads of a full code
// flow (authorize, login page, passkey options and verify, resume, token)
// on both dialects: the browser's login session is read once per request
// that needs it (the login page asks for it for its language and its
// content: one read), with its user in the same statement, so a change
// that reads them again shows here rather than as a slower benchmark.
func TestFlowReadsEachRecordOncePerRequest(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		f := newFlowFixture(t, opts...)
		ctx := context.Background()
		if _, err := f.b.CodeFlow(ctx, f.client); err != nil { // warm caches (client, keys, policy)
			t.Fatal(err)
		}
		f.count.Reset()
		if _, err := f.b.CodeFlow(ctx, f.client); err != nil {
			t.Fatal(err)
		}
		// On PostgreSQL the session a sign-in replaces ends in one statement
		// (a data-modifying WITH), without reading it first, and asks which
		// of its clients listen for back-channel logout inside it: five
		// statements become one. SQLite reads its id, forgets its clients,
		// asks which listen, ends it and deletes its tokens.
		// On PostgreSQL the resumed authorization (the interaction's
		// spend, the session's new client, the code's records) and the
		// code's exchange (its spend, the token pair) are one statement
		// each, outside a transaction: BEGIN, the writes and COMMIT become
		// one round trip.
		pg := f.env.Store.Dialect() == "postgres"
		// SQLite (in-process statements) reads the ceremony, then spends
		// it with the sign-in's writes: one statement more than before.
		// The login page reads the browser's session with the interaction
		// it names: one statement, not two. The resume reads nothing: the
		// replica that wrote the sign-in kept the interaction, the session
		// and its user for it (store/handoff.go), and its write checks
		// what memory cannot know (CompleteAuthorization). A
		// sign-in's options write nothing: the browser holds its ceremony,
		// sealed, and the verify stores only its spend. The login page
		// carries the ceremony its autofill starts with: no options
		// request, so no read of the interaction for one.
		sessionReads, clientReads, interactionReads, flowTotal, signInTotal, flowTrips, flowCommits := int64(1), int64(1), int64(1), int64(18), int64(9), int64(24), int64(4)
		if pg {
			sessionReads, clientReads, interactionReads, flowTotal, signInTotal, flowTrips = 0, 0, 1, 6, 2, 6
		}
		for _, c := range []struct {
			kind string
			max  int64
		}{
			// none of its own on PostgreSQL: the login page reads it with
			// its interaction (the resume's was kept); on SQLite the verify reads
			// the id of the session it replaces. Not authorize: a new
			// request with prompt=login (the load tool's) signs in
			// whatever the session
			{"SELECT login_sessions", sessionReads},
			// none of its own: the session comes with its user, the
			// passkey with its owner
			{"SELECT users", 0},
			// the login page (with the browser's session); the verify reads
			// it with the ceremony, and the resume's was kept
			{"SELECT interactions", interactionReads},
			// verify: the passkey, its owner and its account's list (the
			// signal) at once; on PostgreSQL with the ceremony
			{"SELECT webauthn_credentials", 1},
			// verify: which of the replaced session's clients (the previous
			// flow's) listen for back-channel logout
			{"SELECT clients", clientReads},
			// none: the exchange takes the code's records this replica
			// kept when the resume wrote them (oidc/code_keep.go)
			{"SELECT oauth2_requests", 0},
		} {
			if got := f.count.Kind(c.kind); got > c.max {
				t.Errorf("%s: %d per code flow, want at most %d\n%s", c.kind, got, c.max, f.count.Report(1))
			}
		}
		if total := f.count.Total(); total > flowTotal {
			t.Errorf("%d statements per code flow, want at most %d\n%s", total, flowTotal, f.count.Report(1))
		}
		if trips := f.count.RoundTrips(); trips > flowTrips {
			t.Errorf("%d round trips per code flow (%d transactions), want at most %d\n%s", trips, f.count.Transactions(), flowTrips, f.count.Report(1))
		}
		if n := f.count.Commits(); n > flowCommits {
			t.Errorf("%d commits per code flow, want at most %d\n%s", n, flowCommits, f.count.Report(1))
		}
		if n := f.count.Transactions(); pg && n != 0 {
			// Each step's writes are one statement: no BEGIN, no COMMIT.
			t.Errorf("%d transactions per code flow, want none on PostgreSQL\n%s", n, f.count.Report(1))
		}
		if !pg {
			// The code's PKCE and OpenID Connect records are written in
			// the code's row: three rows for a flow (code, access and
			// refresh token), not five. (On PostgreSQL they are inside
			// the resume's and the exchange's statements.)
			if got := f.count.Rows("INSERT `oauth2_requests`"); got != 3 {
				t.Errorf("oauth2_requests rows inserted per code flow: %d, want 3\n%s", got, f.count.Report(1))
			}
		}
		if pg {
			// The ceremony's spend, the passkey's use, the sign-in's event
			// and the interaction's mark are written with its session, in
			// one statement outside a transaction, and the interaction is
			// read with the ceremony.
			for _, kind := range []string{"INSERT auth_events", "UPDATE interactions", "UPDATE webauthn_credentials",
				"WITH UPDATE webauthn_credentials", "WITH UPDATE login_sessions", "INSERT webauthn_ceremonies"} {
				if got := f.count.Kind(kind); got != 0 {
					t.Errorf("%s: %d per code flow, want none\n%s", kind, got, f.count.Report(1))
				}
			}
			for _, kind := range []string{
				"SELECT webauthn_ceremonies",      // whether the ceremony was spent, the passkey's account and the interaction, read
				"WITH INSERT webauthn_ceremonies", // the ceremony's spend and the passkey's use, gating the replaced session's end, the new one's start, the event, the interaction's mark
				"WITH UPDATE interactions",        // the resumed authorization
				"WITH UPDATE oauth2_requests",     // the code's exchange
			} {
				if got := f.count.Kind(kind); got != 1 {
					t.Errorf("%s: %d per code flow, want 1\n%s", kind, got, f.count.Report(1))
				}
			}
		}

		// A sign-in that replaces a session without clients: ending it
		// is one DELETE … RETURNING of its clients, no read of them.
		if err := f.b.OpenLogin(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.b.SignIn(ctx, ""); err != nil {
			t.Fatal(err)
		}
		f.count.Reset()
		if _, err := f.b.SignIn(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if got := f.count.Kind("SELECT session_clients"); got != 0 {
			t.Errorf("SELECT session_clients: %d per sign-in, want none\n%s", got, f.count.Report(1))
		}
		if total := f.count.Total(); total > signInTotal {
			t.Errorf("%d statements per sign-in, want at most %d\n%s", total, signInTotal, f.count.Report(1))
		}
	})
}

// BenchmarkFlow: passkey sign-up, passkey sign-in (options + verify), the
// full authorization-code flow with PKCE, a passkey, a confidential client
// and an RS256 ID token, refresh and introspection — on each dialect.
//
//	go test -run '^$' -bench Flow -benchtime 200x ./server/
func BenchmarkFlow(b *testing.B) {
	servertest.EachDialect(b, func(b *testing.B, opts ...servertest.Option) {
		f := newFlowFixture(b, opts...)
		ctx := context.Background()
		run := func(name string, setup func(b *testing.B), op func(b *testing.B, i int) error) {
			b.Run(name, func(b *testing.B) {
				if setup != nil {
					setup(b)
				}
				f.count.Reset()
				db0 := f.dbCPU(b)
				cpu0 := loadgen.SelfCPU()
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := op(b, i); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				n := float64(b.N)
				// CPU rather than wall time: the machine is shared. The
				// process's CPU is the server's and the client's (both
				// here); the database's is its backends' (PostgreSQL).
				b.ReportMetric(float64(loadgen.SelfCPU()-cpu0)/n/1e6, "cpu-ms/op")
				if f.env.Store.Dialect() == "postgres" {
					b.ReportMetric(float64(loadgen.CPUDelta(db0, f.dbCPU(b)))/n/1e6, "pgcpu-ms/op")
				}
				b.ReportMetric(float64(f.count.Total())/n, "stmts/op")
				b.ReportMetric(float64(f.count.Commits())/n, "commits/op")
				b.ReportMetric(float64(f.count.RoundTrips())/n, "roundtrips/op")
				b.ReportMetric(float64(f.count.RowWrites())/n, "rowwrites/op")
				if os.Getenv("SESAME_BENCH_STATEMENTS") != "" && b.N > 1 {
					// Straight to stderr: the benchmark log keeps only a few lines.
					fmt.Fprintf(os.Stderr, "%s: statements per op (b.N=%d):\n%s", b.Name(), b.N, f.count.Report(b.N))
				}
			})
		}
		var signups int
		run("signup", nil, func(b *testing.B, i int) error {
			key, err := loadgen.NewPasskey()
			if err != nil {
				return err
			}
			br, err := loadgen.NewBrowser(f.env.Issuer, f.rt, key)
			if err != nil {
				return err
			}
			signups++
			if err := br.OpenSignup(ctx); err != nil {
				return err
			}
			_, err = br.SignUp(ctx, "", fmt.Sprintf("signup%d@example.com", signups), "New Person")
			return err
		})
		run("signin", func(b *testing.B) {
			if err := f.b.OpenLogin(ctx); err != nil {
				b.Fatal(err)
			}
		}, func(b *testing.B, i int) error {
			_, err := f.b.SignIn(ctx, "")
			return err
		})
		run("codeflow", nil, func(b *testing.B, i int) error {
			_, err := f.b.CodeFlow(ctx, f.client)
			return err
		})
		var refresh string
		run("refresh", func(b *testing.B) {
			tok, err := f.b.CodeFlow(ctx, f.client)
			if err != nil {
				b.Fatal(err)
			}
			refresh = tok.RefreshToken
		}, func(b *testing.B, i int) error {
			tok, err := f.b.Refresh(ctx, f.client, refresh)
			refresh = tok.RefreshToken
			return err
		})
		var access string
		run("introspect", func(b *testing.B) {
			tok, err := f.b.CodeFlow(ctx, f.client)
			if err != nil {
				b.Fatal(err)
			}
			access = tok.AccessToken
		}, func(b *testing.B, i int) error {
			return f.b.Introspect(ctx, f.client, access)
		})
	})
}
