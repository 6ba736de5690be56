package migrations_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// emptyPostgresSchema creates a schema with nothing in it and returns a
// function opening a new pool on it (one per simulated replica) whose
// connections carry the given application_name.
func emptyPostgresSchema(t *testing.T) func(app string) *sql.DB {
	t.Helper()
	base := os.Getenv(storetest.EnvPostgresURL)
	if base == "" {
		if os.Getenv(storetest.EnvRequirePostgres) != "" {
			t.Fatalf("%s is set but %s is not", storetest.EnvRequirePostgres, storetest.EnvPostgresURL)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL migration lock test", storetest.EnvPostgresURL)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sesame_lock_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return func(app string) *sql.DB {
		q := u.Query()
		q.Set("search_path", schema)
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// TestConcurrentMigratorsApplyEachMigrationOnce starts several migrators
// on one empty schema at the same moment, as replicas of a rollout do with
// migrate at start: every one succeeds, each migration is applied once in
// total, and the schema ends at the latest version.
func TestConcurrentMigratorsApplyEachMigrationOnce(t *testing.T) {
	open := emptyPostgresSchema(t)
	const replicas = 4
	dbs := make([]*sql.DB, replicas)
	for i := range dbs {
		dbs[i] = open("sesame_migrator")
		// Connected before the start, so the migrators really overlap.
		if err := dbs[i].PingContext(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	p, err := migrations.Provider(dbs[0], migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	want := len(p.ListSources())
	if want == 0 {
		t.Fatal("no migrations embedded")
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied = map[int64]int{}
		errs    []error
	)
	start := make(chan struct{})
	for _, db := range dbs {
		wg.Go(func() {
			<-start
			res, err := migrations.Up(t.Context(), db, migrations.Postgres)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			for _, r := range res {
				applied[r.Source.Version]++
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("a concurrent migrator failed: %v", err)
	}
	if len(applied) != want {
		t.Errorf("%d distinct migrations applied, want %d", len(applied), want)
	}
	for v, n := range applied {
		if n != 1 {
			t.Errorf("migration %d applied %d times", v, n)
		}
	}
	var rows, latest int64
	if err := dbs[0].QueryRowContext(t.Context(), "SELECT count(*), max(version_id) FROM goose_db_version WHERE version_id > 0").Scan(&rows, &latest); err != nil {
		t.Fatal(err)
	}
	srcs := p.ListSources()
	if rows != int64(want) || latest != srcs[len(srcs)-1].Version {
		t.Errorf("goose_db_version: %d rows up to %d, want %d up to %d", rows, latest, want, srcs[len(srcs)-1].Version)
	}
}

// TestMigratorWaitsForTheLock holds the migration lock of a schema the way
// another replica's migrator would, and shows a migrator blocks on it
// (waiting on an advisory lock, having created nothing), then migrates as
// soon as the lock is released.
func TestMigratorWaitsForTheLock(t *testing.T) {
	open := emptyPostgresSchema(t)
	app := "sesame_lock_test_" + hex.EncodeToString([]byte(t.Name()))[:16] + time.Now().Format("150405.000000")
	holderDB, migratorDB := open("sesame_lock_holder"), open(app)
	holder, err := holderDB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	const key = `hashtextextended('sesame migrations ' || current_schema(), 0)`
	if _, err := holder.ExecContext(t.Context(), "SELECT pg_advisory_lock("+key+")"); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := migrations.Up(t.Context(), migratorDB, migrations.Postgres)
		done <- err
	}()

	// Wait (bounded) until the migrator's backend waits on an advisory lock.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		err := holderDB.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1`, app).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the migrator finished while another held the lock (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the migrator never waited on the advisory lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var tables int
	if err := holderDB.QueryRowContext(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("%d tables created while the lock was held elsewhere", tables)
	}

	if _, err := holder.ExecContext(t.Context(), "SELECT pg_advisory_unlock("+key+")"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("migrate after the lock was released: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the migrator did not finish after the lock was released")
	}
	if err := holderDB.QueryRowContext(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'users'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 1 {
		t.Error("the migrator did not create the schema after the lock was released")
	}
}
