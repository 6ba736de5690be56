package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/sesame-idp/sesame/internal/hashgate"
)

// Params are argon2id's cost parameters (RFC 9106). They are written into
// every hash, so changing them later only changes new hashes; Verify
// reports older ones for an upgrade.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// DefaultParams is OWASP's minimum recommendation for argon2id (19 MiB,
// two passes, one lane; Password Storage Cheat Sheet). Measured with
// BenchmarkVerify on a 2-vCPU AMD EPYC VM (Go 1.26): about 18–23 ms of one
// core and 19 MiB per hash or verification. Raise Memory first if the
// servers can afford it; stored hashes upgrade on the next sign-in.
var DefaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Bounds of Params. They also apply to the parameters read from a stored
// hash, so a damaged or forged hash cannot make Verify allocate more than
// MaxMemory, loop without end, or panic inside argon2 on a zero.
const (
	MaxMemory     = 1024 * 1024 // KiB (1 GiB)
	MaxIterations = 16
	minSaltLength = 8 // RFC 9106 §3.1
	maxSaltLength = 64
	minKeyLength  = 16
	maxKeyLength  = 64
)

// ErrInvalidHash: the stored hash is not an argon2id PHC string this
// package can verify (format, variant, version, or parameters out of
// bounds).
var ErrInvalidHash = errors.New("invalid password hash")

// Validate checks p against the bounds above; ParamsFrom and NewService
// call it so that NewHasher cannot fail.
func (p Params) Validate() error {
	switch {
	case p.Iterations < 1 || p.Iterations > MaxIterations:
		return fmt.Errorf("argon2id iterations %d not in [1, %d]", p.Iterations, MaxIterations)
	case p.Parallelism < 1:
		return errors.New("argon2id parallelism must be at least 1")
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > MaxMemory:
		return fmt.Errorf("argon2id memory %d KiB not in [%d, %d]", p.Memory, 8*uint32(p.Parallelism), MaxMemory)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("argon2id salt length %d not in [%d, %d]", p.SaltLength, minSaltLength, maxSaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("argon2id key length %d not in [%d, %d]", p.KeyLength, minKeyLength, maxKeyLength)
	}
	return nil
}

// ParamsFrom returns DefaultParams with an operator's cost settings
// (memory in KiB, passes, lanes, as configured), checked against the
// bounds above: memory up to MaxMemory and at least 8 KiB per lane, 1 to
// MaxIterations passes, 1 to 255 lanes. The error says which setting is
// out of range and by how much; the caller names the setting.
func ParamsFrom(memory, iterations, parallelism int) (Params, error) {
	switch {
	case parallelism < 1 || parallelism > 255:
		return Params{}, fmt.Errorf("parallelism must be between 1 and 255 (got %d)", parallelism)
	case memory < 0 || memory > MaxMemory:
		return Params{}, fmt.Errorf("memory must be between 8 KiB per lane and %d KiB (got %d)", MaxMemory, memory)
	case iterations < 1 || iterations > MaxIterations:
		return Params{}, fmt.Errorf("iterations must be between 1 and %d (got %d)", MaxIterations, iterations)
	}
	p := DefaultParams
	p.Memory, p.Iterations, p.Parallelism = uint32(memory), uint32(iterations), uint8(parallelism)
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// Hasher hashes and verifies passwords with argon2id. It is safe for
// concurrent use. At most GOMAXPROCS hashes run at once; the others wait,
// so a burst of sign-ins costs time, not Memory × requests of RAM.
type Hasher struct {
	params Params
	// dummy is a hash of a random password made with params, for
	// VerifyDummy.
	dummy string
	gate  *hashgate.Gate
	// hashes counts argon2id computations (tests check that refused input
	// is never hashed).
	hashes atomic.Int64
}

// NewHasher returns a Hasher making hashes with params. It panics when
// params are invalid (call Params.Validate on configured values first).
func NewHasher(params Params) *Hasher { return newHasher(params, nil) }

// newHasher is NewHasher whose hashes pass through gate (the process-wide
// bound on memory-hard work; a gate of its own when nil).
func newHasher(params Params, gate *hashgate.Gate) *Hasher {
	if err := params.Validate(); err != nil {
		panic("password: " + err.Error())
	}
	if gate == nil {
		gate = hashgate.New(0)
	}
	return &Hasher{params: params, gate: gate, dummy: dummyHash(params)}
}

// dummyHash is a hash in Hash's canonical form with params, a random salt
// and a random key: verifying against it runs the same argon2id a real
// hash does, and matches nothing. It is not computed: hashing a random
// password at start-up cost Memory (19 MiB by default) and a hash's CPU
// in every process, the largest part of its peak RSS (issue 9).
func dummyHash(p Params) string {
	salt, key := make([]byte, p.SaltLength), make([]byte, p.KeyLength)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(key)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Hash returns the PHC string of password with a new random salt:
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>" (unpadded base64). A
// password longer than MaxBytes gives ErrTooLong and is not hashed.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxBytes {
		return "", ErrTooLong
	}
	password = Normalize(password)
	p := argon2id.Params(h.params)
	h.acquire()
	defer h.release()
	encoded, err := argon2id.CreateHash(password, &p)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return encoded, nil
}

// Verify tells whether password matches encoded, comparing the derived keys
// in constant time. needsRehash is true when the password matches and
// encoded was made with other parameters than h's: the caller then stores
// h.Hash(password), which upgrades hashes on sign-in after the parameters
// change. An encoded hash that does not parse or whose parameters are out
// of bounds gives ErrInvalidHash; a password over MaxBytes gives
// ErrTooLong. Neither is hashed.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	if len(password) > MaxBytes {
		return false, false, ErrTooLong
	}
	password = Normalize(password)
	stored, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	h.acquire()
	defer h.release()
	match, _, err := argon2id.CheckHash(password, encoded)
	if err != nil {
		return false, false, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	return match, match && stored != h.params, nil
}

// decode returns the parameters of encoded after checking that it is
// exactly what Hash writes (argon2id.DecodeHash alone lets trailing bytes
// and a prefix through) and that they are within bounds.
func decode(encoded string) (Params, error) {
	p, salt, key, err := argon2id.DecodeHash(encoded)
	if err != nil {
		return Params{}, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	canonical := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	if canonical != encoded {
		return Params{}, fmt.Errorf("%w: not in canonical form", ErrInvalidHash)
	}
	if err := Params(*p).Validate(); err != nil {
		return Params{}, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	return Params(*p), nil
}

// VerifyDummy does what Verify does against a hash with h's parameters and
// throws the answer away. Sign-in calls it when the email has no account
// (or no password), so that case takes the same path and about the same
// time as a wrong password, and response times do not tell which
// addresses have accounts.
func (h *Hasher) VerifyDummy(password string) {
	_, _, _ = h.Verify(password, h.dummy)
}

// acquire waits for a slot of the gate. Password checks have no deadline
// of their own: the caller's request bounds them.
func (h *Hasher) acquire() {
	_ = h.gate.Acquire(context.Background())
	h.hashes.Add(1)
}

func (h *Hasher) release() { h.gate.Release() }

// Normalize applies Unicode NFKC before hashing and checking (NIST SP
// 800-63B §5.1.1.2: verifiers SHOULD normalize), so the same passphrase
// typed on keyboards that compose characters differently still matches.
// Decided before any password was stored: changing it later would break
// existing hashes of non-ASCII passwords.
func Normalize(password string) string { return norm.NFKC.String(password) }
