package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/loadgen"
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
			interaction, _, err := f.b.Authorize(ctx, f.client)
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

// TestCodeKeptForItsExchange: the replica that wrote an authorization
// code keeps its records for the exchange (oidc/code_keep.go). A code
// exchanged first at another replica and then here is a replay all the
// same, though this exchange decides on its kept records: it is refused
// (invalid_grant) and the tokens the other exchange got are revoked, as
// when the spent code is read from the database.
func TestCodeKeptForItsExchange(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		f := newFlowFixture(t, opts...)
		ctx := context.Background()
		replica := f.env.Replica()
		code := func() (string, string) {
			t.Helper()
			interaction, verifier, err := f.b.Authorize(ctx, f.client)
			if err != nil {
				t.Fatal(err)
			}
			next, err := f.b.SignIn(ctx, interaction)
			if err != nil {
				t.Fatal(err)
			}
			status, at, err := f.b.Follow(ctx, next)
			if err != nil || status != http.StatusSeeOther || at.Query().Get("code") == "" {
				t.Fatalf("resume: %d %v %v, want the callback with a code", status, at, err)
			}
			return at.Query().Get("code"), verifier
		}
		exchange := func(base, code, verifier string) (int, loadgen.Tokens, string) {
			t.Helper()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.client.RedirectURI}, "code_verifier": {verifier}}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(f.client.ID), url.QueryEscape(f.client.Secret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				loadgen.Tokens
				Error string `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode, body.Tokens, body.Error
		}

		// At this replica: the kept code is exchanged once.
		c, v := code()
		if status, tok, e := exchange(f.env.HTTP.URL, c, v); status != http.StatusOK || tok.IDToken == "" {
			t.Fatalf("exchange here: %d %q", status, e)
		}
		if status, _, e := exchange(f.env.HTTP.URL, c, v); status != http.StatusBadRequest || e != "invalid_grant" {
			t.Fatalf("the same code again here: %d %q, want invalid_grant", status, e)
		}

		// At another replica first, then here: refused, and the other
		// exchange's tokens revoked.
		c, v = code()
		status, first, e := exchange(replica.HTTP.URL, c, v)
		if status != http.StatusOK || first.RefreshToken == "" {
			t.Fatalf("exchange at the other replica: %d %q", status, e)
		}
		if err := f.b.Introspect(ctx, f.client, first.AccessToken); err != nil {
			t.Fatalf("the other replica's token before the replay: %v", err)
		}
		if status, _, e := exchange(f.env.HTTP.URL, c, v); status != http.StatusBadRequest || e != "invalid_grant" {
			t.Fatalf("the code replayed here: %d %q, want invalid_grant", status, e)
		}
		if err := f.b.Introspect(ctx, f.client, first.AccessToken); err == nil {
			t.Error("the replayed code's access token is still active")
		}
		if _, err := f.b.Refresh(ctx, f.client, first.RefreshToken); err == nil {
			t.Error("the replayed code's refresh token still works")
		}
	})
}
