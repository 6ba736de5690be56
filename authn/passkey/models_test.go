package passkey

import (
	"testing"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestAllowListsKeptPerPolicyVersion: the global AAGUID allow list is
// parsed once per policy version (checkedPolicy) — the same version is
// answered from the kept reading, a new version (a save) applies at the
// next check — and a client's list is matched as stored, in any form a
// UUID may take, while entries that are no UUID allow nothing.
func TestAllowListsKeptPerPolicyVersion(t *testing.T) {
	const (
		model = "0a1b2c3d-0000-4000-8000-0000000000be"
		other = "0a1b2c3d-0000-4000-8000-0000000000ff"
	)
	pol := &fixedPolicy{p: policy.Passkey{Attestation: "direct", AAGUIDAllow: []string{model}, Version: 3}}
	e := newEnv(t, storetest.OpenSQLite(t), func(c *Config) { c.Policy = pol })
	global := (&ceremonyData{}).clientRules(Options{})
	check := func(what string, data *ceremonyData, aaguid string, wantRefused, wantGrace bool) {
		t.Helper()
		grace, perr := e.svc.checkModel(e.ctx, data, aaguid, "packed")
		if (perr != nil) != wantRefused || grace != wantGrace {
			t.Fatalf("%s: refused %v (%v), grace %v; want refused %v, grace %v", what, perr != nil, perr, grace, wantRefused, wantGrace)
		}
	}
	check("listed model", global, model, false, false)
	check("other model", global, other, true, false)

	// The same version with another list (no save happened): the kept
	// reading answers, nothing is parsed again.
	first := e.svc.checked.Load()
	pol.mu.Lock()
	pol.p.AAGUIDAllow = []string{other}
	pol.mu.Unlock()
	check("same version", global, model, false, false)
	if e.svc.checked.Load() != first {
		t.Fatal("the policy was checked again for the same version")
	}

	// A save: the new version's list applies at once, in grace mode too.
	pol.mu.Lock()
	pol.p.Version, pol.p.AAGUIDAllowMode = 4, policy.ModelGrace
	pol.mu.Unlock()
	check("new version, listed", global, other, false, false)
	check("new version, off the list in grace", global, model, false, true)

	// A client's own list, enforced, in the forms uuid.Parse accepts.
	for _, tc := range []struct {
		name    string
		list    []string
		refused bool
	}{
		{"store form", []string{other, model}, false},
		{"upper case", []string{"0A1B2C3D-0000-4000-8000-0000000000BE"}, false},
		{"no hyphens", []string{"0a1b2c3d0000400080000000000000be"}, false},
		{"urn", []string{"urn:uuid:" + model}, false},
		{"another model", []string{other}, true},
		{"nothing usable", []string{"not-a-uuid", ""}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := (&ceremonyData{}).clientRules(Options{AAGUIDAllow: tc.list, AAGUIDAllowMode: policy.ModelEnforce})
			// model is off the global list (grace): warned when the
			// client's list accepts it.
			check(tc.name, data, model, tc.refused, !tc.refused)
		})
	}
}
