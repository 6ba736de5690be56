package oidc_test

// Adversarial tests from the hardening issue: forged client assertions and
// id_token_hints (alg none, HS256 keyed with a public key, attacker keys
// named in the header), PKCE downgrades and the entropy of the credentials
// Sesame issues. Each test is named after its invariant and the section
// that states it, and runs on every database.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

var advB64 = base64.RawURLEncoding

// advJWT assembles a compact JWS from a header and claims; sign signs the
// signing input (nil: an empty signature, as for alg none).
func advJWT(t *testing.T, header, claims map[string]any, sign func(in []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	in := advB64.EncodeToString(h) + "." + advB64.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(in))
	}
	return in + "." + advB64.EncodeToString(sig)
}

// advES256 signs as JWS ES256 (RFC 7518 §3.4: R || S, 32 octets each).
func advES256(t *testing.T, key *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

// advHS256 signs as JWS HS256 with secret as the HMAC key.
func advHS256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func advECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// advPublicJWK is the JSON of key's public JWK.
func advPublicJWK(t *testing.T, pub crypto.PublicKey, kid string) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// advPEM is pub as a PEM "PUBLIC KEY" block and its DER.
func advPEM(t *testing.T, pub crypto.PublicKey) (pemBytes, der []byte) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), der
}

