package passkey

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

const (
	testRPID    = "sesame.example"
	testOrigin  = "https://sesame.example"
	testBrowser = "browser-hash-1"
	testIA      = "interaction-1"
)

var testRP = virtualwebauthn.RelyingParty{ID: testRPID, Name: "Sesame", Origin: testOrigin}

// env is one service on one fresh store.
type env struct {
	t     testing.TB
	st    *store.Store
	svc   *Service
	clock *storetest.Clock
	ctx   context.Context
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t testing.TB, st *store.Store, mutate func(*Config)) *env {
	t.Helper()
	c := storetest.NewClock()
	cfg := Config{
		RPID:              testRPID,
		RPName:            "Sesame",
		Origins:           []string{testOrigin},
		UserVerification:  "preferred",
		Attestation:       "none",
		FakeCredentialKey: []byte("test fake credential key"),
		Now:               c.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := New(cfg, st, quietLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{t: t, st: st, svc: svc, clock: c, ctx: context.Background()}
}

// device is a virtual authenticator holding one credential.
type device struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

type deviceOpts struct {
	backupEligible, backupState bool
	noUV, noUP                  bool
	aaguid                      string
	counter                     uint32
}

func newDevice(o deviceOpts) *device {
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
		UserNotPresent:  o.noUP,
		UserNotVerified: o.noUV,
		BackupEligible:  o.backupEligible,
		BackupState:     o.backupState,
	})
	if o.aaguid != "" {
		a.Aaguid = uuid.MustParse(o.aaguid)
	}
	c := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key())
	c.Counter = o.counter
	a.AddCredential(c)
	return &device{auth: a, cred: c}
}

// p256Key returns a PKCS#8 P-256 key whose coordinates are both 32 bytes
// long: virtualwebauthn encodes x and y with big.Int.Bytes, so about one
// key in 128 would get a short coordinate, which COSE (RFC 9053 §7.1.1)
// and go-webauthn rightly refuse.
func p256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}
}

func (d *device) id() string { return base64.RawURLEncoding.EncodeToString(d.cred.ID) }

// attest answers creation options as the browser would.
func (d *device) attest(t testing.TB, options json.RawMessage, rp virtualwebauthn.RelyingParty, mutate func(*virtualwebauthn.AttestationOptions)) []byte {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatalf("parse creation options: %v\n%s", err, options)
	}
	if mutate != nil {
		mutate(ao)
	}
	return []byte(virtualwebauthn.CreateAttestationResponse(rp, d.auth, d.cred, *ao))
}

// assert answers request options; the device's user handle is set from
// the registered user.
func (d *device) assert(t testing.TB, options json.RawMessage, rp virtualwebauthn.RelyingParty, mutate func(*virtualwebauthn.AssertionOptions)) []byte {
	t.Helper()
	ao, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		t.Fatalf("parse request options: %v\n%s", err, options)
	}
	if mutate != nil {
		mutate(ao)
	}
	return []byte(virtualwebauthn.CreateAssertionResponse(rp, d.auth, d.cred, *ao))
}

func (e *env) createUser(email string) *models.User {
	e.t.Helper()
	u := &models.User{ID: uuid.NewString(), Email: email, DisplayName: "User " + email}
	if err := e.st.CreateUser(e.ctx, u); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

// register registers d for user (or signs up nu) and fails the test on error.
func (e *env) register(user *models.User, nu *NewUser, kind string, d *device) (*models.User, *models.WebAuthnCredential) {
	e.t.Helper()
	opts, cid, err := e.svc.BeginRegistration(e.ctx, user, nu, kind, testBrowser, testIA)
	if err != nil {
		e.t.Fatalf("BeginRegistration: %v", err)
	}
	u, c, ia, err := e.svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(e.t, opts, testRP, nil))
	if err != nil {
		e.t.Fatalf("FinishRegistration: %v", err)
	}
	if ia != testIA {
		e.t.Fatalf("interaction = %q, want %q", ia, testIA)
	}
	d.auth.Options.UserHandle = []byte(u.ID)
	return u, c
}

// login signs in with d (username-first when user != nil).
func (e *env) login(user *models.User, d *device) (*Result, error) {
	e.t.Helper()
	opts, cid, err := e.svc.BeginLogin(e.ctx, user, testBrowser, testIA)
	if err != nil {
		e.t.Fatalf("BeginLogin: %v", err)
	}
	d.cred.Counter++
	return e.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(e.t, opts, testRP, nil))
}

// snapshot is everything a failed ceremony must leave alone.
type snapshot struct {
	Users  []models.User
	Creds  []models.WebAuthnCredential
	Events int
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	users, err := e.st.ListUsers(e.ctx, 0, 1000)
	if err != nil {
		e.t.Fatalf("list users: %v", err)
	}
	var snap snapshot
	snap.Users = users
	for _, u := range users {
		cs, err := e.st.ListUserCredentials(e.ctx, u.ID)
		if err != nil {
			e.t.Fatalf("list credentials: %v", err)
		}
		snap.Creds = append(snap.Creds, cs...)
	}
	db, err := e.st.SQLDB()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := db.QueryRowContext(e.ctx, "SELECT count(*) FROM auth_events").Scan(&snap.Events); err != nil {
		e.t.Fatalf("count auth events: %v", err)
	}
	return snap
}

func (e *env) wantUnchanged(before snapshot) {
	e.t.Helper()
	if after := e.snapshot(); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("the failed ceremony wrote to the store:\nbefore %+v\nafter  %+v", before, after)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if status, _, _ := HTTPStatusAndCode(err); status < 400 || status > 499 {
		t.Fatalf("status for %v = %d, want 4xx", err, status)
	}
}

// patchJSON edits the browser's JSON body.
func patchJSON(t testing.TB, body []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func response(m map[string]any) map[string]any { return m["response"].(map[string]any) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hasAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range list {
			found = found || v == w
		}
		if !found {
			return false
		}
	}
	return true
}
