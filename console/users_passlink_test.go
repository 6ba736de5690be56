package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// The user page offers "Send a sign-in link" (to an enabled user), and
// the API's send is audit-logged with who sent it to whom.
func TestSendPasslinkFromConsole(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		admin := browser(t, env)
		me, _ := admin.signIn(models.RoleAdmin, models.ACRPhishingResistant)
		u := env.CreateUser("lost-keys@example.test")

		admin.headers = map[string]string{"Accept": "text/html"}
		resp, b, _ := admin.do("GET", "/console/users/"+u.ID, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `id="send-passlink"`) ||
			!strings.Contains(string(b), `data-api="/api/admin/v1/users/`+u.ID+`/passlink"`) {
			t.Fatalf("user page: %d, no send-a-link button", resp.StatusCode)
		}
		admin.headers = nil

		resp, b, _ = admin.do("POST", console.APIPrefix+"/users/"+u.ID+"/passlink", nil)
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), u.Email) {
			t.Fatalf("send: %d %s", resp.StatusCode, b)
		}
		entries, err := env.Store.ListAuditEntries(context.Background(), store.AuditFilter{Action: "user.send_passlink", TargetID: u.ID}, 5)
		if err != nil || len(entries) != 1 || entries[0].ActorID != me.ID || entries[0].ActorKind != models.ActorUser {
			t.Fatalf("audit: %v %+v", err, entries)
		}

		// A disabled user: no button, and the API refuses.
		if err := env.Store.SetUserDisabled(context.Background(), u.ID, true); err != nil {
			t.Fatal(err)
		}
		admin.headers = map[string]string{"Accept": "text/html"}
		if _, b, _ := admin.do("GET", "/console/users/"+u.ID, nil); strings.Contains(string(b), `id="send-passlink"`) {
			t.Error("a disabled user's page offers a sign-in link")
		}
		admin.headers = nil
		if resp, b, _ := admin.do("POST", console.APIPrefix+"/users/"+u.ID+"/passlink", nil); resp.StatusCode != http.StatusConflict {
			t.Errorf("send to a disabled user: %d %s", resp.StatusCode, b)
		}
	})
}
