package telemetry

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// scrapeTimeout bounds the database reads one scrape makes.
const scrapeTimeout = 3 * time.Second

// CacheStats reports a cache's lookups so far: hits and misses.
type CacheStats func() (hits, misses uint64)

// AddDB collects the pool statistics of db (go_sql_*{db_name="sesame"}:
// open, in use and idle connections, waits and their duration, closes).
func (m *Metrics) AddDB(db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, Namespace))
}

// AddCaches counts the lookups of named in-memory caches as
// sesame_cache_requests_total{cache, result="hit"|"miss"}: the hit ratio
// is hits over both.
func (m *Metrics) AddCaches(caches map[string]CacheStats) {
	desc := prometheus.NewDesc(Namespace+"_cache_requests_total",
		"Lookups of in-memory caches (client, policy, keys), by cache and result (hit or miss).",
		[]string{"cache", "result"}, nil)
	m.reg.MustRegister(collectorFunc{descs: []*prometheus.Desc{desc}, collect: func(ch chan<- prometheus.Metric) {
		for name, stats := range caches {
			hits, misses := stats()
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(hits), name, "hit")
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(misses), name, "miss")
		}
	}})
}

// Outbox reads the mail outbox: mails per status and the creation time of
// the oldest pending one (zero when none is pending).
type Outbox func(ctx context.Context) (byStatus map[string]int64, oldestPending time.Time, err error)

// AddOutbox exports the mail outbox (sign-in links, codes) at each scrape:
// sesame_mail_outbox_mails{status} and
// sesame_mail_outbox_oldest_pending_age_seconds (0 when none waits).
func (m *Metrics) AddOutbox(read Outbox, now func() time.Time) {
	mails := prometheus.NewDesc(Namespace+"_mail_outbox_mails",
		"Mails in the outbox, by status (pending mails wait for delivery; sent and failed ones are kept for a week).",
		[]string{"status"}, nil)
	age := prometheus.NewDesc(Namespace+"_mail_outbox_oldest_pending_age_seconds",
		"Age of the oldest mail waiting for delivery; 0 when none waits.", nil, nil)
	m.reg.MustRegister(collectorFunc{descs: []*prometheus.Desc{mails, age}, collect: func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		by, oldest, err := read(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(mails, err)
			return
		}
		for status, n := range by {
			ch <- prometheus.MustNewConstMetric(mails, prometheus.GaugeValue, float64(n), status)
		}
		a := 0.0
		if !oldest.IsZero() {
			a = max(now().Sub(oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(age, prometheus.GaugeValue, a)
	}})
}

// KeyAge is one signing key's algorithm, state and creation time.
type KeyAge struct {
	Alg, State string
	Created    time.Time
}

// AddSigningKeys exports sesame_signing_key_age_seconds{alg,state}: the
// age of the newest key of each algorithm and state (a current key older
// than the rotation period means rotation has stalled). Key ids are not
// labels: every rotation would add a series.
func (m *Metrics) AddSigningKeys(read func(ctx context.Context) ([]KeyAge, error), now func() time.Time) {
	desc := prometheus.NewDesc(Namespace+"_signing_key_age_seconds",
		"Age of the newest signing key of each algorithm and state (next, current, retired).",
		[]string{"alg", "state"}, nil)
	m.reg.MustRegister(collectorFunc{descs: []*prometheus.Desc{desc}, collect: func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		keys, err := read(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(desc, err)
			return
		}
		newest := map[[2]string]time.Time{}
		for _, k := range keys {
			id := [2]string{k.Alg, k.State}
			if t, ok := newest[id]; !ok || k.Created.After(t) {
				newest[id] = k.Created
			}
		}
		t := now()
		for id, created := range newest {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, max(t.Sub(created).Seconds(), 0), id[0], id[1])
		}
	}})
}

// AddChangeFeed exports the change feed that keeps replicas' caches
// current: sesame_change_feed_listening (1 while this replica hears every
// change) and sesame_change_feed_resyncs_total (each a moment when
// announcements may have been missed and every cache was dropped).
func (m *Metrics) AddChangeFeed(listening func() bool, resyncs func() int64) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "change_feed_listening",
			Help: "1 while this replica hears every change announcement (on PostgreSQL: its LISTEN connection is up; SQLite: always).",
		}, func() float64 {
			if listening() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "change_feed_resyncs_total",
			Help: "Times the change feed (re)connected and every cached entry was dropped.",
		}, func() float64 { return float64(resyncs()) }),
	)
}

// DBQueue reads the line in front of the database connection pool:
// requests waiting now, waits so far and their total length.
type DBQueue func() (waiting int64, waits uint64, waited time.Duration)

// AddDBQueue exports the line in which the store's requests wait, in
// arrival order, for a database connection (go_sql_wait_* then counts
// only the few that still wait inside the pool):
// sesame_db_queue_waiting, sesame_db_queue_waits_total and
// sesame_db_queue_wait_seconds_total.
func (m *Metrics) AddDBQueue(read DBQueue) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "db_queue_waiting",
			Help: "Requests waiting now, in arrival order, for a database connection.",
		}, func() float64 { w, _, _ := read(); return float64(w) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "db_queue_waits_total",
			Help: "Requests that had to wait for a database connection.",
		}, func() float64 { _, n, _ := read(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "db_queue_wait_seconds_total",
			Help: "Total time requests waited for a database connection.",
		}, func() float64 { _, _, d := read(); return d.Seconds() }),
	)
}

// collectorFunc is a collector whose metrics are made at scrape time.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
