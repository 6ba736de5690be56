package oidc

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/models"
)

// FuzzAuthorizeParams: an authorization request's query passes the
// parameter checks only within the bounds (no value over maxParamLen, at
// most maxParamCount values, no single-valued parameter twice).
func FuzzAuthorizeParams(f *testing.F) {
	for _, s := range []string{"response_type=code&client_id=a&state=xyzxyzxyz", "state=a&state=b", "scope=openid&scope=email",
		"x=" + string(make([]byte, 3000)), "a=1&b=2&c=3", "%zz=1", "redirect_uri=http%3A%2F%2F127.0.0.1%3A0%2Fcb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if checkParams(form) != nil || checkRepeats(form) != nil {
			return
		}
		n := 0
		for k, vs := range form {
			n += len(vs)
			if len(vs) > 1 && singleParams[k] {
				t.Fatalf("%q accepted twice", k)
			}
			for _, v := range vs {
				if len(v) > maxParamLen {
					t.Fatalf("%q accepted with %d bytes", k, len(v))
				}
			}
		}
		if n > maxParamCount {
			t.Fatalf("%d parameters accepted", n)
		}
	})
}

// FuzzRedirectURIRule: a confidential client only ever gets a redirect
// URI it registered byte for byte; a public client's may differ only in
// a valid loopback port (RFC 8252 §7.3).
func FuzzRedirectURIRule(f *testing.F) {
	const registered = "http://127.0.0.1:8091/cb"
	for _, s := range []string{registered, "http://127.0.0.1:8092/cb", "http://127.0.0.1:0/cb", "http://127.0.0.1:99999/cb",
		"http://127.0.0.1/cb", "http://127.0.0.1:8091/cb/", "http://[::1]:8091/cb", ""} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, redirect string, public bool) {
		c := newClient(&models.Client{ID: "c", RedirectURIs: models.StringList{registered}, Public: public})
		ar := fosite.NewAuthorizeRequest()
		ar.Client = c
		ar.Form = url.Values{}
		if redirect != "" {
			ar.Form.Set("redirect_uri", redirect)
		}
		if checkRedirectURI(ar) != nil || redirect == "" || redirect == registered {
			return
		}
		if !public {
			t.Fatalf("confidential client accepted %q", redirect)
		}
		u, err := url.Parse(redirect)
		if err != nil {
			t.Fatalf("accepted unparsable %q", redirect)
		}
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			t.Fatalf("public client accepted port %q in %q", u.Port(), redirect)
		}
	})
}
