package passkey

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/models"
)

// A login ceremony is not stored when it begins: the browser holds it,
// sealed (secret.Box: AES-256-GCM under CeremonyKey), and presents it with the
// assertion. The store records only its spend — the ceremony's id, in the
// statement that starts the session (models.SessionStart.Ceremony) or at
// a refusal — so a sign-in's options write nothing, and a ceremony is
// still single use: its id is spent once, and the read before the
// assertion is checked refuses one already spent. The seal binds the
// browser (the ceremony's browser hash), the interaction, the user of a
// username-first sign-in, the challenge and the expiry; none of them can
// be changed or read by the holder.

// sealAD binds a sealed value to its use: a value sealed under the same
// key for another purpose does not open as a ceremony.
const sealAD = "sesame passkey login ceremony"

// maxSealedLen bounds what is decoded: a ceremony with a username-first
// sign-in's allow list stays well under it.
const maxSealedLen = 16 << 10

// newSealer is the box over key, or over a random key when there is none.
func newSealer(key []byte) (*secret.Box, error) {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	}
	return secret.NewBox(key)
}

// sealLogin is a new login ceremony with data, as the browser holds it:
// nothing is written.
func (s *Service) sealLogin(data *ceremonyData, userID, browserHash, interactionID string) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	now := s.now()
	plain, err := json.Marshal(&models.WebAuthnCeremony{ID: randomID(), BrowserHash: browserHash, Kind: models.CeremonyLogin,
		UserID: userID, InteractionID: interactionID, Data: string(raw), CreatedAt: now, ExpiresAt: now.Add(s.cfg.CeremonyTTL)})
	if err != nil {
		return "", fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	return s.sealer.Seal(sealAD, string(plain)), nil
}

// openCeremony is the ceremony a browser presented: ErrCeremonyNotFound
// for anything this service did not seal.
func (s *Service) openCeremony(sealed string) (*models.WebAuthnCeremony, error) {
	if len(sealed) > maxSealedLen {
		return nil, fail(ErrCeremonyNotFound, "not a sealed ceremony")
	}
	plain, err := s.sealer.Open(sealAD, sealed)
	if err != nil {
		return nil, failWith(ErrCeremonyNotFound, "the ceremony does not open (another key, altered, or not one)", err)
	}
	var c models.WebAuthnCeremony
	if err := json.Unmarshal([]byte(plain), &c); err != nil || c.ID == "" || c.Kind != models.CeremonyLogin {
		return nil, fail(ErrCeremonyNotFound, "not a login ceremony")
	}
	return &c, nil
}
