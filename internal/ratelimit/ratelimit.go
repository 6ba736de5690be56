// Package ratelimit counts attempts per key in fixed time windows stored in
// the database, so a limit holds across every replica (e.g. passlinks: 5
// requests an hour per address, and a limit per client IP).
//
// Algorithm: fixed windows aligned to multiples of the window length
// (hourly windows start on the hour, in UTC). Each attempt is one atomic
// upsert (INSERT … ON CONFLICT DO UPDATE SET count = count + 1 RETURNING
// count), so concurrent attempts on any number of replicas each get their
// own count and none is lost; no read-modify-write, no lock held across
// statements. The known weakness of fixed windows: a burst straddling a
// boundary can get up to 2×limit through within one window's length (limit
// at the end of one window, limit at the start of the next). For abuse
// limits on mail sending that is acceptable and buys a single statement per
// attempt; halve the limit if it is not.
//
// Keys are opaque strings built by the caller ("passlink:email:" + address,
// "passlink:ip:" + ip). Only a hash of the key is stored (SHA-256, or
// HMAC-SHA-256 with WithSecret, which also stops anyone with the database
// from testing whether a given address asked recently), so no address
// lands in the table in clear. The window length is part of the hash, so
// the same key may be limited over several windows at once (10 a minute
// and 100 a day) without the counts mixing. Rows expire at the end of their
// window and are deleted by the store's janitor.
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// Store is what the limiter needs of models/store (*store.Store implements
// it).
type Store interface {
	// HitRateLimit counts one attempt and returns the window's count
	// including it, atomically.
	HitRateLimit(ctx context.Context, keyHash string, windowStart, expiresAt time.Time) (int, error)
	// RateLimitCount returns the window's count, 0 when it has none.
	RateLimitCount(ctx context.Context, keyHash string, windowStart time.Time) (int, error)
}

// Limiter checks and counts attempts. It is safe for concurrent use.
type Limiter struct {
	st     Store
	now    func() time.Time
	secret []byte
	// onLimited is told the key of each refused attempt (WithOnLimited).
	onLimited func(key string)
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithSecret hashes keys with HMAC-SHA-256 under secret instead of plain
// SHA-256, so that someone who can read the table cannot confirm a guessed
// address. Use a key derived from the system secret; changing it resets
// every count.
func WithSecret(secret []byte) Option {
	return func(l *Limiter) { l.secret = append([]byte(nil), secret...) }
}

// WithOnLimited calls fn with the key of every attempt refused for being
// over its limit (metrics count them by the key's kind; the key itself
// names an address or IP and must not be a label).
func WithOnLimited(fn func(key string)) Option {
	return func(l *Limiter) { l.onLimited = fn }
}

// New returns a limiter over st; now is the clock (time.Now when nil).
func New(st Store, now func() time.Time, opts ...Option) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{st: st, now: now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// ErrInvalid is returned for a limit below 1, a window shorter than a
// second, or an empty key: a programming error, not an attempt.
var ErrInvalid = errors.New("ratelimit: invalid arguments")

// Allow counts an attempt on key and reports whether it is within limit
// attempts per window. When it is not, retryAfter says when the window
// ends. Refused attempts count too, so hammering does not help. On a store
// error the attempt is neither allowed nor refused: the caller decides
// (Sesame's flows fail closed).
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (allowed bool, retryAfter time.Duration, err error) {
	if err := check(key, limit, window); err != nil {
		return false, 0, err
	}
	now := l.now().UTC()
	start := windowStart(now, window)
	n, err := l.st.HitRateLimit(ctx, l.hash(key, window), start, start.Add(window))
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	if n <= limit {
		return true, 0, nil
	}
	if l.onLimited != nil {
		l.onLimited(key)
	}
	return false, start.Add(window).Sub(now), nil
}

// Peek returns how many attempts key has left in the current window,
// without counting one.
func (l *Limiter) Peek(ctx context.Context, key string, limit int, window time.Duration) (remaining int, err error) {
	if err := check(key, limit, window); err != nil {
		return 0, err
	}
	n, err := l.st.RateLimitCount(ctx, l.hash(key, window), windowStart(l.now().UTC(), window))
	if err != nil {
		return 0, fmt.Errorf("rate limit: %w", err)
	}
	return max(limit-n, 0), nil
}

func check(key string, limit int, window time.Duration) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case limit < 1:
		return fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	case window < time.Second:
		return fmt.Errorf("%w: window %s", ErrInvalid, window)
	}
	return nil
}

// windowStart aligns now to a multiple of window (since the zero time, so
// hourly windows start on the hour), at the store's microsecond precision.
func windowStart(now time.Time, window time.Duration) time.Time {
	return now.Truncate(window).Truncate(time.Microsecond)
}

// hash is the stored form of key for this window length.
func (l *Limiter) hash(key string, window time.Duration) string {
	var h hash.Hash
	if l.secret != nil {
		h = hmac.New(sha256.New, l.secret)
	} else {
		h = sha256.New()
	}
	h.Write([]byte("sesame ratelimit v1\x00"))
	h.Write([]byte(strconv.FormatInt(int64(window), 10)))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))
}
