package passkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sesame-idp/sesame/models"
)

// A login ceremony is not stored when it begins: the browser holds it,
// sealed (AES-256-GCM under CeremonyKey), and presents it with the
// assertion. The store records only its spend — the ceremony's id, in the
// statement that starts the session (models.SessionStart.Ceremony) or at
// a refusal — so a sign-in's options write nothing, and a ceremony is
// still single use: its id is spent once, and the read before the
// assertion is checked refuses one already spent. The seal binds the
// browser (the ceremony's browser hash), the interaction, the user of a
// username-first sign-in, the challenge and the expiry; none of them can
// be changed or read by the holder.

// sealPrefix versions the sealed form.
const sealPrefix = "c1."

// sealAD binds a sealed value to its use: a value sealed under the same
// key for another purpose does not open as a ceremony.
var sealAD = []byte("sesame passkey login ceremony")

// maxSealedLen bounds what is decoded: a ceremony with a username-first
// sign-in's allow list stays well under it.
const maxSealedLen = 16 << 10

func newSealer(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("ceremony key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealLogin is a new login ceremony with data, as the browser holds it:
// nothing is written.
func (s *Service) sealLogin(data *ceremonyData, userID, browserHash, interactionID string) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	now := s.now()
	return s.sealCeremony(&models.WebAuthnCeremony{ID: randomID(), BrowserHash: browserHash, Kind: models.CeremonyLogin,
		UserID: userID, InteractionID: interactionID, Data: string(raw), CreatedAt: now, ExpiresAt: now.Add(s.cfg.CeremonyTTL)})
}

// sealCeremony is c as the browser holds it.
func (s *Service) sealCeremony(c *models.WebAuthnCeremony) (string, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	n := s.sealer.NonceSize()
	buf := make([]byte, n, n+len(plain)+s.sealer.Overhead())
	_, _ = rand.Read(buf)
	buf = s.sealer.Seal(buf, buf[:n], plain, sealAD)
	return sealPrefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// openCeremony is the ceremony a browser presented: ErrCeremonyNotFound
// for anything this service did not seal.
func (s *Service) openCeremony(sealed string) (*models.WebAuthnCeremony, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok || len(rest) > maxSealedLen {
		return nil, fail(ErrCeremonyNotFound, "not a sealed ceremony")
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	n := s.sealer.NonceSize()
	if err != nil || len(raw) < n+s.sealer.Overhead() {
		return nil, fail(ErrCeremonyNotFound, "not a sealed ceremony")
	}
	plain, err := s.sealer.Open(nil, raw[:n], raw[n:], sealAD)
	if err != nil {
		return nil, fail(ErrCeremonyNotFound, "the ceremony does not open (another key, or altered)")
	}
	var c models.WebAuthnCeremony
	if err := json.Unmarshal(plain, &c); err != nil || c.ID == "" || c.Kind != models.CeremonyLogin {
		return nil, fail(ErrCeremonyNotFound, "not a login ceremony")
	}
	return &c, nil
}
