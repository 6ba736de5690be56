// Package storetest is the conformance suite of models/store: one set of
// table-driven tests that every dialect must pass (after dex's
// storage/conformance). models/store runs it on SQLite always and on
// PostgreSQL when TEST_DATABASE_URL is set.
//
// It is also the one home of the test support every store-backed package
// shares: OpenSQLite and OpenPostgres for a migrated test store, Dialects
// with EachDialect and ForEachDialect for the run-on-both-dialects loop,
// and Clock, the settable test clock.
//
// Every test makes its own rows with random ids and only asserts on those,
// so the suite may share one database with other tests.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// AllModels lists every gorm model that has a table, in one place, for the
// schema tests that prove models and migrations agree.
var AllModels = []any{
	&models.User{},
	&models.Client{},
	&models.OAuth2Request{},
	&models.UsedJTI{},
	&models.SigningKey{},
	&models.LoginSession{},
	&models.Interaction{},
	&models.DeviceCode{},
	&models.Consent{},
	&models.WebAuthnCredential{},
	&models.WebAuthnCeremony{},
	&models.AuthEvent{},
	&models.Passlink{},
	&models.OutboxMail{},
	&models.RateLimit{},
	&models.UserPassword{},
	&models.AuthEventMinute{},
	&models.AuthEventHour{},
	&models.AuthEventDay{},
	&models.UserDay{},
	&models.UserLastActive{},
	&models.AdminInvite{},
	&models.AuditEntry{},
	&models.Policy{},
	&models.Group{},
	&models.GroupMember{},
	&models.CustomScope{},
	&models.SessionClient{},
	&models.LogoutNotice{},
	&models.Resource{},
	&models.FIDOMetadata{},
	&models.WebhookEndpoint{},
	&models.WebhookDelivery{},
	&models.RecoveryCode{},
	&models.InitialAccessToken{},
	&models.UpstreamProvider{},
	&models.UpstreamIdentity{},
	&models.UpstreamFlow{},
}

// subtest is one row of an aggregate's table.
type subtest struct {
	name string
	run  func(t *testing.T, s *store.Store)
}

// Run runs the whole suite. newStore is called once per aggregate and must
// return a migrated store; it may return the same database every time.
func Run(t *testing.T, newStore func(t *testing.T) *store.Store) {
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Users", userTests},
		{"Clients", clientTests},
		{"OAuth2Requests", oauth2Tests},
		{"JTIs", jtiTests},
		{"SigningKeys", keyTests},
		{"LoginSessions", loginSessionTests},
		{"Interactions", interactionTests},
		{"DeviceCodes", deviceTests},
		{"Consents", consentTests},
		{"Passlinks", passlinkTests},
		{"Outbox", outboxTests},
		{"Logout", logoutTests},
		{"GatedWrites", gatedTests},
		{"RateLimits", rateLimitTests},
		{"Passwords", passwordTests},
		{"Stats", statsTests},
		{"Admins", adminTests},
		{"Everyday", everydayTests},
		{"Lifecycle", lifecycleTests},
		{"Health", healthTests},
		{"Audit", auditTests},
		{"Policies", policyTests},
		{"Groups", groupTests},
		{"CustomScopes", customScopeTests},
		{"Resources", resourceTests},
		{"Webhooks", webhookTests},
		{"InitialAccessTokens", initialAccessTokenTests},
		{"Transactions", txTests},
		{"Sweep", sweepTests},
		{"Retention", retentionTests},
		{"Timestamps", timeTests},
		{"FIDOMetadata", metadataTests},
		{"Lockout", lockoutTests},
		{"Upstream", upstreamTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			s := newStore(t)
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
			}
		})
	}
}

// racers is how many goroutines race on a single-use record.
const racers = 16

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// newID returns a random id with a readable prefix.
func newID(prefix string) string { return prefix + "-" + randHex(8) }

// at is the store clock shifted by d: UTC, microsecond precision, so values
// round-trip exactly on every dialect.
func at(d time.Duration) time.Time { return store.Now().Add(d) }

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err matches the sentinel (nil means no error).
func wantErr(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	switch {
	case sentinel == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case sentinel != nil && !errors.Is(err, sentinel):
		t.Fatalf("%s: got error %v, want %v", what, err, sentinel)
	}
}

// race runs fn in n goroutines released at once and returns their errors.
func race(n int, fn func() error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// exactlyOneWins fails unless one error is nil and all others are loser.
func exactlyOneWins(t *testing.T, errs []error, loser error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, loser):
			t.Errorf("racer: got %v, want nil or %v", err, loser)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d racers won, want exactly 1", wins, len(errs))
	}
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
	stringsType = reflect.TypeFor[models.StringList]()
)

// sameRow compares two models field by field: times by instant (and the
// read one must be in UTC), string lists with nil == empty, the rest deeply.
func sameRow(t *testing.T, want, got any) {
	t.Helper()
	wv, gv := reflect.Indirect(reflect.ValueOf(want)), reflect.Indirect(reflect.ValueOf(got))
	if wv.Type() != gv.Type() {
		t.Fatalf("sameRow: %s vs %s", wv.Type(), gv.Type())
	}
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		w, g := wv.Field(i), gv.Field(i)
		switch w.Type() {
		case timeType:
			sameTime(t, name, w.Interface().(time.Time), g.Interface().(time.Time))
		case timePtrType:
			wp, gp := w.Interface().(*time.Time), g.Interface().(*time.Time)
			switch {
			case wp == nil && gp == nil:
			case wp == nil || gp == nil:
				t.Errorf("%s: got %v, want %v", name, gp, wp)
			default:
				sameTime(t, name, *wp, *gp)
			}
		case stringsType:
			wl, gl := w.Interface().(models.StringList), g.Interface().(models.StringList)
			if (len(wl) != 0 || len(gl) != 0) && !reflect.DeepEqual(wl, gl) {
				t.Errorf("%s: got %q, want %q", name, gl, wl)
			}
		default:
			if !reflect.DeepEqual(w.Interface(), g.Interface()) {
				t.Errorf("%s: got %#v, want %#v", name, g.Interface(), w.Interface())
			}
		}
	}
}

func sameTime(t *testing.T, name string, want, got time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %s, want %s", name, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: read back in location %q, want UTC", name, got.Location())
	}
}
