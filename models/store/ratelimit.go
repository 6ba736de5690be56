package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models"
)

// HitRateLimit counts one hit on a rate-limit window and returns the
// window's count including it. It is a single upsert (INSERT … ON CONFLICT
// DO UPDATE … RETURNING, PostgreSQL and SQLite ≥ 3.35), so concurrent hits
// on any number of replicas each see a distinct count and none is lost.
func (s *Store) HitRateLimit(ctx context.Context, keyHash string, windowStart, expiresAt time.Time) (int, error) {
	var count int
	err := s.conn(ctx).Raw(
		`INSERT INTO rate_limits (key_hash, window_start, count, expires_at) VALUES (?, ?, 1, ?)
		 ON CONFLICT (key_hash, window_start) DO UPDATE SET count = rate_limits.count + 1
		 RETURNING count`,
		keyHash, dbTime(windowStart), dbTime(expiresAt)).Find(&count).Error
	if err != nil {
		return 0, mapErr("hit rate limit", err)
	}
	return count, nil
}

// RateLimitCount returns a window's count, 0 when it has no hit yet.
func (s *Store) RateLimitCount(ctx context.Context, keyHash string, windowStart time.Time) (int, error) {
	var r models.RateLimit
	err := s.conn(ctx).Where("key_hash = ? AND window_start = ?", keyHash, dbTime(windowStart)).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, mapErr("read rate limit", err)
	}
	return r.Count, nil
}