// TestClientAssertionForgeriesAreInvalidClient_RFC7523_3_RFC8725_3_1: a
// private_key_jwt client registered with an ES256 JWKS authenticates only
// with an assertion signed by its registered key (RFC 7523 §3 item 9). An
// unsigned assertion (alg none, RFC 8725 §3.1), one MACed with HS256 keyed
// with the client's public key (the key-confusion attack, RFC 8725 §3.1,
// §2.1), and one signed by an attacker key that the header names by value
// or by reference (jwk, jku, x5u; RFC 8725 §3.10) are 401 invalid_client,
// and Sesame never fetches what the header points at. A fresh assertion
// signed by the registered key still works.
func TestClientAssertionForgeriesAreInvalidClient_RFC7523_3_RFC8725_3_1(t *testing.T) {
	t.Parallel()
	// The attacker's key, published where jku and x5u point.
	attacker := advECKey(t)
	attackerJWK := advPublicJWK(t, &attacker.PublicKey, "attacker")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	if err != nil {
		t.Fatal(err)
	}
	var fetched atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		if r.URL.Path == "/x5u" {
			_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: certDER})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[` + string(attackerJWK) + `]}`))
	}))
	t.Cleanup(evil.Close)

	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		priv := advECKey(t)
		kid := "client-key-" + websession.RandomToken(6)
		pubJWK := advPublicJWK(t, &priv.PublicKey, kid)
		jwks := `{"keys":[` + string(pubJWK) + `]}`
		id, secret := env.CreateClient(clients.Spec{
			Name: "JWT Machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"},
			TokenEndpointAuthMethod: "private_key_jwt", JWKS: jwks,
		})
		if secret != "" {
			t.Fatal("a private_key_jwt client got a shared secret")
		}
		tokenURL := env.Issuer + "/oauth2/token"
		claims := func() map[string]any {
			now := time.Now()
			return map[string]any{"iss": id, "sub": id, "aud": tokenURL, "jti": websession.RandomToken(16),
				"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		}
		post := func(assertion string) negTokenResp {
			return negToken(t, env, url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"},
				"client_id": {id}, "client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion}}, "", "")
		}

		pemPub, derPub := advPEM(t, &priv.PublicKey)
		xBytes := priv.PublicKey.X.FillBytes(make([]byte, 32))
		secrets := map[string][]byte{
			"public JWK JSON":   pubJWK,
			"JWKS JSON":         []byte(jwks),
			"x coordinate":      xBytes,
			"x base64url":       []byte(advB64.EncodeToString(xBytes)),
			"public key PEM":    pemPub,
			"public key DER":    derPub,
			"empty HMAC secret": {},
		}
		attackerJWKMap := map[string]any{}
		_ = json.Unmarshal(attackerJWK, &attackerJWKMap)

		type forgery struct {
			name   string
			header map[string]any
			sign   func([]byte) []byte
		}
		var forgeries []forgery
		for _, alg := range []string{"none", "None", "NONE"} {
			forgeries = append(forgeries,
				forgery{"alg " + alg + " with kid", map[string]any{"alg": alg, "typ": "JWT", "kid": kid}, nil},
				forgery{"alg " + alg + " without kid", map[string]any{"alg": alg, "typ": "JWT"}, nil})
		}
		for name, s := range secrets {
			forgeries = append(forgeries,
				forgery{"HS256 keyed with " + name, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, advHS256(s)},
				forgery{"HS256 keyed with " + name + " without kid", map[string]any{"alg": "HS256", "typ": "JWT"}, advHS256(s)})
		}
		for _, k := range []string{kid, "attacker", ""} {
			for hname, hval := range map[string]any{
				"jwk": attackerJWKMap, "jku": evil.URL + "/jwks.json", "x5u": evil.URL + "/x5u",
			} {
				h := map[string]any{"alg": "ES256", "typ": "JWT", hname: hval}
				if k != "" {
					h["kid"] = k
				}
				forgeries = append(forgeries, forgery{"ES256 by the attacker's key in " + hname + " kid=" + k, h, advES256(t, attacker)})
			}
		}
		forgeries = append(forgeries, forgery{"ES256 by the attacker's key with x5c",
			map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid, "x5c": []string{base64.StdEncoding.EncodeToString(certDER)}},
			advES256(t, attacker)})

		for _, f := range forgeries {
			t.Run(f.name, func(t *testing.T) {
				r := post(advJWT(t, f.header, claims(), f.sign))
				negWantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			})
		}
		if n := fetched.Load(); n != 0 {
			t.Fatalf("Sesame fetched an attacker-named key %d times", n)
		}

		t.Run("control: the registered key still authenticates", func(t *testing.T) {
			for _, h := range []map[string]any{
				{"alg": "ES256", "typ": "JWT", "kid": kid},
				{"alg": "ES256", "typ": "JWT"},
			} {
				r := post(advJWT(t, h, claims(), advES256(t, priv)))
				if r.Status != http.StatusOK || r.Body["access_token"] == nil {
					t.Fatalf("rightful assertion %v: %d %s", h, r.Status, r.Raw)
				}
			}
		})
	})
}

// TestIDTokenHintForgeriesAreNotHonoured_RFC8725_3_1_OIDCRPInitiatedLogout_2:
// an id_token_hint is honoured only with Sesame's own signature (OIDC
// RP-Initiated Logout 1.0 §2; RFC 8725 §3.1). The real ID token's header
// and claims re-sent unsigned (alg none) or MACed with HS256 keyed with
// Sesame's public key get the same 400 "invalid id_token_hint" page as
// any invalid hint: no redirect to post_logout_redirect_uri, and the
// session and its tokens live on.
func TestIDTokenHintForgeriesAreNotHonoured_RFC8725_3_1_OIDCRPInitiatedLogout_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, PostLogoutRedirectURIs: []string{postLogoutURI}})
		tok := f.tokens("openid")
		_, rawID := f.verifyID(tok)
		parts := strings.Split(rawID, ".")
		var header, claims map[string]any
		hb, _ := advB64.DecodeString(parts[0])
		cb, _ := advB64.DecodeString(parts[1])
		if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
			t.Fatalf("cannot read the ID token %q", rawID)
		}
		kid, _ := header["kid"].(string)

		// Sesame's published public key for that kid.
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		getJSON(t, env.Issuer+"/.well-known/openid-configuration", &doc)
		var raw struct {
			Keys []json.RawMessage `json:"keys"`
		}
		getJSON(t, doc.JWKSURI, &raw)
		var pubJWK []byte
		var pub crypto.PublicKey
		for _, k := range raw.Keys {
			var jk jose.JSONWebKey
			if json.Unmarshal(k, &jk) == nil && jk.KeyID == kid {
				pubJWK, pub = k, jk.Key
			}
		}
		if pub == nil {
			t.Fatalf("kid %q is not in the JWKS", kid)
		}
		pemPub, derPub := advPEM(t, pub)
		secrets := map[string][]byte{"public JWK JSON": pubJWK, "public key PEM": pemPub, "public key DER": derPub}
		if ec, ok := pub.(*ecdsa.PublicKey); ok {
			secrets["x coordinate"] = ec.X.Bytes()
		}

		with := func(alg string, keepKid bool) map[string]any {
			h := map[string]any{"alg": alg, "typ": "JWT"}
			if keepKid {
				h["kid"] = kid
			}
			return h
		}
		forged := map[string]string{}
		for _, alg := range []string{"none", "None"} {
			forged["alg "+alg] = advJWT(t, with(alg, true), claims, nil)
			forged["alg "+alg+" without kid"] = advJWT(t, with(alg, false), claims, nil)
		}
		forged["original header, signature stripped"] = parts[0] + "." + parts[1] + "."
		for name, s := range secrets {
			forged["HS256 keyed with "+name] = advJWT(t, with("HS256", true), claims, advHS256(s))
		}
		for name, hint := range forged {
			t.Run(name, func(t *testing.T) {
				q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"s"}}
				resp, body := get(t, f.b, env.Issuer+"/oauth2/logout?"+q.Encode())
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || resp.Request.URL.Path != "/oauth2/logout" {
					t.Fatalf("status %d at %s, Location %q", resp.StatusCode, resp.Request.URL, resp.Header.Get("Location"))
				}
				if !strings.Contains(body, "invalid id_token_hint") {
					t.Fatalf("page does not refuse the hint:\n%.600s", body)
				}
			})
		}
		// Nobody was signed out: the session answers prompt=none and its
		// token is active.
		f.code(url.Values{"prompt": {"none"}})
		f.wantActive(tok.AccessToken, "access_token", true)

		t.Run("control: the genuine hint signs out", func(t *testing.T) {
			q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"s"}}
			resp, _ := get(t, f.b, env.Issuer+"/oauth2/logout?"+q.Encode())
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), postLogoutURI) {
				t.Fatalf("genuine hint: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	})
}

// TestPKCEDowngradeIsInvalidGrant_RFC7636_4_6_RFC9700_4_8_2: a code bound
// to a code_challenge cannot be redeemed without a code_verifier, and a
// code issued without a challenge cannot be redeemed with one (the PKCE
// downgrade of RFC 9700 §4.8.2); both are invalid_grant (RFC 7636 §4.6)
// and neither yields a token.
func TestPKCEDowngradeIsInvalidGrant_RFC7636_4_6_RFC9700_4_8_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		id, secret := env.CreateClient(clients.Spec{Name: "Confidential", SkipConsent: true, RedirectURIs: []string{redirectURI}})
		pub := negPublicClient(t, env)
		b, _ := negSignedIn(t, env)
		exchange := func(client, secret, code string, extra url.Values) negTokenResp {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
			if secret == "" {
				form.Set("client_id", client)
				client = ""
			}
			for k, v := range extra {
				form[k] = v
			}
			return negToken(t, env, form, client, secret)
		}

		for _, c := range []struct{ name, id, secret string }{{"confidential", id, secret}, {"public", pub, ""}} {
			t.Run("challenge sent, verifier omitted/"+c.name, func(t *testing.T) {
				_, challenge := negPKCE()
				code := negCode(t, env, b, c.id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
				negWantOAuthError(t, exchange(c.id, c.secret, code, nil), http.StatusBadRequest, "invalid_grant")
				negWantOAuthError(t, exchange(c.id, c.secret, code, url.Values{"code_verifier": {""}}), http.StatusBadRequest, "invalid_grant")
			})
		}
		t.Run("no challenge sent, verifier added/confidential", func(t *testing.T) {
			code := negCode(t, env, b, id, redirectURI, nil).Get("code")
			verifier, _ := negPKCE()
			negWantOAuthError(t, exchange(id, secret, code, url.Values{"code_verifier": {verifier}}), http.StatusBadRequest, "invalid_grant")
		})
		t.Run("control: a confidential client without PKCE at both ends", func(t *testing.T) {
			code := negCode(t, env, b, id, redirectURI, nil).Get("code")
			if r := exchange(id, secret, code, nil); r.Status != http.StatusOK {
				t.Fatalf("exchange without PKCE: %d %s", r.Status, r.Raw)
			}
		})
	})
}

// advRandomPart is the part of an opaque token that carries its
// randomness: fosite's HMAC tokens are [prefix]<base64url key>.<base64url
// HMAC>, the prefix (ory_ac_, ory_at_, ory_rt_) being fixed.
func advRandomPart(t *testing.T, kind, tok string) []byte {
	t.Helper()
	key, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("%s %q is not <key>.<signature>", kind, tok)
	}
	if i := strings.LastIndex(key, "_"); strings.HasPrefix(key, "ory_") && i == 6 {
		key = key[i+1:]
	}
	b, err := advB64.DecodeString(key)
	if err != nil {
		t.Fatalf("%s key part %q is not base64url: %v", kind, key, err)
	}
	return b
}

// TestTokenEntropyAndCharset_RFC6749_10_10_AppendixA: authorization codes,
// access tokens and refresh tokens carry at least 128 bits of randomness
// (RFC 6749 §10.10, RFC 6819 §5.1.4.2.2), use only VSCHAR without spaces
// (RFC 6749 Appendix A.11, A.12, A.17; RFC 6750 §2.1 b64token for access
// tokens), and 20 flows give 20 pairwise distinct values of each.
func TestTokenEntropyAndCharset_RFC6749_10_10_AppendixA(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		id, secret := env.CreateClient(clients.Spec{Name: "Entropy", SkipConsent: true, RedirectURIs: []string{redirectURI}})
		b, _ := negSignedIn(t, env)
		const flows = 20
		seen := map[string]map[string]bool{"code": {}, "access_token": {}, "refresh_token": {}}
		randomSeen := map[string]bool{}
		alphabet := map[string]map[rune]bool{"code": {}, "access_token": {}, "refresh_token": {}}
		for i := 0; i < flows; i++ {
			verifier, challenge := negPKCE()
			code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}, "scope": {"openid offline_access"}}).Get("code")
			r := negToken(t, env, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
				"code_verifier": {verifier}}, id, secret)
			if r.Status != http.StatusOK {
				t.Fatalf("exchange: %d %s", r.Status, r.Raw)
			}
			at, _ := r.Body["access_token"].(string)
			rt, _ := r.Body["refresh_token"].(string)
			for kind, v := range map[string]string{"code": code, "access_token": at, "refresh_token": rt} {
				if v == "" {
					t.Fatalf("flow %d issued no %s: %s", i, kind, r.Raw)
				}
				for _, c := range v {
					// VSCHAR is %x20-7E; a space would split the value.
					if c <= 0x20 || c > 0x7e {
						t.Fatalf("%s %q has %q, outside VSCHAR without space", kind, v, c)
					}
				}
				if kind == "access_token" {
					// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
					if strings.TrimLeft(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") != strings.Repeat("=", strings.Count(v, "=")) {
						t.Fatalf("access token %q is not a b64token", v)
					}
				}
				rnd := advRandomPart(t, kind, v)
				if len(rnd) < 16 {
					t.Fatalf("%s %q carries %d random bytes, want >= 16", kind, v, len(rnd))
				}
				if seen[kind][v] || randomSeen[string(rnd)] {
					t.Fatalf("flow %d repeated a %s (or its random part): %q", i, kind, v)
				}
				seen[kind][v], randomSeen[string(rnd)] = true, true
				for _, c := range advB64.EncodeToString(rnd) {
					alphabet[kind][c] = true
				}
			}
		}
		// 20 × 43 base64url characters drawn at random cover nearly all 64
		// symbols; a counter, a timestamp or hex would not.
		for kind, a := range alphabet {
			if len(a) < 56 {
				t.Fatalf("the random parts of %d %ss use only %d distinct symbols", flows, kind, len(a))
			}
		}
	})
}
