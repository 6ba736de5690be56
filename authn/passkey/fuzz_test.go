package passkey

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// fuzzEnv is a service on the in-memory store (see memStore) with one
// registered passkey.
func fuzzEnv(f *testing.F, d *device) (*env, *models.User) {
	svc, err := New(Config{RPID: testRPID, Origins: []string{testOrigin}, FakeCredentialKey: []byte("k")}, newMemStore(), quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	e := &env{t: f, svc: svc, clock: storetest.NewClock(), ctx: context.Background()}
	svc.cfg.Now = e.clock.Now
	opts, cid, err := svc.BeginRegistration(e.ctx, nil, &NewUser{Email: "fuzz@example.test"}, models.CredentialPasskey, testBrowser, testIA)
	if err != nil {
		f.Fatal(err)
	}
	user, _, _, err := svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(f, opts, testRP, nil))
	if err != nil {
		f.Fatal(err)
	}
	d.auth.Options.UserHandle = []byte(user.ID)
	return e, user
}

// fuzzChallenge is the challenge of every fuzzed ceremony, so a seed
// assertion stays valid and mutations reach the signature and counter
// checks, not only the parser.
var fuzzChallenge = bytes.Repeat([]byte{0x5e}, 32)

// seedAssertions registers a passkey and returns real assertions for
// fuzzChallenge: usernameless and username-first.
func seedAssertions(t testing.TB, e *env, user *models.User, d *device) [][]byte {
	t.Helper()
	opts, _, err := e.svc.BeginLogin(e.ctx, nil, testBrowser, testIA)
	if err != nil {
		t.Fatal(err)
	}
	fixed := func(o *virtualwebauthn.AssertionOptions) { o.Challenge = fuzzChallenge }
	seed := d.assert(t, opts, testRP, fixed)
	noHandle := patchJSON(t, seed, func(m map[string]any) { delete(response(m), "userHandle") })
	return [][]byte{seed, noHandle}
}

// fuzzCeremony seals a login ceremony with the fixed challenge.
func fuzzCeremony(t testing.TB, e *env, mode, userID string, allowed [][]byte) string {
	t.Helper()
	data := &ceremonyData{
		Session: webauthn.SessionData{
			Challenge:            protocol.URLEncodedBase64(fuzzChallenge).String(),
			RelyingPartyID:       testRPID,
			UserID:               nil,
			AllowedCredentialIDs: allowed,
			UserVerification:     protocol.VerificationPreferred,
		},
		Kind: models.CredentialPasskey,
		Mode: mode,
	}
	cid, err := e.svc.sealLogin(data, userID, testBrowser, testIA)
	if err != nil {
		t.Fatal(err)
	}
	return cid
}

// FuzzFinishLogin feeds arbitrary bodies to the whole sign-in path (parse,
// ceremony, credential lookup, checks, signature, counter, store): it must
// never panic, every refusal must be a 4xx error of this package, and a
// success can only sign in the credential's owner.
func FuzzFinishLogin(f *testing.F) {
	d := newDevice(deviceOpts{backupEligible: true}) // counter stays 0
	e, user := fuzzEnv(f, d)
	seeds := seedAssertions(f, e, user, d)
	// The seed signs in: the target reaches the end of the path, not
	// only an early refusal.
	if _, err := e.svc.FinishLogin(e.ctx, fuzzCeremony(f, e, loginDiscoverable, "", nil), testBrowser, seeds[0]); err != nil {
		f.Fatalf("the seed assertion does not sign in: %v", err)
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"","authenticatorData":"","signature":""}}`), false)
	f.Add([]byte(`{}`), true)
	f.Fuzz(func(t *testing.T, body []byte, usernameFirst bool) {
		mode, userID, allowed := loginDiscoverable, "", [][]byte(nil)
		if usernameFirst {
			mode, userID, allowed = loginUser, user.ID, [][]byte{d.cred.ID}
		}
		cid := fuzzCeremony(t, e, mode, userID, allowed)
		res, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, body)
		if err != nil {
			var pe *Error
			if status, _, _ := HTTPStatusAndCode(err); status >= 500 || !errors.As(err, &pe) {
				t.Fatalf("not a 4xx error of this package: %v", err)
			}
			return
		}
		if res.User.ID != user.ID || res.Credential.ID != d.id() || !models.ACRAtLeast(res.ACR, models.ACRUserVerified) {
			t.Fatalf("signed in someone else: %+v", res)
		}
	})
}

// FuzzParseAssertion: the parser alone, fast; never panics, and refuses
// with ErrInvalidResponse or ErrTooLarge.
func FuzzParseAssertion(f *testing.F) {
	d := newDevice(deviceOpts{})
	e, user := fuzzEnv(f, d)
	for _, s := range seedAssertions(f, e, user, d) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseAssertion(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidResponse) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if len(p.RawID) == 0 {
			t.Fatalf("parsed an assertion without a credential id")
		}
	})
}
