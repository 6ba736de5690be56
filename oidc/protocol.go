package oidc

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"

	"github.com/sesame-idp/sesame/internal/policy"
)

// protocol reads the live policy's protocol switches (cached by the
// policy): discovery, the endpoints, the logout page and the logout
// outbox follow them on every replica within seconds. A policy that
// cannot be read leaves the configuration's switches in force.
func (p *Provider) protocol(ctx context.Context) policy.Protocol {
	if p.policies == nil {
		return p.cfg.Protocol
	}
	pr, err := p.policies.Protocol(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "protocol switches from policy not read; using the configuration's", "err", err)
		return p.cfg.Protocol
	}
	return pr
}

// deviceOn, dpopOn and parOn read the device grant, DPoP and PAR
// switches.
func (p *Provider) deviceOn(ctx context.Context) bool { return p.protocol(ctx).DeviceGrant }
func (p *Provider) dpopOn(ctx context.Context) bool   { return p.protocol(ctx).DPoP }
func (p *Provider) parOn(ctx context.Context) bool    { return p.protocol(ctx).PAR }

// parGate answers 404 for the PAR endpoint while its switch is off.
func (p *Provider) parGate(c *gin.Context) {
	if !p.parOn(c.Request.Context()) {
		httpx.NotFound(c)
		c.Abort()
	}
}

// deviceGate answers 404 (the page every unknown path gets) for the
// device grant's endpoint and pages while the switch is off.
func (p *Provider) deviceGate(c *gin.Context) {
	if !p.deviceOn(c.Request.Context()) {
		httpx.NotFound(c)
		c.Abort()
	}
}
