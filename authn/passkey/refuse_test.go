package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// Body edits shared by the registration and login tables.

func setResponse(field, value string) func(testing.TB, []byte) []byte {
	return func(t testing.TB, b []byte) []byte {
		return patchJSON(t, b, func(m map[string]any) { response(m)[field] = value })
	}
}

// editClientData rewrites clientDataJSON; the signature no longer covers
// it, but each check must fire before the signature is even looked at.
func editClientData(edit func(cd map[string]any)) func(testing.TB, []byte) []byte {
	return func(t testing.TB, b []byte) []byte {
		return patchJSON(t, b, func(m map[string]any) {
			var cd map[string]any
			if err := json.Unmarshal(unb64(t, response(m)["clientDataJSON"].(string)), &cd); err != nil {
				t.Fatal(err)
			}
			edit(cd)
			raw, _ := json.Marshal(cd)
			response(m)["clientDataJSON"] = b64(raw)
		})
	}
}

func truncateField(field string, n int) func(testing.TB, []byte) []byte {
	return func(t testing.TB, b []byte) []byte {
		return patchJSON(t, b, func(m map[string]any) {
			raw := unb64(t, response(m)[field].(string))
			response(m)[field] = b64(raw[:n])
		})
	}
}

// editAttestationObject decodes the CBOR attestation object, edits it and
// encodes it again.
func editAttestationObject(edit func(t testing.TB, ao map[string]any)) func(testing.TB, []byte) []byte {
	return func(t testing.TB, b []byte) []byte {
		return patchJSON(t, b, func(m map[string]any) {
			var ao map[string]any
			if err := webauthncbor.Unmarshal(unb64(t, response(m)["attestationObject"].(string)), &ao); err != nil {
				t.Fatal(err)
			}
			edit(t, ao)
			raw, err := webauthncbor.Marshal(ao)
			if err != nil {
				t.Fatal(err)
			}
			response(m)["attestationObject"] = b64(raw)
		})
	}
}

func oversized(t testing.TB, b []byte) []byte {
	return patchJSON(t, b, func(m map[string]any) { m["padding"] = strings.Repeat("x", MaxResponseBytes) })
}

var (
	evilOrigin = virtualwebauthn.RelyingParty{ID: testRPID, Name: "Sesame", Origin: "https://evil.example"}
	evilRPID   = virtualwebauthn.RelyingParty{ID: "evil.example", Name: "Sesame", Origin: testOrigin}
)

func otherChallengeReg(o *virtualwebauthn.AttestationOptions) {
	o.Challenge = bytes.Repeat([]byte{7}, 32)
}
func otherChallengeGet(o *virtualwebauthn.AssertionOptions) {
	o.Challenge = bytes.Repeat([]byte{7}, 32)
}

type finishReg func(e *env, cid string, body []byte) error

func finishRegAs(browser string) finishReg {
	return func(e *env, cid string, body []byte) error {
		_, _, _, err := e.svc.FinishRegistration(e.ctx, cid, browser, body)
		return err
	}
}

