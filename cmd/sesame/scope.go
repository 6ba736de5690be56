package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Custom scopes: each releases named claims from user attributes or
// groups to the clients that register it (client update --scope).

func (c *cli) scopeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scope",
		Short: "Define custom scopes that release claims from user attributes or groups",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.scopeCreateCmd(), c.scopeListCmd(), c.scopeShowCmd(), c.scopeUpdateCmd(), c.scopeDeleteCmd())
	return cmd
}

// parseClaims reads --claim values: CLAIM=attribute:KEY releases the
// user's attribute KEY as CLAIM; CLAIM=groups releases the group names.
func parseClaims(vals []string) ([]models.ScopeClaim, error) {
	out := make([]models.ScopeClaim, 0, len(vals))
	for _, v := range vals {
		claim, src, ok := strings.Cut(v, "=")
		if !ok {
			return nil, usageError(fmt.Errorf("--claim %q: want CLAIM=attribute:KEY or CLAIM=groups", v))
		}
		kind, attr, _ := strings.Cut(src, ":")
		out = append(out, models.ScopeClaim{Claim: claim, Source: kind, Attribute: attr})
	}
	return out, nil
}

// scopeErr turns a store miss into a message naming the scope.
func scopeErr(name string, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("scope %s not found", name)
	}
	return err
}

const claimFlagHelp = "a claim the scope releases: CLAIM=attribute:KEY (the user's attribute KEY) or CLAIM=groups (the user's group names); repeatable"

func (c *cli) scopeCreateCmd() *cobra.Command {
	var (
		description string
		claims      []string
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME --claim CLAIM=SOURCE [--claim …] [--description TEXT]",
		Short: "Define a custom scope",
		Example: `  sesame scope create roles --description "Your roles" --claim roles=attribute:roles --claim teams=groups
  sesame client update CLIENT_ID --scope openid,profile,email,roles`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := parseClaims(claims)
			if err != nil {
				return err
			}
			spec := clients.ScopeSpec{Name: args[0], Description: description, Claims: cl}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Scopes.Create(ctx, spec)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created scope %s. Let a client ask for it: sesame client update CLIENT_ID --scope openid,%s\n", v.Name, v.Name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the consent page tells users")
	cmd.Flags().StringArrayVar(&claims, "claim", nil, claimFlagHelp)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the scope as JSON")
	return cmd
}

func (c *cli) scopeListCmd() *cobra.Command {
	return listCmd(c, "List custom scopes", func(ctx context.Context, svc *console.Services) ([]console.ScopeView, error) {
		return svc.Scopes.List(ctx)
	}, table[console.ScopeView]{
		empty:  "No custom scopes yet. Define one with: sesame scope create roles --claim roles=attribute:roles",
		header: "NAME\tCLAIMS\tCLIENTS\tDESCRIPTION",
		row: func(w io.Writer, s console.ScopeView) {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", s.Name, claimList(s.Claims), len(s.Clients), orDash(oneLine(s.Description)))
		},
	})
}

// claimList shows claims as the --claim flag takes them.
func claimList(cl []models.ScopeClaim) string {
	parts := make([]string, 0, len(cl))
	for _, c := range cl {
		src := c.Source
		if c.Attribute != "" {
			src += ":" + c.Attribute
		}
		parts = append(parts, c.Claim+"="+src)
	}
	return strings.Join(parts, " ")
}

func (c *cli) scopeShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a custom scope and the clients that may ask for it",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Scopes.Get(ctx, args[0])
				if err != nil {
					return scopeErr(args[0], err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				printScope(cmd.OutOrStdout(), v)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the scope as JSON")
	return cmd
}

func printScope(w io.Writer, v *console.ScopeView) {
	fmt.Fprintf(w, "name:         %s\n", v.Name)
	fmt.Fprintf(w, "description:  %s\n", orDash(v.Description))
	fmt.Fprintf(w, "claims:       %s\n", claimList(v.Claims))
	fmt.Fprintf(w, "clients:      %s\n", orDash(strings.Join(v.Clients, " ")))
}

func (c *cli) scopeUpdateCmd() *cobra.Command {
	var (
		description string
		claims      []string
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "update NAME [--description TEXT] [--claim CLAIM=SOURCE …]",
		Short: "Change a custom scope's description or claims (--claim replaces them all)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cl []models.ScopeClaim
			if cmd.Flags().Changed("claim") {
				var err error
				if cl, err = parseClaims(claims); err != nil {
					return err
				}
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cur, err := svc.Scopes.Get(ctx, args[0])
				if err != nil {
					return scopeErr(args[0], err)
				}
				spec := cur.ScopeSpec
				if cmd.Flags().Changed("description") {
					spec.Description = description
				}
				if cl != nil {
					spec.Claims = cl
				}
				v, err := svc.Scopes.Update(ctx, args[0], spec)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				printScope(cmd.OutOrStdout(), v)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the consent page tells users")
	cmd.Flags().StringArrayVar(&claims, "claim", nil, claimFlagHelp)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the scope as JSON")
	return cmd
}

func (c *cli) scopeDeleteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a custom scope no client registers",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				if err := svc.Scopes.Delete(ctx, args[0]); err != nil {
					return scopeErr(args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted scope %s.\n", args[0])
				return nil
			})
		},
	}
	return cmd
}
