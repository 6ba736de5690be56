package console_test

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// TestGraceReasonsInWords: a sign-in accepted under both grace modes (a
// synced passkey of a model off the allow list) is recorded with both
// reasons; the user's page says each in the admin's language, so an
// admin reads whom enforcing a policy would refuse.
func TestGraceReasonsInWords(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	u := env.CreateUser("ada@example.test")
	must(t, env.Store.RecordAuthEvent(context.Background(), &models.AuthEvent{ID: "ev-grace", At: time.Now(), UserID: u.ID,
		Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess, Reason: "grace:synced_passkey grace:aaguid_allow"}))
	for _, tc := range []struct{ lang, want string }{
		{"en", "synced passkey, accepted in grace mode (a block would refuse it); model off the allow list, accepted in grace mode (enforcing would refuse it)"},
		{"de", "synchronisierter Passkey, im Kulanzmodus angenommen (eine Sperre würde ihn ablehnen); Modell nicht auf der Liste, im Kulanzmodus angenommen (erzwungen würde es abgelehnt)"},
	} {
		page := html.UnescapeString(getPageLang(t, browser, env.Issuer+"/console/users/"+u.ID, tc.lang))
		if !strings.Contains(page, tc.want) || strings.Contains(page, "grace:") {
			t.Errorf("%s: the user's events do not say the grace reasons in words", tc.lang)
		}
	}
}