// TestRegistrationRefused: every bad registration is a 4xx error that
// writes nothing (WebAuthn §7.1: each failed step fails the ceremony).
func TestRegistrationRefused(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*Config)
		dev    deviceOpts
		signup *NewUser
		rp     *virtualwebauthn.RelyingParty
		opts   func(*virtualwebauthn.AttestationOptions)
		body   func(testing.TB, []byte) []byte
		setup  func(e *env, d *device)                     // before the ceremony begins
		before func(e *env, cid string, body []byte)       // after it begins, before the snapshot
		finish func(e *env, cid string, body []byte) error // default: this browser
		want   error
	}{
		// §7.1 steps 5-6: clientDataJSON must decode and parse.
		{name: "clientDataJSON is not base64", body: setResponse("clientDataJSON", "!!not*base64!!"), want: ErrInvalidResponse},
		{name: "clientDataJSON is not JSON", body: setResponse("clientDataJSON", b64([]byte(`{"type":"webauthn.create",`))), want: ErrInvalidResponse},
		// §7.1 step 11: attestationObject must be CBOR.
		{name: "attestationObject is not base64", body: setResponse("attestationObject", "%%%"), want: ErrInvalidResponse},
		{name: "attestationObject is truncated CBOR", body: truncateField("attestationObject", 40), want: ErrInvalidResponse},
		{name: "authenticatorData in the attestation is truncated", body: editAttestationObject(func(t testing.TB, ao map[string]any) {
			ao["authData"] = ao["authData"].([]byte)[:45]
		}), want: ErrInvalidResponse},
		{name: "whole body is not JSON", body: func(testing.TB, []byte) []byte { return []byte("{") }, want: ErrInvalidResponse},
		// §7.1 steps 7-9.
		{name: "clientData type is webauthn.get", body: editClientData(func(cd map[string]any) { cd["type"] = "webauthn.get" }), want: ErrVerification},
		{name: "wrong challenge", opts: otherChallengeReg, want: ErrVerification},
		{name: "wrong origin", rp: &evilOrigin, want: ErrVerification},
		{name: "cross-origin iframe", body: editClientData(func(cd map[string]any) { cd["crossOrigin"] = true }), want: ErrVerification},
		// §7.1 step 13: rpIdHash.
		{name: "wrong RP ID hash", rp: &evilRPID, want: ErrVerification},
		// §7.1 steps 14-15: UP always, UV when required.
		{name: "user presence flag missing", dev: deviceOpts{noUP: true}, want: ErrVerification},
		{name: "user verification missing when required", cfg: func(c *Config) { c.UserVerification = "required" }, dev: deviceOpts{noUV: true}, want: ErrUserVerificationRequired},
		// §7.1 step 19: the attestation signature covers clientDataHash.
		{name: "attestation signature does not cover the client data", body: editClientData(func(cd map[string]any) { cd["extra"] = "x" }), want: ErrVerification},
		{name: "attestation signature is garbage", body: editAttestationObject(func(t testing.TB, ao map[string]any) {
			ao["attStmt"].(map[any]any)["sig"] = []byte("not a signature")
		}), want: ErrVerification},
		// §7.1 step 22: a credential id registered to anyone is refused.
		{name: "credential id already registered", setup: func(e *env, d *device) {
			e.register(e.createUser("first@example.test"), nil, models.CredentialPasskey, d)
		}, want: ErrCredentialExists},
		// Attestation policy (§7.1 step 21).
		{name: "AAGUID on the deny list", cfg: func(c *Config) { c.AAGUIDDeny = []string{"11111111-2222-3333-4444-555555555555"} },
			dev: deviceOpts{aaguid: "11111111-2222-3333-4444-555555555555"}, want: ErrAttestationRefused},
		{name: "AAGUID not on the allow list", cfg: func(c *Config) {
			c.Attestation = "direct"
			c.AAGUIDAllow = []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}
		}, want: ErrAttestationRefused},
		{name: "undisclosed model with an allow list", cfg: func(c *Config) {
			c.Attestation = "direct"
			c.AAGUIDAllow = []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}
		}, dev: deviceOpts{aaguid: ZeroAAGUID}, want: ErrAttestationRefused},
		// Ceremony: single use, bound to this browser, short-lived.
		{name: "ceremony replayed", before: func(e *env, cid string, body []byte) {
			if _, _, _, err := e.svc.FinishRegistration(e.ctx, cid, testBrowser, body); err != nil {
				e.t.Fatalf("first finish: %v", err)
			}
		}, want: ErrCeremonyUsed},
		{name: "ceremony from another browser", finish: finishRegAs("browser-hash-2"), want: ErrCeremonyWrongBrowser},
		{name: "no browser binding", finish: finishRegAs(""), want: ErrCeremonyWrongBrowser},
		{name: "ceremony expired (service clock)", before: func(e *env, _ string, _ []byte) { e.clock.Advance(DefaultCeremonyTTL + time.Second) }, want: ErrCeremonyExpired},
		{name: "ceremony expired (store clock)", setup: func(e *env, _ *device) { e.clock.Advance(-time.Hour) }, want: ErrCeremonyExpired},
		{name: "unknown ceremony", finish: func(e *env, _ string, body []byte) error {
			_, _, _, err := e.svc.FinishRegistration(e.ctx, randomID(), testBrowser, body)
			return err
		}, want: ErrCeremonyNotFound},
		{name: "login ceremony finished as a registration", finish: func(e *env, _ string, body []byte) error {
			_, cid, err := e.svc.BeginLogin(e.ctx, nil, testBrowser, testIA)
			if err != nil {
				e.t.Fatal(err)
			}
			_, _, _, err = e.svc.FinishRegistration(e.ctx, cid, testBrowser, body)
			return err
		}, want: ErrCeremonyNotFound},
		{name: "oversized body", body: oversized, want: ErrTooLarge},
		// Sign-up.
		{name: "email taken at sign-up", signup: &NewUser{Email: "TAKEN@example.test"}, setup: func(e *env, _ *device) {
			e.createUser("taken@Example.test")
		}, want: ErrEmailTaken},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, dialect.Open(t), tc.cfg)
				d := newDevice(tc.dev)
				var user *models.User
				if tc.signup == nil {
					user = e.createUser("user@example.test")
				}
				if tc.setup != nil {
					tc.setup(e, d)
				}
				opts, cid, err := e.svc.BeginRegistration(e.ctx, user, tc.signup, models.CredentialPasskey, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				rp := testRP
				if tc.rp != nil {
					rp = *tc.rp
				}
				body := d.attest(t, opts, rp, tc.opts)
				if tc.body != nil {
					body = tc.body(t, body)
				}
				if tc.before != nil {
					tc.before(e, cid, body)
				}
				snap := e.snapshot()
				finish := tc.finish
				if finish == nil {
					finish = finishRegAs(testBrowser)
				}
				err = finish(e, cid, body)
				t.Logf("refused: %v", err)
				wantErr(t, err, tc.want)
				e.wantUnchanged(snap)
			})
		}
	})
}

