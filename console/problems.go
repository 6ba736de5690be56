package console

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
)

// The console's refusals are problem details in English, as the admin
// API answers them. A console page, and the console's own calls (its
// page script shows a problem's detail), say them in the admin's
// language: by title, since a title names one refusal and its detail is
// fixed (TestConsoleProblemsTranslated keeps this list whole); a refused
// passkey by its code, in the sign-in pages' words.

// problemKeys are the refusals' catalogue keys, by title.
var problemKeys = map[string]string{
	"The last admin cannot be removed":             "console.problem.last_admin",
	"You cannot do this to your own account":       "console.problem.self",
	"This delivery is already queued":              "console.problem.already_queued",
	"Already suspended":                            "console.problem.already_suspended",
	"Already a member":                             "console.problem.already_member",
	"Already exists":                               "console.problem.already_exists",
	"Cross-site request refused":                   "console.problem.cross_site",
	"Missing or invalid CSRF token":                "console.problem.csrf",
	"Not allowed":                                  "console.problem.forbidden",
	"Signed out after inactivity":                  "console.problem.idle_timeout",
	"Invalid request":                              "console.problem.invalid",
	"Unknown language":                             "console.problem.invalid_language",
	"This setup link no longer works":              "console.problem.invite_gone",
	"No deletion is scheduled":                     "console.problem.no_deletion",
	"No password and security key":                 "console.problem.no_security_key",
	"No system secret":                             "console.problem.no_system_secret",
	"Not an admin":                                 "console.problem.not_admin",
	"Not a member":                                 "console.problem.not_member",
	"Not found":                                    "console.problem.not_found",
	"Not suspended":                                "console.problem.not_suspended",
	"Sign-in links are off":                        "console.problem.passlinks_off",
	"Sign in with a passkey":                       "console.problem.phishing_resistant",
	"Too many sign-in links":                       "console.problem.rate_limited",
	"Sign in first":                                "console.problem.sign_in_first",
	"Confirm with your passkey":                    "console.problem.step_up",
	"The suspension would come back":               "console.problem.still_compromised",
	"Too many attempts":                            "console.problem.throttled",
	"The request is too large":                     "console.problem.too_large",
	"Authentication required":                      "console.problem.unauthenticated",
	"Send JSON":                                    "console.problem.unsupported_media",
	"A provider with this id exists":               "console.problem.upstream_exists",
	"The user is disabled":                         "console.problem.user_disabled",
	"Unlock your passkey":                          "console.problem.uv_required",
	"Webhooks are not available here":              "console.problem.webhooks_off",
	"This passkey is for another account":          "console.problem.wrong_account",
	"That password is wrong":                       "console.problem.wrong_password",
	"That passkey belongs to another account":      "console.problem.wrong_user_passkey",
	"That security key belongs to another account": "console.problem.wrong_user_key",
}

// problemText is p in lang, and whether the catalogue says it.
func problemText(cat *i18n.Catalog, lang string, p *Problem) (string, bool) {
	if code, ok := strings.CutPrefix(p.Type, httpx.ProblemTypeBase+"passkey-"); ok {
		if key := "api.passkey." + code; cat.Has(lang, key) {
			return cat.T(lang, key), true
		}
	}
	if key, ok := problemKeys[p.Title]; ok {
		return cat.T(lang, key), true
	}
	return "", false
}

// consoleLang is the language of a console caller: the signed-in admin's
// saved locale, else the browser's Accept-Language; "" for a caller
// without a console session (an API client: English, the API's).
func consoleLang(cat *i18n.Catalog, g *gin.Context) string {
	_, admin := Session(g)
	if admin == nil || g.GetHeader("Authorization") != "" {
		return ""
	}
	if lang, ok := cat.Match(admin.Locale, false); ok {
		return lang
	}
	return cat.Negotiate(i18n.Prefs{AcceptLanguage: g.GetHeader("Accept-Language")})
}
