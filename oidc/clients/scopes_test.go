package clients

import (
	"errors"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
)

func TestScopeSpecValidate(t *testing.T) {
	attr := func(claim, a string) models.ScopeClaim {
		return models.ScopeClaim{Claim: claim, Source: models.ClaimFromAttribute, Attribute: a}
	}
	tests := []struct {
		name string
		spec ScopeSpec
		msg  string // "" = valid
	}{
		{"permission scope without claims", ScopeSpec{Name: "orders:read"}, ""},
		{"attribute and groups", ScopeSpec{Name: "app:roles", Claims: []models.ScopeClaim{attr("app_roles", "roles"), {Claim: "teams", Source: models.ClaimFromGroups}}}, ""},
		{"shadows sub", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{attr("sub", "id")}}, `"sub" is a registered or standard claim`},
		{"shadows email", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{attr("email", "mail")}}, "registered or standard"},
		{"shadows groups", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{{Claim: "groups", Source: models.ClaimFromGroups}}}, "registered or standard"},
		{"built-in scope name", ScopeSpec{Name: "profile", Claims: []models.ScopeClaim{attr("a", "a")}}, "built-in scope"},
		{"sesame namespace", ScopeSpec{Name: "sesame:x", Claims: []models.ScopeClaim{attr("a", "a")}}, "built-in scope"},
		{"bad name", ScopeSpec{Name: "Roles!", Claims: []models.ScopeClaim{attr("a", "a")}}, "lower-case"},
		{"duplicate claim", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{attr("a", "a"), attr("a", "b")}}, "listed twice"},
		{"bad source", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{{Claim: "a", Source: "email"}}}, "source must be"},
		{"bad attribute", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{attr("a", "no spaces")}}, "attribute"},
		{"groups with attribute", ScopeSpec{Name: "x", Claims: []models.ScopeClaim{{Claim: "a", Source: models.ClaimFromGroups, Attribute: "a"}}}, "takes no attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Normalize()
			err := tt.spec.Validate()
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want a validation error containing %q", err, tt.msg)
			}
		})
	}
}
