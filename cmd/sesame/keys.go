package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/oidc/keys"
	"github.com/sesame-idp/sesame/server"
)

func (c *cli) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Inspect and rotate ID token signing keys",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.keysListCmd(), c.keysRotateCmd())
	return cmd
}

// withKeys opens the store and a key manager configured like the server's.
func (c *cli) withKeys(cmd *cobra.Command, fn func(ctx context.Context, m *keys.Manager) error) error {
	cfg, err := c.loadConfig(cmd, true)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	log := cliLogger(cfg, cmd.ErrOrStderr())
	sec, err := secret.Resolve(cfg, log)
	if err != nil {
		return usageError(err)
	}
	st, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer st.Close()
	// The server's purpose string: keys one encrypts the other must decrypt.
	m, err := keys.NewManager(st, secret.Derive(sec, server.PurposeSigningKeys), keys.Options{
		RotationPeriod: cfg.KeyRotationPeriod,
		// A retired key must stay published while any token it signed is
		// valid; the longer of the two lifetimes covers JWT access tokens.
		MaxTokenTTL: max(cfg.IDTokenTTL, cfg.AccessTokenTTL, time.Duration(clients.MaxTokenTTL)*time.Second),
		Logger:      log,
	})
	if err != nil {
		return err
	}
	return fn(ctx, m)
}

func (c *cli) keysListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List signing keys: next (published), current (signing) and retired (published until expiry)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withKeys(cmd, func(ctx context.Context, m *keys.Manager) error {
				list, err := m.List(ctx)
				if err != nil {
					return err
				}
				return printKeys(cmd.OutOrStdout(), list, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (c *cli) keysRotateCmd() *cobra.Command {
	var alg string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate [--alg RS256|ES256|EdDSA]",
		Short: "Rotate signing keys now (one algorithm or all)",
		Long: `Rotate signing keys now: the current key is retired (it stays in the JWKS
until the tokens it signed have expired), the next key, already published,
starts signing, and a new next key is published. Without --alg every
algorithm rotates. Running servers pick the change up within their cache
period.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withKeys(cmd, func(ctx context.Context, m *keys.Manager) error {
				if err := m.Ensure(ctx); err != nil {
					return err
				}
				if alg == "" {
					if err := m.RotateAll(ctx); err != nil {
						return err
					}
				} else if err := m.Rotate(ctx, alg); err != nil {
					return usageErrorIfAlg(err)
				}
				list, err := m.List(ctx)
				if err != nil {
					return err
				}
				if !asJSON {
					what := "every algorithm"
					if alg != "" {
						what = alg
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Rotated %s.\n\n", what)
				}
				return printKeys(cmd.OutOrStdout(), list, asJSON)
			})
		},
	}
	cmd.Flags().StringVar(&alg, "alg", "", "algorithm to rotate: RS256, ES256 or EdDSA (default all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys after rotation as a JSON array")
	return cmd
}

func usageErrorIfAlg(err error) error {
	if errors.Is(err, keys.ErrUnsupportedAlg) {
		return usageError(fmt.Errorf("--alg: %w", err))
	}
	return err
}

func printKeys(w io.Writer, list []keys.KeyInfo, asJSON bool) error {
	if asJSON {
		if list == nil {
			list = []keys.KeyInfo{}
		}
		return writeJSON(w, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "No signing keys yet; the server creates them at start (or run: sesame keys rotate).")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATED\tRETIRED\tEXPIRES")
	for _, k := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State, stamp(&k.CreatedAt), stamp(k.ActivatedAt), stamp(k.RetiredAt), stamp(k.ExpiresAt))
	}
	return tw.Flush()
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
