package clients

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/alexedwards/argon2id"
)

// HashParams are the argon2id parameters for client secrets: OWASP's
// minimum recommendation (19 MiB, 2 iterations, 1 lane), a 16-byte salt and
// a 32-byte key. Client secrets are 256-bit random strings, so the slow hash
// only guards a leaked database against anything cleverer than brute force
// of 2^256; the token endpoint caches verified results, so it does not pay
// the ~22 ms per request. Hashes record their parameters, so changing these
// only affects new hashes.
var HashParams = argon2id.Params{
	Memory:      19 * 1024, // KiB
	Iterations:  2,
	Parallelism: 1,
	SaltLength:  16,
	KeyLength:   32,
}

// HashSecret returns the argon2id hash of a client secret in the PHC string
// format ($argon2id$v=19$m=...,t=...,p=...$salt$key).
func HashSecret(secret string) (string, error) {
	p := HashParams
	h, err := argon2id.CreateHash(secret, &p)
	if err != nil {
		return "", fmt.Errorf("hash client secret: %w", err)
	}
	return h, nil
}

// VerifySecret reports whether secret matches hash, in constant time. An
// empty hash (a client without a secret) matches nothing; a malformed hash
// is an error.
func VerifySecret(hash, secret string) (bool, error) {
	if hash == "" {
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(secret, hash)
	if err != nil {
		return false, fmt.Errorf("verify client secret: %w", err)
	}
	return ok, nil
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
