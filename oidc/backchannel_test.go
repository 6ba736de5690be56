package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-idp/sesame/internal/outbox"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// logoutReceiver is a relying party's back-channel logout endpoint: it
// validates each logout token as OIDC Back-Channel Logout 1.0 §2.6 tells an
// RP to (signature against the provider's JWKS, typ, iss, aud, iat, exp,
// jti, events, sub/sid, no nonce) and answers 200, or 400 when the token is
// bad. Scripted statuses let a test make it fail first.
type logoutReceiver struct {
	srv              *httptest.Server
	issuer, clientID string
	keys             *gooidc.RemoteKeySet
	alg              string

	mu     sync.Mutex
	script []int // statuses to answer first, in order
	// onAttempt, when set, runs (under mu) at each request.
	onAttempt func()
	attempts  int
	tokens    []map[string]any // valid tokens received (repeats included)
	problems  []string
	got       chan map[string]any
}

func newLogoutReceiver(t *testing.T, env *servertest.Env, alg string, script ...int) *logoutReceiver {
	t.Helper()
	r := &logoutReceiver{issuer: env.Issuer, alg: alg, script: script, got: make(chan map[string]any, 16),
		keys: gooidc.NewRemoteKeySet(context.Background(), env.Issuer+oidc.PathJWKS)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *logoutReceiver) uri() string { return r.srv.URL + "/backchannel-logout" }

func (r *logoutReceiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.onAttempt != nil {
		r.onAttempt()
	}
	if len(r.script) > 0 {
		status := r.script[0]
		r.script = r.script[1:]
		w.WriteHeader(status)
		return
	}
	claims, err := r.validate(req)
	if err != nil {
		r.problems = append(r.problems, err.Error())
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	r.tokens = append(r.tokens, claims)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	r.got <- claims
}

func (r *logoutReceiver) validate(req *http.Request) (map[string]any, error) {
	if req.Method != http.MethodPost || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return nil, fmt.Errorf("%s with %q, want a form POST", req.Method, req.Header.Get("Content-Type"))
	}
	raw := req.PostFormValue("logout_token")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("logout_token is not a compact JWS")
	}
	var hdr struct{ Alg, Typ, Kid string }
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &hdr) != nil {
		return nil, fmt.Errorf("unreadable header")
	}
	if hdr.Typ != "logout+jwt" || hdr.Alg != r.alg || hdr.Kid == "" {
		return nil, fmt.Errorf("header %+v, want typ logout+jwt, alg %s and a kid", hdr, r.alg)
	}
	payload, err := r.keys.VerifySignature(req.Context(), raw)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	now := float64(time.Now().Unix())
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	events, _ := c["events"].(map[string]any)
	ev, isObj := events[oidc.BackchannelLogoutEvent].(map[string]any)
	sub, _ := c["sub"].(string)
	sid, _ := c["sid"].(string)
	jti, _ := c["jti"].(string)
	switch {
	case c["iss"] != r.issuer:
		return nil, fmt.Errorf("iss %v", c["iss"])
	case !slices.Contains(audiencesOf(c["aud"]), r.clientID):
		return nil, fmt.Errorf("aud %v, want %s", c["aud"], r.clientID)
	case iat == 0 || iat > now+60:
		return nil, fmt.Errorf("iat %v", c["iat"])
	case exp <= now:
		return nil, fmt.Errorf("expired: exp %v", c["exp"])
	case !isObj || ev == nil:
		return nil, fmt.Errorf("events %v lacks the back-channel logout event", c["events"])
	case sub == "" && sid == "":
		return nil, fmt.Errorf("neither sub nor sid")
	case jti == "":
		return nil, fmt.Errorf("no jti")
	case c["nonce"] != nil:
		return nil, fmt.Errorf("a logout token must not carry a nonce (§2.4)")
	}
	return c, nil
}

