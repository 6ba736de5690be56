package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestResumeAfterAnotherReplicaActed: the resume that follows a passkey
// sign-in on the same replica decides on what that sign-in wrote, kept in
// memory (store/handoff.go). When another replica has meanwhile spent the
// interaction, ended the session or disabled the user, the resume ends as
// it did when it read the database: no code, and the browser goes where
// the database's state sends it.
func TestResumeAfterAnotherReplicaActed(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		f := newFlowFixture(t, opts...)
		ctx := context.Background()
		other, err := store.Open(ctx, f.env.DatabaseURL(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = other.Close() })
		if _, err := f.b.CodeFlow(ctx, f.client); err != nil { // warm caches
			t.Fatal(err)
		}
		user, err := f.env.Store.GetUserByEmail(ctx, "bench@example.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			act  func(interaction, sessionID string) error
			// want is the path the resume ends at, on the issuer, or ""
			// for the client's callback with a code.
			want       string
			wantStatus int
		}{
			{"nothing", func(string, string) error { return nil }, "", http.StatusSeeOther},
			{"interaction spent", func(in, _ string) error { return other.ConsumeInteraction(ctx, in) }, "/oauth2/authorize/resume", http.StatusBadRequest},
			{"session ended", func(_, sid string) error { return other.RevokeLoginSession(ctx, sid) }, "/login", http.StatusOK},
			{"user disabled", func(string, string) error { return other.SetUserDisabled(ctx, user.ID, true) }, "/login", http.StatusOK},
		} {
			interaction, err := f.b.Authorize(ctx, f.client)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			next, err := f.b.SignIn(ctx, interaction)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			sessions, err := f.env.Store.ListUserLoginSessions(ctx, user.ID)
			if err != nil || len(sessions) == 0 {
				t.Fatalf("%s: sessions %v, %v", c.name, sessions, err)
			}
			if err := c.act(interaction, sessions[0].ID); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			status, at, err := f.b.Follow(ctx, next)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			code := at.Query().Get("code")
			switch {
			case c.want == "" && (status != c.wantStatus || code == "" || at.Host != "127.0.0.1:9"):
				t.Errorf("%s: the resume ended at %s (%d), want the callback with a code", c.name, at, status)
			case c.want != "" && (status != c.wantStatus || at.Path != c.want || code != ""):
				t.Errorf("%s: the resume ended at %s (%d), want %s (%d) and no code", c.name, at, status, c.want, c.wantStatus)
			}
			if c.name == "user disabled" {
				if err := other.SetUserDisabled(ctx, user.ID, false); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
