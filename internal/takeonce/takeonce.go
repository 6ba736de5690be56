// Package takeonce holds values written by one request for one later read
// by another on the same replica: bounded (least recently added goes
// first), each value for at most a time to live, and taken at most once.
// Callers keep what the database must still decide in the write that acts
// on a taken value; a miss means reading the database.
package takeonce

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache is safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu  sync.Mutex
	c   *lru.Cache[K, entry[V]]
	ttl time.Duration
	now func() time.Time
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache of at most size values (size > 0), each kept for
// at most ttl by now's clock (time.Now when nil).
func New[K comparable, V any](size int, ttl time.Duration, now func() time.Time) *Cache[K, V] {
	c, err := lru.New[K, entry[V]](size)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{c: c, ttl: ttl, now: now}
}

// Put keeps v under k, replacing what was there.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Add(k, entry[V]{v: v, expires: c.now().Add(c.ttl)})
}

// Take removes the value under k and returns it unless it has expired.
func (c *Cache[K, V]) Take(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	e, ok := c.c.Peek(k)
	if !ok {
		return zero, false
	}
	c.c.Remove(k)
	if c.now().After(e.expires) {
		return zero, false
	}
	return e.v, true
}

// Forget removes the value under k, if any.
func (c *Cache[K, V]) Forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Remove(k)
}

// ForgetIf removes every value for which drop is true.
func (c *Cache[K, V]) ForgetIf(drop func(V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.c.Keys() {
		if e, ok := c.c.Peek(k); ok && drop(e.v) {
			c.c.Remove(k)
		}
	}
}
