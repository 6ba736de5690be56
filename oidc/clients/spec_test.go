package clients

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// base is a minimal valid web app registration.
func base() Spec {
	return Spec{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}
}

func TestNormalizeDefaults(t *testing.T) {
	s := base()
	s.Scopes = []string{" openid ", "email", "openid", ""}
	s.Normalize()
	want := Spec{
		Name:                    "App",
		RedirectURIs:            []string{"https://app.example.com/cb"},
		PostLogoutRedirectURIs:  []string{},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scopes:                  []string{"openid", "email"},
		TokenEndpointAuthMethod: "client_secret_basic",
		IDTokenSignedAlg:        "RS256",
		AllowedLoginMethods:     []string{"passkey", "passlink", "password_security_key"},
		AllowedGroups:           []string{},
		AllowedWebOrigins:       []string{},
		AAGUIDAllow:             []string{},
		AccessTokenFormat:       "opaque",
		SubjectType:             "public",

		TokenExchangeResources:        []string{},
		TokenExchangeSubjectAudiences: []string{},
		Contacts:                      []string{},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got  %+v\nwant %+v", s, want)
	}

	var empty Spec
	empty.Normalize()
	if !reflect.DeepEqual(empty.Scopes, []string{"openid", "profile", "email", "offline_access"}) {
		t.Errorf("default scopes = %v", empty.Scopes)
	}

	cc := Spec{Name: "Batch", GrantTypes: []string{"client_credentials"}}
	cc.Normalize()
	if len(cc.Scopes) != 0 || len(cc.ResponseTypes) != 0 {
		t.Errorf("client_credentials-only client: scopes %v, response types %v; want none", cc.Scopes, cc.ResponseTypes)
	}

	pub := base()
	pub.Public = true
	pub.Normalize()
	if pub.TokenEndpointAuthMethod != "none" {
		t.Errorf("public default auth method = %q, want none", pub.TokenEndpointAuthMethod)
	}

	none := base()
	none.TokenEndpointAuthMethod = "none"
	none.Normalize()
	if !none.Public {
		t.Error(`registering token_endpoint_auth_method "none" must make the client public`)
	}
}

