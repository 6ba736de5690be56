package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models/store"
)

// Statements counts the SQL statements a store runs, by verb and table
// ("INSERT auth_events", "SELECT users", …), and the rows each kind wrote:
// the round trips of a flow, for benchmarks (ReportMetric) and for the
// before/after figures of the README. Transactions are the store's own
// count (store.Transactions).
type Statements struct {
	st   *store.Store
	mu   sync.Mutex
	by   map[string]int64
	rows map[string]int64
	// autocommits counts the writes outside a transaction: each is a
	// commit of its own.
	autocommits int64
	// outside counts the writes outside a transaction, per kind.
	outside map[string]int64
	tx0     int64
}

// CountStatements installs a counter on st (for the rest of its life).
func CountStatements(t testing.TB, st *store.Store) *Statements {
	t.Helper()
	c := &Statements{st: st, by: map[string]int64{}, rows: map[string]int64{}, outside: map[string]int64{}}
	if err := st.Use(c); err != nil {
		t.Fatalf("count statements: %v", err)
	}
	return c
}

// Name is the gorm plugin's name.
func (c *Statements) Name() string { return "sesame:count_statements" }

// Initialize registers an after-callback on every processor.
func (c *Statements) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("sesame:count", c.count),
		cb.Query().After("gorm:query").Register("sesame:count", c.count),
		cb.Update().After("gorm:update").Register("sesame:count", c.count),
		cb.Delete().After("gorm:delete").Register("sesame:count", c.count),
		cb.Row().After("gorm:row").Register("sesame:count", c.count),
		cb.Raw().After("gorm:raw").Register("sesame:count", c.count),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Statements) count(db *gorm.DB) {
	q := db.Statement.SQL.String()
	// gorm builds a subquery by running its callbacks in dry-run mode:
	// part of the statement that holds it, not one of its own.
	if q == "" || db.DryRun {
		return
	}
	key := statementKind(q)
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	c.mu.Lock()
	c.by[key]++
	if !strings.HasPrefix(key, "SELECT") {
		c.rows[key] += db.RowsAffected
		if !inTx {
			c.autocommits++
			c.outside[key]++
		}
	}
	c.mu.Unlock()
}

// statementKind is the verb and the first table a statement names.
func statementKind(q string) string {
	f := strings.Fields(q)
	if len(f) == 0 {
		return "?"
	}
	verb := strings.ToUpper(f[0])
	if verb == "WITH" {
		// A data-modifying WITH (PostgreSQL) is named by its first write:
		// "WITH UPDATE login_sessions".
		for i, w := range f {
			if w = strings.TrimLeft(w, "("); i > 0 && slices.Contains([]string{"INSERT", "UPDATE", "DELETE"}, strings.ToUpper(w)) {
				return "WITH " + statementKind(strings.Join(append([]string{w}, f[i+1:]...), " "))
			}
		}
		return verb
	}
	after := map[string]string{"INSERT": "INTO", "SELECT": "FROM", "DELETE": "FROM", "UPDATE": "UPDATE"}[verb]
	for i, w := range f {
		if strings.EqualFold(w, after) && i+1 < len(f) {
			return verb + " " + strings.Trim(f[i+1], `"(`)
		}
	}
	return verb
}

// Reset starts counting afresh.
func (c *Statements) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.by)
	clear(c.rows)
	clear(c.outside)
	c.autocommits = 0
	c.tx0 = c.st.Transactions()
}

// Total is the number of statements since Reset.
func (c *Statements) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, v := range c.by {
		n += v
	}
	return n
}

// Kind is the number of statements of one kind ("SELECT users") since Reset.
func (c *Statements) Kind(kind string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.by[kind]
}

// RowWrites is the number of rows inserted, updated or deleted since Reset.
func (c *Statements) RowWrites() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, v := range c.rows {
		n += v
	}
	return n
}

// Rows is the number of rows the statements of one kind wrote since Reset.
func (c *Statements) Rows(kind string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows[kind]
}

// Commits is the number of commits since Reset: the transactions and the
// writes outside one. Each waits for the database's log flush.
func (c *Statements) Commits() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.autocommits + c.Transactions()
}

// RoundTrips is the number of exchanges with the database since Reset:
// every statement, and a transaction's BEGIN and COMMIT (or ROLLBACK).
// On PostgreSQL each is a wait on the network and a wake-up of a backend.
func (c *Statements) RoundTrips() int64 {
	return c.Total() + 2*c.Transactions()
}

// Transactions is the number of transactions since Reset.
func (c *Statements) Transactions() int64 { return c.st.Transactions() - c.tx0 }

// Report lists the counts per kind, divided by ops, most frequent first.
func (c *Statements) Report(ops int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.by))
	for k := range c.by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := c.by[b] - c.by[a]; d != 0 {
			return int(d)
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %5.2f  %s", float64(c.by[k])/float64(ops), k)
		if r := c.rows[k]; r > 0 {
			fmt.Fprintf(&b, " (%.2f rows)", float64(r)/float64(ops))
		}
		if o := c.outside[k]; o > 0 {
			fmt.Fprintf(&b, " [%.2f outside a transaction]", float64(o)/float64(ops))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
