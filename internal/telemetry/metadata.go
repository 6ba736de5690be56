package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FIDOMetadata is what a scrape reports of the FIDO metadata in force:
// its state (one of States), when it was last known current, its
// nextUpdate, and how many enrolled credentials are of a model reported
// compromised or revoked (and how many of those are suspended).
type FIDOMetadata struct {
	State       string
	States      []string
	CheckedAt   time.Time
	NextUpdate  time.Time
	Compromised int64
	Suspended   int64
}

// AddFIDOMetadata exports, at each scrape:
// sesame_fido_metadata_status{state} (1 for the current state: off,
// missing, current, stale), sesame_fido_metadata_age_seconds (since the
// metadata was last known current; alert when it exceeds the refresh
// period by far), sesame_fido_metadata_next_update_timestamp_seconds, and
// sesame_fido_metadata_compromised_credentials{suspended}.
func (m *Metrics) AddFIDOMetadata(read func(ctx context.Context) (FIDOMetadata, error), now func() time.Time) {
	status := prometheus.NewDesc(Namespace+"_fido_metadata_status",
		"FIDO metadata state: 1 for the current one (off, missing, current, stale: past nextUpdate plus the grace period).", []string{"state"}, nil)
	age := prometheus.NewDesc(Namespace+"_fido_metadata_age_seconds",
		"Seconds since the FIDO metadata in force was last fetched (or its file loaded); 0 without metadata.", nil, nil)
	next := prometheus.NewDesc(Namespace+"_fido_metadata_next_update_timestamp_seconds",
		"The nextUpdate of the FIDO metadata BLOB in force (Unix time); 0 without metadata.", nil, nil)
	comp := prometheus.NewDesc(Namespace+"_fido_metadata_compromised_credentials",
		"Enrolled credentials whose authenticator model the FIDO metadata reports compromised or revoked, by whether they are suspended.", []string{"suspended"}, nil)
	m.reg.MustRegister(collectorFunc{descs: []*prometheus.Desc{status, age, next, comp}, collect: func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		f, err := read(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(comp, err)
			return
		}
		for _, s := range f.States {
			v := 0.0
			if s == f.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(status, prometheus.GaugeValue, v, s)
		}
		a, n := 0.0, 0.0
		if !f.CheckedAt.IsZero() {
			a = max(now().Sub(f.CheckedAt).Seconds(), 0)
		}
		if !f.NextUpdate.IsZero() {
			n = float64(f.NextUpdate.Unix())
		}
		ch <- prometheus.MustNewConstMetric(age, prometheus.GaugeValue, a)
		ch <- prometheus.MustNewConstMetric(next, prometheus.GaugeValue, n)
		ch <- prometheus.MustNewConstMetric(comp, prometheus.GaugeValue, float64(f.Compromised-f.Suspended), "false")
		ch <- prometheus.MustNewConstMetric(comp, prometheus.GaugeValue, float64(f.Suspended), "true")
	}})
}
