package browsertest

import (
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
)

// Attestation creates a credential with direct attestation in Chromium's
// virtual authenticator, on a blank page of a throwaway localhost server,
// and returns what a FIDO metadata entry for it needs: its attestation
// certificate (packed, x5c: self-issued by a fixed test key, without CA
// rights, new for each credential; mdstest.AnchorFor makes the CA
// certificate of that key) and its AAGUID, the same for every virtual
// authenticator.
func Attestation(t *testing.T) (cert *x509.Certificate, aaguid string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>attestation</title>`))
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx := New(t)
	AddAuthenticator(t, ctx, Passkey())
	Do(t, ctx, "open blank page", chromedp.Navigate("http://localhost:"+port+"/"))
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.credentials.create({publicKey: {
		rp: {id: "localhost", name: "probe"}, user: {id: new Uint8Array([1]), name: "probe", displayName: "probe"},
		challenge: new Uint8Array(32), pubKeyCredParams: [{type: "public-key", alg: -7}],
		attestation: "direct", authenticatorSelection: {residentKey: "required", userVerification: "required"}
	}}).then(c => JSON.stringify(c.toJSON()))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("create a credential with direct attestation: %v", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	att := parsed.Response.AttestationObject
	x5c, _ := att.AttStatement["x5c"].([]any)
	if att.Format != "packed" || len(x5c) == 0 {
		t.Fatalf("Chromium's attestation is %q with %d certificates; want packed with x5c", att.Format, len(x5c))
	}
	der, _ := x5c[0].([]byte)
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	id, err := uuid.FromBytes(att.AuthData.AttData.AAGUID)
	if err != nil {
		t.Fatal(err)
	}
	return cert, id.String()
}
