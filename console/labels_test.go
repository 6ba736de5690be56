package console_test

import (
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestFeedSpeaksWords: the live feed names a passkey sign-up "Signed up"
// like a link's, and a failure's reason in words, not codes; a failed
// password of a known account names the account.
func TestFeedSpeaksWords(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		f := newStatsFixture(t, st)
		ctx := t.Context()
		must(t, st.CreateUser(ctx, &models.User{ID: "dee", Email: "dee@example.test", CreatedAt: statsNow.Add(-time.Minute)}))
		for i, e := range []models.AuthEvent{
			{At: statsNow.Add(-3 * time.Minute), UserID: "dee", ClientID: "notes", Method: models.MethodPasskey, Event: models.EventRegister, Result: models.ResultSuccess, Reason: "signup"},
			{At: statsNow.Add(-2 * time.Minute), UserID: "ada", Method: models.MethodPasswordKey, Event: models.EventLogin, Result: models.ResultFailure, Reason: "wrong_password"},
			{At: statsNow.Add(-time.Minute), UserID: "dee", ClientID: "notes", Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultFailure, Reason: "user_verification_required"},
		} {
			e.ID = "words-" + string(rune('a'+i))
			must(t, st.RecordAuthEvent(ctx, &e))
		}
		feed, err := f.svc.Feed(ctx, 3)
		must(t, err)
		want := []console.FeedItem{
			{User: "dee@example.test", Event: "Sign-in failed", Reason: "not unlocked (no PIN or biometric)"},
			{User: "ada@example.test", Event: "Sign-in failed", Reason: "wrong password"},
			{User: "dee@example.test", Event: "Signed up"},
		}
		if len(feed) != len(want) {
			t.Fatalf("feed = %+v", feed)
		}
		for i, w := range want {
			if feed[i].User != w.User || feed[i].Event != w.Event || feed[i].Reason != w.Reason {
				t.Errorf("feed[%d] = %q %q (%q), want %q %q (%q)", i, feed[i].User, feed[i].Event, feed[i].Reason, w.User, w.Event, w.Reason)
			}
		}
	})
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{console.EventText("password_change", models.ResultSuccess), "Password changed"},
		{console.EventText("step_up", models.ResultFailure), "Console confirmation failed"},
		{console.EventText("something_new", models.ResultFailure), "Something new failed"},
		{console.ReasonText("wrong_credential_kind"), "security key used alone"},
		{console.ReasonText("brand_new_code"), "brand new code"},
		{console.ReasonText("grace:synced_passkey grace:aaguid_allow"),
			"synced passkey, accepted in grace mode (a block would refuse it); model off the allow list, accepted in grace mode (enforcing would refuse it)"},
		{console.DeviceName("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"), "Chrome on macOS"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
