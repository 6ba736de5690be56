package migrations_test

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm/schema"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// gooseTable is goose's own bookkeeping, not part of Sesame's schema.
const gooseTable = "goose_db_version"

// col is one column as both dialects can describe it: a portable type
// class (text, int, bool, time), nullability and primary-key membership.
type col struct {
	Type     string
	Nullable bool
	PK       bool
}

// dbSchema is a dialect-neutral description of a migrated database.
type dbSchema struct {
	Columns map[string]map[string]col // table → column → description
	Indexes map[string]string         // "table.index" → "unique (a, b)" / "(a)"
	FKs     map[string]bool           // "t.c → rt.rc on delete cascade"
}

func (s dbSchema) tables() []string { return slices.Sorted(maps.Keys(s.Columns)) }

// TestDialectsHaveSameSchema proves the SQLite and PostgreSQL migrations
// build the same tables, columns (type class, nullability, primary keys),
// indexes and foreign keys.
func TestDialectsHaveSameSchema(t *testing.T) {
	pg := inspect(t, storetest.OpenPostgres(t)) // skips first when unset
	lite := inspect(t, storetest.OpenSQLite(t))
	if len(lite.Columns) == 0 {
		t.Fatal("SQLite migrations created no tables")
	}

	for _, table := range union(lite.tables(), pg.tables()) {
		lc, pc := lite.Columns[table], pg.Columns[table]
		switch {
		case lc == nil:
			t.Errorf("table %s: only in postgres", table)
			continue
		case pc == nil:
			t.Errorf("table %s: only in sqlite", table)
			continue
		}
		for _, name := range union(slices.Sorted(maps.Keys(lc)), slices.Sorted(maps.Keys(pc))) {
			l, lok := lc[name]
			p, pok := pc[name]
			switch {
			case !lok:
				t.Errorf("column %s.%s: only in postgres", table, name)
			case !pok:
				t.Errorf("column %s.%s: only in sqlite", table, name)
			case l != p:
				t.Errorf("column %s.%s: sqlite %+v, postgres %+v", table, name, l, p)
			}
		}
	}
	for _, k := range union(slices.Sorted(maps.Keys(lite.Indexes)), slices.Sorted(maps.Keys(pg.Indexes))) {
		if l, p := lite.Indexes[k], pg.Indexes[k]; l != p {
			t.Errorf("index %s: sqlite %q, postgres %q", k, l, p)
		}
	}
	for _, k := range union(slices.Sorted(maps.Keys(lite.FKs)), slices.Sorted(maps.Keys(pg.FKs))) {
		if lite.FKs[k] != pg.FKs[k] {
			t.Errorf("foreign key %s: in sqlite %v, in postgres %v", k, lite.FKs[k], pg.FKs[k])
		}
	}
}

// TestModelsMatchSchema proves the gorm models and the migrated tables
// agree: one model per table, one field per column and back, pointer
// fields exactly on the nullable columns, compatible types.
func TestModelsMatchSchema(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, s *store.Store) {
		db := inspect(t, s)
		modelTables := map[string]bool{}
		for _, m := range storetest.AllModels {
			sch, err := schema.Parse(m, &sync.Map{}, schema.NamingStrategy{})
			if err != nil {
				t.Fatalf("parse %T: %v", m, err)
			}
			if modelTables[sch.Table] {
				t.Errorf("%T: table %s has two models", m, sch.Table)
			}
			modelTables[sch.Table] = true
			cols, ok := db.Columns[sch.Table]
			if !ok {
				t.Errorf("%T: table %s does not exist", m, sch.Table)
				continue
			}
			fields := map[string]*schema.Field{}
			for _, f := range sch.Fields {
				if f.DBName == "" {
					continue // not persisted (gorm:"-")
				}
				fields[f.DBName] = f
				c, ok := cols[f.DBName]
				if !ok {
					t.Errorf("%T.%s: no column %s.%s", m, f.Name, sch.Table, f.DBName)
					continue
				}
				if nullable := f.FieldType.Kind() == reflect.Pointer; nullable != c.Nullable {
					t.Errorf("%T.%s (%s): column %s.%s nullable = %v", m, f.Name, f.FieldType, sch.Table, f.DBName, c.Nullable)
				}
				if want := goTypeClass(f.FieldType); want != c.Type {
					t.Errorf("%T.%s (%s): column %s.%s is %s, want %s", m, f.Name, f.FieldType, sch.Table, f.DBName, c.Type, want)
				}
				if f.PrimaryKey != c.PK {
					t.Errorf("%T.%s: primary key in model %v, in table %v", m, f.Name, f.PrimaryKey, c.PK)
				}
			}
			for name := range cols {
				if fields[name] == nil {
					t.Errorf("column %s.%s: no field in %T", sch.Table, name, m)
				}
			}
		}
		for _, table := range db.tables() {
			if !modelTables[table] {
				t.Errorf("table %s: no model in storetest.AllModels", table)
			}
		}
	})
}

