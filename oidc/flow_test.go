package oidc_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestCodeFlowPKCE drives a stock OIDC client (go-oidc + x/oauth2) through
// authorization code + PKCE to a verified ID token (OIDC Core §3.1,
// RFC 7636), on every database.
func TestCodeFlowPKCE(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		for _, tc := range []struct {
			name string
			spec clients.Spec
		}{
			{"confidential", clients.Spec{SkipConsent: true}},
			{"public", clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"}},
			{"client_secret_post", clients.Spec{SkipConsent: true, TokenEndpointAuthMethod: "client_secret_post"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := newRP(t, env, tc.spec)
				if tc.spec.TokenEndpointAuthMethod == "client_secret_post" {
					r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
				}
				user := env.CreateUser(t.Name() + "@example.com")
				b := env.Browser()
				verifier := oauth2.GenerateVerifier()
				state, nonce := "state-"+t.Name(), "nonce-0123456789"
				authURL := r.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))

				resp, _ := get(t, b, authURL)
				in := interactionFrom(t, resp, "/login")
				ls := env.CompleteInteraction(b, in, user.ID, []string{"pop", "hwk", "user"}, models.ACRPhishingResistant)

				resp, _ = get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
				q := callback(t, resp)
				if q.Get("state") != state || q.Get("iss") != env.Issuer || q.Get("code") == "" {
					t.Fatalf("callback query = %v", q)
				}

				ctx := context.Background()
				tok, err := r.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				raw, _ := tok.Extra("id_token").(string)
				idt, err := r.verifier().Verify(ctx, raw)
				if err != nil {
					t.Fatalf("verify id token: %v", err)
				}
				if idt.Nonce != nonce || idt.Subject != user.ID {
					t.Fatalf("nonce %q sub %q", idt.Nonce, idt.Subject)
				}
				if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
					t.Fatalf("at_hash: %v", err)
				}
				var claims struct {
					AuthTime int64    `json:"auth_time"`
					AMR      []string `json:"amr"`
					ACR      string   `json:"acr"`
					SID      string   `json:"sid"`
					Email    string   `json:"email"`
				}
				if err := idt.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if claims.SID != ls.ID || claims.ACR != models.ACRPhishingResistant || !slices.Equal(claims.AMR, []string{"pop", "hwk", "user"}) ||
					claims.AuthTime != ls.AuthTime.Unix() || claims.Email != user.Email {
					t.Fatalf("claims = %+v, session %+v", claims, ls)
				}
				ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if ui.Subject != user.ID || ui.Email != user.Email || !ui.EmailVerified {
					t.Fatalf("userinfo = %+v", ui)
				}
				// A second authorization reuses the SSO session: no login page.
				resp, _ = get(t, b, r.oauth.AuthCodeURL("s2-0123456789", oauth2.S256ChallengeOption(verifier)))
				if q := callback(t, resp); q.Get("code") == "" {
					t.Fatalf("SSO did not issue a code: %v", q)
				}
				_ = time.Now
			})
		}
	})
}

// forEachDB runs fn on a fresh server per database (servertest.EachDialect).
func forEachDB(t *testing.T, fn func(t *testing.T, env *servertest.Env)) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) { fn(t, servertest.New(t, db...)) })
}
