package oidc_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// advertised is what a discovery document says of the logout channels
// and pairwise subjects.
type advertised struct{ backchannel, backchannelSession, frontchannel, frontchannelSession, pairwise bool }

func advertisedAt(t *testing.T, env *servertest.Env) advertised {
	t.Helper()
	var doc map[string]any
	getJSON(t, env.HTTP.URL+"/.well-known/openid-configuration", &doc)
	var types []string
	for _, v := range doc["subject_types_supported"].([]any) {
		types = append(types, v.(string))
	}
	if !slices.Contains(types, "public") {
		t.Fatalf("subject_types_supported %v lacks public", types)
	}
	return advertised{doc["backchannel_logout_supported"] == true, doc["backchannel_logout_session_supported"] == true,
		doc["frontchannel_logout_supported"] == true, doc["frontchannel_logout_session_supported"] == true,
		slices.Contains(types, "pairwise")}
}

// TestProtocolSwitchesFollowThePolicy (OIDC Discovery 1.0 §3, Back-Channel
// Logout 1.0 §2.1, Front-Channel Logout 1.0 §3, OIDC Core §8): discovery
// advertises back-channel logout, front-channel logout and the pairwise
// subject type exactly while the live policy's switches are on (on by
// default), on every replica; and each switch governs what it advertises.
// Off: a sign-out sends no logout token to a receiving app (the notice is
// dropped with the reason), the logout page frames no app and its CSP
// admits no app origin, and no client can be made pairwise — through the
// console's service or the registration endpoint — while a client already
// pairwise keeps its sub and can still be edited. On again, all three
// work as before.
func TestProtocolSwitchesFollowThePolicy(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.AllowOutbound("127.0.0.0/8"), servertest.Registration(config.RegistrationOpen))...)
		replica := env.Replica()
		env.DeliverLogouts()
		ctx := t.Context()
		admin := policy.New(env.Store, env.Config) // as the console or CLI saves it
		set := func(on bool) {
			t.Helper()
			p, err := admin.Current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.BackchannelLogout, p.FrontchannelLogout, p.PairwiseSubjects = on, on, on
			if err := admin.Save(ctx, p, "test:switch"); err != nil {
				t.Fatal(err)
			}
		}
		// waitAdvertised polls both replicas: the change feed brings the
		// change well within the policy cache's lifetime.
		waitAdvertised := func(on bool) {
			t.Helper()
			want := advertised{on, on, on, on, on}
			deadline := time.Now().Add(policy.CacheTTL / 2)
			for _, e := range []*servertest.Env{env, replica} {
				for got := advertisedAt(t, e); got != want; got = advertisedAt(t, e) {
					if time.Now().After(deadline) {
						t.Fatalf("discovery at %s says %+v, want %+v", e.HTTP.URL, got, want)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		frames := func(t *testing.T, f *e2eFlow) (iframes []string, frameSrc string) {
			t.Helper()
			_, raw := f.verifyID(f.tokens("openid"))
			resp, body := get(t, f.b, env.Issuer+oidc.PathLogout+"?"+url.Values{"id_token_hint": {raw}}.Encode())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			for _, m := range dataSrc.FindAllStringSubmatch(body, -1) {
				iframes = append(iframes, htmlUnescape(m[1]))
			}
			if fs := regexp.MustCompile(`frame-src ([^;]*)`).FindStringSubmatch(resp.Header.Get("Content-Security-Policy")); fs != nil {
				frameSrc = fs[1]
			}
			return iframes, frameSrc
		}
		makePairwise := func() error {
			_, _, err := env.Server.Console().Clients.Create(ctx, clients.Spec{Name: "New pairwise", RedirectURIs: []string{"https://new.example/cb"},
				SubjectType: clients.SubjectPairwise})
			return err
		}
		registerPairwise := func() (*http.Response, map[string]any) {
			return regCall(t, http.MethodPost, env.Issuer+oidc.PathRegister, "", map[string]any{"client_name": "Self pairwise",
				"redirect_uris": []string{"https://self.example/cb"}, "subject_type": "pairwise"})
		}

		waitAdvertised(true) // the configuration's default

		// A pairwise app with both logout channels, registered while on.
		f, recv := withReceiver(t, env, clients.Spec{SubjectType: clients.SubjectPairwise, FrontchannelLogoutURI: "http://127.0.0.1:9999/fc"}, nil)
		idt, _ := f.verifyID(f.tokens("openid"))
		sub := idt.Subject
		if sub == "" || sub == f.user.ID {
			t.Fatalf("pairwise sub %q (user %q)", sub, f.user.ID)
		}

		set(false)
		waitAdvertised(false)
		t.Run("off", func(t *testing.T) {
			ls := sessionOf(t, env, f.user.ID)
			iframes, frameSrc := frames(t, f)
			if len(iframes) != 0 || strings.Contains(frameSrc, "127.0.0.1:9999") {
				t.Errorf("front-channel off: iframes %q, frame-src %q", iframes, frameSrc)
			}
			recv.none(t, time.Second)
			var n models.LogoutNotice
			waitFor(t, func() bool {
				ns, err := env.Store.ListLogoutNotices(ctx, ls)
				if err != nil || len(ns) != 1 {
					return false
				}
				n = ns[0]
				return n.Status == models.MailFailed
			})
			if !strings.Contains(n.LastError, "switched off") {
				t.Errorf("dropped notice %+v: want the reason", n)
			}

			var ve *clients.ValidationError
			if err := makePairwise(); !errors.As(err, &ve) || ve.Field != "subject_type" || !strings.Contains(ve.Message, "switched off") {
				t.Errorf("console: a new pairwise client while off: %v", err)
			}
			if resp, got := registerPairwise(); resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_client_metadata" ||
				!strings.Contains(got["error_description"].(string), "subject_type") {
				t.Errorf("registration of a pairwise client while off: %d %v", resp.StatusCode, got)
			}
			// The pairwise app keeps its subjects and can still be edited.
			m, err := env.Store.GetClient(ctx, f.r.clientID)
			if err != nil {
				t.Fatal(err)
			}
			spec := clients.ToSpec(m)
			spec.Name = "Renamed while off"
			if _, _, err := env.Server.Console().Clients.Update(ctx, f.r.clientID, spec, false); err != nil {
				t.Errorf("editing an existing pairwise client while off: %v", err)
			}
			if idt, _ := f.verifyID(f.tokens("openid")); idt.Subject != sub {
				t.Errorf("pairwise sub while off %q, want %q", idt.Subject, sub)
			}
		})

		set(true)
		waitAdvertised(true)
		t.Run("on again", func(t *testing.T) {
			iframes, frameSrc := frames(t, f)
			if len(iframes) != 1 || iframes[0] != "http://127.0.0.1:9999/fc" || !strings.Contains(frameSrc, "http://127.0.0.1:9999") {
				t.Errorf("front-channel on: iframes %q, frame-src %q", iframes, frameSrc)
			}
			if c := recv.next(t); c["sub"] != sub {
				t.Errorf("logout token sub %v, want the pairwise %q", c["sub"], sub)
			}
			if err := makePairwise(); err != nil {
				t.Errorf("console: a new pairwise client while on: %v", err)
			}
			if resp, got := registerPairwise(); resp.StatusCode != http.StatusCreated || got["subject_type"] != "pairwise" {
				t.Errorf("registration of a pairwise client while on: %d %v", resp.StatusCode, got)
			}
		})
	})
}
