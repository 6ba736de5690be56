package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Box seals values with AES-256-GCM under a 32-byte key (derive it from
// the system secret with its own purpose). The additional data names what
// a sealed value belongs to — an endpoint's or a provider's id, a
// ceremony's purpose — so a value copied to another row, or sealed for
// another use, does not open. Webhook endpoint secrets, upstream client
// secrets and passkey login ceremonies use it.
type Box struct{ aead cipher.AEAD }

// boxPrefix versions the sealed form.
const boxPrefix = "v1."

// ErrDecrypt means a sealed value did not open: another key (another
// system secret), other additional data, or a damaged or altered value.
var ErrDecrypt = errors.New("secret box: cannot decrypt")

// NewBox returns a box over a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret box: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret box: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret box: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain bound to ad, with a random nonce.
func (b *Box) Seal(ad, plain string) string {
	n := b.aead.NonceSize()
	buf := make([]byte, n, n+len(plain)+b.aead.Overhead())
	_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+)
	buf = b.aead.Seal(buf, buf[:n], []byte(plain), []byte(ad))
	return boxPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// Open decrypts what Seal made with the same ad; anything else is
// ErrDecrypt.
func (b *Box) Open(ad, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, boxPrefix)
	if !ok {
		return "", ErrDecrypt
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	n := b.aead.NonceSize()
	if err != nil || len(raw) < n+b.aead.Overhead() {
		return "", ErrDecrypt
	}
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(ad))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plain), nil
}
