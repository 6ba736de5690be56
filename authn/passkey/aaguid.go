package passkey

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// aaguidsJSON maps well-known authenticator models (AAGUID, lower-case UUID
// text) to the name shown on the account page. Only entries the providers
// publish themselves or that FIDO metadata lists are kept; an unknown model
// is named after the credential kind instead.
//
//go:embed aaguids.json
var aaguidsJSON []byte

var aaguidNames = mustLoadAAGUIDs(aaguidsJSON)

func mustLoadAAGUIDs(b []byte) map[string]string {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("passkey: bundled aaguids.json: %v", err))
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		id, err := uuid.Parse(k)
		if err != nil || id == uuid.Nil || strings.TrimSpace(v) == "" {
			panic(fmt.Sprintf("passkey: bundled aaguids.json: bad entry %q: %q", k, v))
		}
		out[id.String()] = v
	}
	return out
}

// ZeroAAGUID is what an authenticator reports when it does not disclose its
// model (attestation "none", or a privacy-preserving provider).
const ZeroAAGUID = "00000000-0000-0000-0000-000000000000"

// AuthenticatorName returns the bundled name for an AAGUID ("" if unknown,
// malformed, or the zero AAGUID).
func AuthenticatorName(aaguid string) string {
	id, err := uuid.Parse(strings.TrimSpace(aaguid))
	if err != nil || id == uuid.Nil {
		return ""
	}
	return aaguidNames[id.String()]
}

// aaguidString formats the 16 AAGUID bytes of authenticator data as UUID
// text; absent or malformed bytes are the zero AAGUID.
func aaguidString(b []byte) string {
	id, err := uuid.FromBytes(b)
	if err != nil {
		return ZeroAAGUID
	}
	return id.String()
}

// parseAAGUIDSet parses a configured AAGUID list.
func parseAAGUIDSet(name string, list []string) (map[string]bool, error) {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		id, err := uuid.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an AAGUID: %w", name, s, err)
		}
		set[id.String()] = true
	}
	return set, nil
}
