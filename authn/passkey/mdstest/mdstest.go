// Package mdstest signs FIDO MDS3 metadata BLOBs with a test root, as the
// FIDO Alliance signs the real one with theirs, for tests of the metadata
// checks (unit tests of authn/passkey, and servers started by
// server/servertest with SESAME_MDS_ROOT set to Signer.Root).
package mdstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Signer signs BLOBs (JWS, ES256) with a self-signed test root.
type Signer struct {
	key *ecdsa.PrivateKey
	// Root is the root certificate, base64 DER (passkey.Config.MDSRoot,
	// config's mds_root).
	Root string
}

// NewSigner makes a signer with a fresh root valid for a day.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test MDS root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{key: key, Root: base64.StdEncoding.EncodeToString(der)}
}

// Entry is one authenticator model of a BLOB.
type Entry struct {
	AAGUID string
	// Status is the model's one status report (e.g. FIDO_CERTIFIED_L1,
	// REVOKED).
	Status string
	// Types are the attestation types of its statement (basic_full,
	// basic_surrogate, …).
	Types []string
	// Roots are its attestation root certificates (base64 DER).
	Roots []string
	// UV lists the user verification methods it offers, each one
	// alternative (fingerprint_internal, passcode_internal, …).
	UV []string
	// Description is the model's name for people ("" for
	// "Test authenticator <AAGUID>").
	Description string
}

// Blob writes a signed BLOB listing entries and returns its path.
func (s *Signer) Blob(t testing.TB, entries ...Entry) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mds.jwt")
	if err := os.WriteFile(path, append(s.Bytes(t, entries...), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Bytes returns a signed BLOB listing entries (serial 1, next update in
// 2099).
func (s *Signer) Bytes(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	return s.BytesWith(t, Header{}, entries...)
}

// Header is a BLOB's serial number ("no", default 1) and nextUpdate
// (default 2099-01-01).
type Header struct {
	No         int
	NextUpdate time.Time
}

// BytesWith returns a signed BLOB with header h listing entries.
func (s *Signer) BytesWith(t testing.TB, h Header, entries ...Entry) []byte {
	t.Helper()
	if h.No == 0 {
		h.No = 1
	}
	next := "2099-01-01"
	if !h.NextUpdate.IsZero() {
		next = h.NextUpdate.Format(time.DateOnly)
	}
	list := []map[string]any{}
	for _, e := range entries {
		desc := e.Description
		if desc == "" {
			desc = "Test authenticator " + e.AAGUID
		}
		stmt := map[string]any{
			"aaguid": e.AAGUID, "description": desc,
			"protocolFamily": "fido2", "attestationTypes": e.Types,
		}
		if len(e.Roots) > 0 {
			stmt["attestationRootCertificates"] = e.Roots
		}
		if len(e.UV) > 0 {
			var uv [][]map[string]any
			for _, m := range e.UV {
				uv = append(uv, []map[string]any{{"userVerificationMethod": m}})
			}
			stmt["userVerificationDetails"] = uv
		}
		list = append(list, map[string]any{
			"aaguid":                 e.AAGUID,
			"metadataStatement":      stmt,
			"statusReports":          []map[string]any{{"status": e.Status, "effectiveDate": "2020-01-01"}},
			"timeOfLastStatusChange": "2020-01-01",
		})
	}
	payload, _ := json.Marshal(map[string]any{"legalHeader": "test", "no": h.No, "nextUpdate": next, "entries": list})
	header, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT"})
	signing := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(signing))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return []byte(signing + "." + b64(sig))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// AnchorFor returns a CA certificate (base64 DER) for the key that signed
// leaf: leaf's issuer name and public key, with CA rights, so that leaf
// chains to it when listed among a model's attestation roots. It is for
// attestation certificates that are self-issued without CA rights, such
// as Chromium's virtual authenticator's (a new one per credential, so the
// certificate itself cannot be the anchor); a vendor's metadata lists the
// CA its batch certificates are issued by. Only the self-issued case is
// supported: leaf's public key is taken as the issuer's.
func (s *Signer) AnchorFor(t testing.TB, leaf *x509.Certificate) string {
	t.Helper()
	if leaf.Subject.String() != leaf.Issuer.String() {
		t.Fatalf("AnchorFor: %s is issued by %s, not self-issued", leaf.Subject, leaf.Issuer)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		RawSubject:            leaf.RawIssuer, // byte for byte: chains are built on raw names
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		// Go's chain building skips a candidate issuer with the leaf's
		// subject and key unless their subjectAltNames differ (a guard
		// against cross-signing loops); the leaf has none.
		DNSNames: []string{"attestation-ca.test"},
	}
	// A trust anchor's own signature is never checked; the test root signs
	// it so that it is a well-formed certificate.
	parent, err := x509.ParseCertificate(s.rootDER())
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, leaf.PublicKey, s.key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func (s *Signer) rootDER() []byte {
	der, _ := base64.StdEncoding.DecodeString(s.Root)
	return der
}
