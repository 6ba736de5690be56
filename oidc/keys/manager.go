package keys

import (
	"cmp"
	"context"
	"crypto"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/sesame-idp/sesame/models"
)

// Store is the part of the data layer the manager needs; *store.Store
// implements it.
type Store interface {
	CreateSigningKey(ctx context.Context, k *models.SigningKey) error
	// ListSigningKeys returns every unexpired key, newest first.
	ListSigningKeys(ctx context.Context) ([]models.SigningKey, error)
	// SetSigningKeyState is a conditional update: ErrNotFound when kid is
	// not in state from (another replica got there first).
	SetSigningKeyState(ctx context.Context, kid, from, to string, at time.Time, expiresAt *time.Time) error
	DeleteExpiredSigningKeys(ctx context.Context) (int64, error)
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
}

var (
	// ErrUnsupportedAlg: the algorithm is not one this manager signs with.
	ErrUnsupportedAlg = errors.New("unsupported signing algorithm")
	// ErrUnknownKey: no published key has this kid.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrNoCurrentKey: the algorithm has no current key yet (Ensure not run).
	ErrNoCurrentKey = errors.New("no current signing key")
)

// errLost ends a transaction that found the keys changed under it by
// another replica; the caller re-reads instead of failing.
var errLost = errors.New("signing keys changed concurrently")

// DefaultAlgs are the ID-token algorithms offered when Options.Algs is empty.
var DefaultAlgs = []string{RS256, ES256, EdDSA}

