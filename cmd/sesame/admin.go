package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
)

func (c *cli) adminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage console administrators",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.adminInviteCmd(), c.adminRoleCmd(true), c.adminRoleCmd(false))
	return cmd
}

func (c *cli) adminInviteCmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "invite --email ADDRESS",
		Short: "Print a one-time link that makes its holder an admin",
		Long: `Print a one-time setup link for the admin console.

Whoever opens the link registers a passkey for ADDRESS (a new account, or the
existing one when signed in as ADDRESS) and becomes an admin. The link works
once, for 24 hours; only its hash is stored. Send it over a channel you trust.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(email) == "" {
				return usageError(fmt.Errorf("--email is required (see %s --help)", cmd.CommandPath()))
			}
			cfg, err := c.loadConfig(cmd, false)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, cfg, cliLogger(cfg, cmd.ErrOrStderr()), true)
			if err != nil {
				return err
			}
			defer st.Close()
			link, err := console.Invite(console.WithActor(ctx, console.CLIActor()), st, cfg.Issuer, email)
			var bad *console.Problem
			if errors.As(err, &bad) {
				return usageError(err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Setup link for %s (works once, for 24 hours):\n", strings.TrimSpace(email))
			fmt.Fprintln(cmd.OutOrStdout(), link)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "address of the new admin")
	return cmd
}
