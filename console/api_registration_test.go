package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// register posts RFC 7591 metadata to the registration endpoint with an
// initial access token, as a developer's tool would.
func register(t *testing.T, env *servertest.Env, token string, metadata map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(metadata)
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/register", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// exerciseRegistrationAPI walks the initial access token routes and the
// policy's registration fields against the OpenAPI document: a minted
// token registers an app in the protected mode (the client is marked
// dynamic), bad input is problem+json naming every field, revoking stops
// the token at once, and each change is audited.
func exerciseRegistrationAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	p := console.APIPrefix
	var pol map[string]any
	_ = json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &pol)
	delete(pol, "restart_required")
	if pol["registration"] != "off" {
		t.Fatalf("registration by default: %v", pol["registration"])
	}
	// Bad registration fields: each named.
	bad := map[string]any{}
	for k, v := range pol {
		bad[k] = v
	}
	bad["registration"], bad["registration_grant_types"], bad["registration_redirect_schemes"] = "sometimes", []string{"password"}, []string{"ftp"}
	bad["registration_max_redirect_uris"], bad["registration_rate_ip"] = 51, -1
	b := api.call(s, "PUT", p+"/policies", bad, 422)
	for _, f := range []string{`"registration"`, `"registration_grant_types"`, `"registration_redirect_schemes"`, `"registration_max_redirect_uris"`, `"registration_rate_ip"`} {
		if !strings.Contains(string(b), `"field":`+f) {
			t.Errorf("policy 422 does not name %s: %s", f, b)
		}
	}
	pol["registration"] = "protected"
	pol["registration_redirect_schemes"] = []string{"https"}
	api.call(s, "PUT", p+"/policies", pol, 200)

	// Mint: every problem at once; unknown members and wrong types are 400.
	b = api.call(s, "POST", p+"/registration/initial-tokens", map[string]any{"label": " ", "expires_in": 5, "max_uses": 0}, 422)
	for _, f := range []string{`"label"`, `"expires_in"`, `"max_uses"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("mint 422 does not name %s: %s", f, b)
		}
	}
	api.call(s, "POST", p+"/registration/initial-tokens", map[string]any{"label": "x", "expires_in": 40000000, "max_uses": 10001}, 422)
	api.call(s, "POST", p+"/registration/initial-tokens", map[string]any{"label": "x", "expires_in": "7d", "max_uses": 1}, 400)
	api.call(s, "POST", p+"/registration/initial-tokens", map[string]any{"label": "x", "expires_in": 3600, "max_uses": 1, "typo": 1}, 400)
	var minted console.InitialTokenCreated
	b = api.call(s, "POST", p+"/registration/initial-tokens", map[string]any{"label": "Partner Acme", "expires_in": 3600, "max_uses": 2}, 201)
	if err := json.Unmarshal(b, &minted); err != nil || minted.Token == "" || minted.State != console.TokenActive || minted.UsesLeft != 2 {
		t.Fatalf("mint: %s", b)
	}
	if d := time.Until(minted.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires_at %v, want in an hour", minted.ExpiresAt)
	}
	b = api.call(s, "GET", p+"/registration/initial-tokens/"+minted.ID, nil, 200)
	if strings.Contains(string(b), minted.Token) {
		t.Error("a token's value is shown after it was minted")
	}
	api.call(s, "GET", p+"/registration/initial-tokens/nope", nil, 404)

	// The token registers an app; the client is marked as registered by it.
	code, reg := register(t, env, minted.Token, map[string]any{"client_name": "Self app", "redirect_uris": []string{"https://self.example/cb"},
		"client_uri": "https://self.example", "policy_uri": "https://self.example/privacy", "tos_uri": "https://self.example/terms", "contacts": []string{"dev@self.example"}})
	if code != http.StatusCreated {
		t.Fatalf("registration with a minted token: %d %v", code, reg)
	}
	id, _ := reg["client_id"].(string)
	var cv console.ClientView
	_ = json.Unmarshal(api.call(s, "GET", p+"/clients/"+id, nil, 200), &cv)
	if !cv.Dynamic || cv.InitialAccessTokenID != minted.ID || cv.ClientURI != "https://self.example" || cv.TOSURI != "https://self.example/terms" ||
		len(cv.Contacts) != 1 {
		t.Errorf("registered client as the API shows it: %+v", cv)
	}
	var list struct {
		Items []console.InitialTokenView `json:"items"`
	}
	_ = json.Unmarshal(api.call(s, "GET", p+"/registration/initial-tokens", nil, 200), &list)
	if len(list.Items) == 0 || list.Items[0].ID != minted.ID || list.Items[0].Uses != 1 || list.Items[0].UsesLeft != 1 || list.Items[0].LastUsedAt == nil {
		t.Errorf("list after one registration: %+v", list.Items)
	}

	// Revoked: stops at once; revoking again changes nothing.
	var revoked console.InitialTokenView
	_ = json.Unmarshal(api.call(s, "POST", p+"/registration/initial-tokens/"+minted.ID+"/revoke", nil, 200), &revoked)
	if revoked.State != console.TokenRevoked || revoked.UsesLeft != 0 || revoked.RevokedAt == nil {
		t.Errorf("revoked: %+v", revoked)
	}
	// Revoking again answers the same and changes (and logs) nothing.
	audited := api.audited
	api.audited = false
	api.call(s, "POST", p+"/registration/initial-tokens/"+minted.ID+"/revoke", nil, 200)
	api.audited = audited
	api.call(s, "POST", p+"/registration/initial-tokens/nope/revoke", nil, 404)
	if code, _ := register(t, env, minted.Token, map[string]any{"redirect_uris": []string{"https://self.example/cb2"}}); code != http.StatusUnauthorized {
		t.Errorf("registration with a revoked token: %d, want 401", code)
	}
	entries, err := env.Store.ListAuditEntries(context.Background(), store.AuditFilter{TargetType: "initial_access_token", TargetID: minted.ID}, 10)
	if err != nil || len(entries) != 2 || entries[0].Action != "initial_token.revoke" || entries[1].Action != "initial_token.create" ||
		entries[0].ActorKind != models.ActorClient || strings.Contains(entries[1].AfterJSON, minted.Token) || !strings.Contains(entries[0].BeforeJSON, `"active"`) {
		t.Errorf("audit: %+v %v", entries, err)
	}
	pol["registration"] = "off"
	api.call(s, "PUT", p+"/policies", pol, 200)
}

// TestRevokeInitialTokenNeedsStepUp: a console session revokes an initial
// access token only after a fresh passkey confirmation, like the other
// destructive actions; minting needs none.
func TestRevokeInitialTokenNeedsStepUp(t *testing.T) {
	env := servertest.New(t)
	admin := browser(t, env)
	_, ls := admin.signIn(models.RoleAdmin, models.ACRPhishingResistant)
	resp, b, _ := admin.do("POST", console.APIPrefix+"/registration/initial-tokens", map[string]any{"label": "CI", "expires_in": 600, "max_uses": 1})
	var minted console.InitialTokenCreated
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &minted) != nil {
		t.Fatalf("mint from the console: %d %s", resp.StatusCode, b)
	}
	path := console.APIPrefix + "/registration/initial-tokens/" + minted.ID + "/revoke"
	resp, b, _ = admin.do("POST", path, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "step-up-required") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("revoke without step-up: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if err := env.Store.SetLoginSessionSteppedUp(context.Background(), ls.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, b, _ = admin.do("POST", path, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"revoked"`) {
		t.Errorf("revoke after step-up: %d %s", resp.StatusCode, b)
	}
}