// TestMigrateTwiceIsNoop proves a second run applies nothing and goose
// reports every migration applied.
func TestMigrateTwiceIsNoop(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, s *store.Store) { // migrated once
		before := inspect(t, s)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		p := provider(t, s)
		res, err := p.Up(t.Context())
		if err != nil {
			t.Fatalf("third migrate: %v", err)
		}
		if len(res) != 0 {
			t.Errorf("migrating again applied %d migrations", len(res))
		}
		wantAllApplied(t, p)
		if after := inspect(t, s); !reflect.DeepEqual(before, after) {
			t.Error("migrating again changed the schema")
		}
	})
}

// TestMigrateDownUp proves every Down section undoes its Up: down to zero
// leaves no table, and up again rebuilds the same schema.
func TestMigrateDownUp(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, s *store.Store) {
		before := inspect(t, s)
		p := provider(t, s)
		if _, err := p.DownTo(t.Context(), 0); err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		if left := inspect(t, s).tables(); len(left) != 0 {
			t.Errorf("tables left after migrating down: %v", left)
		}
		if _, err := p.Up(t.Context()); err != nil {
			t.Fatalf("up again: %v", err)
		}
		wantAllApplied(t, p)
		if after := inspect(t, s); !reflect.DeepEqual(before, after) {
			t.Error("down and up again built a different schema")
		}
	})
}

func provider(t *testing.T, s *store.Store) *goose.Provider {
	t.Helper()
	db, err := s.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	p, err := migrations.Provider(db, s.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantAllApplied(t *testing.T, p *goose.Provider) {
	t.Helper()
	status, err := p.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if len(status) == 0 {
		t.Fatal("no migrations found")
	}
	var last int64
	for _, st := range status {
		if st.State != goose.StateApplied {
			t.Errorf("migration %d (%s): %s, want applied", st.Source.Version, st.Source.Path, st.State)
		}
		last = max(last, st.Source.Version)
	}
	if pending, err := p.HasPending(t.Context()); err != nil || pending {
		t.Errorf("HasPending = %v, %v; want false", pending, err)
	}
	if v, err := p.GetDBVersion(t.Context()); err != nil || v != last {
		t.Errorf("database version = %d, %v; want %d", v, err, last)
	}
}

func union(a, b []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(a), b...))))
}

var (
	timeT   = reflect.TypeFor[time.Time]()
	valuerT = reflect.TypeFor[driver.Valuer]()
)

// goTypeClass is the column type class a Go field needs.
func goTypeClass(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeT:
		return "time"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "int"
	case t.Kind() == reflect.String, t.Implements(valuerT):
		// Valuers (StringList) are JSON in a text column, the portable way.
		return "text"
	}
	return "unsupported Go type " + t.String()
}

// typeClass maps a declared column type of either dialect to its class;
// anything else is reported as is, so a type outside the convention stands out.
func typeClass(declared string) string {
	switch strings.ToLower(declared) {
	case "text":
		return "text"
	case "integer", "bigint":
		return "int"
	case "boolean":
		return "bool"
	case "datetime", "timestamp with time zone":
		return "time"
	}
	return "unexpected column type " + declared
}