// Options tune the Manager. Zero values take the documented defaults.
type Options struct {
	// Algs are the supported ID-token algorithms; default DefaultAlgs.
	// RS256 is required: OpenID Connect Discovery 1.0 §3 says
	// id_token_signing_alg_values_supported MUST include it.
	Algs []string
	// RotationPeriod is how long a key signs before RotateDue replaces it;
	// 0 means no automatic rotation.
	RotationPeriod time.Duration
	// MaxTokenTTL is the longest lifetime of a token a key signs (the ID
	// token TTL): a retired key stays in the JWKS that long after it stops
	// signing. Default 1h.
	MaxTokenTTL time.Duration
	// CacheTTL is how long a replica trusts its in-memory key set before
	// reloading it; rotation on another replica is seen within it.
	// Default 30s.
	CacheTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// KeyInfo describes a stored key, for the CLI and the console.
type KeyInfo struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// Manager owns the signing keys: it creates and rotates them in the store
// and serves them from memory.
type Manager struct {
	st        Store
	aead      cipher.AEAD
	algs      []string
	period    time.Duration
	maxTTL    time.Duration
	cacheTTL  time.Duration
	retireTTL time.Duration
	clock     func() time.Time
	log       *slog.Logger

	mu       sync.Mutex // serializes reloads
	snap     atomic.Pointer[snapshot]
	lastMiss atomic.Int64 // unix nanoseconds of the last reload for an unknown kid
	// hits and misses count reads of the in-memory set: fresh, or loaded.
	hits, misses atomic.Uint64
}

// CacheStats reports the in-memory key set's hits (a fresh set, or the
// previous one served while another goroutine reloads) and misses (reads
// that loaded the set from the store).
func (m *Manager) CacheStats() (hits, misses uint64) { return m.hits.Load(), m.misses.Load() }

// entry is one published key. Entries are immutable once in a snapshot.
type entry struct {
	info   KeyInfo
	pub    jwk.Key
	rawPub any           // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	priv   jwk.Key       // current keys only
	signer crypto.Signer // current keys only
}

// snapshot is the key set as one replica sees it, swapped atomically.
type snapshot struct {
	validUntil time.Time
	byKID      map[string]*entry
	current    map[string]*entry // by alg
	order      string            // kids in JWKS order: an unchanged set reuses jwks
	jwks       []byte
}

// NewManager checks opts and returns a Manager; encKey must be the 32-byte
// key-encryption key derived from the system secret. Call Ensure before
// signing.
func NewManager(st Store, encKey []byte, opts Options) (*Manager, error) {
	if st == nil {
		return nil, errors.New("create key manager: nil store")
	}
	aead, err := newAEAD(encKey)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		st:       st,
		aead:     aead,
		algs:     slices.Clone(opts.Algs),
		period:   opts.RotationPeriod,
		maxTTL:   cmp.Or(opts.MaxTokenTTL, time.Hour),
		cacheTTL: cmp.Or(opts.CacheTTL, 30*time.Second),
		clock:    opts.Now,
		log:      opts.Logger,
	}
	if len(m.algs) == 0 {
		m.algs = slices.Clone(DefaultAlgs)
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	for i, alg := range m.algs {
		if !knownAlg(alg) {
			return nil, fmt.Errorf("create key manager: %w: %q", ErrUnsupportedAlg, alg)
		}
		if slices.Contains(m.algs[:i], alg) {
			return nil, fmt.Errorf("create key manager: algorithm %s listed twice", alg)
		}
	}
	if !slices.Contains(m.algs, RS256) {
		return nil, errors.New("create key manager: RS256 must be supported (OpenID Connect Discovery 1.0 §3)")
	}
	switch {
	case m.period < 0 || m.maxTTL < 0 || m.cacheTTL < 0:
		return nil, errors.New("create key manager: durations must not be negative")
	case m.period > 0 && m.period < 2*m.cacheTTL:
		// The next key must reach every replica's JWKS well before it signs.
		return nil, fmt.Errorf("create key manager: rotation period %s is shorter than twice the cache TTL %s", m.period, m.cacheTTL)
	}
	// Other replicas go on signing with a retired key until their cache
	// expires, so it stays published for CacheTTL beyond MaxTokenTTL.
	m.retireTTL = m.cacheTTL + m.maxTTL
	return m, nil
}

func knownAlg(alg string) bool { return alg == RS256 || alg == ES256 || alg == EdDSA }

// Algs returns the supported algorithms, in preference order.
func (m *Manager) Algs() []string { return slices.Clone(m.algs) }

func (m *Manager) supports(alg string) bool { return slices.Contains(m.algs, alg) }

// now is the clock at the store's precision (UTC, microseconds).
func (m *Manager) now() time.Time { return m.clock().UTC().Truncate(time.Microsecond) }

// --- reading -----------------------------------------------------------

// snapshot returns the in-memory key set, reloading it when older than
// CacheTTL. While one goroutine reloads, others keep using the previous set
// rather than queue behind the database.
func (m *Manager) snapshot(ctx context.Context) (*snapshot, error) {
	s := m.snap.Load()
	if s != nil && m.now().Before(s.validUntil) {
		m.hits.Add(1)
		return s, nil
	}
	if s == nil {
		m.mu.Lock()
	} else if !m.mu.TryLock() {
		m.hits.Add(1)
		return s, nil
	}
	defer m.mu.Unlock()
	if cur := m.snap.Load(); cur != nil && cur != s && m.now().Before(cur.validUntil) {
		m.hits.Add(1)
		return cur, nil
	}
	m.misses.Add(1)
	fresh, err := m.load(ctx)
	if err != nil {
		if s == nil {
			return nil, err
		}
		// Keep serving the last good set; try again in a second rather
		// than on every request while the database is away.
		m.log.WarnContext(ctx, "reload signing keys failed; serving cached keys", "err", err)
		retry := *s
		retry.validUntil = m.now().Add(time.Second)
		m.snap.Store(&retry)
		return &retry, nil
	}
	m.snap.Store(fresh)
	return fresh, nil
}

// Invalidate marks the in-memory key set stale, so the next reader loads
// it again: the server calls it when a replica announces a key change
// (models/store's change feed), which makes a rotation on one replica
// apply on the others at once rather than within CacheTTL.
func (m *Manager) Invalidate() {
	if s := m.snap.Load(); s != nil {
		stale := *s
		stale.validUntil = time.Time{}
		m.snap.CompareAndSwap(s, &stale)
	}
}

// Reload drops the in-memory key set and reads it again.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.load(ctx)
	if err != nil {
		return err
	}
	m.snap.Store(s)
	return nil
}

