package oidc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// pushWithProof pushes an authorization request (RFC 9126 §2.1) as the
// public client id, with a DPoP header when proof is set.
func pushWithProof(t *testing.T, env *servertest.Env, id string, extra url.Values, proof string) (pushed, int, map[string]any) {
	t.Helper()
	pr := pushed{state: "st-" + oauth2.GenerateVerifier()[:16], nonce: "n-" + oauth2.GenerateVerifier()[:16], verifier: oauth2.GenerateVerifier()}
	form := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"state": {pr.state}, "nonce": {pr.nonce}, "code_challenge": {oauth2.S256ChallengeFromVerifier(pr.verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/par", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	pr.requestURI, _ = out["request_uri"].(string)
	return pr, resp.StatusCode, out
}

// pushedCode takes a pushed request through a signed-in browser to its
// code.
func pushedCode(t *testing.T, env *servertest.Env, id string, pr pushed, userID string) string {
	t.Helper()
	b := env.Browser()
	resp, _ := get(t, b, authorizeURL(env, id, pr.requestURI, nil))
	in := interactionFrom(t, resp, "/login")
	env.CompleteInteraction(b, in, userID, []string{"pop"}, models.ACRPhishingResistant)
	resp, _ = get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
	q := callback(t, resp)
	if q.Get("code") == "" || q.Get("state") != pr.state {
		t.Fatalf("callback %v", q)
	}
	return q.Get("code")
}

// TestPAR_ResourceAndDPoPBinding_RFC9126_RFC8707_RFC9449_10: a pushed
// request carries resource indicators (the code's token is a JWT for the
// resource) and a DPoP binding of its code — by dpop_jkt or by a DPoP
// proof at the push itself (RFC 9449 §10.1) — so the code is redeemed
// only with a proof of that key. Bad resources, malformed dpop_jkt, a
// dpop_jkt that is not the proof's key, and forged or replayed proofs are
// refused at the push with the RFCs' codes and no request_uri.
func TestPAR_ResourceAndDPoPBinding_RFC9126_RFC8707_RFC9449_10(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		id, _ := env.CreateClient(clients.Spec{Name: "PAR SPA", RedirectURIs: []string{redirectURI}, SkipConsent: true, Public: true,
			TokenEndpointAuthMethod: "none", Scopes: []string{"openid", "orders:read", "calendar:read"}})
		user := env.CreateUser("par-bind-" + strings.ToLower(t.Name()[len(t.Name())-6:]) + "@example.com")
		key, other := newDPoPKey(t), newDPoPKey(t)
		parURL, tokenURL := env.Issuer+"/oauth2/par", env.Issuer+"/oauth2/token"
		exchange := func(code string, pr pushed, proofs ...string) (*http.Response, map[string]any) {
			return postToken(t, env.Issuer, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {id},
				"redirect_uri": {redirectURI}, "code_verifier": {pr.verifier}}, "", "", proofs...)
		}

		t.Run("resource", func(t *testing.T) {
			pr, status, out := pushWithProof(t, env, id, url.Values{"scope": {"openid orders:read"}, "resource": {ordersAPI}}, "")
			if status != http.StatusCreated {
				t.Fatalf("push: %d %v", status, out)
			}
			resp, tok := exchange(pushedCode(t, env, id, pr, user.ID), pr)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange: %d %v", resp.StatusCode, tok)
			}
			at := apiVerify(t, env, tok["access_token"].(string), ordersAPI)
			if auds := at.Audience(); len(auds) != 1 || auds[0] != ordersAPI {
				t.Fatalf("aud = %v", auds)
			}
		})

		for _, name := range []string{"dpop_jkt", "proof at the push", "dpop_jkt and its proof"} {
			t.Run("code bound by "+name, func(t *testing.T) {
				extra, proof := url.Values{}, ""
				if name != "proof at the push" {
					extra.Set("dpop_jkt", key.jkt)
				}
				if name != "dpop_jkt" {
					proof = key.proof(t, "POST", parURL, proofOpts{})
				}
				pr, status, out := pushWithProof(t, env, id, extra, proof)
				if status != http.StatusCreated {
					t.Fatalf("push: %d %v", status, out)
				}
				code := pushedCode(t, env, id, pr, user.ID)
				if resp, out := exchange(code, pr); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
					t.Fatalf("bound code without a proof: %d %v", resp.StatusCode, out)
				}
				if resp, out := exchange(code, pr, other.proof(t, "POST", tokenURL, proofOpts{})); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
					t.Fatalf("bound code with another key: %d %v", resp.StatusCode, out)
				}
				resp, out := exchange(code, pr, key.proof(t, "POST", tokenURL, proofOpts{}))
				if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
					t.Fatalf("bound code with its key: %d %v", resp.StatusCode, out)
				}
			})
		}

		replayed := key.proof(t, "POST", parURL, proofOpts{})
		if _, status, out := pushWithProof(t, env, id, nil, replayed); status != http.StatusCreated {
			t.Fatalf("first use of a proof: %d %v", status, out)
		}
		for _, tc := range []struct {
			name  string
			extra url.Values
			proof string
			code  string
		}{
			{"unregistered resource", url.Values{"resource": {"https://api.example.com/nope"}}, "", "invalid_target"},
			{"relative resource", url.Values{"resource": {"orders"}}, "", "invalid_target"},
			{"scope the resource does not allow", url.Values{"scope": {"openid calendar:read"}, "resource": {ordersAPI}}, "", "invalid_scope"},
			{"malformed dpop_jkt", url.Values{"dpop_jkt": {"short"}}, "", "invalid_request"},
			{"dpop_jkt of another key than the proof's", url.Values{"dpop_jkt": {other.jkt}}, key.proof(t, "POST", parURL, proofOpts{}), "invalid_dpop_proof"},
			{"proof for the token endpoint", nil, key.proof(t, "POST", tokenURL, proofOpts{}), "invalid_dpop_proof"},
			{"proof for GET", nil, key.proof(t, "GET", parURL, proofOpts{}), "invalid_dpop_proof"},
			{"replayed proof", nil, replayed, "invalid_dpop_proof"},
			{"proof signed by another key", nil, key.proof(t, "POST", parURL, proofOpts{signer: other.priv}), "invalid_dpop_proof"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pr, status, out := pushWithProof(t, env, id, tc.extra, tc.proof)
				if status != http.StatusBadRequest || out["error"] != tc.code || pr.requestURI != "" {
					t.Fatalf("got %d %v, want 400 %s", status, out, tc.code)
				}
			})
		}
	})
}
