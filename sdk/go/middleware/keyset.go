package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// errUnknownKey: the token names a key the issuer's JWKS does not list
// (even after a fetch), or one that does not fit its algorithm.
var errUnknownKey = errors.New("unknown signing key")

// keySet is the issuer's JWKS in memory. It is fetched again when maxAge
// has passed or a token names an unknown key id — the latter at most once
// per minRefresh, so made-up key ids cannot turn every request into a
// fetch. Concurrent callers share one fetch.
type keySet struct {
	hc         *http.Client
	uri        string
	minRefresh time.Duration
	maxAge     time.Duration

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time
	// inflight is closed when the running fetch ends; nil when none runs.
	inflight chan struct{}
	fetchErr error
}

func newKeySet(hc *http.Client, uri string, minRefresh, maxAge time.Duration) *keySet {
	return &keySet{hc: hc, uri: uri, minRefresh: minRefresh, maxAge: maxAge}
}

// key returns the public key for kid and alg.
func (s *keySet) key(ctx context.Context, kid, alg string) (any, error) {
	s.mu.Lock()
	stale := s.fetched.IsZero() || time.Since(s.fetched) > s.maxAge
	k, found := s.find(kid, alg)
	mayRefetch := time.Since(s.fetched) >= s.minRefresh
	s.mu.Unlock()
	if found && !stale {
		return k, nil
	}
	if !stale && !mayRefetch {
		return nil, fmt.Errorf("%w: kid %q", errUnknownKey, kid)
	}
	if err := s.refresh(ctx); err != nil {
		if found {
			return k, nil // keep using a known key while the issuer is unreachable
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.find(kid, alg); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: kid %q", errUnknownKey, kid)
}

// find looks kid up (under s.mu). A token without kid matches the only key
// of its algorithm, if there is exactly one.
func (s *keySet) find(kid, alg string) (any, bool) {
	var match *jose.JSONWebKey
	for i := range s.keys {
		k := &s.keys[i]
		if k.Use != "" && k.Use != "sig" || k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if kid != "" && k.KeyID == kid {
			return k.Key, true
		}
		if kid == "" {
			if match != nil {
				return nil, false
			}
			match = k
		}
	}
	if match != nil {
		return match.Key, true
	}
	return nil, false
}

// refresh fetches the JWKS, or waits for the fetch already running.
func (s *keySet) refresh(ctx context.Context) error {
	s.mu.Lock()
	if ch := s.inflight; ch != nil {
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.fetchErr
	}
	ch := make(chan struct{})
	s.inflight = ch
	s.mu.Unlock()

	keys, err := s.fetch(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight, s.fetchErr = nil, err
	// A failed fetch also counts for minRefresh: an unreachable issuer is
	// not asked again on every request.
	s.fetched = time.Now()
	if err == nil {
		s.keys = keys
	}
	close(ch)
	return err
}

func (s *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.uri, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered %s", s.uri, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := set.Keys[:0]
	for _, k := range set.Keys {
		if k.IsPublic() && k.Valid() {
			keys = append(keys, k)
		}
	}
	return keys, nil
}