func audiencesOf(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// next waits for the next valid logout token.
func (r *logoutReceiver) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case c := <-r.got:
		return c
	case <-time.After(20 * time.Second):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("no logout token arrived at %s (attempts %d, problems %v)", r.uri(), r.attempts, r.problems)
		return nil
	}
}

// none checks that nothing arrives within a short while (a generous
// bound: a false pass only means a slow delivery went unseen).
func (r *logoutReceiver) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-r.got:
		t.Fatalf("unexpected logout token %v", c)
	case <-time.After(d):
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attempts != 0 {
		t.Fatalf("%d unexpected deliveries (problems %v)", r.attempts, r.problems)
	}
}

// withReceiver registers a client whose back-channel logout URI is a new
// receiver, and a flow for it in browser b (nil: a new browser and user).
func withReceiver(t *testing.T, env *servertest.Env, spec clients.Spec, share *e2eFlow, script ...int) (*e2eFlow, *logoutReceiver) {
	t.Helper()
	alg := spec.IDTokenSignedAlg
	if alg == "" {
		alg = clients.AlgRS256
	}
	recv := newLogoutReceiver(t, env, alg, script...)
	spec.SkipConsent = true
	spec.BackchannelLogoutURI = recv.uri()
	var f *e2eFlow
	if share == nil {
		f = freshFlow(t, env, spec)
	} else {
		f = &e2eFlow{t: t, env: env, r: newRP(t, env, spec), b: share.b, user: share.user}
	}
	recv.mu.Lock()
	recv.clientID = f.r.clientID
	recv.mu.Unlock()
	return f, recv
}

