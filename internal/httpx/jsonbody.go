package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CSRFHeader carries a page's CSRF token on JSON requests.
const CSRFHeader = "X-CSRF-Token"

// DefaultMaxJSON bounds a JSON body when JSONReader.MaxBytes is zero: a
// WebAuthn response or an admin API request is a few KiB in practice.
const DefaultMaxJSON = 64 << 10

// Errors of JSONReader, in the order it checks; the caller maps them onto
// its own error shape (the hosted pages' {error, message}, the console's
// problem+json). A decoding error wraps ErrInvalidJSON and the decoder's
// error.
var (
	ErrCrossSite   = errors.New("cross-site request refused")
	ErrCSRF        = errors.New("missing or invalid CSRF token")
	ErrNotJSON     = errors.New("content type is not application/json")
	ErrTooLarge    = errors.New("request body too large")
	ErrInvalidJSON = errors.New("invalid JSON body")
)

// CSRFChecker checks a CSRF token against the request's browser binding
// (websession.Manager).
type CSRFChecker interface {
	CheckCSRF(r *http.Request, token string) bool
}

// JSONReader is the one guard and reader of JSON request bodies sent by
// Sesame's own pages and by admin API clients: same origin (when Origin is
// set), the CSRF header (when CSRF is set), Content-Type application/json,
// and a bounded body.
type JSONReader struct {
	// Origin, when set, refuses requests whose fetch metadata or Origin
	// header says another site (SameOrigin). Routes behind SameOriginForms
	// are checked already.
	Origin string
	// CSRF, when set, demands a valid token in the X-CSRF-Token header.
	CSRF CSRFChecker
	// MaxBytes bounds the body; 0 means DefaultMaxJSON.
	MaxBytes int64
	// Strict makes Decode refuse unknown fields, so a typo in a request is
	// not silently ignored.
	Strict bool
}

// Read checks r and returns its body, or one of the errors above.
func (j JSONReader) Read(r *http.Request) ([]byte, error) {
	if j.Origin != "" && !SameOrigin(r, j.Origin) {
		return nil, ErrCrossSite
	}
	if j.CSRF != nil && !j.CSRF.CheckCSRF(r, r.Header.Get(CSRFHeader)) {
		return nil, ErrCSRF
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, ErrNotJSON
	}
	max := j.MaxBytes
	if max <= 0 {
		max = DefaultMaxJSON
	}
	if r.Body == nil {
		return nil, nil
	}
	// A read error is almost always BodyLimit's *http.MaxBytesError; any
	// other one leaves a body that cannot be used either.
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil || int64(len(body)) > max {
		return nil, ErrTooLarge
	}
	return body, nil
}

// Decode is Read, then the body decoded into v.
func (j JSONReader) Decode(r *http.Request, v any) error {
	body, err := j.Read(r)
	if err != nil {
		return err
	}
	if !j.Strict {
		err = json.Unmarshal(body, v)
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	return nil
}

// isJSON reports whether a Content-Type header names application/json
// (parameters such as charset allowed, like gin's ContentType).
func isJSON(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.TrimSpace(ct) == "application/json"
}
