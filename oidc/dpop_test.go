package oidc_test

// DPoP (RFC 9449) end to end: a client that signs proofs with its own key
// gets tokens bound to it, and every forged proof is refused — at the
// token endpoint (with nothing spent: the code or refresh token still
// works afterwards) and at userinfo — on SQLite and PostgreSQL, with the
// replay check shared by replicas through the store.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// dpopKey is a client's DPoP key pair.
type dpopKey struct {
	priv jwk.Key
	pub  jwk.Key
	jkt  string
}

func newDPoPKey(t testing.TB) *dpopKey {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopKey{priv: priv, pub: pub, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

// proofOpts change a proof from the honest one.
type proofOpts struct {
	htm, htu, typ, nonce string
	iat                  time.Time
	token                string // hashed into ath
	noATH                bool
	jti                  string
	headerKey            jwk.Key // the jwk in the header (default: the public key)
	signer               jwk.Key // the key that signs (default: the private key)
}

// proof signs a DPoP proof for method and url (RFC 9449 §4.2).
func (k *dpopKey) proof(t testing.TB, method, u string, o proofOpts) string {
	t.Helper()
	claims := map[string]any{"jti": o.jti, "htm": method, "htu": u, "iat": time.Now().Unix()}
	if o.jti == "" {
		claims["jti"] = websession.RandomToken(16)
	}
	if o.htm != "" {
		claims["htm"] = o.htm
	}
	if o.htu != "" {
		claims["htu"] = o.htu
	}
	if !o.iat.IsZero() {
		claims["iat"] = o.iat.Unix()
	}
	if o.token != "" && !o.noATH {
		sum := sha256.Sum256([]byte(o.token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if o.nonce != "" {
		claims["nonce"] = o.nonce
	}
	payload, _ := json.Marshal(claims)
	hdr := jws.NewHeaders()
	typ := "dpop+jwt"
	if o.typ != "" {
		typ = o.typ
	}
	_ = hdr.Set(jws.TypeKey, typ)
	hk := k.pub
	if o.headerKey != nil {
		hk = o.headerKey
	}
	_ = hdr.Set(jws.JWKKey, hk)
	signer := k.priv
	if o.signer != nil {
		signer = o.signer
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.ES256, signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// postToken POSTs a token request to base (the issuer or a replica) with
// a DPoP header when proof is set.
func postToken(t testing.TB, base string, form url.Values, basicID, basicSecret string, proofs ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp, out
}

// dpopUserinfo calls userinfo with scheme and an optional proof.
func dpopUserinfo(t testing.TB, base, scheme, token string, proofs ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", scheme+" "+token)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// TestDPoP_PublicClient (RFC 9449 §5, §7): a public client's code
// exchange with a proof gets token_type DPoP, a JWT access token with
// cnf.jkt, introspection's cnf, and a refresh token bound to the key;
// userinfo takes the token only with the DPoP scheme and a fresh proof of
// that key; every forged proof is refused with nothing spent.
func TestDPoP_PublicClient(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none", AccessTokenFormat: "jwt"})
		f.r.oauth.Scopes = []string{"openid", "email", "offline_access"}
		rsID, rsSecret := env.CreateClient(clients.Spec{Name: "Orders API", GrantTypes: []string{"client_credentials"}, Scopes: []string{"sesame:introspect"}})
		key, other := newDPoPKey(t), newDPoPKey(t)
		tokenURL, uiURL := env.Issuer+"/oauth2/token", env.Issuer+"/oauth2/userinfo"
		code, verifier := f.code(url.Values{"scope": {"openid email offline_access"}})
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}, "client_id": {f.r.clientID}}

		// Forged proofs at the token endpoint: refused with nothing
		// written (no token, no jti spent) and the code not spent.
		stale := key.proof(t, "POST", tokenURL, proofOpts{iat: time.Now().Add(-10 * time.Minute)})
		before := rowCounts(t, env, "oauth2_requests", "used_jtis")
		for name, proofs := range map[string][]string{
			"wrong URL":           {key.proof(t, "POST", env.Issuer+"/oauth2/userinfo", proofOpts{})},
			"wrong method":        {key.proof(t, "POST", tokenURL, proofOpts{htm: "GET"})},
			"stale iat":           {stale},
			"future iat":          {key.proof(t, "POST", tokenURL, proofOpts{iat: time.Now().Add(10 * time.Minute)})},
			"signed by another":   {key.proof(t, "POST", tokenURL, proofOpts{signer: other.priv})},
			"typ JWT":             {key.proof(t, "POST", tokenURL, proofOpts{typ: "JWT"})},
			"private jwk":         {key.proof(t, "POST", tokenURL, proofOpts{headerKey: key.priv})},
			"two proofs":          {key.proof(t, "POST", tokenURL, proofOpts{}), key.proof(t, "POST", tokenURL, proofOpts{})},
			"not a JWT":           {"not.a-jwt"},
			"unsigned (alg none)": {unsignedProof(tokenURL)},
		} {
			resp, out := postToken(t, env.Issuer, exchange, "", "", proofs...)
			if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
				t.Fatalf("%s: %d %v", name, resp.StatusCode, out)
			}
			nothingWritten(t, env, "token request with a proof "+name, before)
		}

		// The honest exchange.
		exProof := key.proof(t, "POST", tokenURL, proofOpts{})
		resp, tok := postToken(t, env.Issuer, exchange, "", "", exProof)
		if resp.StatusCode != http.StatusOK || tok["token_type"] != "DPoP" {
			t.Fatalf("exchange with a proof: %d %v", resp.StatusCode, tok)
		}
		at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
		jwt := apiVerify(t, env, at, f.r.clientID)
		if cnf, _ := claim(jwt, "cnf").(map[string]any); cnf["jkt"] != key.jkt {
			t.Fatalf("cnf = %v, want jkt %s", claim(jwt, "cnf"), key.jkt)
		}
		_, intro := postEndpoint(t, env, "/oauth2/introspect", rsID, rsSecret, url.Values{"token": {at}})
		if cnf, _ := intro["cnf"].(map[string]any); intro["active"] != true || cnf["jkt"] != key.jkt || intro["token_type"] != "DPoP" {
			t.Fatalf("introspection = %v", intro)
		}

		_, rintro := postEndpoint(t, env, "/oauth2/introspect", rsID, rsSecret, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}})
		if cnf, _ := rintro["cnf"].(map[string]any); rintro["active"] != true || cnf["jkt"] != key.jkt {
			t.Fatalf("introspection of the public client's refresh token = %v", rintro)
		}

		// userinfo: the DPoP scheme with a fresh proof of the key.
		uiProof := key.proof(t, "GET", uiURL, proofOpts{token: at})
		if resp, out := dpopUserinfo(t, env.Issuer, "DPoP", at, uiProof); resp.StatusCode != http.StatusOK || out["sub"] != f.user.ID {
			t.Fatalf("userinfo with DPoP: %d %v", resp.StatusCode, out)
		}
		before = rowCounts(t, env, "oauth2_requests", "used_jtis")
		for name, tc := range map[string]struct {
			scheme string
			proofs []string
			want   string
		}{
			"as a bearer token":    {"Bearer", nil, "invalid_token"},
			"DPoP without a proof": {"DPoP", nil, "invalid_dpop_proof"},
			"replayed proof":       {"DPoP", []string{uiProof}, "invalid_dpop_proof"},
			"wrong method":         {"DPoP", []string{key.proof(t, "POST", uiURL, proofOpts{token: at})}, "invalid_dpop_proof"},
			"wrong URL":            {"DPoP", []string{key.proof(t, "GET", tokenURL, proofOpts{token: at})}, "invalid_dpop_proof"},
			"other key":            {"DPoP", []string{other.proof(t, "GET", uiURL, proofOpts{token: at})}, "invalid_dpop_proof"},
			"stale iat":            {"DPoP", []string{key.proof(t, "GET", uiURL, proofOpts{token: at, iat: time.Now().Add(-10 * time.Minute)})}, "invalid_dpop_proof"},
			"missing ath":          {"DPoP", []string{key.proof(t, "GET", uiURL, proofOpts{token: at, noATH: true})}, "invalid_dpop_proof"},
			"ath of another token": {"DPoP", []string{key.proof(t, "GET", uiURL, proofOpts{token: rt})}, "invalid_dpop_proof"},
			"signature of another": {"DPoP", []string{key.proof(t, "GET", uiURL, proofOpts{token: at, signer: other.priv})}, "invalid_dpop_proof"},
		} {
			resp, out := dpopUserinfo(t, env.Issuer, tc.scheme, at, tc.proofs...)
			www := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || out["error"] != tc.want || !strings.Contains(www, `error="`+tc.want+`"`) {
				t.Fatalf("userinfo %s: %d %v %q", name, resp.StatusCode, out, www)
			}
			if tc.scheme == "DPoP" && !strings.HasPrefix(www, "DPoP ") || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "algs=") && tc.scheme == "DPoP" {
				t.Fatalf("userinfo %s: challenge %q", name, www)
			}
			nothingWritten(t, env, "userinfo "+name, before)
		}
		// A replica shares the replay check (the store): the proof used on
		// the first server is refused on the second.
		replica := env.Replica()
		if resp, out := dpopUserinfo(t, replica.HTTP.URL, "DPoP", at, uiProof); resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_dpop_proof" {
			t.Fatalf("replay on a replica: %d %v", resp.StatusCode, out)
		}
		if resp, out := dpopUserinfo(t, replica.HTTP.URL, "DPoP", at, key.proof(t, "GET", uiURL, proofOpts{token: at})); resp.StatusCode != http.StatusOK {
			t.Fatalf("fresh proof on a replica: %d %v", resp.StatusCode, out)
		}

		// Refresh: the public client's refresh token is bound to the key.
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.r.clientID}}
		before = rowCounts(t, env, "oauth2_requests", "used_jtis")
		for name, tc := range map[string]struct {
			proofs []string
			want   string
		}{
			"no proof":       {nil, "invalid_dpop_proof"},
			"other key":      {[]string{other.proof(t, "POST", tokenURL, proofOpts{})}, "invalid_grant"},
			"replayed proof": {[]string{exProof}, "invalid_dpop_proof"},
			"stale proof":    {[]string{stale}, "invalid_dpop_proof"},
		} {
			resp, out := postToken(t, env.Issuer, refresh, "", "", tc.proofs...)
			if resp.StatusCode != http.StatusBadRequest || out["error"] != tc.want {
				t.Fatalf("refresh with %s: %d %v", name, resp.StatusCode, out)
			}
			nothingWritten(t, env, "refresh with "+name, before)
		}
		resp, tok = postToken(t, replica.HTTP.URL, refresh, "", "", key.proof(t, "POST", tokenURL, proofOpts{}))
		if resp.StatusCode != http.StatusOK || tok["token_type"] != "DPoP" {
			t.Fatalf("refresh with the key (after the refusals): %d %v", resp.StatusCode, tok)
		}
		if cnf, _ := claim(apiVerify(t, env, tok["access_token"].(string), f.r.clientID), "cnf").(map[string]any); cnf["jkt"] != key.jkt {
			t.Fatalf("refreshed token's cnf = %v", cnf)
		}
	})
}

