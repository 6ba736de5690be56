package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store"
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
