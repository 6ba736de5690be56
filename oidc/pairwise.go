package oidc

// Pairwise subject identifiers (OIDC Core §8.1). A client registered with
// subject_type pairwise sees, as sub, not the user's id but
//
//	base64url(HMAC-SHA-256(K, sector_identifier || 0x00 || user_id))
//
// where K is derived from the system secret (HKDF, purpose
// "pairwise-subjects") and the sector identifier is the host of the
// client's sector_identifier_uri, or of its redirect URIs (clients.
// SectorIdentifier). Clients of one sector see one sub; clients of two
// sectors cannot correlate a user. Nothing else enters the value: it is
// stable across signing-key rotation, client secret rotation and any other
// change of the client but its sector; only a new system secret changes it.
//
// Inside Sesame a grant's subject stays the user's id (fosite's session,
// the stored token records, revocation by user); the pairwise value is what
// leaves: ID tokens, userinfo, introspection, JWT access tokens and logout
// tokens all map the user's id through subjectFor.

import (
	"github.com/ory/fosite"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// subjectFor is the sub client m sees for user userID.
func (p *Provider) subjectFor(m *models.Client, userID string) string {
	if m == nil || m.SubjectType != clients.SubjectPairwise {
		return userID
	}
	return PairwiseSubject(p.cfg.PairwiseKey, clients.SectorIdentifier(m.SectorIdentifierURI, m.RedirectURIs), userID)
}

// pairwiseIntrospection makes an introspection answer name the user by the
// sub the token's client sees. The session was loaded for this answer
// only and is never stored again.
func pairwiseIntrospection(p *Provider, ir fosite.IntrospectionResponder) {
	ar := ir.GetAccessRequester()
	if ar == nil {
		return
	}
	cl, ok := ar.GetClient().(*Client)
	sess, sok := ar.GetSession().(*Session)
	if !ok || !sok || sess.DefaultSession == nil || sess.Subject == "" || sess.Subject == cl.GetID() {
		return // a client_credentials token names the client
	}
	if sess.SubjectAs != "" {
		sess.Subject = sess.SubjectAs // exchange.go
		return
	}
	sess.Subject = p.subjectFor(cl.m, sess.Subject)
}

// model is c's record, nil for a nil client.
func (c *Client) model() *models.Client {
	if c == nil {
		return nil
	}
	return c.m
}

// keyFor derives a key for purpose from key.
func keyFor(key []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// PairwiseSubject derives the pairwise sub of userID in sector with key.
func PairwiseSubject(key []byte, sector, userID string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sector))
	mac.Write([]byte{0})
	mac.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
