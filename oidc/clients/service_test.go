package clients

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func TestMain(m *testing.M) {
	// Tests hash many secrets; the production cost adds nothing here.
	// TestHashSecretParams checks the real parameters.
	HashParams.Memory = 64
	HashParams.Iterations = 1
	os.Exit(m.Run())
}

func newService(t *testing.T) (*Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return NewService(st, testSecrets(t)), st
}

func testSecrets(t *testing.T) *Secrets {
	t.Helper()
	s, err := NewSecrets([]byte("client-secret-hash-key-0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustVerify(t *testing.T, hash, secret string) bool {
	t.Helper()
	ok, _, err := testSecrets(t).Verify(context.Background(), hash, secret)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	now := time.Now().UTC()
	if err := st.CreateGroup(ctx, &models.Group{ID: "g1", Name: "staff", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCustomScope(ctx, &models.CustomScope{Name: "roles", CreatedAt: now, UpdatedAt: now,
		Claims: models.ScopeClaims{{Claim: "app_roles", Source: models.ClaimFromAttribute, Attribute: "roles"}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		spec       Spec
		wantSecret bool
		wantErr    string
	}{
		{name: "confidential gets a secret", spec: base(), wantSecret: true},
		{name: "client_secret_post gets a secret", spec: Spec{Name: "Post", RedirectURIs: []string{"https://a.example/cb"}, TokenEndpointAuthMethod: "client_secret_post"}, wantSecret: true},
		{name: "public gets none", spec: Spec{Name: "SPA", Public: true, RedirectURIs: []string{"http://localhost:3000/cb"}}},
		{name: "private_key_jwt gets none", spec: Spec{Name: "JWT", RedirectURIs: []string{"https://a.example/cb"}, TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: "https://a.example/jwks"}},
		{name: "invalid is not stored", spec: Spec{Name: "Bad", RedirectURIs: []string{"http://a.example/cb"}}, wantErr: "redirect_uris"},
		{name: "unknown group is not stored", spec: Spec{Name: "G", RedirectURIs: []string{"https://a.example/cb"}, AllowedGroups: []string{"staff", "nobody-here"}}, wantErr: `unknown group "nobody-here"`},
		{name: "known group", spec: Spec{Name: "G", RedirectURIs: []string{"https://a.example/cb"}, AllowedGroups: []string{"staff"}}, wantSecret: true},
		{name: "unknown custom scope is not stored", spec: Spec{Name: "S", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid", "nosuch"}}, wantErr: `unknown scope "nosuch"`},
		{name: "known custom scope", spec: Spec{Name: "S", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid", "roles"}}, wantSecret: true},
		{name: "web origins are stored", spec: Spec{Name: "SPA", Public: true, RedirectURIs: []string{"https://app.example/cb"},
			AllowedWebOrigins: []string{"https://app.example", "http://localhost:5173"}}},
		{name: "an origin with a path is not stored", spec: Spec{Name: "SPA", Public: true, RedirectURIs: []string{"https://app.example/cb"},
			AllowedWebOrigins: []string{"https://app.example/app"}}, wantErr: "allowed_web_origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := svc.List(ctx)
			c, plain, err := svc.Create(ctx, tt.spec)
			if tt.wantErr != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a validation error naming %s", err, tt.wantErr)
				}
				after, _ := svc.List(ctx)
				if len(after) != len(before) {
					t.Fatal("an invalid client was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(c.ID); err != nil || len(raw) != 16 {
				t.Errorf("client id %q is not 16 bytes base64url", c.ID)
			}
			got, err := st.GetClient(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSecret {
				if raw, err := base64.RawURLEncoding.DecodeString(plain); err != nil || len(raw) != 32 {
					t.Errorf("secret %q is not 32 bytes base64url", plain)
				}
				if !strings.HasPrefix(got.SecretHash, "$hmac-sha256$") || strings.Contains(got.SecretHash, plain) {
					t.Errorf("stored secret is not a keyed hash: %q", got.SecretHash)
				}
				if !mustVerify(t, got.SecretHash, plain) || mustVerify(t, got.SecretHash, plain+"x") {
					t.Error("stored hash does not verify the secret exactly")
				}
			} else if plain != "" || got.SecretHash != "" {
				t.Errorf("client without secret method got secret %q / hash %q", plain, got.SecretHash)
			}
			spec := tt.spec
			spec.Normalize()
			if !reflect.DeepEqual(ToSpec(got), spec) {
				t.Errorf("stored spec\n got  %+v\n want %+v", ToSpec(got), spec)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	c, secret, err := svc.Create(ctx, base())
	if err != nil {
		t.Fatal(err)
	}

	spec := ToSpec(c)
	spec.Name = "Renamed"
	spec.Scopes = []string{"openid"}
	up, err := svc.Update(ctx, c.ID, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Get(ctx, c.ID)
	if got.Name != "Renamed" || !reflect.DeepEqual([]string(got.Scopes), []string{"openid"}) || up.Name != "Renamed" {
		t.Fatalf("update not stored: %+v", got)
	}
	if !mustVerify(t, got.SecretHash, secret) {
		t.Fatal("update must keep the secret")
	}
	if !got.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("created_at changed: %v -> %v", c.CreatedAt, got.CreatedAt)
	}

	bad := ToSpec(got)
	bad.RedirectURIs = []string{"https://x.example/cb#frag"}
	if _, err := svc.Update(ctx, c.ID, bad); err == nil || !strings.Contains(err.Error(), "redirect_uris") {
		t.Fatalf("invalid update: err = %v", err)
	}

	if _, err := svc.Update(ctx, "nope", spec); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown id: err = %v, want ErrNotFound", err)
	}

	// Going public drops the secret for good.
	pub := ToSpec(got)
	pub.Public = true
	pub.TokenEndpointAuthMethod = ""
	if _, err := svc.Update(ctx, c.ID, pub); err != nil {
		t.Fatal(err)
	}
	got, _ = svc.Get(ctx, c.ID)
	if got.SecretHash != "" || got.TokenEndpointAuthMethod != "none" {
		t.Fatalf("public client kept a secret: %+v", got)
	}

	// Back to confidential: a secret method needs a new secret.
	conf := ToSpec(got)
	conf.Public = false
	conf.TokenEndpointAuthMethod = "client_secret_basic"
	_, err = svc.Update(ctx, c.ID, conf)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "token_endpoint_auth_method" {
		t.Fatalf("switch to secret method without a secret: err = %v", err)
	}
	_, newSecret, err := svc.UpdateAndRotateSecret(ctx, c.ID, conf)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = svc.Get(ctx, c.ID)
	if got.Public || !mustVerify(t, got.SecretHash, newSecret) || mustVerify(t, got.SecretHash, secret) {
		t.Fatalf("switch to confidential: %+v", got)
	}
}

func TestRotateSecret(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	c, old, err := svc.Create(ctx, base())
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := svc.RotateSecret(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Get(ctx, c.ID)
	if fresh == old || !mustVerify(t, got.SecretHash, fresh) || mustVerify(t, got.SecretHash, old) {
		t.Fatal("rotation must replace the secret and invalidate the old one")
	}

	pub, _, err := svc.Create(ctx, Spec{Name: "SPA", Public: true, RedirectURIs: []string{"http://localhost/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RotateSecret(ctx, pub.ID); err == nil {
		t.Fatal("public clients have no secret to rotate")
	}
	if _, err := svc.RotateSecret(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown id: err = %v", err)
	}
}

func TestListAndDelete(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	a, _, err := svc.Create(ctx, Spec{Name: "B app", RedirectURIs: []string{"https://b.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, Spec{Name: "A app", RedirectURIs: []string{"https://a.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "A app" {
		t.Fatalf("list = %+v", list)
	}
	if err := svc.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, a.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleted client: err = %v", err)
	}
	if err := svc.Delete(ctx, a.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("second delete: err = %v", err)
	}
}

// TestSecretForms: generated secrets are stored as a keyed HMAC (no
// memory-hard work per guess); argon2id hashes (weak or old secrets) still
// verify, with the real OWASP parameters, and a match asks for an upgrade.
func TestSecretForms(t *testing.T) {
	ctx := context.Background()
	s := testSecrets(t)
	h := s.Hash("s3cret")
	if !strings.HasPrefix(h, "$hmac-sha256$") || MemoryHard(h) || strings.Contains(h, "s3cret") {
		t.Fatalf("generated-secret hash %q", h)
	}
	for _, tc := range []struct {
		hash, secret string
		ok, upgrade  bool
		wantErr      bool
	}{
		{hash: h, secret: "s3cret", ok: true},
		{hash: h, secret: "S3cret"},
		{hash: "", secret: "anything"},
		{hash: "garbage", secret: "x", wantErr: true},
		{hash: "$hmac-sha256$!!", secret: "x", wantErr: true},
	} {
		ok, up, err := s.Verify(ctx, tc.hash, tc.secret)
		if ok != tc.ok || up != tc.upgrade || (err != nil) != tc.wantErr {
			t.Errorf("Verify(%q, %q) = %v, %v, %v", tc.hash, tc.secret, ok, up, err)
		}
	}
	other, err := NewSecrets([]byte("another-key-of-at-least-32-bytes-000000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := other.Verify(ctx, h, "s3cret"); ok {
		t.Fatal("an HMAC hash verified under another key")
	}
	if _, err := NewSecrets([]byte("short"), nil); err == nil {
		t.Fatal("a short key was accepted")
	}

	p := HashParams
	t.Cleanup(func() { HashParams = p })
	HashParams.Memory, HashParams.Iterations = 19*1024, 2
	old, err := HashMemoryHard("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(old, "$argon2id$v=19$m=19456,t=2,p=1$") || !MemoryHard(old) {
		t.Fatalf("hash %q does not record OWASP's minimum parameters", old)
	}
	if ok, up, err := s.Verify(ctx, old, "s3cret"); !ok || !up || err != nil {
		t.Fatalf("argon2id match: %v %v %v, want a match that asks for an upgrade", ok, up, err)
	}
	if ok, up, _ := s.Verify(ctx, old, "S3cret"); ok || up {
		t.Fatal("wrong secret verified against argon2id")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Verify(cancelled, old, "s3cret"); err == nil {
		t.Fatal("a memory-hard check ran for a caller that had given up")
	}
}
