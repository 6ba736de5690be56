package webapp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sealer encrypts cookie values with AES-256-GCM. The cookie's name is the
// additional data, so a value cannot be moved to another cookie (the
// login state into the session, say), and an expiry inside the plaintext
// bounds its life whatever the browser does with Max-Age.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New("webapp: CookieSecret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "sesame webapp cookie v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

type envelope struct {
	Exp int64           `json:"exp"`
	V   json.RawMessage `json:"v"`
}

func (s *sealer) seal(name string, v any, exp time.Time) (string, error) {
	inner, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(envelope{Exp: exp.Unix(), V: inner})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

var errBadCookie = errors.New("webapp: cookie is invalid or expired")

func (s *sealer) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return errBadCookie
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return errBadCookie
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil || time.Now().Unix() >= env.Exp {
		return errBadCookie
	}
	if err := json.Unmarshal(env.V, v); err != nil {
		return fmt.Errorf("%w: %w", errBadCookie, err)
	}
	return nil
}

// chunkSize keeps each cookie under browsers' 4096-byte limit for name,
// value and attributes together.
const chunkSize = 3800

// maxChunks bounds how many cookies one value may take (and how many a
// request is searched for).
const maxChunks = 5

// writeChunked sets name (and name.1, name.2, … when the value is long),
// and expires chunks a previous, longer value left behind.
func writeChunked(w http.ResponseWriter, r *http.Request, base http.Cookie, value string) error {
	if len(value) > chunkSize*maxChunks {
		return fmt.Errorf("webapp: session of %d bytes is too large for cookies", len(value))
	}
	i := 0
	for ; len(value) > 0 || i == 0; i++ {
		c := base
		c.Name = chunkName(base.Name, i)
		n := min(len(value), chunkSize)
		c.Value, value = value[:n], value[n:]
		http.SetCookie(w, &c)
	}
	for ; i < maxChunks; i++ {
		if _, err := r.Cookie(chunkName(base.Name, i)); err == nil {
			c := base
			c.Name, c.Value, c.MaxAge = chunkName(base.Name, i), "", -1
			http.SetCookie(w, &c)
		}
	}
	return nil
}

func readChunked(r *http.Request, name string) string {
	var b strings.Builder
	for i := range maxChunks {
		c, err := r.Cookie(chunkName(name, i))
		if err != nil {
			break
		}
		b.WriteString(c.Value)
	}
	return b.String()
}

func clearChunked(w http.ResponseWriter, r *http.Request, base http.Cookie) {
	for i := range maxChunks {
		if _, err := r.Cookie(chunkName(base.Name, i)); err == nil || i == 0 {
			c := base
			c.Name, c.Value, c.MaxAge = chunkName(base.Name, i), "", -1
			http.SetCookie(w, &c)
		}
	}
}

func chunkName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "." + strconv.Itoa(i)
}
