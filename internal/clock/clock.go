// Package clock is this process's clock. In production it is time.Now.
// Tests that show replicas with skewed clocks agree (server/clustertest)
// run each replica with an offset (SetOffset, from a binary built with the
// sesame_testclock tag); every time Sesame stamps or compares across
// replicas is read here, and fosite's own expiry stamps are translated
// into this clock (oidc.Session), so a replica behaves as one whose system
// clock is off by the offset.
package clock

import (
	"sync/atomic"
	"time"
)

var offset atomic.Int64

// Now is the replica's current time.
func Now() time.Time {
	if d := offset.Load(); d != 0 {
		return time.Now().Add(time.Duration(d))
	}
	return time.Now()
}

// Since is the time elapsed since t by this replica's clock.
func Since(t time.Time) time.Duration { return Now().Sub(t) }

// Offset is how far this replica's clock is from the system clock (0 but
// in skew tests).
func Offset() time.Duration { return time.Duration(offset.Load()) }

// SetOffset offsets the process's clock by d. Only test binaries call it.
func SetOffset(d time.Duration) { offset.Store(int64(d)) }