type finishLogin func(e *env, cid string, body []byte) error

func finishLoginAs(browser string) finishLogin {
	return func(e *env, cid string, body []byte) error {
		_, err := e.svc.FinishLogin(e.ctx, cid, browser, body)
		return err
	}
}

// TestLoginRefused: every bad sign-in is a 4xx error that writes nothing
// (WebAuthn §7.2: each failed step fails the ceremony).
func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name         string
		cfg          func(*Config)
		dev          deviceOpts
		usernameless bool
		rp           *virtualwebauthn.RelyingParty
		opts         func(*virtualwebauthn.AssertionOptions)
		body         func(testing.TB, []byte) []byte
		// setup runs after registration; it may return another device to
		// answer with.
		setup  func(e *env, user *models.User, d *device) *device
		before func(e *env, cid string, body []byte)
		finish finishLogin
		want   error
		check  func(t *testing.T, e *env, d *device, err error)
	}{
		// §7.2 steps 5-6, 13-14.
		{name: "clientDataJSON is not base64", body: setResponse("clientDataJSON", "!!not*base64!!"), want: ErrInvalidResponse},
		{name: "clientDataJSON is not JSON", body: setResponse("clientDataJSON", b64([]byte("[1,2"))), want: ErrInvalidResponse},
		{name: "authenticatorData is not base64", body: setResponse("authenticatorData", "@@"), want: ErrInvalidResponse},
		{name: "authenticatorData is truncated", body: truncateField("authenticatorData", 20), want: ErrInvalidResponse},
		{name: "credential id does not match rawId", body: func(t testing.TB, b []byte) []byte {
			return patchJSON(t, b, func(m map[string]any) { m["id"] = b64([]byte("something else entirely")) })
		}, want: ErrInvalidResponse},
		{name: "discoverable assertion without userHandle", usernameless: true, body: func(t testing.TB, b []byte) []byte {
			return patchJSON(t, b, func(m map[string]any) { delete(response(m), "userHandle") })
		}, want: ErrInvalidResponse},
		// §7.2 steps 11-12.
		{name: "clientData type is webauthn.create", body: editClientData(func(cd map[string]any) { cd["type"] = "webauthn.create" }), want: ErrVerification},
		{name: "wrong challenge", opts: otherChallengeGet, want: ErrVerification},
		{name: "wrong origin", rp: &evilOrigin, want: ErrVerification},
		// §7.2 step 15.
		{name: "wrong RP ID hash", rp: &evilRPID, want: ErrVerification},
		// §7.2 steps 16-17.
		{name: "user presence flag missing", setup: func(e *env, _ *models.User, d *device) *device {
			d.auth.Options.UserNotPresent = true
			return d
		}, want: ErrVerification},
		{name: "user verification missing when required", cfg: func(c *Config) { c.UserVerification = "required" },
			setup: func(e *env, _ *models.User, d *device) *device {
				d.auth.Options.UserNotVerified = true
				return d
			}, want: ErrUserVerificationRequired},
		{name: "backup eligibility changed since registration", setup: func(e *env, _ *models.User, d *device) *device {
			d.auth.Options.BackupEligible = true
			return d
		}, want: ErrVerification},
		// §7.2 step 20: the signature.
		{name: "signature does not cover the client data", body: editClientData(func(cd map[string]any) { cd["extra"] = "x" }), want: ErrVerification},
		{name: "signature is garbage", body: setResponse("signature", b64([]byte("garbage"))), want: ErrVerification},
		{name: "assertion replayed on a new ceremony", setup: nil, before: nil, finish: func(e *env, cid string, body []byte) error {
			// The captured assertion answers the old challenge.
			_, cid2, err := e.svc.BeginLogin(e.ctx, nil, testBrowser, testIA)
			if err != nil {
				e.t.Fatal(err)
			}
			_, err = e.svc.FinishLogin(e.ctx, cid2, testBrowser, body)
			return err
		}, want: ErrVerification},
		// §7.2 steps 1, 6: the credential must be the named user's.
		{name: "another user's credential (username-first)", setup: func(e *env, _ *models.User, _ *device) *device {
			other := newDevice(deviceOpts{})
			e.register(e.createUser("other@example.test"), nil, models.CredentialPasskey, other)
			return other
		}, want: ErrForeignCredential},
		{name: "userHandle names another user (usernameless)", usernameless: true, setup: func(e *env, _ *models.User, d *device) *device {
			other := e.createUser("other@example.test")
			d.auth.Options.UserHandle = []byte(other.ID)
			return d
		}, want: ErrForeignCredential},
		// §7.2 step 5/6: unknown (deleted) credential, with its id for
		// signalUnknownCredential.
		{name: "deleted credential", usernameless: true, setup: func(e *env, user *models.User, d *device) *device {
			if err := e.st.DeleteCredential(e.ctx, user.ID, d.id()); err != nil {
				e.t.Fatal(err)
			}
			return d
		}, want: ErrUnknownCredential, check: func(t *testing.T, e *env, d *device, err error) {
			if got := CredentialID(err); got != d.id() {
				t.Errorf("CredentialID(err) = %q, want %q", got, d.id())
			}
		}},
		{name: "disabled user", setup: func(e *env, user *models.User, d *device) *device {
			if err := e.st.SetUserDisabled(e.ctx, user.ID, true); err != nil {
				e.t.Fatal(err)
			}
			return d
		}, want: ErrUserDisabled},
		// Ceremony: single use, bound to this browser, short-lived.
		{name: "ceremony replayed", before: func(e *env, cid string, body []byte) {
			if _, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, body); err != nil {
				e.t.Fatalf("first finish: %v", err)
			}
		}, want: ErrCeremonyUsed},
		{name: "ceremony from another browser", finish: finishLoginAs("browser-hash-2"), want: ErrCeremonyWrongBrowser},
		{name: "ceremony expired", before: func(e *env, _ string, _ []byte) { e.clock.Advance(DefaultCeremonyTTL) }, want: ErrCeremonyExpired},
		// The browser holds the ceremony sealed (ceremony.go): it can
		// neither change it nor bring one sealed under another key.
		{name: "ceremony altered", finish: func(e *env, cid string, body []byte) error {
			b := []byte(cid)
			i := len(b) / 2
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			_, err := e.svc.FinishLogin(e.ctx, string(b), testBrowser, body)
			return err
		}, want: ErrCeremonyNotFound},
		{name: "ceremony sealed under another key", finish: func(e *env, cid string, body []byte) error {
			other := newEnv(e.t, e.st, func(c *Config) { c.CeremonyKey = bytes.Repeat([]byte{7}, 32) })
			_, err := other.svc.FinishLogin(e.ctx, cid, testBrowser, body)
			return err
		}, want: ErrCeremonyNotFound},
		{name: "ceremony id alone", finish: func(e *env, cid string, body []byte) error {
			c, err := e.svc.openCeremony(cid)
			if err != nil {
				e.t.Fatal(err)
			}
			_, err = e.svc.FinishLogin(e.ctx, c.ID, testBrowser, body)
			return err
		}, want: ErrCeremonyNotFound},
		{name: "registration ceremony finished as a login", finish: func(e *env, _ string, body []byte) error {
			_, cid, err := e.svc.BeginRegistration(e.ctx, nil, &NewUser{Email: "x@example.test"}, models.CredentialPasskey, testBrowser, testIA)
			if err != nil {
				e.t.Fatal(err)
			}
			_, err = e.svc.FinishLogin(e.ctx, cid, testBrowser, body)
			return err
		}, want: ErrCeremonyNotFound},
		{name: "oversized body", body: oversized, want: ErrTooLarge},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, dialect.Open(t), tc.cfg)
				user := e.createUser("user@example.test")
				d := newDevice(tc.dev)
				e.register(user, nil, models.CredentialPasskey, d)
				answer := d
				if tc.setup != nil {
					answer = tc.setup(e, user, d)
				}
				named := user
				if tc.usernameless {
					named = nil
				}
				opts, cid, err := e.svc.BeginLogin(e.ctx, named, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				rp := testRP
				if tc.rp != nil {
					rp = *tc.rp
				}
				answer.cred.Counter++
				body := answer.assert(t, opts, rp, tc.opts)
				if tc.body != nil {
					body = tc.body(t, body)
				}
				if tc.before != nil {
					tc.before(e, cid, body)
				}
				snap := e.snapshot()
				finish := tc.finish
				if finish == nil {
					finish = finishLoginAs(testBrowser)
				}
				err = finish(e, cid, body)
				t.Logf("refused: %v", err)
				wantErr(t, err, tc.want)
				e.wantUnchanged(snap)
				if tc.check != nil {
					tc.check(t, e, answer, err)
				}
			})
		}
	})
}

