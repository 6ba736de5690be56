package upstream

import "github.com/sesame-idp/sesame/internal/secret"

// Box seals what Sesame must keep of an upstream in readable form — the
// client secret, a redirect's PKCE verifier — with secret.Box (AES-256-GCM
// under a key derived from the system secret). The additional data (the
// provider id, or the redirect's state) stops a sealed value copied to
// another row from opening.
type Box = secret.Box

// ErrDecrypt: a sealed value did not open (another system secret, or a
// damaged or moved row).
var ErrDecrypt = secret.ErrDecrypt

// NewBox returns a box over a 32-byte key.
func NewBox(key []byte) (*Box, error) { return secret.NewBox(key) }
