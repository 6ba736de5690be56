package middleware

// DPoP (RFC 9449 §7): a DPoP-bound access token (its cnf.jkt, from the
// JWT or from introspection) is accepted only as "Authorization: DPoP
// <token>" with one DPoP header: a proof JWT (typ dpop+jwt, an asymmetric
// alg, its public key in the header) signed by the key the token is bound
// to, for this request's method and URL (htm, htu; query and fragment
// ignored), fresh (iat within DPoPMaxAge plus Leeway either way), hashing
// the token (ath), and never seen before (its jti is remembered in a
// DPoPReplayStore for as long as the proof could pass the iat check).
// Such a token presented as a bearer token, or a proof that fails any
// check, is 401 with a "WWW-Authenticate: DPoP" challenge.

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// dpopAlgs are the proof algorithms accepted: asymmetric only (RFC 9449
// §4.2), the same list Sesame advertises.
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.PS256, jose.EdDSA}

const (
	dpopMaxLen    = 8 << 10
	dpopMaxJTILen = 256
)

// dpopClaims are the claims of a proof (RFC 9449 §4.2).
type dpopClaims struct {
	JTI string          `json:"jti"`
	HTM string          `json:"htm"`
	HTU string          `json:"htu"`
	IAT json.RawMessage `json:"iat"`
	ATH string          `json:"ath"`
}

func invalidProof(desc string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_dpop_proof", Description: desc, Err: cause, DPoP: true}
}

// boundKey is the jkt a token is bound to (cnf.jkt), or "".
func boundKey(tok *Token) string {
	cnf, _ := tok.Claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// checkDPoP verifies the request's proof for raw, a token bound to jkt.
func (v *Verifier) checkDPoP(r *http.Request, raw, jkt string) error {
	values := r.Header.Values("DPoP")
	if len(values) != 1 {
		return invalidProof("Send exactly one DPoP proof with a DPoP-bound token.", nil)
	}
	proof := values[0]
	if len(proof) > dpopMaxLen || strings.Count(proof, ".") != 2 {
		return invalidProof("The DPoP proof is not a compact JWT.", nil)
	}
	msg, err := jose.ParseSigned(proof, dpopAlgs)
	if err != nil || len(msg.Signatures) != 1 {
		return invalidProof("The DPoP proof is not a JWS with a supported algorithm.", err)
	}
	h := msg.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
		return invalidProof("The DPoP proof's typ must be dpop+jwt.", nil)
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return invalidProof("The DPoP proof's header must carry a public jwk.", nil)
	}
	payload, err := msg.Verify(h.JSONWebKey)
	if err != nil {
		return invalidProof("The DPoP proof's signature does not verify with its jwk.", err)
	}
	var c dpopClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return invalidProof("The DPoP proof's claims are not a JSON object.", err)
	}
	var iat float64
	if err := json.Unmarshal(c.IAT, &iat); err != nil || iat <= 0 {
		return invalidProof("The DPoP proof has no valid iat.", err)
	}
	switch {
	case c.JTI == "" || len(c.JTI) > dpopMaxJTILen:
		return invalidProof(fmt.Sprintf("The DPoP proof needs a jti of at most %d characters.", dpopMaxJTILen), nil)
	case c.HTM != r.Method:
		return invalidProof("The DPoP proof's htm does not match the request's method.", nil)
	case !sameHTU(c.HTU, v.requestURL(r)):
		return invalidProof("The DPoP proof's htu does not match the request's URL.", nil)
	}
	now, at := time.Now(), time.Unix(int64(iat), 0)
	if at.Before(now.Add(-v.cfg.DPoPMaxAge-v.cfg.Leeway)) || at.After(now.Add(v.cfg.Leeway)) {
		return invalidProof("The DPoP proof's iat is too far from the API's time.", nil)
	}
	sum := sha256.Sum256([]byte(raw))
	if subtle.ConstantTimeCompare([]byte(c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return invalidProof("The DPoP proof's ath does not hash the access token.", nil)
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return invalidProof("The DPoP proof's jwk has no thumbprint.", err)
	}
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(tp)), []byte(jkt)) != 1 {
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", DPoP: true,
			Description: "The access token is bound to another key than the DPoP proof's."}
	}
	// Spent last: a proof refused for another reason may not burn its jti.
	fresh, err := v.replay.Spend(r.Context(), replayKey(jkt, c.JTI), at.Add(v.cfg.DPoPMaxAge+2*v.cfg.Leeway+time.Second))
	if err != nil {
		return unavailable(err)
	}
	if !fresh {
		return invalidProof("The DPoP proof was used before (its jti was seen).", nil)
	}
	return nil
}

// requestURL is the URL the client called: Config.PublicURL's scheme and
// host with the request's path, or the request's own (TLS → https).
func (v *Verifier) requestURL(r *http.Request) string {
	if v.public != nil {
		return v.public.Scheme + "://" + v.public.Host + r.URL.EscapedPath()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// sameHTU compares a proof's htu with the request's URL: scheme and host
// case-insensitively, the path exactly, query and fragment ignored (RFC
// 9449 §4.3).
func sameHTU(htu, want string) bool {
	u, err := url.Parse(htu)
	if err != nil {
		return false
	}
	w, err := url.Parse(want)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, w.Scheme) && strings.EqualFold(u.Host, w.Host) && u.EscapedPath() == w.EscapedPath()
}

// dpopAlgNames is the algs parameter of the DPoP challenge.
func dpopAlgNames() string {
	names := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		names[i] = string(a)
	}
	return strings.Join(names, " ")
}
