package oidc_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// benchRegistrations lifts the per-IP limit to its maximum: every request
// of a benchmark comes from one address.
func benchRegistrations(c *config.Config) { c.RegistrationRateIP = 100000 }

// BenchmarkRegister: POST /oauth2/register in the protected mode with a
// stock web app's metadata — the rate-limit count, the initial access
// token's lookup and conditional spend, the console form's validation,
// the client (HMAC-hashed secret and registration access token) and its
// audit entry in one transaction.
func BenchmarkRegister(b *testing.B) {
	servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) {
		env := servertest.New(b, append(db, servertest.Registration(config.RegistrationProtected), benchRegistrations)...)
		hc := benchClient(nil)
		body, _ := json.Marshal(map[string]any{"client_name": "Bench App", "redirect_uris": []string{redirectURI},
			"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "client_secret_basic",
			"client_uri": "https://app.example", "contacts": []string{"dev@app.example"}})
		var token string
		left := 0
		do := func() {
			if left == 0 {
				// A token allows at most MaxInitialTokenUses registrations.
				b.StopTimer()
				_, token = env.MintInitialAccessToken("bench", clients.MaxInitialTokenUses, time.Hour)
				left = clients.MaxInitialTokenUses
				b.StartTimer()
			}
			left--
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/register", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
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

// BenchmarkRegistrationRead: GET /oauth2/register/{client_id} (RFC 7592)
// with the registration access token — the rate-limit count, the client's
// read and the token's constant-time HMAC comparison.
func BenchmarkRegistrationRead(b *testing.B) {
	servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) {
		env := servertest.New(b, append(db, servertest.Registration(config.RegistrationOpen), benchRegistrations)...)
		hc := benchClient(nil)
		body, _ := json.Marshal(map[string]any{"client_name": "Bench App", "redirect_uris": []string{redirectURI}})
		req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/register", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var info struct {
			URI   string `json:"registration_client_uri"`
			Token string `json:"registration_access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&info)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated || info.URI == "" {
			b.Fatalf("register: %d %v", resp.StatusCode, err)
		}
		do := func() {
			req, _ := http.NewRequest(http.MethodGet, info.URI, nil)
			req.Header.Set("Authorization", "Bearer "+info.Token)
			benchDo(b, hc, req, http.StatusOK)
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
