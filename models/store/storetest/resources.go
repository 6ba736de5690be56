package storetest

import (
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var resourceTests = []subtest{
	{"CRUD", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		name := "orders-" + randHex(4)
		aud := "https://api.example.com/" + name
		r := &models.Resource{Name: name, Description: "orders", Audience: aud, Scopes: models.StringList{"orders:read"},
			AccessTokenFormat: models.TokenFormatJWT, CreatedAt: at(0), UpdatedAt: at(0)}
		must(t, s.CreateResource(ctx, r))
		wantErr(t, "same name", s.CreateResource(ctx, &models.Resource{Name: name, Audience: aud + "/other", Scopes: models.StringList{}, CreatedAt: at(0), UpdatedAt: at(0)}), models.ErrAlreadyExists)
		wantErr(t, "same audience", s.CreateResource(ctx, &models.Resource{Name: name + "-2", Audience: aud, Scopes: models.StringList{}, CreatedAt: at(0), UpdatedAt: at(0)}), models.ErrAlreadyExists)
		if _, err := s.GetResource(ctx, name+"-2"); err == nil {
			t.Error("a refused resource was written")
		}

		r.Description, r.Scopes, r.AccessTokenFormat = "orders API", models.StringList{"orders:read", "orders:write"}, models.TokenFormatOpaque
		must(t, s.UpdateResource(ctx, r))
		got, err := s.GetResource(ctx, name)
		must(t, err)
		if got.Description != "orders API" || got.Audience != aud || !slices.Equal(got.Scopes, r.Scopes) || got.AccessTokenFormat != models.TokenFormatOpaque {
			t.Errorf("GetResource = %+v", got)
		}

		other := &models.Resource{Name: name + "-b", Audience: aud + "/b", Scopes: models.StringList{}, AccessTokenFormat: models.TokenFormatJWT, CreatedAt: at(0), UpdatedAt: at(0)}
		must(t, s.CreateResource(ctx, other))
		other.Audience = aud
		wantErr(t, "update to a taken audience", s.UpdateResource(ctx, other), models.ErrAlreadyExists)
		got, err = s.GetResource(ctx, other.Name)
		must(t, err)
		if got.Audience != aud+"/b" {
			t.Errorf("refused update was written: %+v", got)
		}

		list, err := s.ListResources(ctx)
		must(t, err)
		i := slices.IndexFunc(list, func(x models.Resource) bool { return x.Name == name })
		j := slices.IndexFunc(list, func(x models.Resource) bool { return x.Name == other.Name })
		if i < 0 || j < 0 || i > j {
			t.Errorf("ListResources misses or misorders %s, %s: %d, %d", name, other.Name, i, j)
		}
		must(t, s.DeleteResource(ctx, name))
		must(t, s.DeleteResource(ctx, other.Name))
		_, err = s.GetResource(ctx, name)
		wantErr(t, "deleted", err, models.ErrNotFound)
		wantErr(t, "delete again", s.DeleteResource(ctx, name), models.ErrNotFound)
		wantErr(t, "update missing", s.UpdateResource(ctx, r), models.ErrNotFound)
	}},
	{"ClientTokenSettings", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := newClient()
		c.AccessTokenFormat = models.TokenFormatJWT
		c.DPoPBoundAccessTokens = true
		must(t, s.CreateClient(ctx, c))
		got, err := s.GetClient(ctx, c.ID)
		must(t, err)
		if got.AccessTokenFormat != models.TokenFormatJWT || !got.DPoPBoundAccessTokens {
			t.Errorf("GetClient = format %q, dpop %v", got.AccessTokenFormat, got.DPoPBoundAccessTokens)
		}
		got.AccessTokenFormat, got.DPoPBoundAccessTokens = "", false
		must(t, s.UpdateClient(ctx, got))
		got, err = s.GetClient(ctx, c.ID)
		must(t, err)
		if got.AccessTokenFormat != "" || got.DPoPBoundAccessTokens {
			t.Errorf("after update: format %q, dpop %v", got.AccessTokenFormat, got.DPoPBoundAccessTokens)
		}
	}},
}
