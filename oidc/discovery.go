package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
)

// supportedClaims are the claims of the built-in scopes and the ID token.
var supportedClaims = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "name", "preferred_username", "given_name", "family_name", "locale", "picture", "email", "email_verified", "groups"}

// buildDiscovery serializes the discovery document: it lists only what
// the provider really does (OIDC Discovery 1.0 §3, RFC 8414), the custom
// scopes defs and their claims included (rebuilt when they change,
// scopes.go), the acr levels that can be reached now (acrs,
// discovery_acr.go), and what the live policy switches on (f).
func (p *Provider) buildDiscovery(defs []models.CustomScope, acrs []string, f discoveryFeatures) ([]byte, error) {
	iss := p.cfg.Issuer
	authMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	// fosite verifies RSA and ECDSA client assertions, not EdDSA ones, and
	// its introspection endpoint authenticates callers with HTTP Basic (or
	// a bearer access token) only.
	assertionAlgs := []string{"RS256", "ES256"}
	introspectionAuth := []string{"client_secret_basic"}
	doc := map[string]any{
		"issuer":                                           iss,
		"authorization_endpoint":                           iss + PathAuthorize,
		"token_endpoint":                                   iss + PathToken,
		"userinfo_endpoint":                                iss + PathUserinfo,
		"jwks_uri":                                         iss + PathJWKS,
		"end_session_endpoint":                             iss + PathLogout,
		"introspection_endpoint":                           iss + PathIntrospect,
		"revocation_endpoint":                              iss + PathRevoke,
		"scopes_supported":                                 discoveryScopes(defs),
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query", "form_post"},
		"grant_types_supported":                            grantsWith(f.device, f.exchange),
		"subject_types_supported":                          subjectTypes(f.pairwise),
		"id_token_signing_alg_values_supported":            p.keys.Algs(),
		"token_endpoint_auth_methods_supported":            authMethods,
		"token_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"introspection_endpoint_auth_methods_supported":    introspectionAuth,
		"revocation_endpoint_auth_methods_supported":       authMethods,
		"code_challenge_methods_supported":                 []string{"S256"},
		"claims_supported":                                 discoveryClaims(defs),
		"prompt_values_supported":                          []string{"none", "login", "consent"},
		"acr_values_supported":                             acrs,
		"claims_parameter_supported":                       false,
		// Exactly the languages with a catalogue (internal/i18n): the
		// hosted pages honour ui_locales among them.
		"ui_locales_supported":                           p.pages.Catalog().Languages(),
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": true,
		"frontchannel_logout_supported":                  f.frontchannel,
		"frontchannel_logout_session_supported":          f.frontchannel,
		"backchannel_logout_supported":                   f.backchannel,
		"backchannel_logout_session_supported":           f.backchannel,
		"userinfo_signing_alg_values_supported":          []string{},
	}
	delete(doc, "userinfo_signing_alg_values_supported")
	if f.dpop {
		doc["dpop_signing_alg_values_supported"] = DPoPAlgs
	}
	if f.par {
		doc["pushed_authorization_request_endpoint"] = iss + PathPAR
		doc["require_pushed_authorization_requests"] = f.requirePAR
	}
	if f.device {
		doc["device_authorization_endpoint"] = iss + PathDeviceAuthorize
	}
	if f.registration {
		doc["registration_endpoint"] = iss + PathRegister
	}
	return json.Marshal(doc)
}

// discoveryFeatures are the live policy's switches the discovery document
// follows: each names what it adds only while it is on.
type discoveryFeatures struct {
	// registration names the registration endpoint (registration.go).
	registration bool
	// exchange lists the token exchange grant (exchange.go).
	exchange bool
	// backchannel and frontchannel say the logout channels are served
	// (backchannel.go, frontchannel.go); pairwise lists the pairwise
	// subject type (pairwise.go).
	backchannel, frontchannel, pairwise bool
	// device names the device authorization endpoint and grant
	// (device.go), dpop the proof algorithms (dpop.go); par names the PAR
	// endpoint and requirePAR says every client must push (par.go).
	device, dpop, par, requirePAR bool
}

// subjectTypes are the subject types clients may be registered with.
func subjectTypes(pairwise bool) []string {
	if pairwise {
		return []string{"public", "pairwise"}
	}
	return []string{"public"}
}

// features reads the switches from the live policy (cached): discovery
// then says exactly what the token and registration endpoints do now, on
// every replica (the change feed drops the policy's cached copy).
func (p *Provider) features(ctx context.Context) discoveryFeatures {
	pr := p.protocol(ctx)
	f := discoveryFeatures{exchange: p.exchangeOn(ctx), backchannel: pr.BackchannelLogout,
		frontchannel: pr.FrontchannelLogout, pairwise: pr.PairwiseSubjects,
		device: pr.DeviceGrant, dpop: pr.DPoP, par: pr.PAR, requirePAR: pr.RequirePAR}
	if p.registrar != nil {
		_, err := p.registrar.Mode(ctx)
		f.registration = err == nil
	}
	return f
}

func (p *Provider) handleDiscovery(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	p.corsAnyClient(c)
	ctx := c.Request.Context()
	_, doc, err := p.customScopes(ctx)
	if err != nil {
		// The last copy (or the built-in scopes alone) serves meanwhile.
		p.log.WarnContext(ctx, "discovery: load custom scopes", "err", err)
	}
	if f := p.features(ctx); f != (discoveryFeatures{}) {
		doc = p.discoveryWith(doc, f)
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// discoveryWith is the document doc (one customScopes returned) with the
// switches f on: built from the same scopes and levels, once per variant.
func (p *Provider) discoveryWith(doc []byte, f discoveryFeatures) []byte {
	c := &p.scopes
	c.mu.Lock()
	defer c.mu.Unlock()
	variants, defs, acrs := &c.variants, c.defs, c.acrs
	if c.doc == nil || !bytes.Equal(c.doc, doc) {
		// doc is the fallback (no custom scopes could be read).
		variants, defs, acrs = &c.fallbacks, nil, models.ACRLevels
	}
	if d, ok := (*variants)[f]; ok {
		return d
	}
	d, err := p.buildDiscovery(defs, acrs, f)
	if err != nil {
		p.log.Warn("discovery: build a variant", "err", err)
		return doc
	}
	if *variants == nil {
		*variants = map[discoveryFeatures][]byte{}
	}
	(*variants)[f] = d
	return d
}
