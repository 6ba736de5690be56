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

	"golang.org/x/oauth2"

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

// part1Advertised is what a discovery document says of the device grant,
// DPoP, the PAR endpoint and required PAR.
type part1Advertised struct{ deviceEndpoint, deviceGrant, dpop, par, requirePAR bool }

func part1AdvertisedAt(t *testing.T, base string) part1Advertised {
	t.Helper()
	var doc map[string]any
	getJSON(t, base+"/.well-known/openid-configuration", &doc)
	var grants []string
	for _, v := range doc["grant_types_supported"].([]any) {
		grants = append(grants, v.(string))
	}
	_, dev := doc["device_authorization_endpoint"]
	_, dpop := doc["dpop_signing_alg_values_supported"]
	_, par := doc["pushed_authorization_request_endpoint"]
	if _, named := doc["require_pushed_authorization_requests"]; named != par {
		t.Fatalf("require_pushed_authorization_requests named %v, the PAR endpoint %v", named, par)
	}
	return part1Advertised{dev, slices.Contains(grants, clients.GrantDeviceCode), dpop, par, doc["require_pushed_authorization_requests"] == true}
}

// TestDevicePARDPoPSwitchesFollowThePolicy (RFC 8628 §4, RFC 9126 §5,
// RFC 9449 §5.1, OIDC Discovery 1.0 §3): the device grant, DPoP, the PAR
// endpoint and PAR for every client are live policy switches (as the
// console, the admin API and `sesame policy device-grant|dpop|par|
// require-par` save them), and discovery advertises each exactly while it
// is on, on every replica.
// Off: the device endpoint and pages are 404 and a poll is
// unsupported_grant_type, even for a code issued while on; a DPoP proof
// is ignored (a bearer token) and a client that requires DPoP gets none.
// Required PAR: an authorization request that was not pushed is refused
// while a pushed one works. PAR off: the endpoint is 404, a request_uri
// pushed before is request_uri_not_supported (and not spent: it works
// once PAR is back), a client that must push cannot sign in. Switched
// back, a device code issued before is honoured again and proofs bind
// tokens.
func TestDevicePARDPoPSwitchesFollowThePolicy(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		replica := env.Replica()
		ctx := t.Context()
		admin := policy.New(env.Store, env.Config)
		set := func(device, dpop, par, requirePAR bool) {
			t.Helper()
			p, err := admin.Current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.DeviceGrant, p.DPoP, p.PushedAuthorizationRequests, p.RequirePushedAuthorizationRequests = device, dpop, par, requirePAR
			if err := admin.Save(ctx, p, "test:switch"); err != nil {
				t.Fatal(err)
			}
			want := part1Advertised{device, device, dpop, par, requirePAR}
			deadline := time.Now().Add(policy.CacheTTL / 2)
			for _, e := range []*servertest.Env{env, replica} {
				for got := part1AdvertisedAt(t, e.HTTP.URL); got != want; got = part1AdvertisedAt(t, e.HTTP.URL) {
					if time.Now().After(deadline) {
						t.Fatalf("discovery at %s says %+v, want %+v", e.HTTP.URL, got, want)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		deviceID, _ := env.CreateClient(deviceSpec())
		m2mID, m2mSecret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}})
		boundID, boundSecret := env.CreateClient(clients.Spec{Name: "Bound M2M", GrantTypes: []string{"client_credentials"}, DPoPBoundAccessTokens: true})
		webID, webSecret := env.CreateClient(clients.Spec{Name: "Web", RedirectURIs: []string{redirectURI}, SkipConsent: true})
		key := newDPoPKey(t)
		cc := url.Values{"grant_type": {"client_credentials"}}
		status := func(method, u string) int {
			t.Helper()
			req, _ := http.NewRequest(method, u, strings.NewReader(url.Values{"client_id": {deviceID}, "scope": {"openid"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		plainAuthorize := func(base string) url.Values {
			t.Helper()
			u := base + "/oauth2/authorize?" + url.Values{"client_id": {webID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
				"scope": {"openid"}, "state": {"state-0123456789"}}.Encode()
			resp, _ := get(t, env.Browser(), u)
			if resp.Request.URL.Path == "/login" {
				return url.Values{"login": {"shown"}}
			}
			return callback(t, resp)
		}

		set(true, true, true, false) // the configuration's defaults
		issued := startDevice(t, env, deviceID, "", "openid")
		if issued.status != http.StatusOK {
			t.Fatalf("device authorization while on: %d %v", issued.status, issued.body)
		}

		set(false, false, true, true)
		t.Run("off", func(t *testing.T) {
			for _, e := range []*servertest.Env{env, replica} {
				for _, r := range []struct{ method, path string }{
					{http.MethodPost, oidc.PathDeviceAuthorize}, {http.MethodGet, oidc.PathDevice},
					{http.MethodPost, oidc.PathDevice}, {http.MethodGet, oidc.PathDeviceConfirm},
				} {
					if got := status(r.method, e.HTTP.URL+r.path); got != http.StatusNotFound {
						t.Errorf("%s %s on %s while off: %d", r.method, r.path, e.HTTP.URL, got)
					}
				}
				if a := pollDevice(t, e.HTTP.URL, deviceID, issued.str("device_code")); a.status != http.StatusBadRequest || a.str("error") != "unsupported_grant_type" {
					t.Errorf("poll while off: %d %v", a.status, a.body)
				}
				resp, out := postToken(t, e.HTTP.URL, cc, m2mID, m2mSecret, key.proof(t, "POST", env.Issuer+"/oauth2/token", proofOpts{}))
				if resp.StatusCode != http.StatusOK || !strings.EqualFold(out["token_type"].(string), "bearer") {
					t.Errorf("proof while DPoP is off: %d %v", resp.StatusCode, out)
				}
				if resp, out := postToken(t, e.HTTP.URL, cc, boundID, boundSecret, key.proof(t, "POST", env.Issuer+"/oauth2/token", proofOpts{})); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" {
					t.Errorf("client requiring DPoP while off: %d %v", resp.StatusCode, out)
				}
				if q := plainAuthorize(e.HTTP.URL); q.Get("error") != "invalid_request" {
					t.Errorf("request not pushed while PAR is required: %v", q)
				}
			}
			// A pushed request still goes through to sign-in.
			pr, a := push(t, env.Issuer, webID, webSecret, nil)
			if a.status != http.StatusCreated {
				t.Fatalf("push: %d %v", a.status, a.body)
			}
			if resp, _ := get(t, env.Browser(), authorizeURL(env, webID, pr.requestURI, nil)); resp.Request.URL.Path != "/login" {
				t.Errorf("pushed request while required: ended at %s", resp.Request.URL)
			}
		})

		// PAR off: a request pushed before is not honoured (nor spent).
		mustPush, _ := env.CreateClient(clients.Spec{Name: "Must push", RedirectURIs: []string{redirectURI}, SkipConsent: true,
			Public: true, TokenEndpointAuthMethod: "none", RequirePushedAuthorizationRequests: true})
		early, a := push(t, env.Issuer, webID, webSecret, nil)
		if a.status != http.StatusCreated {
			t.Fatalf("push while on: %d %v", a.status, a.body)
		}
		set(true, true, false, false)
		t.Run("PAR off", func(t *testing.T) {
			for _, e := range []*servertest.Env{env, replica} {
				if got := status(http.MethodPost, e.HTTP.URL+oidc.PathPAR); got != http.StatusNotFound {
					t.Errorf("push on %s while PAR is off: %d", e.HTTP.URL, got)
				}
				// The client's only redirect URI receives the error.
				resp, _ := get(t, env.Browser(), e.HTTP.URL+"/oauth2/authorize?"+url.Values{"client_id": {webID}, "request_uri": {early.requestURI}}.Encode())
				if q := callback(t, resp); q.Get("error") != "request_uri_not_supported" || q.Get("code") != "" {
					t.Errorf("request_uri while PAR is off: %v", q)
				}
			}
			u := env.Issuer + "/oauth2/authorize?" + url.Values{"client_id": {mustPush}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"},
				"state": {"state-0123456789"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}.Encode()
			resp, _ := get(t, env.Browser(), u)
			if q := callback(t, resp); q.Get("error") != "invalid_request" {
				t.Errorf("a client that must push while PAR is off: %v", q)
			}
		})

		set(true, true, true, false)
		t.Run("on again", func(t *testing.T) {
			if resp, _ := get(t, env.Browser(), authorizeURL(env, webID, early.requestURI, nil)); resp.Request.URL.Path != "/login" {
				t.Errorf("the request pushed before PAR was off: ended at %s", resp.Request.URL)
			}
			if a := pollDevice(t, replica.HTTP.URL, deviceID, issued.str("device_code")); a.str("error") != "authorization_pending" {
				t.Errorf("poll of the code issued before: %d %v", a.status, a.body)
			}
			if got := status(http.MethodGet, env.Issuer+oidc.PathDevice); got != http.StatusOK {
				t.Errorf("GET /device: %d", got)
			}
			resp, out := postToken(t, replica.HTTP.URL, cc, boundID, boundSecret, key.proof(t, "POST", env.Issuer+"/oauth2/token", proofOpts{}))
			if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
				t.Errorf("proof while DPoP is on: %d %v", resp.StatusCode, out)
			}
			if q := plainAuthorize(env.Issuer); q.Get("login") != "shown" {
				t.Errorf("request not pushed while PAR is not required: %v", q)
			}
		})
	})
}
