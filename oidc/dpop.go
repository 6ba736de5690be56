package oidc

// DPoP (RFC 9449): sender-constrained tokens. A client signs a proof JWT
// (typ dpop+jwt, its public key in the header) for every request; the
// token endpoint binds the tokens it issues to that key (its RFC 7638
// thumbprint, jkt): the access token (token_type DPoP, cnf.jkt in a JWT
// access token and in introspection) and, for a public client, the
// refresh token, which then refreshes only with a proof from the same
// key. A bound access token is accepted at userinfo only with the DPoP
// scheme and a proof from its key that hashes it (ath). Every proof is
// checked for its method and URL (htm, htu), its age (iat, within a
// window widened by the clock-skew leeway) and used once: its jti is
// spent in the store, so a replay is refused on every replica. When the
// server requires nonces (dpop_nonce), a proof must carry a DPoP-Nonce
// the server issued: an HMAC of a two-minute time slot under the system
// secret, so any replica issues and checks them without storage. A
// client registered with dpop_bound_access_tokens must use DPoP.

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
)

// DPoPAlgs are the proof algorithms accepted (asymmetric only, RFC 9449
// §4.2); discovery lists them as dpop_signing_alg_values_supported.
var DPoPAlgs = []string{"ES256", "ES384", "RS256", "PS256", "EdDSA"}

// Bounds of a proof.
const (
	// dpopMaxAge is how old a proof may be (its iat), before the leeway.
	dpopMaxAge    = 60 * time.Second
	dpopMaxLen    = 8 << 10
	dpopMaxJTILen = 256
	// dpopNonceSlot is how long one nonce is issued; it is accepted for
	// two slots more (and one ahead, for replicas whose clocks differ).
	dpopNonceSlot = 2 * time.Minute
)

// dpopProof is a verified proof.
type dpopProof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key.
	JKT string
	jti string
	iat time.Time
}

// errDPoP is a proof the server refuses: invalid_dpop_proof, or
// use_dpop_nonce when only the nonce is missing or stale (RFC 9449 §7.1,
// §8).
type errDPoP struct {
	code, hint string
}

func (e *errDPoP) Error() string { return e.code + ": " + e.hint }

func dpopInvalid(format string, args ...any) *errDPoP {
	return &errDPoP{code: "invalid_dpop_proof", hint: fmt.Sprintf(format, args...)}
}

// rfc is the token endpoint's form of e (RFC 9449 §5.1: status 400).
func (e *errDPoP) rfc() *fosite.RFC6749Error {
	desc := "The DPoP proof is invalid."
	if e.code == "use_dpop_nonce" {
		desc = "The DPoP proof must carry the nonce the server provides."
	}
	return (&fosite.RFC6749Error{ErrorField: e.code, DescriptionField: desc, CodeField: http.StatusBadRequest}).WithHint(e.hint)
}

// dpopClaims are a proof's claims (RFC 9449 §4.2).
type dpopClaims struct {
	JTI   string          `json:"jti"`
	HTM   string          `json:"htm"`
	HTU   string          `json:"htu"`
	IAT   json.RawMessage `json:"iat"`
	ATH   string          `json:"ath"`
	Nonce string          `json:"nonce"`
}

