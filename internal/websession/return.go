package websession

import (
	"net/http"
	"net/url"
)

// The sign-in page's return path (authn's /login?return=…) waits in a
// short-lived cookie of its own while the person signs in, so the path
// travels through the passkey and password + security key steps without
// each of them carrying it.
const (
	returnCookie = "sesame_return"
	returnMaxAge = 15 * 60
)

// SetReturn remembers path (already checked by the caller) for the next
// sign-in in this browser; "" forgets any.
func (m *Manager) SetReturn(w http.ResponseWriter, path string) {
	if path == "" {
		m.set(w, returnCookie, "", -1)
		return
	}
	m.set(w, returnCookie, url.QueryEscape(path), returnMaxAge)
}

// TakeReturn returns the remembered path ("" when none) and forgets it.
// The caller checks it again: a cookie is input.
func (m *Manager) TakeReturn(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(m.name(returnCookie))
	if err != nil || c.Value == "" {
		return ""
	}
	m.set(w, returnCookie, "", -1)
	p, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return p
}
