package console

import (
	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// registrationFromForm sets p's dynamic registration settings from the
// policies form; the settings the form does not show keep their current
// values (so saving the page never switches registration by accident).
func (u *UI) registrationFromForm(c *gin.Context, p *policy.Policy, errs map[string]string) error {
	cur, err := u.c.Policies.Current(c.Request.Context())
	if err != nil {
		return err
	}
	p.Registration, p.RegistrationGrantTypes, p.RegistrationRedirectSchemes = cur.Registration, cur.RegistrationGrantTypes, cur.RegistrationRedirectSchemes
	p.RegistrationMaxRedirectURIs, p.RegistrationRateIP = cur.RegistrationMaxRedirectURIs, cur.RegistrationRateIP
	return nil
}

// keepRegistrationMetadata keeps the RFC 7591 informational metadata the
// client form does not show (client_uri, policy_uri, tos_uri, contacts).
func (u *UI) keepRegistrationMetadata(c *gin.Context, id string, spec *clients.Spec) error {
	cur, err := u.c.Clients.Get(c.Request.Context(), id)
	if err != nil {
		return err
	}
	spec.ClientURI, spec.PolicyURI, spec.TOSURI, spec.Contacts = cur.ClientURI, cur.PolicyURI, cur.TOSURI, cur.Contacts
	return nil
}