// unsignedProof is a proof with alg none (RFC 9449 §4.3: asymmetric only).
func unsignedProof(htu string) string {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	return enc(map[string]any{"typ": "dpop+jwt", "alg": "none"}) + "." + enc(map[string]any{"jti": "x1", "htm": "POST", "htu": htu, "iat": time.Now().Unix()}) + "."
}

// TestDPoP_ClientRequiresAndCodeBinding: a client registered with
// dpop_bound_access_tokens gets no token without a proof (RFC 9449 §5.2);
// a code requested with dpop_jkt is exchanged only with that key's proof
// (§10); a confidential client's machine token is DPoP-bound but its
// bearer use is refused; without a proof the token is a bearer token.
func TestDPoP_ClientRequiresAndCodeBinding(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		key, other := newDPoPKey(t), newDPoPKey(t)
		tokenURL := env.Issuer + "/oauth2/token"
		id, secret := env.CreateClient(clients.Spec{Name: "Bound M2M", GrantTypes: []string{"client_credentials"}, DPoPBoundAccessTokens: true})
		cc := url.Values{"grant_type": {"client_credentials"}}
		if resp, out := postToken(t, env.Issuer, cc, id, secret); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
			t.Fatalf("required DPoP, no proof: %d %v", resp.StatusCode, out)
		}
		resp, out := postToken(t, env.Issuer, cc, id, secret, key.proof(t, "POST", tokenURL, proofOpts{}))
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("required DPoP with a proof: %d %v", resp.StatusCode, out)
		}
		// An opaque bound token: introspection by its own client shows cnf.
		_, intro := postEndpoint(t, env, "/oauth2/introspect", id, secret, url.Values{"token": {out["access_token"].(string)}})
		if cnf, _ := intro["cnf"].(map[string]any); cnf["jkt"] != key.jkt {
			t.Fatalf("introspection of an opaque bound token: %v", intro)
		}

		// dpop_jkt binds the code.
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		f.r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		code, verifier := f.code(url.Values{"dpop_jkt": {key.jkt}, "scope": {"openid offline_access"}})
		ex := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		if resp, out := postToken(t, env.Issuer, ex, f.r.clientID, f.r.secret); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
			t.Fatalf("dpop_jkt code without a proof: %d %v", resp.StatusCode, out)
		}
		if resp, out := postToken(t, env.Issuer, ex, f.r.clientID, f.r.secret, other.proof(t, "POST", tokenURL, proofOpts{})); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Fatalf("dpop_jkt code with another key: %d %v", resp.StatusCode, out)
		}
		resp, out = postToken(t, env.Issuer, ex, f.r.clientID, f.r.secret, key.proof(t, "POST", tokenURL, proofOpts{}))
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("dpop_jkt code with its key: %d %v", resp.StatusCode, out)
		}
		// A confidential client's refresh token is not bound: introspection
		// shows no cnf for it, and a refresh without a proof gets a bearer
		// token.
		if ri := f.introspect(out["refresh_token"].(string), "refresh_token"); ri["active"] != true || ri["cnf"] != nil {
			t.Fatalf("introspection of a confidential client's refresh token: %v", ri)
		}
		if ai := f.introspect(out["access_token"].(string), "access_token"); ai["cnf"] == nil {
			t.Fatalf("introspection of its bound access token: %v", ai)
		}
		resp, out = postToken(t, env.Issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}}, f.r.clientID, f.r.secret)
		if resp.StatusCode != http.StatusOK || strings.ToLower(out["token_type"].(string)) != "bearer" {
			t.Fatalf("confidential refresh without a proof: %d %v", resp.StatusCode, out)
		}
		for _, bad := range []string{"short", key.jkt + "x", strings.Repeat("!", 43)} {
			resp, _ := get(t, f.b, f.r.oauth.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("dpop_jkt", bad)))
			if q := callback(t, resp); q.Get("error") != "invalid_request" {
				t.Fatalf("dpop_jkt %q: %v", bad, q)
			}
		}
	})
}

