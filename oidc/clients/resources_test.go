package clients

import (
	"errors"
	"strings"
	"testing"
)

// TestResourceSpecValidate: the rules of a resource (RFC 8707 §2: an
// absolute URI without a fragment) and its defaults.
func TestResourceSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec ResourceSpec
		msg  string // "" = valid
	}{
		{"https API", ResourceSpec{Name: "orders", Audience: "https://api.example.com/orders", Scopes: []string{"orders:read"}}, ""},
		{"URN", ResourceSpec{Name: "billing", Audience: "urn:example:billing"}, ""},
		{"opaque format", ResourceSpec{Name: "o", Audience: "https://o.example", AccessTokenFormat: "opaque"}, ""},
		{"relative", ResourceSpec{Name: "a", Audience: "/orders"}, "absolute URI"},
		{"host only", ResourceSpec{Name: "a", Audience: "api.example.com"}, "absolute URI"},
		{"fragment", ResourceSpec{Name: "a", Audience: "https://api.example.com/#x"}, "fragment"},
		{"empty fragment", ResourceSpec{Name: "a", Audience: "https://api.example.com/#"}, "fragment"},
		{"space", ResourceSpec{Name: "a", Audience: "https://api.example.com/a b"}, "spaces"},
		{"too long", ResourceSpec{Name: "a", Audience: "https://api.example.com/" + strings.Repeat("a", 2000)}, "too long"},
		{"bad name", ResourceSpec{Name: "Orders API", Audience: "https://a.example"}, "lower-case"},
		{"colon in name", ResourceSpec{Name: "a:b", Audience: "https://a.example"}, "lower-case"},
		{"OpenID scope", ResourceSpec{Name: "a", Audience: "https://a.example", Scopes: []string{"email"}}, "not a custom scope"},
		{"sesame scope", ResourceSpec{Name: "a", Audience: "https://a.example", Scopes: []string{"sesame:admin"}}, "not a custom scope"},
		{"format", ResourceSpec{Name: "a", Audience: "https://a.example", AccessTokenFormat: "JWT"}, "access_token_format"},
		{"control in description", ResourceSpec{Name: "a", Audience: "https://a.example", Description: "a\x00b"}, "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Normalize()
			err := tt.spec.Validate()
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if tt.spec.AccessTokenFormat == "" {
					t.Fatal("no default format")
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want a validation error containing %q", err, tt.msg)
			}
		})
	}
	s := ResourceSpec{Name: " orders ", Audience: " https://a.example ", Scopes: []string{" a ", "a", ""}}
	s.Normalize()
	if s.Name != "orders" || s.Audience != "https://a.example" || len(s.Scopes) != 1 || s.AccessTokenFormat != "jwt" {
		t.Fatalf("Normalize = %+v", s)
	}
}
