package console

import (
	"strings"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
)

// Words for what the event log stores as codes: the console shows people
// "Wrong password", not wrong_password (the API keeps the codes).

// reasonTexts are the stable reason codes the methods record
// (authn/passkey's error codes, the passlink and password handlers').
var reasonTexts = map[string]string{
	"timeout":                      "timed out",
	"signup":                       "signed up",
	"admin_link":                   "link from an admin",
	"password_only":                "password only",
	"enrolled":                     "security key enrolled",
	"security_key":                 "security key",
	"throttled":                    "too many tries",
	"wrong_password":               "wrong password",
	"wrong_code":                   "wrong code",
	"rate_limited":                 "too many requests",
	"expired":                      "link expired",
	"replayed":                     "link already used",
	"locked":                       "locked after wrong codes",
	"user_unavailable":             "account unavailable",
	"invalid_link":                 "invalid link",
	"last_passkey":                 "last passkey",
	"last_security_key":            "last security key",
	"too_large":                    "response too large",
	"ceremony_not_found":           "request unknown or expired",
	"ceremony_expired":             "request expired",
	"ceremony_used":                "request already used",
	"wrong_browser":                "started in another browser",
	"invalid_response":             "unreadable response",
	"user_verification_required":   "not unlocked (no PIN or biometric)",
	"verification_failed":          "response did not verify",
	"credential_suspended":         "passkey blocked (possible clone)",
	"credential_exists":            "passkey already registered",
	"unknown_credential":           "passkey not registered",
	"wrong_credential":             "another account's passkey",
	"wrong_credential_kind":        "security key used alone",
	"account_disabled":             "account disabled",
	"email_taken":                  "address already registered",
	"authenticator_not_allowed":    "authenticator not allowed",
	"synced_passkey_refused":       "synced passkey refused",
	"credential_model_compromised": "passkey suspended (model compromised)",
	// Grace modes: accepted, but an enforced policy would refuse it.
	"grace:synced_passkey": "synced passkey, accepted in grace mode (a block would refuse it)",
	"grace:aaguid_allow":   "model off the allow list, accepted in grace mode (enforcing would refuse it)",
	"invalid_request":      "invalid request",
	"server_error":         "server error",
	"cancelled":            "cancelled",
	"not_allowed":          "cancelled or not allowed",
	// Upstream identity providers (authn/upstream).
	"upstream_denied":      "refused at the upstream provider",
	"bad_state":            "answer unknown, used or from another browser",
	"bad_token":            "upstream token failed validation",
	"id_token_expired":     "upstream ID token expired",
	"provider_unavailable": "upstream provider unavailable",
	"unverified_email":     "upstream address not verified",
	"link_pending":         "link waits for a proof of the account",
	"no_account":           "no account to link",
	"signup_closed":        "sign-up closed",
	"home_realm":           "domain signs in through its upstream provider",
}

// ReasonText is a reason code in words; an unknown code has its
// underscores replaced, so it still reads as words.
func ReasonText(code string) string {
	if code == "" {
		return ""
	}
	if t, ok := reasonTexts[code]; ok {
		return t
	}
	if strings.Contains(code, " ") {
		// Several reasons of one event (both grace modes): each in words.
		parts := strings.Fields(code)
		for i, p := range parts {
			parts[i] = ReasonText(p)
		}
		return strings.Join(parts, "; ")
	}
	return strings.ReplaceAll(code, "_", " ")
}

// eventTexts name an event by its outcome: success, then failure.
var eventTexts = map[string][2]string{
	models.EventLogin:             {"Signed in", "Sign-in failed"},
	models.EventRegister:          {"Credential added", "Credential not added"},
	"step_up":                     {"Confirmed for the console", "Console confirmation failed"},
	"password_change":             {"Password changed", "Password not changed"},
	"reset":                       {"Password reset", "Password reset failed"},
	"verify_email":                {"Address verified", "Address not verified"},
	"request":                     {"Sign-in link requested", "Sign-in link refused"},
	"approve":                     {"Sign-in link approved", "Sign-in link not approved"},
	models.EventCredentialRemoved: {"Credential removed", "Credential not removed"},
	models.EventUpstreamLinked:    {"Sign-in service linked", "Sign-in service not linked"},
	models.EventUpstreamUnlinked:  {"Sign-in service unlinked", "Sign-in service not unlinked"},
}

// EventText is an event and its result in words.
func EventText(event, result string) string {
	i := 0
	if result != models.ResultSuccess {
		i = 1
	}
	if t, ok := eventTexts[event]; ok {
		return t[i]
	}
	words := strings.ReplaceAll(event, "_", " ")
	if words == "" {
		words = "event"
	}
	words = strings.ToUpper(words[:1]) + words[1:]
	if i == 1 {
		return words + " failed"
	}
	return words
}

// DeviceName is a User-Agent in words ("Chrome on macOS").
func DeviceName(ua string) string { return httpx.DescribeUserAgent(ua) }
