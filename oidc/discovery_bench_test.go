package oidc_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/server/servertest"
)

// BenchmarkDiscovery: one GET of the discovery document over HTTP. The
// live policy's switches (token exchange, registration) are read from its
// cached copy on every request and pick a document built once per
// combination; "switches on" serves that variant, "switches off" the plain
// document.
func BenchmarkDiscovery(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []servertest.Option
	}{
		{"switches off", nil},
		{"switches on", []servertest.Option{withExchange(), servertest.Registration(config.RegistrationOpen)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			env := servertest.New(b, bc.opts...)
			hc := benchClient(nil)
			want := []byte("token-exchange")
			get := func() []byte {
				resp, err := hc.Get(env.Issuer + "/.well-known/openid-configuration")
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("discovery: %d %v", resp.StatusCode, err)
				}
				return body
			}
			if got := bytes.Contains(get(), want); got != (bc.opts != nil) {
				b.Fatalf("%s: the document lists token exchange: %v", bc.name, got)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				get()
			}
		})
	}
}
