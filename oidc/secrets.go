package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/sesame-idp/sesame/oidc/clients"
)

// Limits on failed client authentication (documented in SECURITY.md).
// Only failures against a memory-hard (argon2id) secret count, per client
// IP and per client, since only those cost real work (or could guess a
// weak secret): a wrong guess at a 256-bit generated secret costs one
// HMAC, less than counting it would. A throttled attempt is refused
// before any hashing. A client whose verification is cached (it
// authenticated recently) is never throttled, so a flood of wrong guesses
// cannot lock a working client out.
const (
	authFailuresPerIP     = 30
	authFailuresPerClient = 10
	authFailureWindow     = time.Minute
)

// errSecretMismatch is what fosite sees for any refused secret; it answers
// invalid_client without saying why.
var errSecretMismatch = errors.New("secret mismatch")

// FailureLimiter counts failed client authentications across replicas;
// ratelimit.Limiter satisfies it. Nil turns throttling off.
type FailureLimiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
	Peek(ctx context.Context, key string, limit int, window time.Duration) (int, error)
}

// secretStore upgrades the stored form of a secret.
type secretStore interface {
	ReplaceClientSecretHash(ctx context.Context, old, hash string) error
}

// authAttempt is who is authenticating in this request: the client IP
// (set by the endpoint) and the client id (set when fosite loads the
// client). fosite's Hasher sees only the context, so it travels there.
type authAttempt struct {
	ip string
	// refresh marks a refresh_token grant (set by the token endpoint before
	// fosite runs): only there may a just-rotated refresh token be
	// presented again (Storage.inReuseInterval).
	refresh bool
	mu      sync.Mutex
	id      string
}

type authAttemptKey struct{}

// withAuthAttempt marks ctx as a client authentication from ip.
func withAuthAttempt(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, authAttemptKey{}, &authAttempt{ip: ip})
}

func attemptFrom(ctx context.Context) *authAttempt {
	a, _ := ctx.Value(authAttemptKey{}).(*authAttempt)
	return a
}

// noteClient records the client id being authenticated, if ctx is an
// authentication attempt. Client authentication is the first client
// lookup of a request; later ones (the client of a token being
// introspected) do not replace it.
func noteClient(ctx context.Context, id string) {
	if a := attemptFrom(ctx); a != nil {
		a.mu.Lock()
		if a.id == "" {
			a.id = id
		}
		a.mu.Unlock()
	}
}

// authenticatedClient is the client that authenticated in ctx's request,
// or "".
func authenticatedClient(ctx context.Context) string {
	a := attemptFrom(ctx)
	if a == nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// refreshingClient returns the id of the client authenticated in ctx when
// ctx is a refresh_token grant at the token endpoint.
func refreshingClient(ctx context.Context) (string, bool) {
	a := attemptFrom(ctx)
	if a == nil || !a.refresh {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id, a.id != ""
}

// secretHasher is fosite's client secret Hasher. It verifies through
// clients.Secrets (HMAC for generated secrets; argon2id, gated process-wide,
// for weak or old ones), remembers a success by a keyed hash of (stored
// hash, presented secret) so a confidential client pays a memory-hard check
// once per cache lifetime, lets concurrent first checks of the same pair
// share one computation (a cold replica under load), throttles failures,
// and upgrades a memory-hard hash that matched to the HMAC form. Failures
// are never cached.
type secretHasher struct {
	key     []byte
	secrets *clients.Secrets
	cache   *expirable.LRU[[32]byte, struct{}]
	flight  singleflight.Group
	limit   FailureLimiter
	st      secretStore
	log     *slog.Logger
}

func newSecretHasher(key []byte, secrets *clients.Secrets, limit FailureLimiter, st secretStore, log *slog.Logger) *secretHasher {
	return &secretHasher{key: key, secrets: secrets, limit: limit, st: st, log: log,
		cache: expirable.NewLRU[[32]byte, struct{}](4096, nil, 10*time.Minute)}
}

func (h *secretHasher) cacheKey(hash, secret []byte) [32]byte {
	m := hmac.New(sha256.New, h.key)
	m.Write(hash)
	m.Write([]byte{0})
	m.Write(secret)
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

type verdict struct{ ok, upgrade bool }

// Compare implements fosite.Hasher.
func (h *secretHasher) Compare(ctx context.Context, hash, secret []byte) error {
	if len(hash) == 0 || len(secret) == 0 || len(secret) > 512 {
		return errSecretMismatch
	}
	k := h.cacheKey(hash, secret)
	if _, ok := h.cache.Get(k); ok {
		return nil
	}
	hard := clients.MemoryHard(string(hash))
	keys := h.failureKeys(ctx, hard)
	if h.throttled(ctx, keys) {
		return errSecretMismatch
	}
	v, err, _ := h.flight.Do(string(k[:]), func() (any, error) {
		// Not the caller's context: a check others wait on must not end
		// because the first caller went away.
		ok, upgrade, err := h.secrets.Verify(context.WithoutCancel(ctx), string(hash), string(secret))
		return verdict{ok, upgrade}, err
	})
	if err != nil {
		return err
	}
	res := v.(verdict)
	if !res.ok {
		h.countFailure(ctx, keys)
		return errSecretMismatch
	}
	h.cache.Add(k, struct{}{})
	if res.upgrade && h.st != nil {
		if err := h.st.ReplaceClientSecretHash(ctx, string(hash), h.secrets.Hash(string(secret))); err != nil {
			h.log.WarnContext(ctx, "upgrade client secret hash", "err", err)
		}
	}
	return nil
}

// failureKeys are the rate-limit keys an attempt counts against.
type failureKey struct {
	key   string
	limit int
}

func (h *secretHasher) failureKeys(ctx context.Context, hard bool) []failureKey {
	a := attemptFrom(ctx)
	if h.limit == nil || a == nil || !hard {
		return nil
	}
	var keys []failureKey
	if a.ip != "" {
		keys = append(keys, failureKey{"client-auth-fail:ip:" + a.ip, authFailuresPerIP})
	}
	a.mu.Lock()
	id := a.id
	a.mu.Unlock()
	if id != "" {
		keys = append(keys, failureKey{"client-auth-fail:client:" + id, authFailuresPerClient})
	}
	return keys
}

// throttled reports whether any key has no attempts left. A limiter that
// fails closes the door (as Sesame's other flows do).
func (h *secretHasher) throttled(ctx context.Context, keys []failureKey) bool {
	for _, k := range keys {
		left, err := h.limit.Peek(ctx, k.key, k.limit, authFailureWindow)
		if err != nil {
			h.log.WarnContext(ctx, "client authentication throttle unavailable", "err", err)
			return true
		}
		if left == 0 {
			return true
		}
	}
	return false
}

func (h *secretHasher) countFailure(ctx context.Context, keys []failureKey) {
	for _, k := range keys {
		if _, _, err := h.limit.Allow(ctx, k.key, k.limit, authFailureWindow); err != nil {
			h.log.WarnContext(ctx, "count client authentication failure", "err", err)
		}
	}
}

// Hash implements fosite.Hasher (fosite hashes nothing Sesame stores; this
// keeps the interface whole with the generated-secret form).
func (h *secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(h.secrets.Hash(string(data))), nil
}
