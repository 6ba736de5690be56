package passkey

import (
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// BenchmarkPasskeyLogin is a whole passkey sign-in without a browser:
// BeginLogin (options + ceremony row), the virtual authenticator's
// assertion, FinishLogin (ceremony consumed, credential and user read,
// verification, counter update, the assurance facts). "with metadata"
// adds FIDO metadata (attestation direct, a BLOB listing the model): the
// status check and the facts' metadata lookup of each sign-in.
func BenchmarkPasskeyLogin(b *testing.B) {
	const model = "0a1b2c3d-0000-4000-8000-0000000000be"
	signer := mdstest.NewSigner(b)
	blob := signer.Blob(b, mdstest.Entry{AAGUID: model, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}, UV: []string{"passcode_internal"}})
	withMDS := func(c *Config) { c.Attestation, c.MDSFile, c.MDSRoot = "direct", blob, signer.Root }
	storetest.ForEachDialect(b, func(b *testing.B, d storetest.Dialect) {
		for _, style := range []string{"username-first", "usernameless", "usernameless with metadata"} {
			b.Run(style, func(b *testing.B) {
				var mutate func(*Config)
				if strings.HasSuffix(style, "with metadata") {
					mutate = withMDS
				}
				e := newEnv(b, d.Open(b), mutate)
				user := e.createUser("bench@example.test")
				dev := newDevice(deviceOpts{aaguid: model})
				e.register(user, nil, models.CredentialPasskey, dev)
				named := user
				if strings.HasPrefix(style, "usernameless") {
					named = nil
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					opts, cid, err := e.svc.BeginLogin(e.ctx, named, testBrowser, testIA)
					if err != nil {
						b.Fatal(err)
					}
					dev.cred.Counter++
					if _, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, dev.assert(b, opts, testRP, nil)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
