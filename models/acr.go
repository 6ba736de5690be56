package models

// Authentication context classes (OIDC acr): one ordered scheme, lowest
// first, each level implying every level below it. A login session's acr
// says what really happened (the highest level its sign-in reached); a
// request's acr_values (or a client's minimum) asks for at least one of
// these levels. Unknown values in acr_values are ignored (acr is a
// voluntary claim, OIDC Core §5.5.1.1).
//
//	level  URN                                   reached by
//	0      urn:sesame:acr:basic                  an emailed link; a password alone; a passkey without user verification
//	1      urn:sesame:acr:phr                    password + security key (and every level above)
//	2      urn:sesame:acr:passkey:uv             a passkey whose authenticator verified the user (UV=1)
//	3      urn:sesame:acr:passkey:device-bound   … that cannot leave its device (backup eligible BE=0)
//	4      urn:sesame:acr:passkey:attested       … whose attestation chained to FIDO metadata at enrolment, with a
//	                                             FIDO certification and no revoked/compromised status now
//
// phr keeps its meaning: "phishing-resistant", a WebAuthn credential bound
// to this origin plus a second factor. Asking for it accepts a password +
// security key sign-in and every user-verified passkey; a session's acr is
// phr exactly when a password and a security key were used.
const (
	// ACRBasic: something the user has that is not phishing-resistant,
	// e.g. a link sent by email.
	ACRBasic = "urn:sesame:acr:basic"
	// ACRPhishingResistant: a WebAuthn credential bound to this origin
	// plus a second factor (a password and a security key; every passkey
	// level above implies it).
	ACRPhishingResistant = "urn:sesame:acr:phr"
	// ACRUserVerified: a passkey whose authenticator verified the user
	// (PIN, biometric): possession and a second factor in one credential.
	ACRUserVerified = "urn:sesame:acr:passkey:uv"
	// ACRDeviceBound: a user-verified passkey that is not backup eligible,
	// so its private key never leaves the authenticator (not synced).
	ACRDeviceBound = "urn:sesame:acr:passkey:device-bound"
	// ACRAttested: a device-bound, user-verified passkey whose attestation
	// was verified against FIDO metadata at enrolment (the model is known
	// and FIDO-certified) and whose model has no undesired status now.
	ACRAttested = "urn:sesame:acr:passkey:attested"
)

// ACRLevels lists the supported classes in ascending strength.
var ACRLevels = []string{ACRBasic, ACRPhishingResistant, ACRUserVerified, ACRDeviceBound, ACRAttested}

// ACRLevel returns the rank of an acr value, or -1 when unknown.
func ACRLevel(acr string) int {
	for i, v := range ACRLevels {
		if v == acr {
			return i
		}
	}
	return -1
}

// ACRRequired is the level a request's acr_values asks for: the lowest
// known level among them (any one of the values satisfies the request),
// or "" when none is known.
func ACRRequired(requested []string) string {
	min := -1
	for _, r := range requested {
		if l := ACRLevel(r); l >= 0 && (min < 0 || l < min) {
			min = l
		}
	}
	if min < 0 {
		return ""
	}
	return ACRLevels[min]
}

// ACRAtLeast reports whether acr is a known level at least as strong as
// min (a known level).
func ACRAtLeast(acr, min string) bool {
	l := ACRLevel(acr)
	return l >= 0 && l >= ACRLevel(min)
}

// ACRSatisfies reports whether a session with acr meets a request's
// space-separated acr_values: true when none of the values is known, or when
// the session's level is at least the lowest known level requested.
func ACRSatisfies(acr string, requested []string) bool {
	req := ACRRequired(requested)
	return req == "" || ACRAtLeast(acr, req)
}
