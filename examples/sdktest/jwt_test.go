package sdktest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/sdk/go/middleware"
	"github.com/sesame-idp/sesame/server/servertest"
)

const ordersAPI = "https://orders.example.com"

// TestMiddlewareWithSesameJWTAccessTokens: Sesame's RFC 9068 access tokens
// for a registered resource (RFC 8707) verify in sdk/go/middleware against
// the JWKS alone (no introspection credentials): subject, client, groups
// and audience come through and the group check passes. A JWT for another
// audience (a client's own JWTs, aud = its client id) is refused by an API
// that names its audience, an opaque token by an API without
// introspection. After Sesame rotates its signing key, a refreshed token
// signed by the new key verifies (the JWKS is fetched again for the
// unknown kid), and the older token still does (the retired key stays
// published).
func TestMiddlewareWithSesameJWTAccessTokens(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		now := time.Now().UTC()
		if err := env.Store.CreateResource(ctx, &models.Resource{Name: "orders", Description: "Orders", Audience: ordersAPI,
			Scopes: models.StringList{}, AccessTokenFormat: models.TokenFormatJWT, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		const redirect = "http://127.0.0.1:9/callback"
		appID, appSecret := env.CreateClient(clients.Spec{Name: "App", RedirectURIs: []string{redirect}, SkipConsent: true,
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "email", "groups", "offline_access"}})
		jwtID, jwtSecret := env.CreateClient(clients.Spec{Name: "JWT app", RedirectURIs: []string{redirect}, SkipConsent: true, AccessTokenFormat: models.TokenFormatJWT,
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "groups"}})
		staff := userInGroups(t, env, "staff")

		v, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, Audience: ordersAPI, JWKSMinRefresh: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		tok := userTokensFor(t, env, staff, appID, appSecret, redirect, ordersAPI, "openid", "email", "groups", "offline_access")
		if strings.Count(tok.AccessToken, ".") != 2 {
			t.Fatalf("the access token for %s is not a JWT: %.20s…", ordersAPI, tok.AccessToken)
		}
		got, err := v.Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("verify Sesame's JWT: %v", err)
		}
		if !got.JWT || got.Subject != staff.ID || got.ClientID != appID || !got.InGroup("staff") || !got.HasScope("email") || got.Issuer != env.Issuer {
			t.Fatalf("token = %+v", got)
		}
		api := serve(t, v.Require(middleware.Groups("staff"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := middleware.FromContext(r.Context())
			_ = json.NewEncoder(w).Encode(map[string]any{"sub": tok.Subject})
		})))
		req, _ := http.NewRequest(http.MethodGet, api, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("API with a staff JWT: %s", resp.Status)
		}

		// The JWT client's own tokens are for its client id, not this API.
		own := userTokens(t, env, staff, jwtID, jwtSecret, redirect, "openid", "groups")
		var e *middleware.Error
		if _, err := v.Verify(ctx, own.AccessToken); !errors.As(err, &e) || e.Status != 401 || !strings.Contains(e.Description, "not meant for this API") {
			t.Fatalf("a JWT for another audience: %v", err)
		}
		anyAud, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := anyAud.Verify(ctx, own.AccessToken); err != nil || got.ClientID != jwtID {
			t.Fatalf("without an audience the client's JWT verifies: %+v, %v", got, err)
		}
		opaque := userTokens(t, env, staff, appID, appSecret, redirect, "openid")
		if _, err := v.Verify(ctx, opaque.AccessToken); err == nil {
			t.Fatal("an opaque token was accepted without introspection")
		}

		// Key rotation: the refreshed token is signed by the new key.
		if err := env.Server.Keys().Rotate(ctx, "RS256"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond) // past JWKSMinRefresh
		conf := oauth2.Config{ClientID: appID, ClientSecret: appSecret, Endpoint: oauth2.Endpoint{TokenURL: env.Issuer + "/oauth2/token"}}
		next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if kid(t, next.AccessToken) == kid(t, tok.AccessToken) {
			t.Fatal("the refreshed token is signed by the same key after a rotation")
		}
		if got, err := v.Verify(ctx, next.AccessToken); err != nil || got.Subject != staff.ID {
			t.Fatalf("a token signed by the rotated key: %+v, %v", got, err)
		}
		// The first token's key is retired but still published. (Its grant
		// was refreshed, which Sesame's introspection would report; a JWT
		// verified offline stays valid until exp: RFC 9068 §5.)
		if _, err := v.Verify(ctx, tok.AccessToken); err != nil {
			t.Fatalf("a token signed by the retired key: %v", err)
		}
		if _, err := v.Verify(ctx, own.AccessToken); err == nil {
			t.Fatal("still accepted the other audience after the refetch")
		}
	})
}

func kid(t *testing.T, jwt string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.SplitN(jwt, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(h, &head); err != nil || head.Typ != "at+jwt" {
		t.Fatalf("header %s: %v", h, err)
	}
	return head.Kid
}