const rsaPublicJWKS = `{"keys":[{"kty":"RSA","use":"sig","kid":"k1","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}]}`

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Spec)
		// field is the ValidationError field expected; "" means valid.
		field string
		msg   string
	}{
		{name: "minimal web app", mod: func(*Spec) {}},
		// RFC 7591 §2 informational metadata.
		{name: "client, policy and tos uris", mod: func(s *Spec) {
			s.ClientURI, s.PolicyURI, s.TOSURI = "https://app.example.com", "https://app.example.com/privacy", "https://app.example.com/tos"
			s.Contacts = []string{"dev@app.example.com"}
		}},
		{name: "client_uri http refused", mod: func(s *Spec) { s.ClientURI = "http://app.example.com" }, field: "client_uri", msg: "https"},
		{name: "policy_uri javascript refused", mod: func(s *Spec) { s.PolicyURI = "javascript:alert(1)" }, field: "policy_uri"},
		{name: "tos_uri relative refused", mod: func(s *Spec) { s.TOSURI = "/tos" }, field: "tos_uri"},
		{name: "contact not an address", mod: func(s *Spec) { s.Contacts = []string{"call me"} }, field: "contacts", msg: "email"},
		{name: "contact with display name refused", mod: func(s *Spec) { s.Contacts = []string{"Dev <dev@app.example.com>"} }, field: "contacts"},
		{name: "too many contacts", mod: func(s *Spec) {
			for i := range 11 {
				s.Contacts = append(s.Contacts, fmt.Sprintf("dev%d@app.example.com", i))
			}
		}, field: "contacts", msg: "at most"},
		{name: "name required", mod: func(s *Spec) { s.Name = "  " }, field: "client_name"},
		{name: "name too long", mod: func(s *Spec) { s.Name = strings.Repeat("x", 201) }, field: "client_name"},
		{name: "name 200 runes ok", mod: func(s *Spec) { s.Name = strings.Repeat("é", 200) }},
		{name: "code flow needs a redirect uri", mod: func(s *Spec) { s.RedirectURIs = nil }, field: "redirect_uris", msg: "at least one"},
		// RFC 8252 §7.3: loopback redirects may use http.
		{name: "http localhost with port", mod: func(s *Spec) { s.RedirectURIs = []string{"http://localhost:3000/callback"} }},
		{name: "http 127.0.0.1", mod: func(s *Spec) { s.RedirectURIs = []string{"http://127.0.0.1:8765/cb"} }},
		{name: "http [::1]", mod: func(s *Spec) { s.RedirectURIs = []string{"http://[::1]:8765/cb"} }},
		{name: "http elsewhere refused", mod: func(s *Spec) { s.RedirectURIs = []string{"http://app.example.com/cb"} }, field: "redirect_uris", msg: "https"},
		{name: "http lookalike host refused", mod: func(s *Spec) { s.RedirectURIs = []string{"http://localhost.evil.com/cb"} }, field: "redirect_uris"},
		// RFC 6749 §3.1.2: absolute, no fragment.
		{name: "fragment refused", mod: func(s *Spec) { s.RedirectURIs = []string{"https://app.example.com/cb#x"} }, field: "redirect_uris", msg: "fragment"},
		{name: "empty fragment refused", mod: func(s *Spec) { s.RedirectURIs = []string{"https://app.example.com/cb#"} }, field: "redirect_uris", msg: "fragment"},
		{name: "relative refused", mod: func(s *Spec) { s.RedirectURIs = []string{"/cb"} }, field: "redirect_uris", msg: "absolute"},
		{name: "wildcard refused", mod: func(s *Spec) { s.RedirectURIs = []string{"https://*.example.com/cb"} }, field: "redirect_uris", msg: "wildcard"},
		{name: "https without host refused", mod: func(s *Spec) { s.RedirectURIs = []string{"https:///cb"} }, field: "redirect_uris"},
		{name: "userinfo refused", mod: func(s *Spec) { s.RedirectURIs = []string{"https://user@app.example.com/cb"} }, field: "redirect_uris"},
		{name: "space refused", mod: func(s *Spec) { s.RedirectURIs = []string{"https://app.example.com/c b"} }, field: "redirect_uris"},
		// RFC 8252 §7.1: private-use schemes in reverse-domain form.
		{name: "private-use scheme", mod: func(s *Spec) { s.RedirectURIs = []string{"com.example.app:/oauth2redirect"} }},
		{name: "private-use scheme without dot refused", mod: func(s *Spec) { s.RedirectURIs = []string{"myapp:/cb"} }, field: "redirect_uris", msg: "private-use"},
		{name: "javascript refused", mod: func(s *Spec) { s.RedirectURIs = []string{"javascript:alert(1)"} }, field: "redirect_uris"},
		{name: "data refused", mod: func(s *Spec) { s.RedirectURIs = []string{"data:text/html,hi"} }, field: "redirect_uris"},
		{name: "private-use opaque refused", mod: func(s *Spec) { s.RedirectURIs = []string{"com.example.app:cb"} }, field: "redirect_uris"},
		{name: "post-logout uri same rules", mod: func(s *Spec) { s.PostLogoutRedirectURIs = []string{"http://app.example.com/bye"} }, field: "post_logout_redirect_uris"},
		{name: "post-logout uri ok", mod: func(s *Spec) { s.PostLogoutRedirectURIs = []string{"https://app.example.com/bye"} }},
		{name: "unknown grant", mod: func(s *Spec) { s.GrantTypes = []string{"password"} }, field: "grant_types", msg: "password"},
		{name: "implicit response type refused", mod: func(s *Spec) { s.ResponseTypes = []string{"id_token"} }, field: "response_types"},
		{name: "response type without code grant refused", mod: func(s *Spec) {
			s.GrantTypes = []string{"client_credentials"}
			s.ResponseTypes = []string{"code"}
		}, field: "response_types"},
		{name: "refresh without code refused", mod: func(s *Spec) { s.GrantTypes = []string{"refresh_token"} }, field: "grant_types"},
		// RFC 8628: a device needs no redirect URI, may be public and may
		// hold refresh tokens and allowed groups.
		{name: "public device client with refresh, no redirect", mod: func(s *Spec) {
			s.Public = true
			s.TokenEndpointAuthMethod = "none"
			s.GrantTypes = []string{GrantDeviceCode, "refresh_token"}
			s.ResponseTypes = nil
			s.RedirectURIs = nil
			s.AllowedGroups = []string{"staff"}
		}},
		{name: "response type with device grant only refused", mod: func(s *Spec) {
			s.GrantTypes = []string{GrantDeviceCode}
			s.ResponseTypes = []string{"code"}
		}, field: "response_types"},
		{name: "client credentials only, no redirect", mod: func(s *Spec) {
			s.GrantTypes = []string{"client_credentials"}
			s.RedirectURIs = nil
		}},
		{name: "unknown scope", mod: func(s *Spec) { s.Scopes = []string{"openid", "Admin!"} }, field: "scopes", msg: "Admin!"},
		{name: "sesame namespace", mod: func(s *Spec) { s.Scopes = []string{"openid", "sesame:other"} }, field: "scopes", msg: "sesame:other"},
		{name: "bad group name", mod: func(s *Spec) { s.AllowedGroups = []string{"no spaces"} }, field: "allowed_groups", msg: "no spaces"},
		{name: "public client", mod: func(s *Spec) { s.Public = true }},
		{name: "public client with secret method refused", mod: func(s *Spec) {
			s.Public = true
			s.TokenEndpointAuthMethod = "client_secret_basic"
		}, field: "token_endpoint_auth_method", msg: "none"},
		// RFC 6749 §4.4: client_credentials needs client authentication.
		{name: "public client_credentials refused", mod: func(s *Spec) {
			s.Public = true
			s.GrantTypes = []string{"authorization_code", "client_credentials"}
		}, field: "grant_types", msg: "confidential"},
		// RFC 8693: token exchange, confidential clients with targets only.
		{name: "token exchange", mod: func(s *Spec) {
			s.GrantTypes = []string{GrantTokenExchange}
			s.ResponseTypes = nil
			s.TokenExchangeResources = []string{"https://api.example.com"}
			s.TokenExchangeSubjectAudiences = []string{"urn:example:gateway"}
		}},
		{name: "token exchange without a target", mod: func(s *Spec) {
			s.GrantTypes = []string{GrantTokenExchange}
			s.ResponseTypes = nil
		}, field: "token_exchange_resources", msg: "at least one"},
		{name: "public token exchange refused", mod: func(s *Spec) {
			s.Public, s.TokenEndpointAuthMethod = true, AuthNone
			s.GrantTypes = []string{"authorization_code", GrantTokenExchange}
			s.TokenExchangeResources = []string{"https://api.example.com"}
		}, field: "grant_types", msg: "confidential"},
		{name: "token exchange targets without the grant", mod: func(s *Spec) { s.TokenExchangeResources = []string{"https://api.example.com"} },
			field: "token_exchange_resources", msg: "only used"},
		{name: "token exchange audiences without the grant", mod: func(s *Spec) { s.TokenExchangeSubjectAudiences = []string{"https://api.example.com"} },
			field: "token_exchange_subject_audiences", msg: "only used"},
		{name: "token exchange target with a fragment", mod: func(s *Spec) {
			s.GrantTypes = []string{GrantTokenExchange}
			s.ResponseTypes = nil
			s.TokenExchangeResources = []string{"https://api.example.com#x"}
		}, field: "token_exchange_resources", msg: "fragment"},
		{name: "client_secret_post", mod: func(s *Spec) { s.TokenEndpointAuthMethod = "client_secret_post" }},
		{name: "unknown auth method", mod: func(s *Spec) { s.TokenEndpointAuthMethod = "tls_client_auth" }, field: "token_endpoint_auth_method"},
		{name: "private_key_jwt with jwks", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = rsaPublicJWKS
		}},
		{name: "private_key_jwt with jwks_uri", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKSURI = "https://app.example.com/jwks.json"
		}},
		{name: "private_key_jwt without keys", mod: func(s *Spec) { s.TokenEndpointAuthMethod = "private_key_jwt" }, field: "jwks"},
		{name: "private_key_jwt with both", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = rsaPublicJWKS
			s.JWKSURI = "https://app.example.com/jwks.json"
		}, field: "jwks", msg: "not both"},
		{name: "jwks_uri must be https", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKSURI = "http://app.example.com/jwks.json"
		}, field: "jwks_uri"},
		{name: "jwks with private key refused", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = `{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}]}`
		}, field: "jwks", msg: "private"},
		{name: "jwks with symmetric key refused", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`
		}, field: "jwks", msg: "symmetric"},
		{name: "jwks not json", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = `not json`
		}, field: "jwks"},
		{name: "jwks empty set", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = `{"keys":[]}`
		}, field: "jwks"},
		{name: "jwks key missing members", mod: func(s *Spec) {
			s.TokenEndpointAuthMethod = "private_key_jwt"
			s.JWKS = `{"keys":[{"kty":"RSA","e":"AQAB"}]}`
		}, field: "jwks", msg: `"n"`},
		{name: "jwks without private_key_jwt refused", mod: func(s *Spec) { s.JWKS = rsaPublicJWKS }, field: "jwks"},
		{name: "ES256", mod: func(s *Spec) { s.IDTokenSignedAlg = "ES256" }},
		{name: "EdDSA", mod: func(s *Spec) { s.IDTokenSignedAlg = "EdDSA" }},
		{name: "alg none refused", mod: func(s *Spec) { s.IDTokenSignedAlg = "none" }, field: "id_token_signed_response_alg"},
		{name: "HS256 refused", mod: func(s *Spec) { s.IDTokenSignedAlg = "HS256" }, field: "id_token_signed_response_alg"},
		{name: "backchannel logout uri", mod: func(s *Spec) {
			s.BackchannelLogoutURI = "https://app.example.com/logout?x=1"
			s.BackchannelLogoutSessionRequired = true
		}},
		{name: "backchannel logout on loopback http", mod: func(s *Spec) { s.BackchannelLogoutURI = "http://127.0.0.1:9000/bcl" }},
		{name: "backchannel logout http elsewhere refused", mod: func(s *Spec) { s.BackchannelLogoutURI = "http://app.example.com/bcl" }, field: "backchannel_logout_uri", msg: "https"},
		{name: "backchannel logout fragment refused", mod: func(s *Spec) { s.BackchannelLogoutURI = "https://app.example.com/bcl#x" }, field: "backchannel_logout_uri", msg: "fragment"},
		{name: "backchannel logout relative refused", mod: func(s *Spec) { s.BackchannelLogoutURI = "/bcl" }, field: "backchannel_logout_uri", msg: "absolute"},
		{name: "backchannel logout javascript refused", mod: func(s *Spec) { s.BackchannelLogoutURI = "javascript:alert(1)" }, field: "backchannel_logout_uri"},
		{name: "backchannel logout userinfo refused", mod: func(s *Spec) { s.BackchannelLogoutURI = "https://u:p@app.example.com/bcl" }, field: "backchannel_logout_uri", msg: "user info"},
		{name: "backchannel logout without sign-in refused", mod: func(s *Spec) {
			s.GrantTypes, s.ResponseTypes, s.RedirectURIs = []string{"client_credentials"}, nil, nil
			s.BackchannelLogoutURI = "https://app.example.com/bcl"
		}, field: "backchannel_logout_uri", msg: "authorization_code"},
		{name: "frontchannel logout uri on a redirect origin", mod: func(s *Spec) {
			s.FrontchannelLogoutURI = "https://app.example.com/fc-logout?x=1"
			s.FrontchannelLogoutSessionRequired = true
		}},
		{name: "frontchannel logout on another origin refused", mod: func(s *Spec) { s.FrontchannelLogoutURI = "https://evil.example.com/fc" }, field: "frontchannel_logout_uri", msg: "redirect URIs"},
		{name: "frontchannel logout on another port refused", mod: func(s *Spec) { s.FrontchannelLogoutURI = "https://app.example.com:8443/fc" }, field: "frontchannel_logout_uri", msg: "redirect URIs"},
		{name: "frontchannel logout javascript refused", mod: func(s *Spec) { s.FrontchannelLogoutURI = "javascript:alert(1)" }, field: "frontchannel_logout_uri"},
		{name: "frontchannel logout fragment refused", mod: func(s *Spec) { s.FrontchannelLogoutURI = "https://app.example.com/fc#x" }, field: "frontchannel_logout_uri", msg: "fragment"},
		{name: "frontchannel session required without uri refused", mod: func(s *Spec) { s.FrontchannelLogoutSessionRequired = true }, field: "frontchannel_logout_session_required"},
		{name: "pairwise on one host", mod: func(s *Spec) {
			s.SubjectType = "pairwise"
			s.RedirectURIs = []string{"https://app.example.com/cb", "https://APP.example.com/cb2"}
		}},
		{name: "pairwise with a sector identifier", mod: func(s *Spec) {
			s.SubjectType = "pairwise"
			s.RedirectURIs = []string{"https://a.example.com/cb", "https://b.example.org/cb"}
			s.SectorIdentifierURI = "https://example.com/sector.json"
		}},
		{name: "pairwise on several hosts needs a sector", mod: func(s *Spec) {
			s.SubjectType = "pairwise"
			s.RedirectURIs = []string{"https://a.example.com/cb", "https://b.example.org/cb"}
		}, field: "sector_identifier_uri", msg: "same host"},
		{name: "pairwise native app needs a sector", mod: func(s *Spec) {
			s.SubjectType = "pairwise"
			s.RedirectURIs = []string{"com.example.app:/cb"}
		}, field: "sector_identifier_uri"},
		{name: "sector identifier must be https", mod: func(s *Spec) {
			s.SubjectType = "pairwise"
			s.SectorIdentifierURI = "http://example.com/sector.json"
		}, field: "sector_identifier_uri", msg: "https"},
		{name: "sector identifier without pairwise refused", mod: func(s *Spec) { s.SectorIdentifierURI = "https://example.com/s.json" }, field: "sector_identifier_uri", msg: "pairwise"},
		{name: "unknown subject type", mod: func(s *Spec) { s.SubjectType = "random" }, field: "subject_type"},
		{name: "pairwise without sign-in refused", mod: func(s *Spec) {
			s.GrantTypes, s.ResponseTypes, s.RedirectURIs = []string{"client_credentials"}, nil, nil
			s.SubjectType = "pairwise"
		}, field: "subject_type", msg: "authorization_code"},
		{name: "session required without uri refused", mod: func(s *Spec) { s.BackchannelLogoutSessionRequired = true }, field: "backchannel_logout_session_required"},
		{name: "one login method", mod: func(s *Spec) { s.AllowedLoginMethods = []string{"passkey"} }},
		{name: "unknown login method", mod: func(s *Spec) { s.AllowedLoginMethods = []string{"password"} }, field: "allowed_login_methods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.mod(&s)
			s.Normalize()
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if !hasField(err, tt.field) {
				t.Fatalf("err = %q, want field %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

// hasField reports whether err (possibly joined) has a ValidationError for
// field.
func hasField(err error, field string) bool {
	if ve, ok := err.(*ValidationError); ok {
		return ve.Field == field
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasField(e, field) {
				return true
			}
		}
	}
	return false
}

func TestValidateReportsEveryProblem(t *testing.T) {
	s := Spec{GrantTypes: []string{"password"}, IDTokenSignedAlg: "HS256"}
	s.Normalize()
	err := s.Validate()
	for _, f := range []string{"client_name", "grant_types", "id_token_signed_response_alg"} {
		if !hasField(err, f) {
			t.Errorf("err = %q, missing %s", err, f)
		}
	}
	if !strings.HasPrefix(err.Error(), "client_name: required") {
		t.Errorf("Error() = %q, want field: message lines", err)
	}
}

// TestClientSettingsValidation covers the console's client settings: logo,
// token lifetimes within the global bounds, minimum acr and passkey user
// verification.
func TestClientSettingsValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string // "" when valid
	}{
		{"https logo", func(s *Spec) { s.LogoURI = "https://app.example.com/logo.png" }, ""},
		{"svg data logo", func(s *Spec) { s.LogoURI = "data:image/svg+xml;base64,PHN2Zy8+" }, ""},
		{"http logo", func(s *Spec) { s.LogoURI = "http://app.example.com/logo.png" }, "logo_uri"},
		{"javascript logo", func(s *Spec) { s.LogoURI = "javascript:alert(1)" }, "logo_uri"},
		{"png data logo", func(s *Spec) { s.LogoURI = "data:image/png;base64,AAAA" }, "logo_uri"},
		{"html data logo", func(s *Spec) { s.LogoURI = "data:text/html,<script>1</script>" }, "logo_uri"},
		{"huge data logo", func(s *Spec) { s.LogoURI = "data:image/svg+xml," + strings.Repeat("a", maxLogoLen) }, "logo_uri"},
		{"ttls in bounds", func(s *Spec) { s.AccessTokenTTL, s.RefreshTokenTTL, s.IDTokenTTL = 60, 8760*3600, 86400 }, ""},
		{"access ttl too short", func(s *Spec) { s.AccessTokenTTL = 59 }, "access_token_ttl"},
		{"access ttl too long", func(s *Spec) { s.AccessTokenTTL = 86401 }, "access_token_ttl"},
		{"negative refresh ttl", func(s *Spec) { s.RefreshTokenTTL = -1 }, "refresh_token_ttl"},
		{"refresh ttl too short", func(s *Spec) { s.RefreshTokenTTL = 600 }, "refresh_token_ttl"},
		{"id ttl too long", func(s *Spec) { s.IDTokenTTL = 86401 }, "id_token_ttl"},
		{"min acr phr", func(s *Spec) { s.MinACR = "urn:sesame:acr:phr" }, ""},
		{"unknown min acr", func(s *Spec) { s.MinACR = "urn:other" }, "min_acr"},
		{"phr without a phr method", func(s *Spec) {
			s.MinACR, s.AllowedLoginMethods = "urn:sesame:acr:phr", []string{"passlink"}
		}, "min_acr"},
		{"device-bound with passkeys", func(s *Spec) {
			s.MinACR, s.AllowedLoginMethods = "urn:sesame:acr:passkey:device-bound", []string{"passkey", "passlink"}
		}, ""},
		{"a passkey level without passkeys", func(s *Spec) {
			s.MinACR, s.AllowedLoginMethods = "urn:sesame:acr:passkey:uv", []string{"password_security_key"}
		}, "min_acr"},
		{"uv required", func(s *Spec) { s.UserVerification = "required" }, ""},
		{"uv bogus", func(s *Spec) { s.UserVerification = "always" }, "user_verification"},
		{"access token format bogus", func(s *Spec) { s.AccessTokenFormat = "paseto" }, "access_token_format"},
		{"access token format case", func(s *Spec) { s.AccessTokenFormat = "JWT" }, "access_token_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(&s)
			s.Normalize()
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("want a %s error, got %v", tc.field, err)
			}
		})
	}
}
