package keys

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Supported ID-token algorithms.
const (
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// rsaBits: 2048-bit RSA signs in ~1.1 ms here, 4096-bit in ~6 ms (DESIGN,
// Performance); 2048 is what RFC 7518 §3.3 requires as a minimum.
const rsaBits = 2048

// sealPrefix versions the at-rest format so the cipher can change later.
const sealPrefix = "v1."

// ErrDecrypt means a private key could not be decrypted: a wrong system
// secret or a damaged row.
var ErrDecrypt = errors.New("decrypt signing key")

func newAEAD(encKey []byte) (cipher.AEAD, error) {
	if len(encKey) != 32 {
		return nil, fmt.Errorf("create key manager: encryption key must be 32 bytes, got %d", len(encKey))
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("create key manager: %w", err)
	}
	return cipher.NewGCM(block) // 12-byte nonce, 16-byte tag
}

// seal encrypts plain with a random nonce and kid as additional data:
// "v1." + base64url(nonce || ciphertext).
func seal(aead cipher.AEAD, kid string, plain []byte) (string, error) {
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("seal signing key: %w", err)
	}
	buf = aead.Seal(buf, buf[:aead.NonceSize()], plain, []byte(kid))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// open reverses seal; any mismatch (key, kid, tampering) is ErrDecrypt.
func open(aead cipher.AEAD, kid, sealed string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, fmt.Errorf("%w %s: unknown format", ErrDecrypt, kid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w %s: malformed ciphertext", ErrDecrypt, kid)
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("%w %s: wrong encryption key or damaged row", ErrDecrypt, kid)
	}
	return plain, nil
}

// generated is a fresh key pair ready to store.
type generated struct {
	kid     string
	alg     string
	priv    jwk.Key
	pubJSON []byte
}

// generate creates a key pair for alg; kid is its RFC 7638 thumbprint.
func generate(alg string) (*generated, error) {
	var raw any
	var err error
	switch alg {
	case RS256:
		raw, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("generate signing key: %w: %q", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: thumbprint: %w", alg, err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for _, k := range []jwk.Key{priv, pub} {
		if err := setMeta(k, kid, alg); err != nil {
			return nil, fmt.Errorf("generate %s key: %w", alg, err)
		}
	}
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return &generated{kid: kid, alg: alg, priv: priv, pubJSON: pubJSON}, nil
}

func setMeta(k jwk.Key, kid, alg string) error {
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		return err
	}
	if err := k.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
		return err
	}
	return k.Set(jwk.KeyUsageKey, jwk.ForSignature)
}

// parsePublic reads a stored public JWK and checks it is the key its row
// names: the kid must be the thumbprint and the alg the row's alg.
func parsePublic(kid, alg, js string) (jwk.Key, any, error) {
	pub, err := jwk.ParseKey([]byte(js))
	if err != nil {
		return nil, nil, fmt.Errorf("parse public key %s: %w", kid, err)
	}
	if pub.KeyID() != kid || pub.Algorithm().String() != alg {
		return nil, nil, fmt.Errorf("parse public key %s: kid or alg does not match its row", kid)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil || base64.RawURLEncoding.EncodeToString(tp) != kid {
		return nil, nil, fmt.Errorf("parse public key %s: kid is not the key's thumbprint", kid)
	}
	var raw any
	if err := pub.Raw(&raw); err != nil {
		return nil, nil, fmt.Errorf("parse public key %s: %w", kid, err)
	}
	switch raw.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default: // a private key here would leak through the JWKS
		return nil, nil, fmt.Errorf("parse public key %s: not a public key (%T)", kid, raw)
	}
	return pub, raw, nil
}

// parsePrivate decrypts a stored private JWK and returns it with its raw
// crypto.Signer (RSA precomputed once, not per signature).
func parsePrivate(aead cipher.AEAD, kid, sealed string) (jwk.Key, crypto.Signer, error) {
	plain, err := open(aead, kid, sealed)
	if err != nil {
		return nil, nil, err
	}
	defer clear(plain)
	priv, err := jwk.ParseKey(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("parse private key %s: %w", kid, err)
	}
	var raw any
	if err := priv.Raw(&raw); err != nil {
		return nil, nil, fmt.Errorf("parse private key %s: %w", kid, err)
	}
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		if err := k.Validate(); err != nil {
			return nil, nil, fmt.Errorf("parse private key %s: %w", kid, err)
		}
		k.Precompute()
		return priv, k, nil
	case *ecdsa.PrivateKey:
		return priv, k, nil
	case ed25519.PrivateKey:
		return priv, k, nil
	default:
		return nil, nil, fmt.Errorf("parse private key %s: unsupported key type %T", kid, raw)
	}
}
