package console

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// discoveryPath is where the provider publishes its metadata (OIDC
// Discovery §4); console does not import oidc for one constant.
const discoveryPath = "/.well-known/openid-configuration"

// clientSetup is what the client-secret page tells a developer to do next:
// the issuer and discovery URL, the registration a library must match,
// and a snippet for a stock library — oauth4webapi in the browser for a
// public client, go-oidc with x/oauth2 on a server otherwise.
func clientSetup(issuer string, v *ClientView) templates.ClientSetup {
	origins := clients.WebOrigins(&models.Client{Public: v.Public, RedirectURIs: v.RedirectURIs, AllowedWebOrigins: v.AllowedWebOrigins})
	s := templates.ClientSetup{
		Issuer: issuer, Discovery: issuer + discoveryPath, Public: v.Public,
		RedirectURIs: v.RedirectURIs, WebOrigins: origins, OriginsDefault: len(v.AllowedWebOrigins) == 0,
	}
	redirect := "https://app.example/callback"
	if len(v.RedirectURIs) > 0 {
		redirect = v.RedirectURIs[0]
	}
	var scopes []string
	for _, sc := range v.Scopes {
		if slices.Contains([]string{clients.ScopeOpenID, clients.ScopeProfile, clients.ScopeEmail, clients.ScopeOfflineAccess}, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		scopes = []string{clients.ScopeOpenID}
	}
	if v.Public {
		s.Library, s.LibraryURL = "oauth4webapi", "https://github.com/panva/oauth4webapi"
		s.Snippet = fmt.Sprintf(publicSnippet, issuer, v.ID, redirect, strings.Join(scopes, " "))
		return s
	}
	s.Library, s.LibraryURL = "go-oidc and golang.org/x/oauth2", "https://github.com/coreos/go-oidc"
	secret := `os.Getenv("SESAME_CLIENT_SECRET"), // the secret shown above`
	if !clients.UsesSecret(v.TokenEndpointAuthMethod) {
		secret = `"", // private_key_jwt: sign a client assertion instead`
	}
	quoted := make([]string, len(scopes))
	for i, sc := range scopes {
		quoted[i] = fmt.Sprintf("%q", sc)
	}
	s.Snippet = fmt.Sprintf(confidentialSnippet, issuer, v.ID, secret, redirect, strings.Join(quoted, ", "), v.ID)
	return s
}

// publicSnippet: a browser app signs in with the authorization code flow
// and PKCE, and exchanges the code from the page (CORS).
const publicSnippet = `import * as oauth from "oauth4webapi";

const issuer = new URL(%q);
const client = { client_id: %q };
const redirect_uri = %q;
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer));

// 1. Sign in: send the browser to Sesame with a PKCE challenge.
const code_verifier = oauth.generateRandomCodeVerifier();
sessionStorage.setItem("code_verifier", code_verifier);
const url = new URL(as.authorization_endpoint);
url.search = new URLSearchParams({
  client_id: client.client_id, redirect_uri, response_type: "code", scope: %q,
  code_challenge: await oauth.calculatePKCECodeChallenge(code_verifier), code_challenge_method: "S256",
});
location.assign(url);

// 2. Back at redirect_uri: exchange the code for tokens.
const params = oauth.validateAuthResponse(as, client, new URL(location.href));
const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirect_uri,
  sessionStorage.getItem("code_verifier"));
const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
console.log(oauth.getValidatedIdTokenClaims(tokens));
`

// confidentialSnippet: a server app with go-oidc and x/oauth2.
const confidentialSnippet = `provider, err := oidc.NewProvider(ctx, %q)
if err != nil {
	return err
}
config := oauth2.Config{
	ClientID:     %q,
	ClientSecret: %s
	Endpoint:     provider.Endpoint(),
	RedirectURL:  %q,
	Scopes:       []string{%s},
}
verifier := provider.Verifier(&oidc.Config{ClientID: %q})

// Sign in: redirect to config.AuthCodeURL(state, oauth2.S256ChallengeOption(pkceVerifier)).
// At RedirectURL: tok, err := config.Exchange(ctx, code, oauth2.VerifierOption(pkceVerifier))
// then idToken, err := verifier.Verify(ctx, tok.Extra("id_token").(string)).
`
