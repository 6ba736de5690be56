package models

// Authentication context classes (OIDC acr), lowest first. A login
// session's acr says what really happened; a request's acr_values asks for
// at least one of these levels. Unknown values in acr_values are ignored
// (acr is a voluntary claim, OIDC Core §5.5.1.1).
const (
	// ACRBasic: something the user has that is not phishing-resistant,
	// e.g. a link sent by email.
	ACRBasic = "urn:sesame:acr:basic"
	// ACRPhishingResistant: a WebAuthn credential bound to this origin
	// (a passkey, or a password plus a security key).
	ACRPhishingResistant = "urn:sesame:acr:phr"
)

// ACRLevels lists the supported classes in ascending strength.
var ACRLevels = []string{ACRBasic, ACRPhishingResistant}

// ACRLevel returns the rank of an acr value, or -1 when unknown.
func ACRLevel(acr string) int {
	for i, v := range ACRLevels {
		if v == acr {
			return i
		}
	}
	return -1
}

// ACRSatisfies reports whether a session with acr meets a request's
// space-separated acr_values: true when none of the values is known, or when
// the session's level is at least the lowest known level requested.
func ACRSatisfies(acr string, requested []string) bool {
	min := -1
	for _, r := range requested {
		if l := ACRLevel(r); l >= 0 && (min < 0 || l < min) {
			min = l
		}
	}
	return min < 0 || ACRLevel(acr) >= min
}