// TestBackchannelLogoutReachesEveryClientOfTheSession_BCLogout_2_7 (OIDC
// Back-Channel Logout 1.0 §2.4–§2.7): every client a session signed in to
// that registered a backchannel_logout_uri receives a logout token, which
// an RP validating it as §2.6 says accepts, carrying the sid its ID token
// carried, whichever way the session ends (RP-initiated logout with a hint,
// the hosted confirmation page, an admin disabling the user or signing them
// out everywhere — in the store and through the console's service —, a
// password reset); clients without a URI and sessions not signed in to a client
// hear nothing.
func TestBackchannelLogoutReachesEveryClientOfTheSession_BCLogout_2_7(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		// The receivers listen on loopback, which the guarded outbound
		// client refuses unless allowed (tested below).
		env := servertest.New(t, append(db, servertest.AllowOutbound("127.0.0.0/8"))...)
		// Two replicas deliver from the one outbox: each token goes out once.
		env.DeliverLogouts()
		env.Replica().DeliverLogouts()

		// signIn signs a new user in to a client with a receiver, then to
		// a second one (ES256, sid required) and to a client without a
		// URI, all in one browser session; it returns the flows, the
		// receivers and the session id every ID token carried.
		signIn := func(t *testing.T) (a, b *e2eFlow, ra, rb *logoutReceiver, plain *e2eFlow, sid string) {
			a, ra = withReceiver(t, env, clients.Spec{}, nil)
			b, rb = withReceiver(t, env, clients.Spec{IDTokenSignedAlg: clients.AlgES256, BackchannelLogoutSessionRequired: true}, a)
			plain = &e2eFlow{t: t, env: env, r: newRP(t, env, clients.Spec{SkipConsent: true}), b: a.b, user: a.user}
			var sids []string
			for _, f := range []*e2eFlow{a, b, plain} {
				idt, _ := f.verifyID(f.tokens("openid"), clients.AlgRS256, clients.AlgES256)
				var cl struct {
					SID string `json:"sid"`
				}
				if err := idt.Claims(&cl); err != nil || cl.SID == "" {
					t.Fatalf("ID token of %s has no sid (every client gets one): %v", f.r.clientID, err)
				}
				sids = append(sids, cl.SID)
			}
			if sids[0] != sids[1] || sids[1] != sids[2] {
				t.Fatalf("one session, several sids: %v", sids)
			}
			return a, b, ra, rb, plain, sids[0]
		}
		wantToken := func(t *testing.T, r *logoutReceiver, user, sid string) {
			t.Helper()
			c := r.next(t)
			if c["sub"] != user || c["sid"] != sid {
				t.Errorf("logout token sub %v sid %v, want %s and %s", c["sub"], c["sid"], user, sid)
			}
		}

		t.Run("rp-initiated logout", func(t *testing.T) {
			a, _, ra, rb, _, sid := signIn(t)
			_, other := withReceiver(t, env, clients.Spec{}, nil) // another user's session, another client
			raw, _ := a.tokens("openid").Extra("id_token").(string)
			resp, _ := get(t, a.b, env.Issuer+oidc.PathLogout+"?"+url.Values{"id_token_hint": {raw}}.Encode())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			wantToken(t, ra, a.user.ID, sid)
			wantToken(t, rb, a.user.ID, sid)
			other.none(t, 500*time.Millisecond)
			for _, r := range []*logoutReceiver{ra, rb} {
				r.mu.Lock()
				if r.attempts != 1 {
					t.Errorf("%s was sent %d tokens by two replicas, want 1", r.clientID, r.attempts)
				}
				r.mu.Unlock()
			}
		})
		t.Run("hosted logout page", func(t *testing.T) {
			a, _, ra, rb, _, sid := signIn(t)
			_, body := get(t, a.b, env.Issuer+oidc.PathLogout)
			resp, _ := postPage(t, a.b, env.Issuer+oidc.PathLogout, url.Values{"confirm": {"yes"}, "csrf": {formValue(t, body, "csrf")}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("confirmed logout: %d", resp.StatusCode)
			}
			wantToken(t, ra, a.user.ID, sid)
			wantToken(t, rb, a.user.ID, sid)
		})
		t.Run("admin disables the user", func(t *testing.T) {
			a, _, ra, rb, _, sid := signIn(t)
			if err := env.Store.SetUserDisabled(t.Context(), a.user.ID, true); err != nil {
				t.Fatal(err)
			}
			wantToken(t, ra, a.user.ID, sid)
			wantToken(t, rb, a.user.ID, sid)
		})
		t.Run("admin signs the user out everywhere (console)", func(t *testing.T) {
			a, _, ra, rb, _, sid := signIn(t)
			if _, err := env.Server.Console().Users.SignOutEverywhere(t.Context(), a.user.ID); err != nil {
				t.Fatal(err)
			}
			wantToken(t, ra, a.user.ID, sid)
			wantToken(t, rb, a.user.ID, sid)
		})
		t.Run("admin disables the user (console)", func(t *testing.T) {
			a, _, ra, rb, _, sid := signIn(t)
			if _, err := env.Server.Console().Users.SetDisabled(t.Context(), a.user.ID, true); err != nil {
				t.Fatal(err)
			}
			wantToken(t, ra, a.user.ID, sid)
			wantToken(t, rb, a.user.ID, sid)
		})
		t.Run("password reset", func(t *testing.T) {
			a, _, ra, rb, _, sid := signIn(t)
			if err := env.Store.ResetUserPassword(t.Context(), a.user.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"); err != nil {
				t.Fatal(err)
			}
			wantToken(t, ra, a.user.ID, sid)
			wantToken(t, rb, a.user.ID, sid)
		})
	})
}