func inspect(t *testing.T, s *store.Store) dbSchema {
	t.Helper()
	db, err := s.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var q struct{ columns, pks, indexes, fks string }
	switch s.Dialect() {
	case migrations.SQLite:
		q.columns = `SELECT m.name, c.name, c.type, c."notnull" = 0, c.pk > 0
			FROM sqlite_master m JOIN pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND m.name <> '` + gooseTable + `'`
		// Auto-indexes (sql IS NULL) back primary keys and are not ours.
		q.indexes = `SELECT m.tbl_name, m.name, l."unique",
				(SELECT group_concat(name, ', ') FROM (SELECT i.name FROM pragma_index_info(m.name) i ORDER BY i.seqno))
			FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name
			WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.tbl_name <> '` + gooseTable + `'`
		q.fks = `SELECT m.name, f."from", f."table", f."to", lower(f.on_delete)
			FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
			WHERE m.type = 'table'`
	case migrations.Postgres:
		q.columns = `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES',
				EXISTS (SELECT 1 FROM pg_index ix
					JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ANY (ix.indkey)
					WHERE ix.indisprimary AND a.attname = c.column_name
					  AND ix.indrelid = format('%I.%I', c.table_schema, c.table_name)::regclass)
			FROM information_schema.columns c
			WHERE c.table_schema = current_schema() AND c.table_name <> '` + gooseTable + `'`
		q.indexes = `SELECT t.relname, i.relname, ix.indisunique,
				(SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
				 FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
				 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum)
			FROM pg_index ix
			JOIN pg_class i ON i.oid = ix.indexrelid
			JOIN pg_class t ON t.oid = ix.indrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			WHERE n.nspname = current_schema() AND NOT ix.indisprimary AND t.relname <> '` + gooseTable + `'`
		q.fks = `SELECT t.relname, a.attname, rt.relname, ra.attname,
				CASE c.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default'
					WHEN 'r' THEN 'restrict' ELSE 'no action' END
			FROM pg_constraint c
			JOIN pg_class t ON t.oid = c.conrelid
			JOIN pg_class rt ON rt.oid = c.confrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, refcol)
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
			JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refcol
			WHERE c.contype = 'f' AND n.nspname = current_schema()`
	default:
		t.Fatalf("unknown dialect %q", s.Dialect())
	}

	out := dbSchema{Columns: map[string]map[string]col{}, Indexes: map[string]string{}, FKs: map[string]bool{}}
	query(t, db, q.columns, func(r *sql.Rows) error {
		var table, name, typ string
		var c col
		if err := r.Scan(&table, &name, &typ, &c.Nullable, &c.PK); err != nil {
			return err
		}
		c.Type = typeClass(typ)
		if out.Columns[table] == nil {
			out.Columns[table] = map[string]col{}
		}
		out.Columns[table][name] = c
		return nil
	})
	query(t, db, q.indexes, func(r *sql.Rows) error {
		var table, name, cols string
		var unique bool
		if err := r.Scan(&table, &name, &unique, &cols); err != nil {
			return err
		}
		desc := "(" + cols + ")"
		if unique {
			desc = "unique " + desc
		}
		out.Indexes[table+"."+name] = desc
		return nil
	})
	query(t, db, q.fks, func(r *sql.Rows) error {
		var table, column, refTable, refColumn, onDelete string
		if err := r.Scan(&table, &column, &refTable, &refColumn, &onDelete); err != nil {
			return err
		}
		out.FKs[fmt.Sprintf("%s.%s → %s.%s on delete %s", table, column, refTable, refColumn, onDelete)] = true
		return nil
	})
	return out
}

func query(t *testing.T, db *sql.DB, q string, scan func(*sql.Rows) error) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("inspect schema: %v\n%s", err, q)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			t.Fatalf("inspect schema: %v", err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("inspect schema: %v", err)
	}
}
