package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// FuzzClientAssertion sends client assertion JWTs (RFC 7523) built from
// fuzzed header and claims JSON — signed with the client's registered key
// when sign is set, so the claim checks behind the signature are reached
// too — to the token endpoint: every answer is a clear OAuth answer (200,
// 400 or 401 with a JSON body), never a 5xx.
func FuzzClientAssertion(f *testing.F) {
	env := servertest.New(f)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	kid := "fuzz-key"
	pub, err := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		f.Fatal(err)
	}
	jwks := `{"keys":[` + string(pub) + `]}`
	id, _ := env.CreateClient(clients.Spec{Name: "Fuzz JWT", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"},
		TokenEndpointAuthMethod: "private_key_jwt", JWKS: jwks})
	aud := env.Issuer + "/oauth2/token"
	now := time.Now().Unix()
	claims := func(exp int64) string {
		b, _ := json.Marshal(map[string]any{"iss": id, "sub": id, "aud": aud, "jti": websession.RandomToken(12), "iat": now, "exp": exp})
		return string(b)
	}
	es := `{"alg":"ES256","kid":"` + kid + `","typ":"JWT"}`
	for _, s := range []struct {
		header, claims string
		sign           bool
	}{
		{es, claims(now + 60), true},
		{es, claims(now - 3600), true}, // expired (once a 500)
		{es, `{"iss":"` + id + `","sub":"` + id + `","aud":["` + aud + `"],"exp":"soon"}`, true},
		{es, `{"iss":"` + id + `","sub":"` + id + `","aud":123,"exp":` + strconv.FormatInt(now+60, 10) + `}`, true},
		{es, `{}`, true},
		{es, `[]`, true},
		{`{"alg":"none"}`, claims(now + 60), false},
		{`{"alg":"HS256","kid":"` + kid + `"}`, claims(now + 60), true},
		{`{"alg":"ES256","kid":"other"}`, claims(now + 60), true},
		{`{"alg":"ES256","jku":"http://127.0.0.1:1/jwks"}`, claims(now + 60), true},
		{`not json`, `not json`, false},
		{``, ``, false},
	} {
		f.Add(s.header, s.claims, s.sign)
	}
	f.Fuzz(func(t *testing.T, header, claimsJSON string, sign bool) {
		in := advB64.EncodeToString([]byte(header)) + "." + advB64.EncodeToString([]byte(claimsJSON))
		sig := ""
		if sign {
			h := sha256.Sum256([]byte(in))
			r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
			if err != nil {
				t.Fatal(err)
			}
			out := make([]byte, 64)
			r.FillBytes(out[:32])
			s.FillBytes(out[32:])
			sig = advB64.EncodeToString(out)
		}
		r := negToken(t, env, url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"}, "client_id": {id},
			"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {in + "." + sig}}, "", "")
		if r.Status >= 500 || (r.Status != 200 && r.Status != 400 && r.Status != 401) || !json.Valid([]byte(r.Raw)) {
			t.Fatalf("assertion %q.%q: %d %s", header, claimsJSON, r.Status, r.Raw)
		}
	})
}
