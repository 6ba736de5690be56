package console

import (
	"fmt"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/i18n"
)

// The field messages of the shared validators (oidc/clients, the console's
// services) are English, as the admin API returns them. A console page
// says the common ones in the admin's language: the validator keeps the
// format and arguments a message was made from (FieldError.Format, Args),
// the format names a catalogue entry here, and an argument that is itself
// a known message ("%q %s": a URI and what is wrong with it) is said too.
// A message not listed stays English.

// fieldMessageKeys are the formats the console says, by catalogue key;
// the entry names the arguments {a}, {b}, … in the format's order.
var fieldMessageKeys = map[string]string{
	"required":                                     "console.field.required",
	"at most %d characters":                        "console.field.max_chars",
	"at most %d characters, on one line":           "console.field.max_chars_line",
	"at most %d characters, no control characters": "console.field.max_chars_control",
	"at most %d":                                   "console.field.max",
	"must not contain control characters":          "console.field.control",
	"at least one is required":                     "console.field.at_least_one",
	"at least one is required with the authorization_code grant": "console.field.redirect_needed",
	"%q %s":  "console.field.value_problem",
	"%q: %s": "console.field.value_problem",
	"%s":     "console.field.as_is",
	"must not contain spaces or control characters":          "console.field.spaces",
	"must not contain wildcards; register every URI exactly": "console.field.wildcards",
	"must not contain a fragment (RFC 6749 §3.1.2)":          "console.field.fragment_rfc",
	"must not contain a fragment":                            "console.field.fragment",
	"must be an absolute URI":                                "console.field.absolute",
	"must name a host":                                       "console.field.host",
	"must not contain user info":                             "console.field.userinfo",
	"must use https (http is allowed only for localhost, 127.0.0.1 or [::1], RFC 8252 §7.3)": "console.field.https_rfc",
	"must use https (http is allowed only for localhost, 127.0.0.1 or [::1])":                "console.field.https",
	"must be an https URL or a data:image/svg+xml URI":                                       "console.field.logo",
	"must be an absolute https URL":                                                          "console.field.https_url",
	"must be an email address such as dev@example.com":                                       "console.field.email_dev",
	"a bare email address such as ada@example.com":                                           "console.field.email",
	"only letters, digits and . _ : - (starting with a letter or digit)":                     "console.field.group_name",
	"is not a URL": "console.field.not_url",
	"is an internal address; Sesame posts only to public addresses unless outbound_allow_cidrs allows the network": "console.field.internal",
	"choose at least one event type":                                     "console.field.event_types",
	"a BCP 47 language tag such as en, en-GB or zh-Hant-TW":              "console.field.locale",
	"another user has this address":                                      "console.field.email_taken",
	"refresh_token needs authorization_code or the device grant":         "console.field.refresh_needs",
	"client_credentials needs a confidential client":                     "console.field.cc_confidential",
	"token exchange needs a confidential client":                         "console.field.exchange_confidential",
	"must be none for a public client (it cannot keep a secret)":         "console.field.public_none",
	"private_key_jwt needs the client's public keys in jwks or jwks_uri": "console.field.jwt_keys",
	"only used with private_key_jwt":                                     "console.field.only_jwt",
	"set either jwks or jwks_uri, not both":                              "console.field.jwks_both",
	"unsupported %q (allowed: %s)":                                       "console.field.unsupported",
}

// verbRe finds a format's verbs, in order.
var verbRe = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)

// fieldMessage is fe's message in the request's language.
func (u *UI) fieldMessage(c *gin.Context, fe FieldError) string {
	if u.lang(c) == i18n.Default {
		return fe.Message
	}
	format, args := fe.Format, fe.Args
	if format == "" {
		format, args = fe.Message, nil
	}
	if s, ok := u.sayFormat(c, format, args); ok {
		return s
	}
	return fe.Message
}

// sayFormat says format with args from the catalogue; ok is false when
// the format is not one the console says (or its arguments do not fit).
func (u *UI) sayFormat(c *gin.Context, format string, args []any) (string, bool) {
	key, ok := fieldMessageKeys[format]
	if !ok {
		return "", false
	}
	verbs := verbRe.FindAllString(format, -1)
	if len(verbs) != len(args) || len(args) > len(argNames) {
		return "", false
	}
	pairs := make([]any, 0, 2*len(args))
	for i, a := range args {
		v := fmt.Sprintf(verbs[i], a)
		if s, isString := a.(string); isString && verbs[i] == "%s" {
			if said, ok := u.sayFormat(c, s, nil); ok {
				v = said
			}
		}
		pairs = append(pairs, argNames[i], v)
	}
	return u.T(c, key, pairs...), true
}

// argNames name a format's arguments in its catalogue entry.
var argNames = []string{"a", "b", "c"}