// TestCounterRegression: a sign counter that does not increase means the
// key may have been cloned (WebAuthn §7.2 step 22, §13.4.8): the sign-in
// is refused, the credential flagged (the only write), and refused from
// then on, even with a higher counter.
func TestCounterRegression(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, back := range []uint32{0, 3} { // equal, lower
			e := newEnv(t, dialect.Open(t), nil)
			user := e.createUser("clone@example.test")
			d := newDevice(deviceOpts{counter: 5})
			e.register(user, nil, models.CredentialPasskey, d)
			if _, err := e.login(user, d); err != nil { // counter 6
				t.Fatal(err)
			}
			clone := *d
			clone.cred.Counter = d.cred.Counter - back - 1 // login() adds one
			if back == 0 {
				clone.cred.Counter = d.cred.Counter - 1
			}
			before, err := e.st.GetCredential(e.ctx, d.id())
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.login(user, &clone)
			wantErr(t, err, ErrCounterRegression)
			if _, code, _ := HTTPStatusAndCode(err); code != "credential_suspended" {
				t.Errorf("code = %q", code)
			}
			after, err := e.st.GetCredential(e.ctx, d.id())
			if err != nil {
				t.Fatal(err)
			}
			if !after.CloneWarning {
				t.Fatalf("credential not flagged after counter %d <= %d", clone.cred.Counter, before.SignCount)
			}
			after.CloneWarning, after.UpdatedAt = before.CloneWarning, before.UpdatedAt
			if *after.LastUsedAt != *before.LastUsedAt || after.SignCount != before.SignCount {
				t.Errorf("the refused sign-in updated the credential: %+v -> %+v", before, after)
			}
			// Later sign-ins, even with a fresh higher counter, are refused.
			d.cred.Counter += 100
			snap := e.snapshot()
			_, err = e.login(user, d)
			wantErr(t, err, ErrCounterRegression)
			e.wantUnchanged(snap)
		}
	})
}

