package sdktest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/sdk/go/middleware"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestDPoPReplayAcrossReplicas: two replicas of an API, each with its own
// Verifier, share a middleware.SQLReplayStore on one database (SQLite and
// PostgreSQL): a DPoP proof accepted by one is refused by the other, a
// fresh proof passes on either, and a store that fails refuses the request
// with 503 rather than accepting an unchecked proof. With the default
// per-process cache the same replay to the other replica passes — the gap
// the shared store closes.
func TestDPoPReplayAcrossReplicas(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.DPoP = true })
	ctx := context.Background()
	id, secret := env.CreateClient(clients.Spec{Name: "JWT job", GrantTypes: []string{"client_credentials"}, Scopes: []string{"openid"},
		AccessTokenFormat: models.TokenFormatJWT})
	key := newKey(t)
	bound := clientCredentials(t, env.Issuer, id, secret, key)
	ath := hashToken(bound)

	for _, db := range []struct {
		name string
		open func(t *testing.T) *sql.DB
	}{
		{"sqlite", func(t *testing.T) *sql.DB {
			return openDB(t, "sqlite", sqliteWAL(filepath.Join(t.TempDir(), "api.db")))
		}},
		{"postgres", func(t *testing.T) *sql.DB { return openDB(t, "pgx", storetest.EmptyPostgresURL(t)) }},
		{"per-process cache", nil},
	} {
		t.Run(db.name, func(t *testing.T) {
			var shared middleware.DPoPReplayStore
			if db.open != nil {
				conn := db.open(t)
				s, err := middleware.NewSQLReplayStore(ctx, conn, "dpop_proofs")
				if err != nil {
					t.Fatal(err)
				}
				// A second replica creates the table again: a no-op.
				if _, err := middleware.NewSQLReplayStore(ctx, conn, "dpop_proofs"); err != nil {
					t.Fatal(err)
				}
				shared = s
				// A row whose proof can no longer pass the iat check is
				// taken over; a live one is not.
				past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Minute)
				for i, c := range []struct {
					until time.Time
					want  bool
				}{{past, true}, {future, true}, {future, false}} {
					if got, err := s.Spend(ctx, "expiry-"+db.name, c.until); err != nil || got != c.want {
						t.Fatalf("spend %d: %v %v, want %v", i, got, err, c.want)
					}
				}
			}
			var replicas []string
			for range 2 {
				v, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, DPoPReplay: shared})
				if err != nil {
					t.Fatal(err)
				}
				replicas = append(replicas, serve(t, v.Require()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))))
			}
			// Both replicas sit behind one public URL in production; here
			// each proof names the replica it is sent to.
			call := func(replica int, p string) int {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, replicas[replica]+"/orders", nil)
				req.Header.Set("Authorization", "DPoP "+bound)
				req.Header.Set("DPoP", p)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				return resp.StatusCode
			}
			sameJTI := "replayed-" + rand8()
			forReplica := func(i int, jti string) string {
				return proof{method: http.MethodGet, url: replicas[i] + "/orders", ath: ath, jti: jti}.sign(t, key)
			}
			if got := call(0, forReplica(0, sameJTI)); got != 200 {
				t.Fatalf("first use on replica 0: %d", got)
			}
			if got := call(0, forReplica(0, sameJTI)); got != 401 {
				t.Fatalf("replay on the same replica: %d, want 401", got)
			}
			got := call(1, forReplica(1, sameJTI))
			if shared == nil {
				if got != 200 {
					t.Fatalf("per-process caches: the other replica answered %d (each cache is its own)", got)
				}
				return
			}
			if got != 401 {
				t.Fatalf("replay on the other replica: %d, want 401", got)
			}
			if got := call(1, forReplica(1, "")); got != 200 {
				t.Fatalf("a fresh proof on replica 1: %d", got)
			}
		})
	}

	t.Run("store fails", func(t *testing.T) {
		conn := openDB(t, "sqlite", filepath.Join(t.TempDir(), "api.db"))
		s, err := middleware.NewSQLReplayStore(ctx, conn, "dpop_proofs")
		if err != nil {
			t.Fatal(err)
		}
		v, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, DPoPReplay: s})
		if err != nil {
			t.Fatal(err)
		}
		api := serve(t, v.Require()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })))
		_ = conn.Close()
		req, _ := http.NewRequest(http.MethodGet, api+"/orders", nil)
		req.Header.Set("Authorization", "DPoP "+bound)
		req.Header.Set("DPoP", proof{method: http.MethodGet, url: api + "/orders", ath: ath}.sign(t, key))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("with the replay store down: %d, want 503", resp.StatusCode)
		}
	})

	for _, bad := range []string{"", "proofs; DROP TABLE users", "1st", strings.Repeat("x", 64)} {
		if _, err := middleware.NewSQLReplayStore(ctx, nil, bad); err == nil {
			t.Errorf("table name %q accepted", bad)
		}
	}
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// sqliteWAL is modernc's DSN for path in WAL mode, synced at checkpoints.
func sqliteWAL(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)"
}

func rand8() string { return strings.ToLower(rand.Text()[:8]) }

// BenchmarkSQLReplayStore: one Spend (the upsert of a fresh proof, and a
// sweep of expired rows every 1,024th) on SQLite and PostgreSQL — what a
// shared replay store adds to each DPoP request.
func BenchmarkSQLReplayStore(b *testing.B) {
	for _, db := range []struct{ name, driver string }{{"sqlite", "sqlite"}, {"postgres", "pgx"}} {
		b.Run(db.name, func(b *testing.B) {
			dsn := sqliteWAL(filepath.Join(b.TempDir(), "api.db"))
			if db.driver == "pgx" {
				dsn = storetest.EmptyPostgresURL(b)
			}
			conn, err := sql.Open(db.driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			s, err := middleware.NewSQLReplayStore(b.Context(), conn, "dpop_proofs")
			if err != nil {
				b.Fatal(err)
			}
			prefix := rand8()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if ok, err := s.Spend(b.Context(), prefix+strconv.Itoa(i), time.Now().Add(time.Minute)); err != nil || !ok {
					b.Fatalf("spend: %v %v", ok, err)
				}
			}
		})
	}
}
