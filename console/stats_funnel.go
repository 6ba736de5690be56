package console

import (
	"context"
	"time"
)

// The adoption funnel: passkey adoption as nested stages, each a subset
// of the one before (store.AdoptionFunnel counts them in one statement).

// FunnelWindow is how far back "only passkeys lately" looks.
const FunnelWindow = 30 * 24 * time.Hour

// FunnelStage is one stage: how many users reached it, as a share of
// everyone who signed up and of the stage before.
type FunnelStage struct {
	Key        string  `json:"key"`
	Name       string  `json:"name"`
	Users      int64   `json:"users"`
	OfSignedUp float64 `json:"of_signed_up"`
	OfPrevious float64 `json:"of_previous"`
}

// Funnel is the adoption funnel now.
type Funnel struct {
	// Since is the start of the last stage's window.
	Since  time.Time     `json:"since"`
	Stages []FunnelStage `json:"stages"`
}

// Funnel computes the adoption funnel.
func (s *StatsService) Funnel(ctx context.Context) (Funnel, error) {
	since := s.now().Add(-FunnelWindow)
	f, err := s.st.AdoptionFunnel(ctx, since)
	if err != nil {
		return Funnel{}, err
	}
	out := Funnel{Since: since}
	prev := f.SignedUp
	for _, st := range []struct {
		key, name string
		n         int64
	}{
		{"signed_up", "Signed up", f.SignedUp},
		{"first_passkey", "Added a passkey", f.FirstPasskey},
		{"second_passkey", "A second passkey, or a device-bound one", f.Strong},
		{"passkey_only", "Only passkeys in the last 30 days", f.PasskeyOnly},
	} {
		out.Stages = append(out.Stages, FunnelStage{Key: st.key, Name: st.name, Users: st.n, OfSignedUp: ratio(st.n, f.SignedUp), OfPrevious: ratio(st.n, prev)})
		prev = st.n
	}
	return out, nil
}