// load builds a snapshot from the store. Parsed and decrypted keys of the
// previous snapshot are reused by kid; the JWKS is re-serialized only when
// the published set changed.
func (m *Manager) load(ctx context.Context) (*snapshot, error) {
	rows, err := m.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	now := m.now()
	old := m.snap.Load()
	s := &snapshot{
		validUntil: now.Add(m.cacheTTL),
		byKID:      make(map[string]*entry, len(rows)),
		current:    make(map[string]*entry, len(m.algs)),
	}
	currents := map[string][]models.SigningKey{}
	var published []*entry
	for _, r := range rows {
		// Keys of an algorithm dropped from Algs stay published until they
		// expire, so tokens they signed still verify.
		if !knownAlg(r.Alg) || (r.ExpiresAt != nil && !r.ExpiresAt.After(now)) {
			continue
		}
		if r.ExpiresAt != nil && r.ExpiresAt.Before(s.validUntil) {
			s.validUntil = *r.ExpiresAt // drop it from the JWKS on time
		}
		e := &entry{info: infoOf(r)}
		if o := old.lookup(r.KID); o != nil {
			e.pub, e.rawPub = o.pub, o.rawPub
			if r.State == models.KeyCurrent { // no private key outlives its signing days in memory
				e.priv, e.signer = o.priv, o.signer
			}
		} else if e.pub, e.rawPub, err = parsePublic(r.KID, r.Alg, r.PublicJWK); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
		s.byKID[r.KID] = e
		published = append(published, e)
		if r.State == models.KeyCurrent {
			currents[r.Alg] = append(currents[r.Alg], r)
		}
	}
	for alg, cs := range currents {
		if !m.supports(alg) {
			continue
		}
		r := slices.MinFunc(cs, compareCurrent)
		e := s.byKID[r.KID]
		if e.signer == nil {
			if e.priv, e.signer, err = parsePrivate(m.aead, r.KID, r.PrivateJWK); err != nil {
				return nil, fmt.Errorf("load signing keys: %w", err)
			}
		}
		s.current[alg] = e
	}

	slices.SortFunc(published, func(a, b *entry) int {
		return cmp.Or(
			cmp.Compare(stateRank(a.info.State), stateRank(b.info.State)),
			cmp.Compare(m.algRank(a.info.Alg), m.algRank(b.info.Alg)),
			b.info.CreatedAt.Compare(a.info.CreatedAt),
			strings.Compare(a.info.KID, b.info.KID),
		)
	})
	kids := make([]string, len(published))
	for i, e := range published {
		kids[i] = e.info.KID
	}
	s.order = strings.Join(kids, " ")
	if old != nil && old.order == s.order {
		s.jwks = old.jwks
	} else {
		set := struct {
			Keys []jwk.Key `json:"keys"`
		}{Keys: make([]jwk.Key, len(published))}
		for i, e := range published {
			set.Keys[i] = e.pub
		}
		if s.jwks, err = json.Marshal(set); err != nil {
			return nil, fmt.Errorf("serialize JWKS: %w", err)
		}
	}
	return s, nil
}

func (s *snapshot) lookup(kid string) *entry {
	if s == nil {
		return nil
	}
	return s.byKID[kid]
}

func infoOf(r models.SigningKey) KeyInfo {
	return KeyInfo{KID: r.KID, Alg: r.Alg, State: r.State, CreatedAt: r.CreatedAt,
		ActivatedAt: r.ActivatedAt, RetiredAt: r.RetiredAt, ExpiresAt: r.ExpiresAt}
}

func stateRank(state string) int {
	switch state {
	case models.KeyCurrent:
		return 0
	case models.KeyNext:
		return 1
	default:
		return 2
	}
}

func (m *Manager) algRank(alg string) int {
	if i := slices.Index(m.algs, alg); i >= 0 {
		return i
	}
	return len(m.algs)
}

// compareCurrent orders current keys so that every replica picks the same
// one when a race left two: the earliest activated, then the smallest kid.
func compareCurrent(a, b models.SigningKey) int {
	var ta, tb time.Time
	if a.ActivatedAt != nil {
		ta = *a.ActivatedAt
	}
	if b.ActivatedAt != nil {
		tb = *b.ActivatedAt
	}
	return cmp.Or(ta.Compare(tb), strings.Compare(a.KID, b.KID))
}

// JWKS returns the public JWK Set (next, current and unexpired retired
// keys) as pre-serialized JSON. The slice is shared: do not modify it.
func (m *Manager) JWKS(ctx context.Context) ([]byte, error) {
	s, err := m.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.jwks, nil
}

