package upstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Box seals what Sesame must keep of an upstream in readable form — the
// client secret, a redirect's PKCE verifier — with AES-256-GCM under a key
// derived from the system secret. The additional data (the provider id,
// or the redirect's state) stops a sealed value copied to another row from
// opening.
type Box struct{ aead cipher.AEAD }

const sealPrefix = "v1."

// ErrDecrypt: a sealed value did not open (another system secret, or a
// damaged or moved row).
var ErrDecrypt = errors.New("upstream: cannot decrypt")

// NewBox returns a box over a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("upstream box: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("upstream box: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("upstream box: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain bound to ad.
func (b *Box) Seal(ad, plain string) string {
	n := b.aead.NonceSize()
	buf := make([]byte, n, n+len(plain)+b.aead.Overhead())
	_, _ = rand.Read(buf)
	buf = b.aead.Seal(buf, buf[:n], []byte(plain), []byte(ad))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// Open decrypts what Seal made with the same ad.
func (b *Box) Open(ad, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
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
