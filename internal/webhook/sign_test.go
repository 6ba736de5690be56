package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The Standard Webhooks reference vector (the spec's libraries' tests).
func TestSignMatchesTheStandardWebhooksVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret, other := NewSecret(), NewSecret()
	now := time.Now()
	body := []byte(`{"type":"user.created"}`)
	headers := func(id string, ts time.Time, sig string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, sig)
		return h
	}
	sign := func(s, id string, ts time.Time, b []byte) string {
		v, err := Sign(s, id, ts, b)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := sign(secret, "msg_1", now, body)
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"valid", headers("msg_1", now, good), body, nil},
		{"one of several signatures (a rotation)", headers("msg_1", now, sign(other, "msg_1", now, body)+" "+good), body, nil},
		{"tampered body", headers("msg_1", now, good), []byte(`{"type":"user.deleted"}`), ErrBadSignature},
		{"another message id", headers("msg_2", now, good), body, ErrBadSignature},
		{"another secret", headers("msg_1", now, sign(other, "msg_1", now, body)), body, ErrBadSignature},
		{"replayed later", headers("msg_1", now.Add(-10*time.Minute), sign(secret, "msg_1", now.Add(-10*time.Minute), body)), body, ErrBadTimestamp},
		{"from the future", headers("msg_1", now.Add(10*time.Minute), sign(secret, "msg_1", now.Add(10*time.Minute), body)), body, ErrBadTimestamp},
		{"no headers", http.Header{}, body, ErrNoSignature},
		{"unknown version", headers("msg_1", now, "v2,"+good[3:]), body, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify(secret, tc.h, tc.body, now, DefaultTolerance); !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBoxOpensOnlyItsEndpointsSecret(t *testing.T) {
	key := make([]byte, 32)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSecret()
	sealed := b.Seal("wh_a", s)
	if got, err := b.Open("wh_a", sealed); err != nil || got != s {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := b.Open("wh_b", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a sealed secret opened for another endpoint: %v", err)
	}
	other, _ := NewBox(append(make([]byte, 31), 1))
	if _, err := other.Open("wh_a", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another key opened it: %v", err)
	}
}
