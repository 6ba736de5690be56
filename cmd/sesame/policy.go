package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store"
)

// policyCmd reads the live global policy and sets its passkey,
// recovery-code and token exchange parts (the console's policies page and PUT /policies
// change the rest).
func (c *cli) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show the global policy; set its passkey rules, recovery codes and token exchange",
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
	}, c.policySetCmd(), &cobra.Command{
		Use:   "token-exchange on|off",
		Short: "Serve the token exchange grant (RFC 8693) to the clients registered for it, or stop; discovery follows",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			on, ok := map[string]bool{"on": true, "off": false}[args[0]]
			if !ok {
				return usageError(fmt.Errorf("token exchange: %q is not on or off", args[0]))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				before := p.TokenExchange
				p.TokenExchange = on
				if _, err := svc.Policies.Update(ctx, p); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Token exchange: %s (was %s). Every server applies it within %s.\n", onOff(on), onOff(before), policy.CacheTTL)
				return nil
			})
		},
	})
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