// dpopProofOf checks the DPoP header of r, a request to the provider's
// path, for accessToken (its ath; "" at the token endpoint). No header is
// (nil, nil). It writes nothing: spendDPoP marks the proof used once the
// request is otherwise acceptable.
func (p *Provider) dpopProofOf(r *http.Request, path, accessToken string) (*dpopProof, error) {
	values := r.Header.Values("DPoP")
	switch {
	case len(values) == 0:
		return nil, nil
	case len(values) > 1:
		return nil, dpopInvalid("Send exactly one DPoP header.")
	}
	raw := values[0]
	if len(raw) > dpopMaxLen || strings.Count(raw, ".") != 2 {
		return nil, dpopInvalid("The DPoP header is not a compact JWT.")
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, dpopInvalid("The DPoP header is not a compact JWT.")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if !strings.EqualFold(h.Type(), "dpop+jwt") {
		return nil, dpopInvalid("The proof's typ must be dpop+jwt.")
	}
	alg := string(h.Algorithm())
	if !slices.Contains(DPoPAlgs, alg) {
		return nil, dpopInvalid("The proof's alg %q is not supported (supported: %s).", alg, strings.Join(DPoPAlgs, " "))
	}
	key := h.JWK()
	if key == nil {
		return nil, dpopInvalid("The proof's header carries no jwk.")
	}
	if private, err := jwk.IsPrivateKey(key); err != nil || private {
		return nil, dpopInvalid("The proof's jwk must be a public key.")
	}
	payload, err := jws.Verify([]byte(raw), jws.WithKey(jwa.SignatureAlgorithm(alg), key))
	if err != nil {
		return nil, dpopInvalid("The proof's signature does not verify with its jwk.")
	}
	var c dpopClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, dpopInvalid("The proof's claims are not a JSON object.")
	}
	var iat float64
	if err := json.Unmarshal(c.IAT, &iat); err != nil || iat <= 0 {
		return nil, dpopInvalid("The proof has no valid iat.")
	}
	switch {
	case c.JTI == "" || len(c.JTI) > dpopMaxJTILen:
		return nil, dpopInvalid("The proof needs a jti of at most %d characters.", dpopMaxJTILen)
	case c.HTM != r.Method:
		return nil, dpopInvalid("The proof's htm does not match the request's method.")
	case !sameHTU(c.HTU, p.cfg.Issuer+path):
		return nil, dpopInvalid("The proof's htu does not match the request's URL.")
	}
	now, at := clock.Now(), time.Unix(int64(iat), 0)
	leeway := max(p.cfg.ClockSkewLeeway, 0)
	if at.Before(now.Add(-dpopMaxAge-leeway)) || at.After(now.Add(leeway)) {
		return nil, dpopInvalid("The proof's iat is too far from the server's time.")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH == "" || !hmac.Equal([]byte(c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) {
			return nil, dpopInvalid("The proof's ath does not hash the access token.")
		}
	}
	if c.Nonce != "" || p.cfg.DPoPNonce {
		if !p.validDPoPNonce(c.Nonce) {
			return nil, &errDPoP{code: "use_dpop_nonce", hint: "Retry with the nonce in the DPoP-Nonce header."}
		}
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, dpopInvalid("The proof's jwk has no thumbprint.")
	}
	return &dpopProof{JKT: base64.RawURLEncoding.EncodeToString(tp), jti: c.JTI, iat: at}, nil
}

// sameHTU compares a proof's htu with the endpoint's URL: scheme and host
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

// spendDPoP records the proof's jti (per key) until it can no longer pass
// the age check, in the store all replicas share: a replayed proof is
// refused.
func (p *Provider) spendDPoP(ctx context.Context, proof *dpopProof) error {
	until := proof.iat.Add(dpopMaxAge + 2*max(p.cfg.ClockSkewLeeway, 0) + time.Minute)
	err := p.st.MarkJTIUsed(ctx, "dpop:"+proof.JKT+":"+proof.jti, until)
	if errors.Is(err, models.ErrAlreadyExists) {
		return dpopInvalid("The proof was used before (its jti was seen).")
	}
	return err
}

// dpopNonceAt is the nonce of the slot holding t.
func (p *Provider) dpopNonceAt(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.Unix()/int64(dpopNonceSlot/time.Second)))
	m := hmac.New(sha256.New, p.cfg.HMACKey)
	m.Write([]byte("sesame dpop nonce\x00"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// DPoPNonce is a fresh nonce for the DPoP-Nonce header.
func (p *Provider) DPoPNonce() string { return p.dpopNonceAt(clock.Now()) }

// validDPoPNonce accepts the nonces of the current slot, the two before
// and the one after.
func (p *Provider) validDPoPNonce(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	now := clock.Now()
	for _, d := range []time.Duration{0, -dpopNonceSlot, -2 * dpopNonceSlot, dpopNonceSlot} {
		if hmac.Equal([]byte(n), []byte(p.dpopNonceAt(now.Add(d)))) {
			return true
		}
	}
	return false
}

// validJKT reports whether v looks like a SHA-256 JWK thumbprint
// (base64url, 43 characters): the dpop_jkt authorization parameter.
func validJKT(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == sha256.Size
}

// bindDPoP applies DPoP to a token request: the client's requirement, the
// key a refresh token or code is bound to, the proof spent once, and the
// key the new tokens are bound to (recorded in the session).
func (p *Provider) bindDPoP(ctx context.Context, ar fosite.AccessRequester, client *Client, proof *dpopProof) error {
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebug("unexpected session type")
	}
	if client.m.DPoPBoundAccessTokens && proof == nil {
		if !p.dpopOn(ctx) {
			return fosite.ErrInvalidRequest.WithHint("This client must use DPoP, which is turned off on this server.")
		}
		return dpopInvalid("This client must send a DPoP proof with every token request.").rfc()
	}
	bound := ""
	switch {
	case ar.GetGrantTypes().ExactOne("refresh_token"):
		bound = sess.RefreshJKT
	case ar.GetGrantTypes().ExactOne("authorization_code"):
		bound = sess.CodeJKT // dpop_jkt at the authorization request (RFC 9449 §10)
	}
	if bound != "" && proof == nil {
		return dpopInvalid("This grant is bound to a DPoP key: send a proof signed with it.").rfc()
	}
	if bound != "" && proof.JKT != bound {
		return fosite.ErrInvalidGrant.WithHint("The DPoP proof is signed with another key than the one this grant is bound to.")
	}
	sess.DPoPJKT = ""
	if proof == nil {
		return nil
	}
	if err := p.spendDPoP(ctx, proof); err != nil {
		var de *errDPoP
		if errors.As(err, &de) {
			return de.rfc()
		}
		return fosite.ErrServerError.WithWrap(err)
	}
	sess.DPoPJKT = proof.JKT
	if !ar.GetGrantTypes().ExactOne("refresh_token") && client.IsPublic() {
		// A public client's refresh token (from a code or a device grant)
		// is bound to the key too (RFC 9449 §5); a confidential client's
		// is bound by its credentials.
		sess.RefreshJKT = proof.JKT
	}
	return nil
}

// dpopError is err as an *errDPoP, with a fresh DPoP-Nonce header when the
// client must retry with one.
func (p *Provider) dpopError(c interface{ Header(string, string) }, err error) *errDPoP {
	var de *errDPoP
	if !errors.As(err, &de) {
		de = dpopInvalid("The DPoP proof could not be checked.")
	}
	if de.code == "use_dpop_nonce" {
		c.Header("DPoP-Nonce", p.DPoPNonce())
	}
	return de
}
