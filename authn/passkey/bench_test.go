package passkey

import (
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// BenchmarkPasskeyLogin is a whole passkey sign-in without a browser:
// BeginLogin (options + ceremony row), the virtual authenticator's
// assertion, FinishLogin (ceremony consumed, credential and user read,
// verification, counter update).
func BenchmarkPasskeyLogin(b *testing.B) {
	storetest.ForEachDialect(b, func(b *testing.B, d storetest.Dialect) {
		for _, style := range []string{"username-first", "usernameless"} {
			b.Run(style, func(b *testing.B) {
				e := newEnv(b, d.Open(b), nil)
				user := e.createUser("bench@example.test")
				dev := newDevice(deviceOpts{})
				e.register(user, nil, models.CredentialPasskey, dev)
				named := user
				if style == "usernameless" {
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
