// Package admin is a typed client for Sesame's admin API (/api/admin/v1),
// generated with oapi-codegen from the API's OpenAPI document
// (openapi.json here is a copy of console/openapi.json, which Sesame
// serves at /api/admin/v1/openapi.json; a test keeps them identical).
//
// Deployments use it to provision clients, groups, scopes and users from
// code. Authenticate as a client registered for the admin API:
//
//	sesame client create --name "Automation" --grant-type client_credentials --scope sesame:admin
//
// and build the client with [New], which fetches (and renews) access
// tokens with the client_credentials grant. Every operation has a
// …WithResponse method returning the decoded answer per status: JSON200,
// JSON201, … for success and ApplicationproblemJSON4xx for RFC 9457
// problems.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ScopeAdmin is the scope a token needs for the admin API.
const ScopeAdmin = "sesame:admin"

// Config says where Sesame is and how to authenticate.
type Config struct {
	// Issuer is Sesame's issuer URL; the API is under Issuer/api/admin/v1
	// and tokens come from Issuer/oauth2/token.
	Issuer string
	// ClientID and ClientSecret of a client_credentials client with the
	// scope sesame:admin.
	ClientID     string
	ClientSecret string
	// HTTPClient is the transport underneath (default: 30 s timeout).
	HTTPClient *http.Client
}

// New returns an admin API client whose requests carry a bearer token
// obtained (and renewed before expiry) with the client_credentials grant.
func New(ctx context.Context, cfg Config) (*ClientWithResponses, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("admin: Issuer, ClientID and ClientSecret are required")
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Second}
	}
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	cc := clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL: issuer + "/oauth2/token", Scopes: []string{ScopeAdmin}}
	// The token source lives as long as the client: not bound to ctx.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, base)
	hc := oauth2.NewClient(tctx, cc.TokenSource(tctx))
	hc.Timeout = base.Timeout
	c, err := NewClientWithResponses(issuer+"/api/admin/v1", WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return c, nil
}
