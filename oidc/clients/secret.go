package clients

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/alexedwards/argon2id"

	"github.com/sesame-idp/sesame/internal/hashgate"
)

// Client secrets are stored in one of two forms:
//
//   - "$hmac-sha256$<key>" (unpadded base64url): HMAC-SHA-256 of the secret
//     under a key derived from the system secret. Every secret Sesame
//     generates is 256 random bits, so a slow hash buys nothing against
//     brute force, while it lets anyone who knows a client_id (every
//     authorize URL carries one) make the server spend 19 MiB and ~22 ms
//     per wrong guess. The key means a copy of the database alone cannot
//     even check a guess, nor forge a hash.
//   - "$argon2id$…" (PHC): for secrets that may be weak (imported from
//     elsewhere) and for hashes made before the HMAC form existed. They
//     still verify, through the process-wide hash gate, and a successful
//     check reports that the stored form should be upgraded.
const hmacPrefix = "$hmac-sha256$"

// HashParams are the argon2id parameters for memory-hard client secret
// hashes: OWASP's minimum recommendation (19 MiB, 2 iterations, 1 lane), a
// 16-byte salt and a 32-byte key.
var HashParams = argon2id.Params{
	Memory:      19 * 1024, // KiB
	Iterations:  2,
	Parallelism: 1,
	SaltLength:  16,
	KeyLength:   32,
}

// Secrets hashes and verifies client secrets. It is safe for concurrent
// use.
type Secrets struct {
	key  []byte
	gate *hashgate.Gate
}

// NewSecrets returns a hasher keyed by key (at least 32 bytes; derive it
// from the system secret) whose memory-hard checks pass through gate (a
// gate of its own when nil).
func NewSecrets(key []byte, gate *hashgate.Gate) (*Secrets, error) {
	if len(key) < 32 {
		return nil, errors.New("clients: secret hashing key must be at least 32 bytes")
	}
	if gate == nil {
		gate = hashgate.New(0)
	}
	return &Secrets{key: append([]byte(nil), key...), gate: gate}, nil
}

// Hash returns the stored form of a generated (high-entropy) secret.
func (s *Secrets) Hash(secret string) string {
	return hmacPrefix + base64.RawURLEncoding.EncodeToString(s.mac(secret))
}

func (s *Secrets) mac(secret string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// MemoryHard reports whether verifying against hash costs an argon2id
// computation.
func MemoryHard(hash string) bool { return strings.HasPrefix(hash, "$argon2id$") }

// Verify reports whether secret matches hash, in constant time. An empty
// hash (a client without a secret) matches nothing; a malformed hash is an
// error. upgrade is true when secret matched a memory-hard hash: the caller
// should store s.Hash(secret) in its place. A memory-hard check waits for
// the gate, and gives up with ctx's error when ctx ends first.
func (s *Secrets) Verify(ctx context.Context, hash, secret string) (ok, upgrade bool, err error) {
	switch {
	case hash == "":
		return false, false, nil
	case strings.HasPrefix(hash, hmacPrefix):
		want, err := base64.RawURLEncoding.DecodeString(hash[len(hmacPrefix):])
		if err != nil || len(want) != sha256.Size {
			return false, false, errors.New("verify client secret: malformed hash")
		}
		return hmac.Equal(want, s.mac(secret)), false, nil
	case MemoryHard(hash):
		var match bool
		var cerr error
		if err := s.gate.Do(ctx, func() { match, cerr = argon2id.ComparePasswordAndHash(secret, hash) }); err != nil {
			return false, false, fmt.Errorf("verify client secret: %w", err)
		}
		if cerr != nil {
			return false, false, fmt.Errorf("verify client secret: %w", cerr)
		}
		return match, match, nil
	default:
		return false, false, errors.New("verify client secret: unknown hash format")
	}
}

// HashMemoryHard returns the argon2id hash of a secret that may be weak
// (PHC string format).
func HashMemoryHard(secret string) (string, error) {
	p := HashParams
	h, err := argon2id.CreateHash(secret, &p)
	if err != nil {
		return "", fmt.Errorf("hash client secret: %w", err)
	}
	return h, nil
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newClientID returns a random client id that starts with a letter or
// digit: an id beginning with "-" would be read as a flag by command-line
// tools (including ours), and "_" looks odd in URLs.
func newClientID() (string, error) {
	for {
		id, err := randomString(idBytes)
		if err != nil {
			return "", err
		}
		if c := id[0]; c != '-' && c != '_' {
			return id, nil
		}
	}
}
