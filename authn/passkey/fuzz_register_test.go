package passkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/protocol"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// FuzzFinishRegistration feeds arbitrary bodies to the whole registration
// (sign-up) path — parse, ceremony, attestation, credential id and key
// checks, store — with the ceremony's challenge fixed, so seed attestations
// stay valid and mutations reach the checks behind the parser. It must
// never panic; every refusal is a 4xx error of this package; a success
// creates the sign-up's account with a credential id of at most 1,023
// bytes (a 1,024-byte one is a seed and must be refused).
func FuzzFinishRegistration(f *testing.F) {
	ms := newMemStore()
	svc, err := New(Config{RPID: testRPID, Origins: []string{testOrigin}, FakeCredentialKey: []byte("k")}, ms, quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	e := &env{t: f, svc: svc, clock: storetest.NewClock(), ctx: context.Background()}
	opts, cid, err := svc.BeginRegistration(e.ctx, nil, &NewUser{Email: "fuzz@example.test"}, models.CredentialPasskey, testBrowser, testIA)
	if err != nil {
		f.Fatal(err)
	}
	// The ceremony, with fuzzChallenge in place of its random one, is the
	// template every input is finished against.
	ms.mu.Lock()
	tmpl := ms.ceremonies[cid]
	ms.mu.Unlock()
	var data ceremonyData
	if err := json.Unmarshal([]byte(tmpl.Data), &data); err != nil {
		f.Fatal(err)
	}
	data.Session.Challenge = protocol.URLEncodedBase64(fuzzChallenge).String()
	tmpl.ExpiresAt = time.Now().Add(24 * time.Hour)
	n := 0

	fixed := func(o *virtualwebauthn.AttestationOptions) { o.Challenge = fuzzChallenge }
	// finish registers body for a sign-up of its own (a new address: one
	// account per address) and returns the address too.
	finish := func(t testing.TB, body []byte) (*models.User, *models.WebAuthnCredential, string, error) {
		n++
		d := data
		nu := *data.NewUser
		nu.ID, nu.Email = randomID(), fmt.Sprintf("fuzz-%d@example.test", n)
		d.NewUser = &nu
		d.Session.UserID = []byte(nu.ID) // the new account's user handle
		raw, _ := json.Marshal(d)
		c := tmpl
		c.ID, c.Data = randomID(), string(raw)
		if err := ms.CreateCeremony(e.ctx, &c); err != nil {
			t.Fatal(err)
		}
		user, cred, _, err := svc.FinishRegistration(e.ctx, c.ID, testBrowser, body)
		return user, cred, nu.Email, err
	}
	// The template takes a real attestation, twice (a fresh device each):
	// mutations of the seeds start from inputs that pass every check.
	for range 2 {
		if _, _, _, err := finish(f, newDevice(deviceOpts{}).attest(f, opts, testRP, fixed)); err != nil {
			f.Fatalf("the fixed-challenge ceremony refuses a real attestation: %v", err)
		}
	}
	seed := newDevice(deviceOpts{backupEligible: true}).attest(f, opts, testRP, fixed)
	f.Add(seed)
	f.Add(newDevice(deviceOpts{}).attest(f, opts, testRP, fixed))
	long := b64(bytes.Repeat([]byte{0xab}, 1024))
	f.Add(patchJSON(f, seed, func(m map[string]any) { m["id"], m["rawId"] = long, long }))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"","attestationObject":""}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		user, cred, email, err := finish(t, body)
		if err != nil {
			var pe *Error
			if status, _, _ := HTTPStatusAndCode(err); status >= 500 || !errors.As(err, &pe) {
				t.Fatalf("not a 4xx error of this package: %v", err)
			}
			return
		}
		if user == nil || cred == nil || user.Email != email || cred.UserID != user.ID {
			t.Fatalf("registered %+v / %+v, want a credential of the sign-up %s", user, cred, email)
		}
		if rawID, err := base64.RawURLEncoding.DecodeString(cred.ID); err != nil || len(rawID) == 0 || len(rawID) > 1023 {
			t.Fatalf("registered credential id %q (%d bytes, %v): want 1 to 1,023 bytes", cred.ID, len(rawID), err)
		}
	})
}
