package oidc

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"
)

// codecSession is a session as a code flow with a passkey stores it, with
// every Sesame field set.
func codecSession() *Session {
	now := time.Date(2026, 12, 5, 21, 30, 1, 123456789, time.UTC)
	s := NewSession()
	s.Subject = "0193a4f2-7c1e-7d2a-9f1b-2b9c6f0e4a11"
	s.Username = "ada"
	s.SetExpiresAt(fosite.AuthorizeCode, now.Add(10*time.Minute))
	s.SetExpiresAt(fosite.AccessToken, now.Add(time.Hour))
	s.SetExpiresAt(fosite.RefreshToken, now.Add(30*24*time.Hour))
	c := s.Claims
	c.Subject = s.Subject
	c.Issuer = "https://id.example.com"
	c.Audience = []string{"client-1"}
	c.Nonce = "n-0S6_WzA2Mj"
	c.AuthTime = now.Add(-time.Second)
	c.RequestedAt = now.Add(-2 * time.Second)
	c.IssuedAt = now
	c.AuthenticationContextClassReference = "urn:sesame:acr:passkey"
	c.AuthenticationMethodsReferences = []string{"hwk", "user"}
	c.Extra = map[string]any{"sid": "ls-1", "email": "ada@example.com", "email_verified": true, "groups": []any{"admins", "staff"}}
	s.Headers.Extra["alg"] = "RS256"
	s.SID = "ls-1"
	s.ClientID = "client-1"
	s.Ext = map[string]any{"groups": []any{"admins"}}
	s.JWTAccess = true
	s.AccessAud = []string{"https://api.example.com"}
	s.AccessScope = []string{"openid", "read"}
	s.DPoPJKT, s.RefreshJKT, s.CodeJKT = "jkt-at", "jkt-rt", "jkt-code"
	s.Act = &Actor{Sub: "svc-a", Act: &Actor{Sub: "svc-b"}}
	s.SubjectAs = "pairwise-sub"
	return s
}

