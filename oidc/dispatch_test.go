package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/url"
	"testing"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"
)

// TestTokenHandlersSkipWithoutAStack: every token endpoint handler fosite
// composes, wrapped in askFirst, answers a grant it does not handle with
// ErrUnknownRequest (so fosite skips it as before) and allocates nothing
// doing so, where the bare handlers capture a stack trace each time (a
// client_credentials request, RFC 6749 §4.4, passes the code, refresh and
// OpenID Connect handlers on its way; a grant none handles passes all).
func TestTokenHandlersSkipWithoutAStack(t *testing.T) {
	cfg := &fosite.Config{GlobalSecret: []byte("some-secret-that-is-32-bytes-long!!")}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2HMACStrategy(cfg),
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(func(context.Context) (any, error) { return key, nil }, cfg),
	}
	// The token endpoint handlers of provider.go's composition.
	compose.Compose(cfg, storage.NewMemoryStore(), strategy,
		compose.OAuth2AuthorizeExplicitFactory, compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory, compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory, compose.OAuth2PKCEFactory)
	bare := append([]fosite.TokenEndpointHandler(nil), cfg.TokenEndpointHandlers...)
	askHandlersFirst(cfg)
	askHandlersFirst(cfg) // idempotent: wrapped once
	if len(cfg.TokenEndpointHandlers) != len(bare) || len(bare) < 3 {
		t.Fatalf("%d handlers after wrapping, %d before", len(cfg.TokenEndpointHandlers), len(bare))
	}
	req := fosite.NewAccessRequest(&fosite.DefaultSession{})
	req.GrantTypes = fosite.Arguments{"urn:example:not-a-grant"}
	req.Form = url.Values{"grant_type": {"urn:example:not-a-grant"}}
	req.Client = &fosite.DefaultClient{ID: "c", GrantTypes: fosite.Arguments{"authorization_code"}}
	resp := fosite.NewAccessResponse()
	ctx := context.Background()
	for i, h := range cfg.TokenEndpointHandlers {
		if _, ok := h.(askFirst).TokenEndpointHandler.(askFirst); ok {
			t.Fatalf("handler %d wrapped twice", i)
		}
		if err := h.PopulateTokenEndpointResponse(ctx, req, resp); !errors.Is(err, fosite.ErrUnknownRequest) {
			t.Errorf("handler %T: %v, want ErrUnknownRequest", bare[i], err)
		}
		if n := testing.AllocsPerRun(20, func() { _ = h.PopulateTokenEndpointResponse(ctx, req, resp) }); n != 0 {
			t.Errorf("handler %T allocates %.0f times skipping a request", bare[i], n)
		}
	}
	// What the wrapper saves: the bare handlers allocate (the stack).
	var bareAllocs float64
	for _, h := range bare {
		bareAllocs += testing.AllocsPerRun(20, func() { _ = h.PopulateTokenEndpointResponse(ctx, req, resp) })
	}
	if bareAllocs == 0 {
		t.Errorf("the bare handlers skip without allocating: the wrapper is no longer needed")
	}
	if resp.GetAccessToken() != "" {
		t.Errorf("a skipped handler issued a token")
	}
}
