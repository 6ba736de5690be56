package oidc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// setPolicy saves a change to the global policy through the console's
// service, as an admin does.
func setPolicy(t *testing.T, env *servertest.Env, edit func(p *policy.Policy)) {
	t.Helper()
	pols := env.Server.Console().Policies
	p, err := pols.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	edit(&p)
	if _, err := pols.Update(context.Background(), p); err != nil {
		t.Fatalf("update policy: %v", err)
	}
}

func within(d, want time.Duration) bool { return d <= want+5*time.Second && d >= want-15*time.Second }

// TestTokenLifetimePolicyAppliesWithoutRestart: the global access, refresh
// and ID token lifetimes an admin saves govern the next token response of
// the running server (expires_in, RFC 6749 §5.1; the ID token's exp, OIDC
// Core §2), on the code exchange and on refresh, while a client's own
// lifetime still wins.
func TestTokenLifetimePolicyAppliesWithoutRestart(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		tok := f.tokens("openid", "offline_access")
		if d := time.Until(tok.Expiry); !within(d, env.Config.AccessTokenTTL) {
			t.Fatalf("access token before the change expires in %v, want %v", d, env.Config.AccessTokenTTL)
		}

		setPolicy(t, env, func(p *policy.Policy) {
			p.AccessTokenTTL = policy.Duration(7 * time.Minute)
			p.RefreshTokenTTL = policy.Duration(3 * time.Hour)
			p.IDTokenTTL = policy.Duration(4 * time.Minute)
		})
		tok = f.tokens("openid", "offline_access")
		if d := time.Until(tok.Expiry); !within(d, 7*time.Minute) {
			t.Fatalf("access token after the change expires in %v, want 7m", d)
		}
		idt, _ := f.verifyID(tok)
		if d := idt.Expiry.Sub(idt.IssuedAt); d != 4*time.Minute {
			t.Fatalf("id token after the change lives %v, want 4m", d)
		}
		sig := tok.RefreshToken[strings.LastIndex(tok.RefreshToken, ".")+1:]
		row, err := env.Store.GetOAuth2Request(context.Background(), models.KindRefreshToken, sig)
		if err != nil {
			t.Fatalf("stored refresh token: %v", err)
		}
		if d := time.Until(row.ExpiresAt); !within(d, 3*time.Hour) {
			t.Fatalf("refresh token after the change expires in %v, want 3h", d)
		}

		setPolicy(t, env, func(p *policy.Policy) { p.AccessTokenTTL = policy.Duration(9 * time.Minute) })
		ref, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if d := time.Until(ref.Expiry); !within(d, 9*time.Minute) {
			t.Fatalf("refreshed access token expires in %v, want 9m", d)
		}

		t.Run("client_override_wins", func(t *testing.T) {
			own := newE2EFlow(t, env, clients.Spec{SkipConsent: true, AccessTokenTTL: 300})
			if d := time.Until(own.tokens("openid").Expiry); !within(d, 5*time.Minute) {
				t.Fatalf("a client's own lifetime under the policy: expires in %v, want 5m", d)
			}
		})
	})
}
