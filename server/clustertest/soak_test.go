//go:build soak

package clustertest_test

// The soak test is not part of `go test ./...` or CI (it runs for minutes
// by design). Run it with the soak tag:
//
//	go test -tags soak -run TestSoak -timeout 40m ./server/clustertest -soak=30m
//
// (TEST_DATABASE_URL set, as for every cluster test.)

import (
	"flag"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/server/clustertest"
)

var soakFor = flag.Duration("soak", 3*time.Minute, "how long TestSoak keeps the load on")

// TestSoak: two replicas under a steady loopback load — a passlink sign-in
// with code exchange every second and five refreshes a second across 16
// grants, every request to either replica — for -soak (default 3 m). After
// a one-minute warm-up, each replica's goroutines, live heap (after a
// collection) and RSS are sampled every 15 s; at the end they must be
// flat: goroutines within +25 of the warm-up sample, live heap within
// 1.5× + 8 MiB, RSS within 1.5× + 32 MiB; and no request failed.
func TestSoak(t *testing.T) {
	// Every sign-in comes from 127.0.0.1: lift the per-IP link limit.
	c := clustertest.Start(t, clustertest.Options{Replicas: 2, Stats: true, Env: []string{"SESAME_PASSLINK_RATE_IP=100000"}})
	ctx := t.Context()
	rec := &clustertest.Recorder{}
	rp := webApp(t, c, rec)
	const grants = 16
	var (
		mu                 sync.Mutex
		chains             []string // refresh tokens, newest per grant
		signIns, refreshes atomic.Int64
		failures           atomic.Int64
	)
	// One transport for every browser: each new one would leave idle
	// keep-alive connections (and their server goroutines) behind.
	shared := &http.Transport{MaxIdleConnsPerHost: 16}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	every := func(d time.Duration, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(d)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					fn()
				}
			}
		}()
	}
	every(time.Second, func() {
		// A person of their own each time: a link is read as the newest
		// mail to the address.
		email := "soak-" + clustertest.Random() + "@example.com"
		if _, err := clustertest.CreateUser(ctx, c.Store, email); err != nil {
			failures.Add(1)
			t.Logf("create user: %v", err)
			return
		}
		got, err := clustertest.PasslinkSignIn(ctx, clustertest.NewBrowser(t, c.Issuer, shared), rp, c.SMTP, email)
		if err != nil {
			failures.Add(1)
			t.Logf("sign-in: %v", err)
			return
		}
		signIns.Add(1)
		mu.Lock()
		chains = append(chains, got.Token.RefreshToken)
		if len(chains) > grants {
			chains = chains[1:]
		}
		mu.Unlock()
	})
	var next atomic.Int64
	every(200*time.Millisecond, func() {
		mu.Lock()
		if len(chains) == 0 {
			mu.Unlock()
			return
		}
		i := int(next.Add(1)) % len(chains)
		rt := chains[i]
		mu.Unlock()
		tok, err := rp.Refresh(ctx, rt)
		if err != nil {
			failures.Add(1)
			t.Logf("refresh: %v", err)
			return
		}
		refreshes.Add(1)
		mu.Lock()
		for j := range chains {
			if chains[j] == rt {
				chains[j] = tok.RefreshToken
			}
		}
		mu.Unlock()
	})

	sample := func() []clustertest.Stats {
		out := make([]clustertest.Stats, len(c.Replicas))
		for i := range c.Replicas {
			s, err := c.Stats(i)
			if err != nil {
				t.Fatalf("stats of r%d: %v", i, err)
			}
			out[i] = s
		}
		return out
	}
	start := time.Now()
	warm := min(time.Minute, *soakFor/3)
	time.Sleep(warm)
	base := sample()
	t.Logf("after %s warm-up: %s", warm, fmtStats(base))
	var last []clustertest.Stats
	for time.Since(start) < *soakFor {
		time.Sleep(min(15*time.Second, *soakFor-time.Since(start)+time.Millisecond))
		last = sample()
		t.Logf("%6s  sign-ins %d  refreshes %d  failures %d  %s", time.Since(start).Round(time.Second),
			signIns.Load(), refreshes.Load(), failures.Load(), fmtStats(last))
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d requests failed", failures.Load())
	}
	if signIns.Load() < int64(*soakFor/time.Second)/2 || refreshes.Load() < int64(*soakFor/time.Second) {
		t.Errorf("the load did not keep its rate: %d sign-ins, %d refreshes in %s", signIns.Load(), refreshes.Load(), *soakFor)
	}
	for i := range base {
		b, l := base[i], last[i]
		if l.Goroutines > b.Goroutines+25 {
			t.Errorf("r%d goroutines grew: %d → %d", i, b.Goroutines, l.Goroutines)
		}
		if l.HeapAlloc > b.HeapAlloc*3/2+8<<20 {
			t.Errorf("r%d live heap grew: %d → %d MiB", i, b.HeapAlloc>>20, l.HeapAlloc>>20)
		}
		if l.RSS > b.RSS*3/2+32<<20 {
			t.Errorf("r%d RSS grew: %d → %d MiB", i, b.RSS>>20, l.RSS>>20)
		}
	}
}

func fmtStats(ss []clustertest.Stats) string {
	out := ""
	for i, s := range ss {
		out += fmt.Sprintf("r%d: %d goroutines, heap %.1f MiB, RSS %.1f MiB  ", i, s.Goroutines, float64(s.HeapAlloc)/(1<<20), float64(s.RSS)/(1<<20))
	}
	return out
}
