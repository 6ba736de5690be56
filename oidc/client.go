package oidc

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Client adapts a stored client to fosite's client interfaces.
type Client struct {
	m    *models.Client
	jwks *jose.JSONWebKeySet
	// global holds the admin's global token lifetimes, resolved when the
	// client was handed out for one request (Provider.GetClient); zero
	// fields fall through to fosite's configured default.
	global policy.Lifespans
	// origins are the browser origins whose pages may read this client's
	// answers (clients.WebOrigins), worked out once per cached copy.
	origins []string
}

var (
	_ fosite.Client              = (*Client)(nil)
	_ fosite.OpenIDConnectClient = (*Client)(nil)
	_ fosite.ResponseModeClient  = (*Client)(nil)
	// Per-client token lifetimes (fosite asks on every issued token).
	_ fosite.ClientWithCustomTokenLifespans = (*Client)(nil)
)

func newClient(m *models.Client) *Client {
	c := &Client{m: m, origins: clients.WebOrigins(m)}
	if m.JWKS != "" {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(m.JWKS), &set); err == nil {
			c.jwks = &set
		}
	}
	return c
}

// Model returns the stored client.
func (c *Client) Model() *models.Client { return c.m }

func (c *Client) GetID() string             { return c.m.ID }
func (c *Client) GetHashedSecret() []byte   { return []byte(c.m.SecretHash) }
func (c *Client) GetRedirectURIs() []string { return c.m.RedirectURIs }
func (c *Client) GetGrantTypes() fosite.Arguments {
	return fosite.Arguments(c.m.GrantTypes)
}
func (c *Client) GetResponseTypes() fosite.Arguments {
	return fosite.Arguments(c.m.ResponseTypes)
}
func (c *Client) GetScopes() fosite.Arguments { return fosite.Arguments(c.m.Scopes) }
func (c *Client) IsPublic() bool              { return c.m.Public }

// GetAudience: Sesame issues tokens for its own userinfo endpoint only, so
// no client may request other audiences.
func (c *Client) GetAudience() fosite.Arguments { return nil }

// GetRequestURIs: request_uri is not supported.
func (c *Client) GetRequestURIs() []string                 { return nil }
func (c *Client) GetJSONWebKeys() *jose.JSONWebKeySet      { return c.jwks }
func (c *Client) GetJSONWebKeysURI() string                { return c.m.JWKSURI }
func (c *Client) GetRequestObjectSigningAlgorithm() string { return "" }
func (c *Client) GetTokenEndpointAuthMethod() string       { return c.m.TokenEndpointAuthMethod }

// GetTokenEndpointAuthSigningAlgorithm is the alg a private_key_jwt
// assertion must use: the alg of the client's first key, RS256 otherwise.
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string {
	if c.jwks != nil {
		for _, k := range c.jwks.Keys {
			if k.Algorithm != "" {
				return k.Algorithm
			}
		}
	}
	return "RS256"
}

// GetResponseModes: query (the default for code) and form_post.
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery, fosite.ResponseModeFormPost}
}

// idTokenAlg is the client's ID token signing alg (RS256 by default, the
// OIDC default for a client that registered none).
func (c *Client) idTokenAlg() string {
	if c.m.IDTokenSignedAlg == "" {
		return "RS256"
	}
	return c.m.IDTokenSignedAlg
}

// hashHint is what fosite reads from the ID token header's "alg" to pick
// the at_hash/c_hash function (it takes the digits after the first two
// characters). EdDSA with Ed25519 hashes with SHA-512 (as go-oidc
// verifies), which fosite cannot infer from "EdDSA"; the hint "Ed512" makes
// it. The signer sets the real alg header and never copies this one.
func hashHint(alg string) string {
	if alg == "EdDSA" {
		return "Ed512"
	}
	return alg
}

// GetEffectiveLifespan returns, for a token type, the client's own
// lifetime when it set one (validated within the global bounds by
// oidc/clients), else the global policy's (policy.Lifespans, read live), else
// fosite's configured fallback. fosite v0.49 asks it for access and
// refresh tokens in the code exchange and on refresh, for access tokens
// in client_credentials, and for ID tokens in the code exchange and on
// refresh. It never asks for authorization codes (their lifetime is the
// configuration's AuthorizeCodeLifespan).
func (c *Client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	var secs int
	var global time.Duration
	switch tt {
	case fosite.AccessToken:
		secs, global = c.m.AccessTokenTTL, c.global.AccessToken
	case fosite.RefreshToken:
		secs, global = c.m.RefreshTokenTTL, c.global.RefreshToken
	case fosite.IDToken:
		secs, global = c.m.IDTokenTTL, c.global.IDToken
	}
	switch {
	case secs > 0:
		return time.Duration(secs) * time.Second
	case global > 0:
		return global
	default:
		return fallback
	}
}

// acrValues is the acr_values the provider acts on: the request's, raised
// to the client's minimum acr when it has one. Known levels below the
// minimum are dropped and the minimum added, so that ACRSatisfies (which
// accepts the lowest known requested level) never accepts less than the
// minimum; unknown values are kept (they are ignored anyway).
func (c *Client) acrValues(requested []string) []string {
	min := models.ACRLevel(c.m.MinACR)
	if min < 0 {
		return requested
	}
	out := make([]string, 0, len(requested)+1)
	for _, v := range requested {
		if l := models.ACRLevel(v); l < 0 || l >= min {
			out = append(out, v)
		}
	}
	if !slices.Contains(out, c.m.MinACR) {
		out = append(out, c.m.MinACR)
	}
	return out
}

// modelMet reports whether login session ls meets the client's enforced
// AAGUID allow list: it began with an attested passkey of one of its
// models (LoginSession.AAGUID). Without a list, or in grace mode, every
// session does; one that does not goes back to the login page, where
// authn asks for a qualifying passkey (or to enrol one).
func (c *Client) modelMet(ls *models.LoginSession) bool {
	if len(c.m.AAGUIDAllow) == 0 || c.m.AAGUIDAllowMode == policy.ModelGrace {
		return true
	}
	return slices.Contains(c.m.AAGUIDAllow, ls.AAGUID)
}