// TestSignUpCredentialExists: a sign-up with a credential id registered to
// someone else creates no user.
func TestSignUpCredentialExists(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		e := newEnv(t, dialect.Open(t), nil)
		d := newDevice(deviceOpts{})
		e.register(e.createUser("owner@example.test"), nil, models.CredentialPasskey, d)
		snap := e.snapshot()
		opts, cid, err := e.svc.BeginRegistration(e.ctx, nil, &NewUser{Email: "new@example.test"}, models.CredentialPasskey, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = e.svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(t, opts, testRP, nil))
		wantErr(t, err, ErrCredentialExists)
		e.wantUnchanged(snap)
	})
}

// TestHTTPStatusAndCode: every sentinel has a 4xx answer with a distinct
// code; anything else is a 500 that shows nothing of the cause.
func TestHTTPStatusAndCode(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range answers {
		status, code, msg := HTTPStatusAndCode(failWith(a.kind, "detail", errors.New("cause")))
		if status < 400 || status > 499 || code != a.code || msg == "" || seen[code] {
			t.Errorf("%v: %d %q %q", a.kind, status, code, msg)
		}
		seen[code] = true
	}
	status, code, msg := HTTPStatusAndCode(errors.New("database on fire"))
	if status != 500 || code != "server_error" || strings.Contains(msg, "fire") {
		t.Errorf("unknown error: %d %q %q", status, code, msg)
	}
}