// TestDPoP_Nonce (RFC 9449 §8, §9): with dpop_nonce on, a proof without
// the server's nonce is refused with use_dpop_nonce and a DPoP-Nonce
// header, at the token endpoint (400) and at userinfo (401); the retry
// with it succeeds, on any replica.
func TestDPoP_Nonce(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, func(c *config.Config) { c.DPoPNonce = true })...)
		key := newDPoPKey(t)
		tokenURL := env.Issuer + "/oauth2/token"
		id, secret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}})
		cc := url.Values{"grant_type": {"client_credentials"}}
		resp, out := postToken(t, env.Issuer, cc, id, secret, key.proof(t, "POST", tokenURL, proofOpts{}))
		nonce := resp.Header.Get("DPoP-Nonce")
		if resp.StatusCode != http.StatusBadRequest || out["error"] != "use_dpop_nonce" || nonce == "" {
			t.Fatalf("proof without nonce: %d %v nonce %q", resp.StatusCode, out, nonce)
		}
		if resp, out := postToken(t, env.Issuer, cc, id, secret, key.proof(t, "POST", tokenURL, proofOpts{nonce: "made-up-nonce"})); resp.StatusCode != http.StatusBadRequest || out["error"] != "use_dpop_nonce" {
			t.Fatalf("made-up nonce: %d %v", resp.StatusCode, out)
		}
		replica := env.Replica()
		resp, out = postToken(t, replica.HTTP.URL, cc, id, secret, key.proof(t, "POST", tokenURL, proofOpts{nonce: nonce}))
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" || resp.Header.Get("DPoP-Nonce") == "" {
			t.Fatalf("retry with the nonce on a replica: %d %v", resp.StatusCode, out)
		}
		// userinfo: 401 use_dpop_nonce with a fresh nonce, then the proof
		// passes (the machine token has no openid scope, so the answer is
		// insufficient_scope, which comes after every DPoP check).
		at, uiURL := out["access_token"].(string), env.Issuer+"/oauth2/userinfo"
		resp, out = dpopUserinfo(t, env.Issuer, "DPoP", at, key.proof(t, "GET", uiURL, proofOpts{token: at}))
		nonce = resp.Header.Get("DPoP-Nonce")
		if resp.StatusCode != http.StatusUnauthorized || out["error"] != "use_dpop_nonce" || nonce == "" ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
			t.Fatalf("userinfo without nonce: %d %v %v", resp.StatusCode, out, resp.Header)
		}
		if resp, out := dpopUserinfo(t, env.Issuer, "DPoP", at, key.proof(t, "GET", uiURL, proofOpts{token: at, nonce: nonce})); resp.StatusCode != http.StatusForbidden || out["error"] != "insufficient_scope" ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP ") {
			t.Fatalf("userinfo with the nonce: %d %v %q", resp.StatusCode, out, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

// TestDPoP_Off: with dpop off, discovery does not advertise it, a DPoP
// header is ignored (a bearer token), dpop_jkt is refused, and a client
// that requires DPoP gets no token.
func TestDPoP_Off(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		for _, on := range []bool{true, false} {
			env := servertest.New(t, append(db, func(c *config.Config) { c.DPoP = on })...)
			resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if _, has := doc["dpop_signing_alg_values_supported"]; has != on {
				t.Fatalf("dpop %v: discovery lists dpop_signing_alg_values_supported = %v", on, has)
			}
			if on {
				continue
			}
			key := newDPoPKey(t)
			id, secret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}})
			resp, out := postToken(t, env.Issuer, url.Values{"grant_type": {"client_credentials"}}, id, secret, key.proof(t, "POST", env.Issuer+"/oauth2/token", proofOpts{}))
			if resp.StatusCode != http.StatusOK || strings.ToLower(out["token_type"].(string)) != "bearer" {
				t.Fatalf("dpop off, proof sent: %d %v", resp.StatusCode, out)
			}
			bid, bsecret := env.CreateClient(clients.Spec{Name: "Bound", GrantTypes: []string{"client_credentials"}, DPoPBoundAccessTokens: true})
			if resp, out := postToken(t, env.Issuer, url.Values{"grant_type": {"client_credentials"}}, bid, bsecret); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" {
				t.Fatalf("dpop off, client requires it: %d %v", resp.StatusCode, out)
			}
		}
	})
}