// SigningKey returns the current private key for alg, decrypted and
// cached in memory. The key is shared: do not modify it.
func (m *Manager) SigningKey(ctx context.Context, alg string) (jwk.Key, error) {
	e, err := m.signingEntry(ctx, alg)
	if err != nil {
		return nil, err
	}
	return e.priv, nil
}

func (m *Manager) signingEntry(ctx context.Context, alg string) (*entry, error) {
	if !m.supports(alg) {
		return nil, fmt.Errorf("signing key: %w: %q", ErrUnsupportedAlg, alg)
	}
	s, err := m.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	e := s.current[alg]
	if e == nil {
		return nil, fmt.Errorf("signing key: %w for %s", ErrNoCurrentKey, alg)
	}
	return e, nil
}

// PublicKey returns the published key named kid, whatever its state. The
// key is shared: do not modify it.
func (m *Manager) PublicKey(ctx context.Context, kid string) (jwk.Key, error) {
	e, err := m.publicEntry(ctx, kid)
	if err != nil {
		return nil, err
	}
	return e.pub, nil
}

// publicEntry looks kid up; an unknown kid may have been created by another
// replica moments ago, so it triggers a reload, at most once a second so
// that made-up kids cannot hammer the database.
func (m *Manager) publicEntry(ctx context.Context, kid string) (*entry, error) {
	s, err := m.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if e := s.byKID[kid]; e != nil {
		return e, nil
	}
	now, last := time.Now().UnixNano(), m.lastMiss.Load()
	if now-last >= int64(time.Second) && m.lastMiss.CompareAndSwap(last, now) {
		if err := m.Reload(ctx); err != nil {
			m.log.WarnContext(ctx, "reload signing keys for an unknown kid failed", "kid", kid, "err", err)
		} else if e := m.snap.Load().byKID[kid]; e != nil {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// List returns the stored, unexpired keys, read from the store (not the
// cache), ordered by algorithm, state and age.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := m.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	now := m.now()
	out := make([]KeyInfo, 0, len(rows))
	for _, r := range rows {
		if r.ExpiresAt == nil || r.ExpiresAt.After(now) {
			out = append(out, infoOf(r))
		}
	}
	slices.SortStableFunc(out, func(a, b KeyInfo) int {
		return cmp.Or(cmp.Compare(m.algRank(a.Alg), m.algRank(b.Alg)),
			cmp.Compare(stateRank(a.State), stateRank(b.State)))
	})
	return out, nil
}

// --- writing -----------------------------------------------------------

// algKeys are the current and next keys of one algorithm: current sorted
// by compareCurrent, next oldest first (the one to promote).
type algKeys struct {
	current, next []models.SigningKey
}

func group(rows []models.SigningKey) map[string]*algKeys {
	out := map[string]*algKeys{}
	for _, r := range rows {
		g := out[r.Alg]
		if g == nil {
			g = &algKeys{}
			out[r.Alg] = g
		}
		switch r.State {
		case models.KeyCurrent:
			g.current = append(g.current, r)
		case models.KeyNext:
			g.next = append(g.next, r)
		}
	}
	for _, g := range out {
		slices.SortFunc(g.current, compareCurrent)
		slices.SortFunc(g.next, func(a, b models.SigningKey) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.KID, b.KID))
		})
	}
	return out
}

func (m *Manager) listGrouped(ctx context.Context) (map[string]*algKeys, error) {
	rows, err := m.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	g := group(rows)
	for _, alg := range m.algs {
		if g[alg] == nil {
			g[alg] = &algKeys{}
		}
	}
	return g, nil
}

// pool hands out keys generated before a transaction, so no transaction
// waits on RSA key generation.
type pool []*generated

func (p *pool) take() *generated {
	if len(*p) == 0 {
		return nil
	}
	k := (*p)[0]
	*p = (*p)[1:]
	return k
}

func generateN(alg string, n int) (pool, error) {
	p := make(pool, 0, n)
	for range n {
		k, err := generate(alg)
		if err != nil {
			return nil, err
		}
		p = append(p, k)
	}
	return p, nil
}

