package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
)

// CacheTTL bounds how stale a replica's view of the policy is.
const CacheTTL = 10 * time.Second

// Store is the part of the data layer Live uses; *store.Store satisfies
// it.
type Store interface {
	GetPolicy(ctx context.Context, name string) (*models.Policy, error)
	PutPolicy(ctx context.Context, p *models.Policy) error
}

// Live is the effective policy of this replica: the stored document, or
// the configuration's defaults before an admin saved one, cached for
// CacheTTL. It is safe for concurrent use.
type Live struct {
	st   Store
	base config.Config
	now  func() time.Time // the cache's clock

	mu      sync.Mutex
	cached  *Policy
	expires time.Time
	// hits and misses count Current's reads: cached, or loaded.
	hits, misses atomic.Uint64
}

// CacheStats reports the cached policy's hits and misses so far.
func (l *Live) CacheStats() (hits, misses uint64) { return l.hits.Load(), l.misses.Load() }

// New returns the live policy over st, with base (the configuration) for
// the fields a stored document does not set.
func New(st Store, base config.Config) *Live { return &Live{st: st, base: base, now: time.Now} }

// Current returns the effective policy: the stored one, or the
// configuration's.
func (l *Live) Current(ctx context.Context) (Policy, error) {
	l.mu.Lock()
	if l.cached != nil && l.now().Before(l.expires) {
		p := *l.cached
		l.mu.Unlock()
		l.hits.Add(1)
		return p, nil
	}
	l.mu.Unlock()
	l.misses.Add(1)
	p, err := load(ctx, l.st, l.base)
	if err != nil {
		return Policy{}, err
	}
	l.mu.Lock()
	l.cached, l.expires = &p, l.now().Add(CacheTTL)
	l.mu.Unlock()
	return p, nil
}

// Save stores p as the global policy, updatedBy naming who did it
// ("kind:id"), and drops this replica's cached copy so the change applies
// here at once. It does not validate p: the console does, with the rules
// of the readers.
func (l *Live) Save(ctx context.Context, p Policy, updatedBy string) error {
	b, err := json.Marshal(p.Normalize())
	if err != nil {
		return err
	}
	if err := l.st.PutPolicy(ctx, &models.Policy{Name: Global, Value: string(b), UpdatedBy: updatedBy}); err != nil {
		return err
	}
	l.mu.Lock()
	l.cached = nil
	l.mu.Unlock()
	return nil
}

// Invalidate drops the cached copy, so the next reader loads the stored
// policy: the server calls it when another replica announces a change
// (models/store's change feed).
func (l *Live) Invalidate() {
	l.mu.Lock()
	l.cached = nil
	l.mu.Unlock()
}

func load(ctx context.Context, st Store, base config.Config) (Policy, error) {
	p := FromConfig(base)
	row, err := st.GetPolicy(ctx, Global)
	if errors.Is(err, models.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return Policy{}, err
	}
	if err := json.Unmarshal([]byte(row.Value), &p); err != nil {
		return Policy{}, fmt.Errorf("decode stored policy: %w", err)
	}
	p.Version = row.Version
	return p.Normalize(), nil
}

// TokenLifespans is the token part of the current policy.
func (l *Live) TokenLifespans(ctx context.Context) (Lifespans, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return Lifespans{}, err
	}
	return Lifespans{AccessToken: time.Duration(p.AccessTokenTTL), RefreshToken: time.Duration(p.RefreshTokenTTL),
		IDToken: time.Duration(p.IDTokenTTL)}, nil
}

// LoginSessionTTL is the login-session lifetime of the current policy.
func (l *Live) LoginSessionTTL(ctx context.Context) (time.Duration, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return 0, err
	}
	return time.Duration(p.LoginSessionTTL), nil
}

// PasskeyPolicy is the passkey part of the current policy.
func (l *Live) PasskeyPolicy(ctx context.Context) (Passkey, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return Passkey{}, err
	}
	return Passkey{UserVerification: p.UserVerification, Attestation: p.Attestation,
		AAGUIDAllow: slices.Clone(p.AAGUIDAllow), AAGUIDDeny: slices.Clone(p.AAGUIDDeny), AAGUIDAllowMode: p.AAGUIDAllowMode, MDSFile: p.MDSFile, SyncedPasskeys: p.SyncedPasskeys,
		SuspendCompromised: p.SuspendCompromisedPasskeys, Version: p.Version}, nil
}

// PasslinkPolicy is the passlink part of the current policy.
func (l *Live) PasslinkPolicy(ctx context.Context) (Passlink, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return Passlink{}, err
	}
	return Passlink{TTL: time.Duration(p.PasslinkTTL), RateEmail: p.PasslinkRateEmail, RateIP: p.PasslinkRateIP,
		SignupOpen: p.SignupOpen}, nil
}

// RegistrationPolicy is the dynamic client registration part of the
// current policy.
func (l *Live) RegistrationPolicy(ctx context.Context) (Registration, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return Registration{}, err
	}
	return Registration{Mode: p.Registration, GrantTypes: slices.Clone(p.RegistrationGrantTypes),
		RedirectSchemes: slices.Clone(p.RegistrationRedirectSchemes), MaxRedirectURIs: p.RegistrationMaxRedirectURIs,
		RateIP: p.RegistrationRateIP}, nil
}

// SignupOpen reports whether the current policy lets anyone sign up.
func (l *Live) SignupOpen(ctx context.Context) (bool, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return false, err
	}
	return p.SignupOpen, nil
}

// RequireVerifiedEmail reports whether the current policy holds passkey
// sign-ins of unproven addresses until they are proven.
func (l *Live) RequireVerifiedEmail(ctx context.Context) (bool, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return false, err
	}
	return p.RequireVerifiedEmail, nil
}

// RecoveryCodes is the recovery-code policy now: RecoveryOff,
// RecoveryOffer or RecoveryRequire.
func (l *Live) RecoveryCodes(ctx context.Context) (string, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return "", err
	}
	if p.RecoveryCodes == "" {
		return RecoveryOff, nil
	}
	return p.RecoveryCodes, nil
}

// TokenExchange reports whether the current policy serves the token
// exchange grant (RFC 8693).
func (l *Live) TokenExchange(ctx context.Context) (bool, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return false, err
	}
	return p.TokenExchange, nil
}

// Protocol is the part of the current policy that switches the logout
// channels, pairwise subjects, the device grant, DPoP and pushed
// authorization requests (Policy.BackchannelLogout, …).
type Protocol struct {
	BackchannelLogout, FrontchannelLogout, PairwiseSubjects bool
	DeviceGrant, DPoP, PAR, RequirePAR                      bool
}

// Protocol reports the current protocol switches.
func (l *Live) Protocol(ctx context.Context) (Protocol, error) {
	p, err := l.Current(ctx)
	if err != nil {
		return Protocol{}, err
	}
	return Protocol{BackchannelLogout: p.BackchannelLogout, FrontchannelLogout: p.FrontchannelLogout,
		PairwiseSubjects: p.PairwiseSubjects, DeviceGrant: p.DeviceGrant, DPoP: p.DPoP,
		PAR: p.PushedAuthorizationRequests, RequirePAR: p.RequirePushedAuthorizationRequests}, nil
}
