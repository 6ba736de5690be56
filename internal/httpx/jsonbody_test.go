package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// csrfToken accepts exactly one token.
type csrfToken string

func (c csrfToken) CheckCSRF(_ *http.Request, tok string) bool { return tok != "" && tok == string(c) }

// JSONReader refuses, in this order, cross-site requests, a missing or
// wrong CSRF token, other content types and oversized bodies, and names
// each with its error for the caller to map (moved from authn's apiGuard
// and the console's readJSON and decode).
func TestJSONReader(t *testing.T) {
	type req struct {
		A string `json:"a"`
	}
	const origin = "https://id.example"
	guard := JSONReader{Origin: origin, CSRF: csrfToken("tok"), MaxBytes: 32}
	for _, tc := range []struct {
		name    string
		r       JSONReader
		headers map[string]string
		body    string
		want    error
		wantA   string
	}{
		{"ok", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":"x"}`, nil, "x"},
		{"charset parameter", guard, map[string]string{"X-CSRF-Token": "tok", "Content-Type": "application/json; charset=utf-8"}, `{"a":"y"}`, nil, "y"},
		{"unknown field, lenient", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":"x","b":1}`, nil, "x"},
		{"unknown field, strict", JSONReader{Strict: true}, nil, `{"b":1}`, ErrInvalidJSON, ""},
		{"cross-site origin", guard, map[string]string{"X-CSRF-Token": "tok", "Origin": "https://evil.example"}, `{}`, ErrCrossSite, ""},
		{"cross-site fetch", guard, map[string]string{"X-CSRF-Token": "tok", "Sec-Fetch-Site": "cross-site"}, `{}`, ErrCrossSite, ""},
		{"same origin", guard, map[string]string{"X-CSRF-Token": "tok", "Origin": origin, "Sec-Fetch-Site": "same-origin"}, `{"a":"z"}`, nil, "z"},
		{"cross-site before CSRF", guard, map[string]string{"Origin": "null"}, `{}`, ErrCrossSite, ""},
		{"no CSRF token", guard, nil, `{}`, ErrCSRF, ""},
		{"wrong CSRF token", guard, map[string]string{"X-CSRF-Token": "nope"}, `{}`, ErrCSRF, ""},
		{"CSRF before content type", guard, map[string]string{"Content-Type": "text/plain"}, `{}`, ErrCSRF, ""},
		{"form post", guard, map[string]string{"X-CSRF-Token": "tok", "Content-Type": "application/x-www-form-urlencoded"}, `a=x`, ErrNotJSON, ""},
		{"no content type", guard, map[string]string{"X-CSRF-Token": "tok", "Content-Type": ""}, `{}`, ErrNotJSON, ""},
		{"too large", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":"` + strings.Repeat("x", 40) + `"}`, ErrTooLarge, ""},
		{"exactly the limit", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":"` + strings.Repeat("x", 24) + `"}`, nil, strings.Repeat("x", 24)},
		{"default limit", JSONReader{}, nil, `{"a":"` + strings.Repeat("x", DefaultMaxJSON) + `"}`, ErrTooLarge, ""},
		{"not JSON", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":`, ErrInvalidJSON, ""},
		{"empty body", guard, map[string]string{"X-CSRF-Token": "tok"}, ``, ErrInvalidJSON, ""},
		{"trailing data", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":"x"} {}`, ErrInvalidJSON, ""},
		{"wrong type", guard, map[string]string{"X-CSRF-Token": "tok"}, `{"a":1}`, ErrInvalidJSON, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, origin+"/webauthn/login/options", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			var got req
			err := tc.r.Decode(r, &got)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Decode: %v, want %v", err, tc.want)
			}
			if got.A != tc.wantA {
				t.Errorf("decoded %q, want %q", got.A, tc.wantA)
			}
		})
	}
}

// A body cut by BodyLimit (http.MaxBytesReader) is too large, not bad JSON.
func TestJSONReaderBodyLimit(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(`{"a":"`+strings.Repeat("x", 100)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	if _, err := (JSONReader{}).Read(r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read: %v, want ErrTooLarge", err)
	}
}