// TestDPoP_AlgsAndMalformedProofs: every algorithm discovery advertises
// in dpop_signing_alg_values_supported works end to end (what is listed
// is what works); malformed proofs of every kind are a 400
// invalid_dpop_proof, never a server error. On SQLite and PostgreSQL.
func TestDPoP_AlgsAndMalformedProofs(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, db...)
		tokenURL := env.Issuer + "/oauth2/token"
		id, secret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}})
		cc := url.Values{"grant_type": {"client_credentials"}}
		resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Algs []string `json:"dpop_signing_alg_values_supported"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if len(doc.Algs) == 0 {
			t.Fatal("discovery lists no DPoP algorithms")
		}
		for _, alg := range doc.Algs {
			priv := rawKeyFor(t, alg)
			k, err := jwk.FromRaw(priv)
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := k.PublicKey()
			hdr := jws.NewHeaders()
			_ = hdr.Set(jws.TypeKey, "dpop+jwt")
			_ = hdr.Set(jws.JWKKey, pub)
			payload, _ := json.Marshal(map[string]any{"jti": websession.RandomToken(12), "htm": "POST", "htu": tokenURL + "?ignored=1", "iat": time.Now().Unix()})
			proof, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), k, jws.WithProtectedHeaders(hdr)))
			if err != nil {
				t.Fatalf("%s: sign: %v", alg, err)
			}
			if resp, out := postToken(t, env.Issuer, cc, id, secret, string(proof)); resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
				t.Fatalf("%s proof: %d %v", alg, resp.StatusCode, out)
			}
		}

		key := newDPoPKey(t)
		sign := func(header map[string]any, claims string, signer jwk.Key, alg jwa.SignatureAlgorithm) string {
			hdr := jws.NewHeaders()
			for k, v := range header {
				_ = hdr.Set(k, v)
			}
			tok, err := jws.Sign([]byte(claims), jws.WithKey(alg, signer, jws.WithProtectedHeaders(hdr)))
			if err != nil {
				t.Fatal(err)
			}
			return string(tok)
		}
		hmacKey, _ := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
		good := func(extra string) string {
			return `{"jti":"` + websession.RandomToken(8) + `","htm":"POST","htu":"` + tokenURL + `","iat":` + jsonNum(time.Now().Unix()) + extra + `}`
		}
		hdr := map[string]any{"typ": "dpop+jwt", "jwk": key.pub}
		for name, proof := range map[string]string{
			"HS256 with a symmetric jwk": sign(map[string]any{"typ": "dpop+jwt", "jwk": hmacKey}, good(""), hmacKey, jwa.HS256),
			"claims not an object":       sign(hdr, `["x"]`, key.priv, jwa.ES256),
			"iat a string":               sign(hdr, `{"jti":"a1","htm":"POST","htu":"`+tokenURL+`","iat":"now"}`, key.priv, jwa.ES256),
			"no iat":                     sign(hdr, `{"jti":"a2","htm":"POST","htu":"`+tokenURL+`"}`, key.priv, jwa.ES256),
			"no jti":                     sign(hdr, `{"htm":"POST","htu":"`+tokenURL+`","iat":`+jsonNum(time.Now().Unix())+`}`, key.priv, jwa.ES256),
			"huge jti":                   sign(hdr, `{"jti":"`+strings.Repeat("j", 300)+`","htm":"POST","htu":"`+tokenURL+`","iat":`+jsonNum(time.Now().Unix())+`}`, key.priv, jwa.ES256),
			"method in lower case":       sign(hdr, `{"jti":"a3","htm":"post","htu":"`+tokenURL+`","iat":`+jsonNum(time.Now().Unix())+`}`, key.priv, jwa.ES256),
			"other host":                 sign(hdr, `{"jti":"a4","htm":"POST","htu":"https://evil.example/oauth2/token","iat":`+jsonNum(time.Now().Unix())+`}`, key.priv, jwa.ES256),
			"htu not a URL":              sign(hdr, `{"jti":"a5","htm":"POST","htu":"%zz","iat":`+jsonNum(time.Now().Unix())+`}`, key.priv, jwa.ES256),
			"no jwk":                     sign(map[string]any{"typ": "dpop+jwt"}, good(""), key.priv, jwa.ES256),
			"base64 garbage":             "eyJ!!.eyJ!!.c2ln",
			"huge header":                strings.Repeat("a", 9000) + ".b.c",
		} {
			before := rowCounts(t, env, "oauth2_requests", "used_jtis")
			resp, out := postToken(t, env.Issuer, cc, id, secret, proof)
			if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
				t.Errorf("%s: %d %v", name, resp.StatusCode, out)
			}
			nothingWritten(t, env, name, before)
		}
	})
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// rawKeyFor makes a private key for a JWS algorithm.
func rawKeyFor(t *testing.T, alg string) any {
	t.Helper()
	switch alg {
	case "ES256":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k
	case "ES384":
		k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		return k
	case "RS256", "PS256":
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		return k
	case "EdDSA":
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		return k
	}
	t.Fatalf("discovery lists %s, which this test cannot sign with", alg)
	return nil
}