// create stores k in state (next or current).
func (m *Manager) create(ctx context.Context, k *generated, state string, now time.Time) error {
	plain, err := json.Marshal(k.priv)
	if err != nil {
		return fmt.Errorf("serialize %s key: %w", k.alg, err)
	}
	sealed, err := seal(m.aead, k.kid, plain)
	clear(plain)
	if err != nil {
		return err
	}
	row := &models.SigningKey{KID: k.kid, Alg: k.alg, State: state, PrivateJWK: sealed,
		PublicJWK: string(k.pubJSON), CreatedAt: now}
	if state == models.KeyCurrent {
		row.ActivatedAt = &now
	}
	if err := m.st.CreateSigningKey(ctx, row); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return errLost
		}
		return err
	}
	m.log.InfoContext(ctx, "signing key created", "alg", k.alg, "kid", k.kid, "state", state)
	return nil
}

// transition is a conditional state change; losing it to another replica
// is errLost.
func (m *Manager) transition(ctx context.Context, kid, from, to string, at time.Time, exp *time.Time) error {
	err := m.st.SetSigningKeyState(ctx, kid, from, to, at, exp)
	if errors.Is(err, models.ErrNotFound) {
		return errLost
	}
	return err
}

// Ensure makes sure every algorithm has a current and a next key, creating
// what is missing, and repairs an algorithm left with two current keys by
// replicas racing on a database without serializable transactions. Several
// replicas may call it at once: a transaction that finds the keys changed
// under it is retried after re-reading.
func (m *Manager) Ensure(ctx context.Context) error {
	var err error
	for range 3 {
		if err = m.ensureOnce(ctx); !errors.Is(err, errLost) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("ensure signing keys: %w", err)
	}
	return m.Reload(ctx)
}

