package hashgate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGateBoundsConcurrency: never more than Size() at once, however many
// callers; everyone gets through.
func TestGateBoundsConcurrency(t *testing.T) {
	g := New(2)
	var running, peak, done atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			err := g.Do(context.Background(), func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
				done.Add(1)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak.Load() > 2 || done.Load() != 32 {
		t.Fatalf("peak %d (want ≤ 2), done %d (want 32)", peak.Load(), done.Load())
	}
}

// TestGateGivesUpWithTheContext: a caller whose context ends while waiting
// does not run.
func TestGateGivesUpWithTheContext(t *testing.T) {
	g := New(1)
	release := make(chan struct{})
	go func() { _ = g.Do(context.Background(), func() { <-release }) }()
	for len(g.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ran := false
	if err := g.Do(ctx, func() { ran = true }); !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("Do = %v, ran %v; want DeadlineExceeded without running", err, ran)
	}
	close(release)
	if New(0).Size() < 1 {
		t.Fatal("New(0) has no slots")
	}
}
