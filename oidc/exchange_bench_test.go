package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// BenchmarkTokenExchange: API A trades a token meant for it for an opaque
// token for API B (RFC 8693): client authentication (secret check cached),
// the subject token read and checked, the registry (cached), the new token
// stored and the auth event recorded. The subject token is a machine's
// client_credentials token for API A, so no browser is needed.
func BenchmarkTokenExchange(b *testing.B) {
	servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) {
		env := servertest.New(b, append(db, withExchange())...)
		ctx := context.Background()
		now := time.Now().UTC()
		for _, r := range []models.Resource{
			{Name: "api-a", Audience: apiA, AccessTokenFormat: models.TokenFormatOpaque},
			{Name: "api-b", Audience: apiB, AccessTokenFormat: models.TokenFormatOpaque},
		} {
			r.Scopes, r.CreatedAt, r.UpdatedAt = models.StringList{}, now, now
			if err := env.Store.CreateResource(ctx, &r); err != nil {
				b.Fatal(err)
			}
		}
		mID, mSecret := env.CreateClient(clients.Spec{Name: "Caller", GrantTypes: []string{"client_credentials"}})
		aID, aSecret := env.CreateClient(clients.Spec{Name: "API A", GrantTypes: []string{exchangeGrant},
			TokenExchangeResources: []string{apiB}, TokenExchangeSubjectAudiences: []string{apiA}})
		hc := benchClient(nil)
		req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token",
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "resource": {apiA}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(mID), url.QueryEscape(mSecret))
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var cc struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&cc)
		_ = resp.Body.Close()
		if err != nil || cc.AccessToken == "" {
			b.Fatalf("subject token: %v", err)
		}
		body := url.Values{"grant_type": {exchangeGrant}, "subject_token": {cc.AccessToken}, "subject_token_type": {accessType}, "resource": {apiB}}.Encode()
		exchange := func() {
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(aID), url.QueryEscape(aSecret))
			benchDo(b, hc, req, http.StatusOK)
		}
		exchange()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			exchange()
		}
		b.StopTimer()
		benchReport(b)
	})
}