func (m *Manager) ensureOnce(ctx context.Context) error {
	view, err := m.listGrouped(ctx)
	if err != nil {
		return err
	}
	pools := map[string]pool{}
	work := false
	for _, alg := range m.algs {
		g := view[alg]
		need, nexts := 0, len(g.next)
		if len(g.current) == 0 {
			if nexts > 0 {
				nexts-- // promoted
			} else {
				need++
			}
		}
		if nexts == 0 {
			need++
		}
		if need > 0 || len(g.current) != 1 {
			work = true
		}
		if pools[alg], err = generateN(alg, need); err != nil {
			return err
		}
	}
	if !work {
		return nil
	}
	return m.st.WithTx(ctx, func(ctx context.Context) error {
		view, err := m.listGrouped(ctx)
		if err != nil {
			return err
		}
		now := m.now()
		exp := now.Add(m.retireTTL)
		for _, alg := range m.algs {
			g, p := view[alg], pools[alg]
			switch {
			case len(g.current) == 0 && len(g.next) > 0:
				// The next key is already published: let it sign.
				if err := m.transition(ctx, g.next[0].KID, models.KeyNext, models.KeyCurrent, now, nil); err != nil {
					return err
				}
				g.next = g.next[1:]
			case len(g.current) == 0:
				k := p.take()
				if k == nil {
					return errLost
				}
				if err := m.create(ctx, k, models.KeyCurrent, now); err != nil {
					return err
				}
			case len(g.current) > 1:
				for _, extra := range g.current[1:] {
					if err := m.transition(ctx, extra.KID, models.KeyCurrent, models.KeyRetired, now, &exp); err != nil {
						return err
					}
					m.log.WarnContext(ctx, "retired duplicate current signing key", "alg", alg, "kid", extra.KID)
				}
			}
			if len(g.next) == 0 {
				k := p.take()
				if k == nil {
					return errLost
				}
				if err := m.create(ctx, k, models.KeyNext, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Rotate retires alg's current key (it stays published for MaxTokenTTL
// plus CacheTTL), promotes the next key and creates a new next key, in one
// transaction. A replica that loses a race on the same rotation reloads
// and returns nil: exactly one of them rotates.
func (m *Manager) Rotate(ctx context.Context, alg string) error {
	if !m.supports(alg) {
		return fmt.Errorf("rotate signing key: %w: %q", ErrUnsupportedAlg, alg)
	}
	view, err := m.listGrouped(ctx)
	if err != nil {
		return fmt.Errorf("rotate %s signing key: %w", alg, err)
	}
	g := view[alg]
	if len(g.current) == 0 {
		return m.Ensure(ctx) // nothing signs yet: bootstrap instead
	}
	_, err = m.rotate(ctx, alg, g, g.current[0].KID)
	return err
}

// RotateAll rotates every supported algorithm.
func (m *Manager) RotateAll(ctx context.Context) error {
	var errs []error
	for _, alg := range m.algs {
		errs = append(errs, m.Rotate(ctx, alg))
	}
	return errors.Join(errs...)
}

// RotateDue rotates each algorithm whose current key has signed for
// RotationPeriod, and returns the algorithms this call rotated.
func (m *Manager) RotateDue(ctx context.Context) (rotated []string, err error) {
	if m.period <= 0 {
		return nil, nil
	}
	view, err := m.listGrouped(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotate due signing keys: %w", err)
	}
	now := m.now()
	var errs []error
	for _, alg := range m.algs {
		g := view[alg]
		if len(g.current) == 0 {
			continue
		}
		cur := g.current[0]
		since := cur.CreatedAt
		if cur.ActivatedAt != nil {
			since = *cur.ActivatedAt
		}
		if since.Add(m.period).After(now) {
			continue
		}
		won, err := m.rotate(ctx, alg, g, cur.KID)
		if err != nil {
			errs = append(errs, err)
		} else if won {
			rotated = append(rotated, alg)
		}
	}
	return rotated, errors.Join(errs...)
}

// rotate replaces the current key expect of alg. It reports false when
// another replica rotated first (expect was no longer current).
func (m *Manager) rotate(ctx context.Context, alg string, seen *algKeys, expect string) (bool, error) {
	n := 1
	if len(seen.next) == 0 {
		n = 2 // no published next key: promote a fresh one (logged)
	}
	p, err := generateN(alg, n)
	if err != nil {
		return false, fmt.Errorf("rotate %s signing key: %w", alg, err)
	}
	var promoted, next string
	err = m.st.WithTx(ctx, func(ctx context.Context) error {
		view, err := m.listGrouped(ctx)
		if err != nil {
			return err
		}
		g := view[alg]
		if !slices.ContainsFunc(g.current, func(k models.SigningKey) bool { return k.KID == expect }) {
			return errLost
		}
		now := m.now()
		exp := now.Add(m.retireTTL)
		for _, c := range g.current { // normally one; more only after a race
			if err := m.transition(ctx, c.KID, models.KeyCurrent, models.KeyRetired, now, &exp); err != nil {
				return err
			}
		}
		if len(g.next) > 0 {
			promoted = g.next[0].KID
			if err := m.transition(ctx, promoted, models.KeyNext, models.KeyCurrent, now, nil); err != nil {
				return err
			}
		} else {
			k := p.take()
			if k == nil {
				return errLost
			}
			m.log.WarnContext(ctx, "no next signing key to promote; the new current key was never published in advance", "alg", alg)
			if err := m.create(ctx, k, models.KeyCurrent, now); err != nil {
				return err
			}
			promoted = k.kid
		}
		k := p.take()
		if k == nil {
			return errLost
		}
		next = k.kid
		return m.create(ctx, k, models.KeyNext, now)
	})
	if errors.Is(err, errLost) {
		m.log.DebugContext(ctx, "signing key rotation done by another replica", "alg", alg)
		return false, m.Reload(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("rotate %s signing key: %w", alg, err)
	}
	m.log.InfoContext(ctx, "signing key rotated", "alg", alg, "retired_kid", expect, "current_kid", promoted, "next_kid", next)
	return true, m.Reload(ctx)
}

// DeleteExpired removes retired keys past their expiry from the store.
func (m *Manager) DeleteExpired(ctx context.Context) (int64, error) {
	n, err := m.st.DeleteExpiredSigningKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired signing keys: %w", err)
	}
	return n, nil
}

// Run rotates on schedule until ctx ends: at start and then every
// min(RotationPeriod/10, 1h) it calls RotateDue and DeleteExpired. Every
// replica may run it; the conditional updates let one rotation win.
func (m *Manager) Run(ctx context.Context) {
	every := time.Hour
	if m.period > 0 {
		every = min(m.period/10, time.Hour)
	}
	every = max(every, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Manager) tick(ctx context.Context) {
	if _, err := m.RotateDue(ctx); err != nil && ctx.Err() == nil {
		m.log.ErrorContext(ctx, "rotate signing keys", "err", err)
	}
	n, err := m.DeleteExpired(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.ErrorContext(ctx, "delete expired signing keys", "err", err)
	case n > 0:
		m.log.InfoContext(ctx, "expired signing keys deleted", "count", n)
	}
}
