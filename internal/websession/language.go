package websession

import (
	"net/http"
	"regexp"
)

// languageCookie keeps the language a person picked with the hosted
// pages' switcher, for a year. It is a preference, not a credential: any
// page may set it (?lang=), and its value is only ever matched against
// the catalogues.
const (
	languageCookie = "sesame_lang"
	languageMaxAge = 365 * 24 * 60 * 60
)

// languageRe is the shape of a language code the catalogues use.
var languageRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Language is the language this browser picked, or "".
func (m *Manager) Language(r *http.Request) string {
	v := m.cookie(r, languageCookie)
	if len(v) > 35 || !languageRe.MatchString(v) {
		return ""
	}
	return v
}

// SetLanguage remembers the picked language in this browser.
func (m *Manager) SetLanguage(w http.ResponseWriter, lang string) {
	if languageRe.MatchString(lang) {
		m.set(w, languageCookie, lang, languageMaxAge)
	}
}