// TestBackchannelLogoutRetriesUntilTheClientAnswers_BCLogout_2_8: a client
// that fails (503, then a 500) gets the token again after a back-off, with
// the same jti, until it answers 200; one that answers 400 refused the token
// and is not asked again (§2.8).
func TestBackchannelLogoutRetriesUntilTheClientAnswers_BCLogout_2_8(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.AllowOutbound("127.0.0.0/8"))...)
		env.DeliverLogouts(outbox.Options{PollInterval: 50 * time.Millisecond, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})

		flaky, rf := withReceiver(t, env, clients.Spec{}, nil, http.StatusServiceUnavailable, http.StatusInternalServerError)
		refusing, rr := withReceiver(t, env, clients.Spec{}, flaky, http.StatusBadRequest)
		flaky.tokens("openid")
		refusing.tokens("openid")
		ls := sessionOf(t, env, flaky.user.ID)
		if err := env.Store.RevokeLoginSession(t.Context(), ls); err != nil {
			t.Fatal(err)
		}
		c := rf.next(t)
		rf.mu.Lock()
		attempts := rf.attempts
		rf.mu.Unlock()
		if attempts != 3 {
			t.Errorf("flaky client asked %d times, want 3 (503, 500, 200)", attempts)
		}
		byClient := map[string]models.LogoutNotice{}
		waitFor(t, func() bool { // the mark follows the 200
			notices, err := env.Store.ListLogoutNotices(t.Context(), ls)
			for _, n := range notices {
				byClient[n.ClientID] = n
			}
			return err == nil && byClient[flaky.r.clientID].Status == models.MailSent
		})
		if n := byClient[flaky.r.clientID]; n.Status != models.MailSent || n.Attempts != 3 || c["jti"] != n.ID {
			t.Errorf("flaky notice %+v, token jti %v: want sent after 3 attempts, jti = notice id", n, c["jti"])
		}
		waitFor(t, func() bool {
			n, err := env.Store.GetLogoutNotice(t.Context(), byClient[refusing.r.clientID].ID)
			return err == nil && n.Status == models.MailFailed
		})
		n, _ := env.Store.GetLogoutNotice(t.Context(), byClient[refusing.r.clientID].ID)
		if n.Attempts != 1 || !strings.Contains(n.LastError, "400") {
			t.Errorf("refused notice %+v: want failed after one attempt with the 400", n)
		}
		time.Sleep(400 * time.Millisecond) // past a back-off: nobody asks again
		rr.mu.Lock()
		defer rr.mu.Unlock()
		if rr.attempts != 1 {
			t.Errorf("the refusing client was asked %d times, want once", rr.attempts)
		}
	})
}

// TestBackchannelLogoutGivesUpAfterItsAttempts (bounded time, §2.8): a
// client that keeps failing is asked MaxAttempts times, with a growing
// back-off between the attempts, and then never again; the notice is
// failed with the last answer.
func TestBackchannelLogoutGivesUpAfterItsAttempts(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.AllowOutbound("127.0.0.0/8"))...)
		env.DeliverLogouts(outbox.Options{PollInterval: 20 * time.Millisecond, MaxAttempts: 3,
			BaseBackoff: 150 * time.Millisecond, MaxBackoff: 600 * time.Millisecond})
		down := http.StatusServiceUnavailable
		f, r := withReceiver(t, env, clients.Spec{}, nil, down, down, down, down, down)
		var times []time.Time
		r.mu.Lock()
		r.onAttempt = func() { times = append(times, time.Now()) }
		r.mu.Unlock()
		f.tokens("openid")
		ls := sessionOf(t, env, f.user.ID)
		if err := env.Store.RevokeLoginSession(t.Context(), ls); err != nil {
			t.Fatal(err)
		}
		var n models.LogoutNotice
		waitFor(t, func() bool {
			ns, err := env.Store.ListLogoutNotices(t.Context(), ls)
			if err != nil || len(ns) != 1 {
				return false
			}
			n = ns[0]
			return n.Status == models.MailFailed
		})
		if n.Attempts != 3 || !strings.Contains(n.LastError, "503") {
			t.Errorf("notice %+v: want failed after 3 attempts with the 503", n)
		}
		time.Sleep(time.Second) // past the longest back-off: nobody asks again
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.attempts != 3 || len(times) != 3 {
			t.Fatalf("the failing client was asked %d times, want 3", r.attempts)
		}
		// Back-off: at least half the base before the second attempt,
		// half of twice the base before the third (jittered to [d/2, d]).
		if d1, d2 := times[1].Sub(times[0]), times[2].Sub(times[1]); d1 < 75*time.Millisecond || d2 < 150*time.Millisecond {
			t.Errorf("waits between attempts %v and %v, want at least 75ms and 150ms", d1, d2)
		}
	})
}

