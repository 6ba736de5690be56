package authn_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/server/servertest"
)

// TestErrorPagesFollowTheLanguage: the pages no hosted handler writes
// (a refused authorization, a failed sign-out, an unknown address) speak
// the browser's language, and keep the protocol detail for developers.
func TestErrorPagesFollowTheLanguage(t *testing.T) {
	env := servertest.New(t)
	authorize := env.Issuer + "/oauth2/authorize?" + url.Values{"client_id": {"no-such-app"}, "response_type": {"code"},
		"scope": {"openid"}, "redirect_uri": {"https://app.example/cb"}, "state": {"s"}}.Encode()
	for _, tc := range []struct {
		name, url, lang string
		status          int
		want            []string
	}{
		{"authorize de", authorize, "de-DE,de;q=0.9", http.StatusBadRequest,
			[]string{`<html lang="de">`, "Diese Anmeldeanfrage kann nicht abgeschlossen werden", "Diese App ist hier nicht registriert", "Für die Entwickler der App: invalid_client"}},
		{"authorize en", authorize, "en-US", http.StatusBadRequest,
			[]string{`<html lang="en">`, "This sign-in request can&#39;t be completed", "This app isn&#39;t registered here"}},
		{"logout de", env.Issuer + "/oauth2/logout?client_id=no-such-app", "de", http.StatusBadRequest,
			[]string{`<html lang="de">`, "Abmeldung fehlgeschlagen", "Die App, die Sie abmelden möchte, ist unbekannt."}},
		{"404 de", env.Issuer + "/no-such-page?x=1", "de", http.StatusNotFound,
			[]string{`<html lang="de">`, "Seite nicht gefunden", "Zu Ihrem Konto", `href="/no-such-page?lang=en&amp;x=1"`}},
		{"404 en", env.Issuer + "/no-such-page", "en", http.StatusNotFound,
			[]string{`<html lang="en">`, "Page not found", "Go to your account"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			req.Header.Set("Accept-Language", tc.lang)
			req.Header.Set("Accept", "text/html")
			resp, err := env.Browser().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(b)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q\n%s", w, body)
				}
			}
		})
	}
}
