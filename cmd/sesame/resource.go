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

// Resources (APIs) for resource indicators (RFC 8707): a client names a
// resource's audience in the resource parameter and gets a token for it
// (a JWT by default, RFC 9068).

func (c *cli) resourceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resource",
		Short: "Register the APIs (resources) tokens may be issued for, with their audience, scopes and token format",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.resourceCreateCmd(), c.resourceListCmd(), c.resourceShowCmd(), c.resourceUpdateCmd(), c.resourceDeleteCmd())
	return cmd
}

// resourceErr turns a store miss into a message naming the resource.
func resourceErr(name string, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("resource %s not found", name)
	}
	return err
}

// resourceFlags are the settings create and update take.
type resourceFlags struct {
	description, audience, format string
	scopes                        []string
	asJSON                        bool
}

func (f *resourceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.description, "description", "", "what the API is")
	cmd.Flags().StringVar(&f.audience, "audience", "", "the resource indicator clients send and the tokens' aud: an absolute URI without a fragment, e.g. https://api.example.com/orders")
	cmd.Flags().StringSliceVar(&f.scopes, "scope", nil, "a custom scope a token for this API may carry (repeatable; none: any scope the client holds; --scope= clears)")
	cmd.Flags().StringVar(&f.format, "access-token-format", "", "jwt (default: RFC 9068, verifiable against the JWKS) or opaque")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the resource as JSON")
}

// apply copies the flags given onto spec.
func (f *resourceFlags) apply(cmd *cobra.Command, spec *clients.ResourceSpec) {
	fs := cmd.Flags()
	setChanged(fs, "description", &spec.Description, f.description)
	setChanged(fs, "audience", &spec.Audience, f.audience)
	setChanged(fs, "scope", &spec.Scopes, f.scopes)
	setChanged(fs, "access-token-format", &spec.AccessTokenFormat, f.format)
}

func (c *cli) resourceCreateCmd() *cobra.Command {
	var f resourceFlags
	cmd := &cobra.Command{
		Use:   "create NAME --audience URI [--scope SCOPE …] [--access-token-format jwt|opaque] [--description TEXT]",
		Short: "Register a resource (an API)",
		Example: `  sesame scope create orders:read --description "Read your orders"
  sesame resource create orders --audience https://api.example.com/orders --scope orders:read
  sesame client update CLIENT_ID --scope openid,orders:read   # then: resource=https://api.example.com/orders`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := clients.ResourceSpec{Name: args[0]}
			f.apply(cmd, &spec)
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Resources.Create(ctx, spec)
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Registered resource %s: clients ask for it with resource=%s\n", v.Name, v.Audience)
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func (c *cli) resourceListCmd() *cobra.Command {
	return listCmd(c, "List resources", func(ctx context.Context, svc *console.Services) ([]console.ResourceView, error) {
		return svc.Resources.List(ctx)
	}, table[console.ResourceView]{
		empty:  "No resources yet. Register one with: sesame resource create orders --audience https://api.example.com/orders",
		header: "NAME\tAUDIENCE\tFORMAT\tSCOPES\tDESCRIPTION",
		row: func(w io.Writer, r console.ResourceView) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Audience, r.AccessTokenFormat, orDash(strings.Join(r.Scopes, " ")), orDash(oneLine(r.Description)))
		},
	})
}

func printResource(w io.Writer, v *console.ResourceView) {
	fmt.Fprintf(w, "name:                 %s\n", v.Name)
	fmt.Fprintf(w, "description:          %s\n", orDash(v.Description))
	fmt.Fprintf(w, "audience:             %s\n", v.Audience)
	fmt.Fprintf(w, "scopes:               %s\n", orDash(strings.Join(v.Scopes, " ")))
	fmt.Fprintf(w, "access_token_format:  %s\n", v.AccessTokenFormat)
}

func (c *cli) resourceShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a resource",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Resources.Get(ctx, args[0])
				if err != nil {
					return resourceErr(args[0], err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				printResource(cmd.OutOrStdout(), v)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the resource as JSON")
	return cmd
}

func (c *cli) resourceUpdateCmd() *cobra.Command {
	var f resourceFlags
	cmd := &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change a resource's settings; only the flags given change",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cur, err := svc.Resources.Get(ctx, args[0])
				if err != nil {
					return resourceErr(args[0], err)
				}
				spec := cur.ResourceSpec
				f.apply(cmd, &spec)
				v, err := svc.Resources.Update(ctx, args[0], spec)
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				printResource(cmd.OutOrStdout(), v)
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func (c *cli) resourceDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a resource (requests naming it are refused from then on; issued tokens live out their lifetime)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				if err := svc.Resources.Delete(ctx, args[0]); err != nil {
					return resourceErr(args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted resource %s.\n", args[0])
				return nil
			})
		},
	}
}