// TestBackchannelLogoutSurvivesACrashedReplica (at least once, across
// replicas): a replica that claimed a notice and died before delivering it
// holds it only until its lease ends; then another replica's pump delivers
// the token, which the receiving app accepts.
func TestBackchannelLogoutSurvivesACrashedReplica(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.AllowOutbound("127.0.0.0/8"))...)
		f, r := withReceiver(t, env, clients.Spec{}, nil)
		f.tokens("openid")
		ls := sessionOf(t, env, f.user.ID)
		if err := env.Store.RevokeLoginSession(t.Context(), ls); err != nil {
			t.Fatal(err)
		}
		ns, err := env.Store.ListLogoutNotices(t.Context(), ls)
		if err != nil || len(ns) != 1 {
			t.Fatalf("notices %v, %v", ns, err)
		}
		// The crashed replica's claim: a lease, and nothing after it.
		now := time.Now()
		lease := now.Add(2 * time.Second)
		if err := env.Store.ClaimLogoutNotice(t.Context(), ns[0].ID, now, lease); err != nil {
			t.Fatal(err)
		}
		env.Replica().DeliverLogouts(outbox.Options{PollInterval: 20 * time.Millisecond})
		// The lease holds: nothing arrives until just before it ends (on a
		// loaded machine the start of the other pump may eat into that).
		if wait := time.Until(lease) - 200*time.Millisecond; wait > 0 {
			r.none(t, wait)
		}
		c := r.next(t)
		if c["jti"] != ns[0].ID || c["sub"] != f.user.ID || c["sid"] != ls {
			t.Errorf("token after the lease %v, want jti %s for the session", c, ns[0].ID)
		}
		if time.Now().Before(lease) {
			t.Error("delivered while the crashed replica's lease was live")
		}
	})
}

// TestBackchannelLogoutRefusesInternalTargets (SSRF, CWE-918): without
// outbound_allow_cidrs a back-channel logout URI on loopback is never
// connected to; the notice fails at once with the reason.
func TestBackchannelLogoutRefusesInternalTargets(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, db...)
		env.DeliverLogouts()
		f, r := withReceiver(t, env, clients.Spec{}, nil)
		f.tokens("openid")
		ls := sessionOf(t, env, f.user.ID)
		if err := env.Store.RevokeLoginSession(t.Context(), ls); err != nil {
			t.Fatal(err)
		}
		var n models.LogoutNotice
		waitFor(t, func() bool {
			ns, err := env.Store.ListLogoutNotices(t.Context(), ls)
			if err != nil || len(ns) != 1 {
				return false
			}
			n = ns[0]
			return n.Status == models.MailFailed
		})
		if n.Attempts != 1 || !strings.Contains(n.LastError, "internal address") {
			t.Errorf("notice %+v: want failed at once, naming the internal address", n)
		}
		r.none(t, 100*time.Millisecond)
	})
}

// freshFlow is newE2EFlow with a user of its own (newE2EFlow names the
// user after the test, so one test gets one).
func freshFlow(t *testing.T, env *servertest.Env, spec clients.Spec) *e2eFlow {
	t.Helper()
	return &e2eFlow{t: t, env: env, r: newRP(t, env, spec), b: env.Browser(),
		user: env.CreateUser("flow-" + websession.RandomToken(8) + "@example.com")}
}

// sessionOf is the id of the user's one live login session.
func sessionOf(t *testing.T, env *servertest.Env, userID string) string {
	t.Helper()
	ls, err := env.Store.ListUserLoginSessions(t.Context(), userID)
	if err != nil || len(ls) != 1 {
		t.Fatalf("sessions of %s: %v, %v", userID, ls, err)
	}
	return ls[0].ID
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 20 s")
}
