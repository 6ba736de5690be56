package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/internal/secret"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a Standard Webhooks secret.
const secretPrefix = "whsec_"

// secretLen is the number of random bytes of a new secret (256 bits).
const secretLen = 32

// NewSecret returns a fresh endpoint secret: "whsec_" + base64 of 32
// random bytes.
func NewSecret() string {
	b := make([]byte, secretLen)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey is the HMAC key of a "whsec_…" secret.
func secretKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New("webhook secret: not a whsec_ secret")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < 24 {
		return nil, errors.New("webhook secret: malformed")
	}
	return key, nil
}

// Sign returns the webhook-signature value of a message: "v1," + base64
// of HMAC-SHA256(key, id + "." + unix seconds + "." + body).
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), body)), nil
}

func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing headers")
	ErrBadTimestamp = errors.New("webhook: timestamp outside the tolerance")
	ErrBadSignature = errors.New("webhook: no matching signature")
)

// DefaultTolerance is how far a message's timestamp may be from the
// receiver's clock (the Standard Webhooks recommendation): a captured
// message cannot be replayed later.
const DefaultTolerance = 5 * time.Minute

// Verify is the receiver's check of a message: the headers are present,
// the timestamp is within tolerance of now, and one of the space-separated
// signatures is a v1 HMAC of id, timestamp and body under secret
// (compared in constant time). A receiver should also drop a webhook-id it
// has already processed (delivery is at least once).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrNoSignature
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrBadTimestamp
	}
	want := mac(key, id, unix, body)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}

// Box seals endpoint secrets at rest (secret.Box: AES-256-GCM under a key
// derived from the system secret, the endpoint id as additional data: a
// sealed secret copied to another row does not open).
type Box = secret.Box

// ErrDecrypt means a secret could not be opened: a wrong system secret or
// a damaged row.
var ErrDecrypt = secret.ErrDecrypt

// NewBox returns a box over a 32-byte key.
func NewBox(key []byte) (*Box, error) { return secret.NewBox(key) }
