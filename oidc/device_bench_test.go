package oidc_test

import (
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// BenchmarkDevicePoll: 64 devices polling the token endpoint at once
// (RFC 8628 §3.4), each with its own pending device code, as a crowd of
// TVs and CLIs waiting for their people does. "pending" is a poll at the
// pace (one read, one conditional update, authorization_pending; the
// interval is 0 here so every poll is at the pace); "slow_down" a poll
// too fast (one read, two updates). Public clients: no secret check.
//
//	go test -run '^$' -bench DevicePoll -benchtime 2000x ./oidc/
func BenchmarkDevicePoll(b *testing.B) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		want     string
	}{
		{"pending", 0, "authorization_pending"},
		{"slow_down", 5 * time.Second, "slow_down"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) {
				env := servertest.New(b, append(db, func(c *config.Config) { c.DevicePollInterval = tc.interval })...)
				id, _ := env.CreateClient(deviceSpec())
				const devices = 64
				codes := make([]string, devices)
				for i := range codes {
					form := url.Values{"client_id": {id}, "scope": {"openid"}}
					resp, err := http.PostForm(env.Issuer+"/oauth2/device/authorize", form)
					if err != nil {
						b.Fatal(err)
					}
					body, err := decodeBody(resp)
					if err != nil {
						b.Fatal(err)
					}
					codes[i] = tokenAnswer{body: body}.str("device_code")
					// The first poll is at the pace: polled before the timer.
					if a := pollDevice(b, env.Issuer, id, codes[i]); a.str("error") != "authorization_pending" {
						b.Fatalf("first poll: %v", a.body)
					}
				}
				hc := benchClient(nil)
				hc.Transport.(*http.Transport).MaxIdleConnsPerHost = devices
				var next atomic.Int64
				b.SetParallelism(max(devices/runtime.GOMAXPROCS(0), 1))
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					code := codes[next.Add(1)%devices]
					body := url.Values{"grant_type": {deviceGrant}, "client_id": {id}, "device_code": {code}}.Encode()
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						resp, err := hc.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						if body, err := decodeBody(resp); err != nil || body["error"] != tc.want {
							b.Errorf("poll answered %v (%v), want %s", body, err, tc.want)
							return
						}
					}
				})
				b.StopTimer()
				benchReport(b)
			})
		})
	}
}

// BenchmarkPARPush: a pushed authorization request (RFC 9126 §2) by a
// confidential client with client_secret_basic (its secret check cached
// after the first push): validation and one insert of the request.
//
//	go test -run '^$' -bench PARPush -benchtime 500x ./oidc/
func BenchmarkPARPush(b *testing.B) {
	servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) {
		env := servertest.New(b, db...)
		id, secret := env.CreateClient(clients.Spec{Name: "Bench PAR", RedirectURIs: []string{redirectURI}})
		hc := benchClient(nil)
		body := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirectURI}, "scope": {"openid"},
			"state": {"state-0123456789"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
		do := func() {
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/par", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			benchDo(b, hc, req, http.StatusCreated)
		}
		do()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			do()
		}
		b.StopTimer()
		benchReport(b)
	})
}
