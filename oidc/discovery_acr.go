package oidc

import (
	"context"

	"github.com/sesame-idp/sesame/models"
)

// AssuranceSource says which acr levels (models/acr.go) can be reached
// now: the attested level needs FIDO metadata in force (a credential's
// model must be checked at each sign-in), which may come and go while
// Sesame runs (the metadata sync, the policy's file). authn/passkey's
// Service implements it.
type AssuranceSource interface {
	SupportedACRs(ctx context.Context) []string
}

// acrLevels is what discovery lists as acr_values_supported: exactly the
// levels that can be reached now (all of them without a source).
func (p *Provider) acrLevels(ctx context.Context) []string {
	if p.assurance == nil {
		return models.ACRLevels
	}
	return p.assurance.SupportedACRs(ctx)
}
