package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// The registration commands are the admin side of dynamic client
// registration (docs/dynamic-registration.md): the mode and limits in the
// live policy, and the initial access tokens of the protected mode. They
// go through the console's services: the same rules and audit log as the
// console and the admin API. Running servers apply a policy change within
// seconds (policy.CacheTTL).

func (c *cli) registrationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registration",
		Short: "Dynamic client registration (RFC 7591): its mode, limits and initial access tokens",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	token := &cobra.Command{
		Use:     "token",
		Aliases: []string{"tokens"},
		Short:   "Initial access tokens that let developers register apps in the protected mode",
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	token.AddCommand(c.registrationTokenCreateCmd(), c.registrationTokenListCmd(), c.registrationTokenRevokeCmd())
	cmd.AddCommand(c.registrationShowCmd(), c.registrationSetCmd(), token)
	return cmd
}

func (c *cli) registrationShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the registration mode and limits in force",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, map[string]any{"registration": p.Registration, "registration_grant_types": p.RegistrationGrantTypes,
						"registration_redirect_schemes": p.RegistrationRedirectSchemes, "registration_max_redirect_uris": p.RegistrationMaxRedirectURIs,
						"registration_rate_ip": p.RegistrationRateIP})
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "mode\t%s\n", p.Registration)
				fmt.Fprintf(tw, "grant types\t%s\n", strings.Join(p.RegistrationGrantTypes, ", "))
				fmt.Fprintf(tw, "redirect URI schemes\t%s\n", strings.Join(p.RegistrationRedirectSchemes, ", "))
				fmt.Fprintf(tw, "redirect URIs per client\t%d at most\n", p.RegistrationMaxRedirectURIs)
				fmt.Fprintf(tw, "requests per IP and hour\t%d\n", p.RegistrationRateIP)
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the admin API policy's registration fields)")
	return cmd
}

func (c *cli) registrationSetCmd() *cobra.Command {
	var mode string
	var grants, schemes []string
	var maxURIs, rate int
	cmd := &cobra.Command{
		Use:     "set [--mode off|protected|open] [--grant-type T...] [--redirect-scheme S...] [--max-redirect-uris N] [--rate-ip N]",
		Short:   "Change the registration mode or limits in the live policy (unset flags keep theirs)",
		Example: "  sesame registration set --mode protected --grant-type authorization_code,refresh_token --redirect-scheme https",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if !f.Changed("mode") && !f.Changed("grant-type") && !f.Changed("redirect-scheme") && !f.Changed("max-redirect-uris") && !f.Changed("rate-ip") {
				return usageError(errors.New("nothing to change: give the flags to set (see sesame registration set --help)"))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				if f.Changed("mode") {
					p.Registration = mode
				}
				if f.Changed("grant-type") {
					p.RegistrationGrantTypes = grants
				}
				if f.Changed("redirect-scheme") {
					p.RegistrationRedirectSchemes = schemes
				}
				if f.Changed("max-redirect-uris") {
					p.RegistrationMaxRedirectURIs = maxURIs
				}
				if f.Changed("rate-ip") {
					p.RegistrationRateIP = rate
				}
				if _, err := svc.Policies.Update(ctx, p); err != nil {
					return cliProblem(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Registration is %s. Running servers apply it within seconds.\n", p.Registration)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "", "off, protected (initial access tokens) or open")
	cmd.Flags().StringSliceVar(&grants, "grant-type", nil, "grant type a registered client may use (repeatable or comma-separated): authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code")
	cmd.Flags().StringSliceVar(&schemes, "redirect-scheme", nil, "redirect URI scheme a registered client may use (repeatable): https, http (loopback only), private-use")
	cmd.Flags().IntVar(&maxURIs, "max-redirect-uris", 0, "most redirect URIs a registered client may have (1 to 50)")
	cmd.Flags().IntVar(&rate, "rate-ip", 0, "registration endpoint requests allowed per client IP and hour")
	return cmd
}

func (c *cli) registrationTokenCreateCmd() *cobra.Command {
	var label string
	var ttl time.Duration
	var uses int
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "create --label TEXT [--expires-in 168h] [--max-uses 1]",
		Short:   "Mint an initial access token; prints it once",
		Example: `  sesame registration token create --label "partner Acme" --expires-in 720h --max-uses 5`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl%time.Second != 0 {
				return usageError(fmt.Errorf("--expires-in: whole seconds only (got %v)", ttl))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				t, err := svc.Registration.Mint(ctx, console.InitialTokenSpec{Label: label, ExpiresIn: int64(ttl / time.Second), MaxUses: uses})
				if err != nil {
					return cliProblem(err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, t)
				}
				fmt.Fprintf(out, "Minted initial access token %s (%d registration(s), until %s).\n", t.ID, t.MaxUses, t.ExpiresAt.Format(time.RFC3339))
				fmt.Fprintf(out, "Token (shown once; the developer sends it as Authorization: Bearer … to POST /oauth2/register):\n%s\n", t.Token)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "what the token is for, e.g. the partner it is given to (required)")
	cmd.Flags().DurationVar(&ttl, "expires-in", 7*24*time.Hour, "how long it is valid (1m to 8760h)")
	cmd.Flags().IntVar(&uses, "max-uses", 1, "how many registrations it allows (1 to 10000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the token with its value as JSON")
	return cmd
}

func (c *cli) registrationTokenListCmd() *cobra.Command {
	return listCmd(c, "List initial access tokens, newest first, with their state and uses left", func(ctx context.Context, svc *console.Services) ([]console.InitialTokenView, error) {
		return svc.Registration.List(ctx)
	}, table[console.InitialTokenView]{
		empty:  `No initial access tokens. Mint one with: sesame registration token create --label "partner Acme"`,
		header: "ID\tSTATE\tUSES\tLEFT\tEXPIRES\tLABEL",
		row: func(w io.Writer, t console.InitialTokenView) {
			fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%s\t%s\n", t.ID, t.State, t.Uses, t.MaxUses, t.UsesLeft, t.ExpiresAt.Format(time.RFC3339), oneLine(t.Label))
		},
	})
}

func (c *cli) registrationTokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an initial access token at once (the clients it registered stay)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				if _, err := svc.Registration.Revoke(ctx, args[0]); err != nil {
					if errors.Is(err, models.ErrNotFound) {
						return fmt.Errorf("initial access token %s not found", args[0])
					}
					return cliProblem(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Revoked initial access token %s.\n", args[0])
				return nil
			})
		},
	}
}
