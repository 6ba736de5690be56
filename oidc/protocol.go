package oidc

import (
	"context"

	"github.com/sesame-idp/sesame/internal/policy"
)

// protocol reads the live policy's logout-channel and pairwise switches
// (cached by the policy): discovery, the logout page and the logout
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