// legacyData is a record as it was stored before the compact encoding.
func legacyData(t testing.TB, s *Session) string {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(storedRequest{ID: "req-1", ClientID: "client-1",
		RequestedAt: time.Date(2026, 12, 5, 21, 30, 0, 0, time.UTC), GrantedScope: []string{"openid"},
		Form: url.Values{"redirect_uri": {"http://127.0.0.1:9/cb"}}, Session: raw})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// compactData is the same record in the compact encoding.
func compactData(t testing.TB, s *Session) string {
	t.Helper()
	data, err := json.Marshal(&storedRequest{
		RequestedAt: time.Date(2026, 12, 5, 21, 30, 0, 0, time.UTC), GrantedScope: []string{"openid"},
		Form: url.Values{"redirect_uri": {"http://127.0.0.1:9/cb"}}, S: compact(s)})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCompactSessionReadsAsLegacy: a session read from the compact
// encoding is the session the legacy encoding read — into a fresh session,
// and into one that already holds what the token endpoint sets before
// fosite reads a grant again (the at_hash hint, a DPoP binding, resource
// narrowing), which must survive; legacy records are still read.
func TestCompactSessionReadsAsLegacy(t *testing.T) {
	full := codecSession()
	bare := NewSession()
	bare.Subject = "client-1"
	bare.ClientID = "client-1"
	bare.SetExpiresAt(fosite.AccessToken, time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC))
	for name, stored := range map[string]*Session{"full": full, "client_credentials": bare, "empty": NewSession()} {
		for target, fresh := range map[string]func() *Session{
			"fresh": NewSession,
			"token endpoint's": func() *Session {
				s := NewSession()
				s.Headers.Extra["alg"] = "ES256"
				s.DPoPJKT = "jkt-new"
				s.AccessScope = []string{"read"}
				return s
			},
		} {
			t.Run(name+"/"+target, func(t *testing.T) {
				fromLegacy, fromCompact := fresh(), fresh()
				lsr, err := decodeRequest(legacyData(t, stored), fromLegacy)
				if err != nil {
					t.Fatal(err)
				}
				csr, err := decodeRequest(compactData(t, stored), fromCompact)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(normalized(fromLegacy), normalized(fromCompact)) {
					t.Errorf("sessions differ:\nlegacy  %+v\ncompact %+v", dump(t, fromLegacy), dump(t, fromCompact))
				}
				if lsr.ID != "req-1" || lsr.ClientID != "client-1" || csr.ID != "" || csr.ClientID != "" {
					t.Errorf("ids: legacy %q %q, compact %q %q (compact takes them from the row)", lsr.ID, lsr.ClientID, csr.ID, csr.ClientID)
				}
				if !reflect.DeepEqual(lsr.Form, csr.Form) || !reflect.DeepEqual(lsr.GrantedScope, csr.GrantedScope) || !lsr.RequestedAt.Equal(csr.RequestedAt) {
					t.Errorf("request fields differ: %+v vs %+v", lsr, csr)
				}
			})
		}
	}
	// Times keep their nanoseconds; exp of the ID token and the session's
	// expiry times compare equal to what was stored.
	got := NewSession()
	if _, err := decodeRequest(compactData(t, full), got); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []fosite.TokenType{fosite.AuthorizeCode, fosite.AccessToken, fosite.RefreshToken} {
		if !got.GetExpiresAt(tt).Equal(full.GetExpiresAt(tt)) {
			t.Errorf("%s expiry %v, want %v", tt, got.GetExpiresAt(tt), full.GetExpiresAt(tt))
		}
	}
	if !got.Claims.AuthTime.Equal(full.Claims.AuthTime) || got.Claims.ExpiresAt != (time.Time{}) {
		t.Errorf("claims times: auth_time %v (want %v), exp %v (want zero)", got.Claims.AuthTime, full.Claims.AuthTime, got.Claims.ExpiresAt)
	}
	// A compact session is refused into a session of another type rather
	// than half read.
	if _, err := decodeRequest(compactData(t, full), &fosite.DefaultSession{}); err == nil {
		t.Error("a compact session read into a fosite.DefaultSession")
	}
	t.Logf("stored record, every field set: legacy %d bytes, compact %d bytes", len(legacyData(t, full)), len(compactData(t, full)))
	typical := typicalSession()
	legacy, compacted := len(legacyData(t, typical)), len(compactData(t, typical))
	t.Logf("stored record, a code flow's session: legacy %d bytes, compact %d bytes", legacy, compacted)
	if compacted >= legacy*3/4 {
		t.Errorf("compact record %d bytes, legacy %d: not a quarter smaller", compacted, legacy)
	}
}

// typicalSession is what newUserSession stores for a passkey sign-in
// with openid, email and profile: no DPoP, no resources, no exchange.
func typicalSession() *Session {
	s := codecSession()
	s.Username, s.Claims.Audience, s.Claims.IssuedAt = "", nil, time.Time{}
	s.JWTAccess, s.AccessAud, s.AccessScope = false, nil, nil
	s.DPoPJKT, s.RefreshJKT, s.CodeJKT, s.Act, s.SubjectAs = "", "", "", nil, ""
	s.Ext = map[string]any{"email": "ada@example.com", "email_verified": true}
	return s
}

// normalized is s with the zero-length collections a JSON round trip may
// turn nil or empty made nil, for comparison.
func normalized(s *Session) *Session {
	c, _ := s.Clone().(*Session)
	if len(c.Claims.Audience) == 0 {
		c.Claims.Audience = nil
	}
	if len(c.Claims.AuthenticationMethodsReferences) == 0 {
		c.Claims.AuthenticationMethodsReferences = nil
	}
	if len(c.Claims.Extra) == 0 {
		c.Claims.Extra = nil
	}
	if len(c.ExpiresAt) == 0 {
		c.ExpiresAt = nil
	}
	return c
}

func dump(t *testing.T, s *Session) string {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkStoredRequest: encoding and reading back one stored request
// with a code flow's session, legacy and compact (allocs/op and B/op are
// what counts on a shared machine).
//
//	go test -run '^$' -bench StoredRequest -benchmem ./oidc/
func BenchmarkStoredRequest(b *testing.B) {
	s := typicalSession()
	for _, tc := range []struct {
		name   string
		encode func(testing.TB, *Session) string
	}{{"legacy", legacyData}, {"compact", compactData}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				data := tc.encode(b, s)
				n = len(data)
				if _, err := decodeRequest(data, NewSession()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}
