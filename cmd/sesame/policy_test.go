package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestTokenExchangeCLI: "policy token-exchange on|off" switches the live
// policy's token exchange (a running server reads it from the store),
// refuses another word, and is audited.
func TestTokenExchangeCLI(t *testing.T) {
	dir := t.TempDir()
	if r := inDir(t, dir, "policy", "token-exchange", "maybe"); r.code != exitUsage || !strings.Contains(r.stderr, `"maybe" is not on or off`) {
		t.Fatalf("unknown word: %+v", r)
	}
	cases := []struct {
		arg, out, show string
		want           bool
	}{
		{"on", "Token exchange: on (was off)", `"token_exchange": true`, true},
		{"on", "Token exchange: on (was on)", `"token_exchange": true`, true},
		{"off", "Token exchange: off (was on)", `"token_exchange": false`, false},
	}
	for _, c := range cases {
		if r := mustOK(t, inDir(t, dir, "policy", "token-exchange", c.arg)); !strings.Contains(r.stdout, c.out) {
			t.Fatalf("token-exchange %s:\n%s", c.arg, r.stdout)
		}
		if r := mustOK(t, inDir(t, dir, "policy", "show")); !strings.Contains(r.stdout, c.show) {
			t.Fatalf("policy show after %s:\n%s", c.arg, r.stdout)
		}
		// What a server on the same database reads.
		on, err := policy.New(openTestStore(t, dir), config.Default()).TokenExchange(context.Background())
		if err != nil || on != c.want {
			t.Fatalf("live policy after %s: %v, %v", c.arg, on, err)
		}
	}
	es, err := openTestStore(t, dir).ListAuditEntries(context.Background(), store.AuditFilter{Action: "policy.update"}, 10)
	if err != nil || len(es) != len(cases) || !strings.Contains(es[0].AfterJSON, `"token_exchange":false`) {
		t.Fatalf("audit: %d entries, %v", len(es), err)
	}
}

// TestProtocolSwitchesCLI: "policy backchannel-logout|frontchannel-logout|
// pairwise-subjects|device-grant|dpop|par|require-par on|off" switch the live
// policy on SQLite and PostgreSQL (the configuration's defaults: all on but
// require-par), say what each was,
// refuse another word, leave the other switches alone and are audited.
func TestProtocolSwitchesCLI(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		for _, tc := range []struct {
			cmd, label, key string
			field           func(*policy.Protocol) *bool
			def             bool // the configuration's default
		}{
			{"backchannel-logout", "Back-channel logout", "backchannel_logout", func(p *policy.Protocol) *bool { return &p.BackchannelLogout }, true},
			{"frontchannel-logout", "Front-channel logout", "frontchannel_logout", func(p *policy.Protocol) *bool { return &p.FrontchannelLogout }, true},
			{"pairwise-subjects", "Pairwise subjects", "pairwise_subjects", func(p *policy.Protocol) *bool { return &p.PairwiseSubjects }, true},
			{"device-grant", "Device grant", "device_grant", func(p *policy.Protocol) *bool { return &p.DeviceGrant }, true},
			{"dpop", "DPoP", "dpop", func(p *policy.Protocol) *bool { return &p.DPoP }, true},
			{"par", "Pushed authorization requests", "pushed_authorization_requests", func(p *policy.Protocol) *bool { return &p.PAR }, true},
			{"require-par", "Required pushed authorization requests", "require_pushed_authorization_requests", func(p *policy.Protocol) *bool { return &p.RequirePAR }, false},
		} {
			t.Run(tc.cmd, func(t *testing.T) {
				if r := cli("policy", tc.cmd, "yes"); r.code != exitUsage || !strings.Contains(r.stderr, `"yes" is not on or off`) {
					t.Fatalf("unknown word: %+v", r)
				}
				before, err := policy.New(st, config.Default()).Protocol(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if *tc.field(&before) != tc.def {
					t.Fatalf("%s before: %+v, want the default %v", tc.cmd, before, tc.def)
				}
				// Away from the default, again (no change), and back.
				away, back := onOff(!tc.def), onOff(tc.def)
				for _, step := range []struct {
					arg, out string
					want     bool
				}{
					{away, tc.label + ": " + away + " (was " + back + ")", !tc.def},
					{away, tc.label + ": " + away + " (was " + away + ")", !tc.def},
					{back, tc.label + ": " + back + " (was " + away + ")", tc.def},
				} {
					if r := mustOK(t, cli("policy", tc.cmd, step.arg)); !strings.Contains(r.stdout, step.out) {
						t.Fatalf("%s %s: %s", tc.cmd, step.arg, r.stdout)
					}
					// What a server on the same database reads.
					got, err := policy.New(st, config.Default()).Protocol(ctx)
					if err != nil || *tc.field(&got) != step.want {
						t.Fatalf("live policy after %s %s: %+v, %v", tc.cmd, step.arg, got, err)
					}
					after := got // the others untouched
					*tc.field(&after) = *tc.field(&before)
					if after != before {
						t.Fatalf("%s changed other switches: %+v, was %+v", tc.cmd, got, before)
					}
				}
				es, err := st.ListAuditEntries(ctx, store.AuditFilter{Action: "policy.update"}, 1)
				if err != nil || len(es) != 1 || !strings.Contains(es[0].AfterJSON, fmt.Sprintf(`"%s":%t`, tc.key, tc.def)) || !strings.Contains(es[0].BeforeJSON, fmt.Sprintf(`"%s":%t`, tc.key, !tc.def)) {
					t.Fatalf("audit of %s: %+v, %v", tc.cmd, es, err)
				}
			})
		}
	})
}
