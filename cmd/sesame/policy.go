package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store"
)

// policyCmd reads the live global policy and sets its passkey,
// recovery-code parts and its protocol switches (the console's policies
// page and PUT /policies change the rest).
func (c *cli) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show the global policy; set its passkey rules, recovery codes and protocol switches",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the global policy in force (JSON, as GET /api/admin/v1/policies)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				return writeJSON(cmd.OutOrStdout(), p)
			})
		},
	}, &cobra.Command{
		Use:   "recovery-codes off|offer|require",
		Short: "Set recovery codes: off, offer (people may create them), or require (for accounts without a second passkey)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(policy.RecoveryPolicies, args[0]) {
				return usageError(fmt.Errorf("recovery codes: %q is not one of %v", args[0], policy.RecoveryPolicies))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				before := p.RecoveryCodes
				p.RecoveryCodes = args[0]
				if _, err := svc.Policies.Update(ctx, p); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Recovery codes: %s (was %s). Every server applies it within %s.\n", args[0], before, policy.CacheTTL)
				return nil
			})
		},
	}, c.policySetCmd(),
		c.policySwitchCmd("token-exchange", "Serve the token exchange grant (RFC 8693) to the clients registered for it, or stop; discovery follows",
			"Token exchange", func(p *policy.Policy) *bool { return &p.TokenExchange }),
		c.policySwitchCmd("backchannel-logout", "POST logout tokens to the apps' back-channel logout URIs when sessions end, or stop; discovery follows",
			"Back-channel logout", func(p *policy.Policy) *bool { return &p.BackchannelLogout }),
		c.policySwitchCmd("frontchannel-logout", "Load the apps' front-channel logout pages on the logout page, or stop; discovery follows",
			"Front-channel logout", func(p *policy.Policy) *bool { return &p.FrontchannelLogout }),
		c.policySwitchCmd("pairwise-subjects", "Let apps be made pairwise (their own sub per user), or stop (pairwise apps keep theirs); discovery follows",
			"Pairwise subjects", func(p *policy.Policy) *bool { return &p.PairwiseSubjects }),
		c.policySwitchCmd("device-grant", "Serve the device authorization grant (RFC 8628) to the clients registered for it, or stop (its endpoint and pages 404); discovery follows",
			"Device grant", func(p *policy.Policy) *bool { return &p.DeviceGrant }),
		c.policySwitchCmd("dpop", "Accept DPoP proofs (RFC 9449) and bind tokens to the client's key, or ignore them (clients that require DPoP get no tokens); discovery follows",
			"DPoP", func(p *policy.Policy) *bool { return &p.DPoP }),
		c.policySwitchCmd("par", "Serve the pushed authorization request endpoint (RFC 9126), or stop (it 404s; clients that require PAR cannot sign in); discovery follows",
			"Pushed authorization requests", func(p *policy.Policy) *bool { return &p.PushedAuthorizationRequests }),
		c.policySwitchCmd("require-par", "Make every client push its authorization requests first (RFC 9126), or only those registered with --require-par; discovery follows",
			"Required pushed authorization requests", func(p *policy.Policy) *bool { return &p.RequirePushedAuthorizationRequests }),
	)
	return cmd
}

// policySwitchCmd is "policy NAME on|off": it sets the policy's switch
// that field points to and says what it was.
func (c *cli) policySwitchCmd(name, short, label string, field func(*policy.Policy) *bool) *cobra.Command {
	return &cobra.Command{
		Use:   name + " on|off",
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			on, ok := map[string]bool{"on": true, "off": false}[args[0]]
			if !ok {
				return usageError(fmt.Errorf("%s: %q is not on or off", strings.ToLower(label), args[0]))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				before := *field(&p)
				*field(&p) = on
				if _, err := svc.Policies.Update(ctx, p); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (was %s). Every server applies it within %s.\n", label, onOff(on), onOff(before), policy.CacheTTL)
				return nil
			})
		},
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
