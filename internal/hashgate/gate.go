// Package hashgate bounds the memory-hard hashing (argon2id: ~19 MiB and
// ~22 ms each) that one process runs at once. Password checks and the
// verification of memory-hard client secrets share one Gate, so a flood of
// either costs waiting time, never Memory × requests of RAM: at most
// Size() hashes allocate at once, and a caller that gives up (its request
// context ends) leaves the queue without hashing.
package hashgate

import (
	"context"
	"runtime"
)

// Gate is a counting semaphore for hash computations. The zero value is
// not usable; use New. It is safe for concurrent use.
type Gate struct {
	slots chan struct{}
}

// New returns a gate letting n hashes run at once (GOMAXPROCS when n < 1:
// more would only queue inside the scheduler while holding their memory).
func New(n int) *Gate {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Gate{slots: make(chan struct{}, n)}
}

// Size is how many hashes may run at once.
func (g *Gate) Size() int { return cap(g.slots) }

// Do runs fn once a slot is free, or returns ctx's error without running it
// when ctx ends first.
func (g *Gate) Do(ctx context.Context, fn func()) error {
	if err := g.Acquire(ctx); err != nil {
		return err
	}
	defer g.Release()
	fn()
	return nil
}

// Acquire waits for a slot, or returns ctx's error when ctx ends first.
// Every successful Acquire must be followed by one Release.
func (g *Gate) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // a caller that gave up never takes a slot
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release frees the slot of an Acquire.
func (g *Gate) Release() { <-g.slots }
