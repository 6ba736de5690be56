package oidc

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Custom scopes (defined by admins, models.CustomScope) release claims
// taken from a user's attributes or groups. A client may ask for those it
// registered (fosite's exact scope strategy); the claims are released in
// the ID token, at userinfo and in introspection like the standard ones.
// Each replica keeps the definitions in memory, dropped by the change
// feed (InvalidateScopes) and at most ClientCacheTTL old otherwise; the
// discovery document is rebuilt with them.

// builtinScopes are the scopes Sesame itself defines.
var builtinScopes = []string{"openid", "profile", "email", "offline_access", ScopeGroups}

// scopeCache is this replica's copy of the custom scopes and the discovery
// document that lists them.
type scopeCache struct {
	mu   sync.Mutex
	at   time.Time
	defs []models.CustomScope
	doc  []byte
	// acrs are the acr levels doc lists.
	acrs []string
	// variants are doc with the live policy's switches on (the
	// registration endpoint, the token exchange grant), built when first
	// served and dropped whenever doc is rebuilt.
	variants map[discoveryFeatures][]byte
	// fallbacks are the same variants of the document of no custom
	// scopes, served when they cannot be read.
	fallbacks map[discoveryFeatures][]byte
}

// InvalidateScopes drops this replica's copy of the custom scopes (the
// change feed announced a change, or may have missed one).
func (p *Provider) InvalidateScopes() {
	p.scopes.mu.Lock()
	p.scopes.at = time.Time{}
	p.scopes.mu.Unlock()
}

// customScopes returns the custom scopes and the discovery document built
// with them, loading both when the copy is missing or stale. When the
// store cannot answer, the last copy serves (or, before any, none).
func (p *Provider) customScopes(ctx context.Context) ([]models.CustomScope, []byte, error) {
	acrs := p.acrLevels(ctx)
	c := &p.scopes
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < p.cfg.ClientCacheTTL {
		if slices.Equal(c.acrs, acrs) {
			return c.defs, c.doc, nil
		}
		// The reachable levels changed (metadata loaded or lost): the
		// same scopes, a new document.
		doc, err := p.buildDiscovery(c.defs, acrs, discoveryFeatures{})
		if err != nil {
			return c.defs, c.doc, err
		}
		c.doc, c.acrs, c.variants = doc, acrs, nil
		return c.defs, c.doc, nil
	}
	defs, err := p.st.ListCustomScopes(ctx)
	if err != nil {
		if c.doc != nil {
			return c.defs, c.doc, err
		}
		return nil, p.discovery, err
	}
	doc, err := p.buildDiscovery(defs, acrs, discoveryFeatures{})
	if err != nil {
		return nil, p.discovery, err
	}
	c.at, c.defs, c.doc, c.acrs, c.variants = time.Now(), defs, doc, acrs, nil
	return defs, doc, nil
}

// grantedCustom returns the definitions of the custom scopes among scopes
// (no store access when none is custom).
func (p *Provider) grantedCustom(ctx context.Context, scopes fosite.Arguments) ([]models.CustomScope, error) {
	if !slices.ContainsFunc(scopes, isCustomScope) {
		return nil, nil
	}
	defs, _, err := p.customScopes(ctx)
	if err != nil && defs == nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(defs), func(d models.CustomScope) bool { return !scopes.Has(d.Name) }), nil
}

func isCustomScope(s string) bool {
	return !slices.Contains(builtinScopes, s) && !strings.HasPrefix(s, "sesame:")
}

// needsGroups reports whether a custom scope of defs releases groups.
func needsGroups(defs []models.CustomScope) bool {
	return slices.ContainsFunc(defs, func(d models.CustomScope) bool {
		return slices.ContainsFunc(d.Claims, func(c models.ScopeClaim) bool { return c.Source == models.ClaimFromGroups })
	})
}

// addCustomClaims adds the claims of the granted custom scopes defs to
// out: an attribute's value when the user has it, the group names for a
// groups claim. A name out already holds is left alone (validation keeps
// custom claims off registered names; this is the second lock).
func addCustomClaims(out map[string]any, u *models.User, groups []string, defs []models.CustomScope) {
	for _, d := range defs {
		for _, c := range d.Claims {
			if _, taken := out[c.Claim]; taken {
				continue
			}
			switch c.Source {
			case models.ClaimFromAttribute:
				if v, ok := u.Attributes[c.Attribute]; ok {
					out[c.Claim] = v
				}
			case models.ClaimFromGroups:
				if groups == nil {
					groups = []string{}
				}
				out[c.Claim] = groups
			}
		}
	}
}

// discoveryScopes lists the built-in scopes and then the custom ones;
// discoveryClaims adds the custom scopes' claims to the standard ones.
func discoveryScopes(defs []models.CustomScope) []string {
	out := slices.Clone(builtinScopes)
	for _, d := range defs {
		out = append(out, d.Name)
	}
	return out
}

func discoveryClaims(defs []models.CustomScope) []string {
	out := slices.Clone(supportedClaims)
	for _, d := range defs {
		for _, c := range d.Claims {
			if !slices.Contains(out, c.Claim) {
				out = append(out, c.Claim)
			}
		}
	}
	return out
}

// customScopeView is what the consent page says of a custom scope: its
// description (or name) and the claims it shares.
func customScopeView(d models.CustomScope) templates.ScopeView {
	title := d.Description
	if title == "" {
		title = "Share " + d.Name
	}
	names := make([]string, 0, len(d.Claims))
	for _, c := range d.Claims {
		names = append(names, c.Claim)
	}
	if len(names) == 0 {
		// An API scope (resource indicators) releases no claims.
		return templates.ScopeView{Title: title}
	}
	return templates.ScopeView{Title: title, Description: "Shares: " + strings.Join(names, ", ") + "."}
}
