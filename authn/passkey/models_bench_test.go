package passkey

import (
	"fmt"
	"testing"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// BenchmarkAssuranceCheck is the decision each passkey sign-in makes
// about the credential's model (checkModel, called by FinishLogin, and
// by ModelQualifies for a step-up's list): the global allow list (100
// models) from the live policy, then the client's own list (5 models) in
// enforce or grace mode. No database: the policy source is in memory, as
// policy.Live serves it from its cache between refreshes.
func BenchmarkAssuranceCheck(b *testing.B) {
	const model = "0a1b2c3d-0000-4000-8000-0000000000be"
	global := []string{model}
	for i := range 99 {
		global = append(global, fmt.Sprintf("0a1b2c3d-0000-4000-8000-%012d", i))
	}
	own := append([]string{model}, global[1:5]...)
	pol := &fixedPolicy{p: policy.Passkey{UserVerification: "preferred", Attestation: "direct", AAGUIDAllow: global}}
	e := newEnv(b, storetest.OpenSQLite(b), func(c *Config) { c.Policy = pol })
	for _, tc := range []struct {
		name      string
		client    []string
		mode      string
		aaguid    string
		format    string
		wantGrace bool
		wantErr   bool
	}{
		{"global list only, allowed", nil, "", model, "packed", false, false},
		{"global and client lists, allowed", own, policy.ModelEnforce, model, "packed", false, false},
		{"client list enforced, other model refused", own, policy.ModelEnforce, global[50], "packed", false, true},
		{"client list in grace, other model warned", own, policy.ModelGrace, global[50], "packed", true, false},
		{"unattested (format none) refused", own, policy.ModelEnforce, model, "none", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := (&ceremonyData{}).clientRules(Options{AAGUIDAllow: tc.client, AAGUIDAllowMode: tc.mode})
			grace, perr := e.svc.checkModel(e.ctx, data, tc.aaguid, tc.format)
			if grace != tc.wantGrace || (perr != nil) != tc.wantErr {
				b.Fatalf("grace %v, error %v; want %v, %v", grace, perr, tc.wantGrace, tc.wantErr)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = e.svc.checkModel(e.ctx, data, tc.aaguid, tc.format)
			}
		})
	}
}
