package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// The lockout preview and the credential suspension in the admin API
// (lockout.go, credentials_suspend.go).

func (c *Console) mountLockoutAPI(r gin.IRouter, step gin.HandlerFunc) {
	r.POST("/policies/preview", c.api(c.apiPreviewPolicy))
	r.POST("/clients/:id/preview", c.api(c.apiPreviewClient))
	r.POST("/users/:id/credentials/:cred/suspend", step, c.api(c.apiSuspendCredential))
	r.POST("/users/:id/credentials/:cred/unsuspend", step, c.api(c.apiLiftSuspension))
}

// confirmed reports whether the request confirms a lockout.
func confirmed(g *gin.Context) bool { return g.Query("confirm_lockout") == "true" }

// apiPreviewPolicy answers who saving the body as the global policy
// would lock out, without saving it.
func (c *Console) apiPreviewPolicy(g *gin.Context) error {
	var p policy.Policy
	if err := decode(g, &p); err != nil {
		return err
	}
	if err := c.Policies.Validate(p.Normalize()); err != nil {
		return err
	}
	l, err := c.Policies.Preview(g.Request.Context(), p)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, l)
	return nil
}

// apiPreviewClient answers who saving the body as app id's settings
// would lock out of it, without saving them.
func (c *Console) apiPreviewClient(g *gin.Context) error {
	var spec clients.Spec
	if err := decode(g, &spec); err != nil {
		return err
	}
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return err
	}
	l, err := c.Clients.Preview(g.Request.Context(), g.Param("id"), spec)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, l)
	return nil
}

// policyLockout refuses saving p unless confirmed or it locks nobody out.
func (c *Console) policyLockout(g *gin.Context, p policy.Policy) error {
	if confirmed(g) {
		return nil
	}
	if err := c.Policies.Validate(p.Normalize()); err != nil {
		return err
	}
	l, err := c.Policies.Preview(g.Request.Context(), p)
	if err != nil || l.Count == 0 {
		return err
	}
	return errLockout(l)
}

// clientLockout refuses saving spec for app id unless confirmed or it
// locks nobody out.
func (c *Console) clientLockout(g *gin.Context, id string, spec clients.Spec) error {
	if confirmed(g) {
		return nil
	}
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return err
	}
	l, err := c.Clients.Preview(g.Request.Context(), id, spec)
	if err != nil || l.Count == 0 {
		return err
	}
	return errLockout(l)
}

func (c *Console) apiSuspendCredential(g *gin.Context) error {
	return noContent(g, c.Users.SuspendCredential(g.Request.Context(), g.Param("id"), g.Param("cred")))
}

func (c *Console) apiLiftSuspension(g *gin.Context) error {
	return noContent(g, c.Users.LiftCredentialSuspension(g.Request.Context(), g.Param("id"), g.Param("cred")))
}
