package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Upstream identity providers: people sign in through them ("Continue
// with Acme"). The client secret is read from a file or stdin, never a
// flag (flags show in the process list), and sealed with the system
// secret.

func (c *cli) upstreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "upstream",
		Short: "Configure upstream identity providers people may sign in through",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.upstreamAddCmd(), c.upstreamListCmd(), c.upstreamShowCmd(), c.upstreamUpdateCmd(), c.upstreamDeleteCmd())
	return cmd
}

// upstreamFlags are the settable fields of a provider as flags.
type upstreamFlags struct {
	spec       upstream.Spec
	secretFile string
	claims     []string
	groups     []string
	asJSON     bool
}

func (f *upstreamFlags) bind(cmd *cobra.Command, adding bool) {
	fl := cmd.Flags()
	if adding {
		fl.StringVar(&f.spec.Preset, "preset", "", "start from a preset: "+strings.Join(upstream.PresetIDs, ", "))
		fl.StringVar(&f.spec.ID, "id", "", "short id (lower-case letters, digits, dashes); default: the preset's")
	}
	fl.StringVar(&f.spec.Name, "name", "", `shown on the button: "Continue with NAME"`)
	fl.StringVar(&f.spec.Kind, "kind", "", "oidc (default) or github")
	fl.StringVar(&f.spec.Issuer, "issuer", "", "the OIDC issuer URL (discovery is read from it)")
	fl.StringVar(&f.spec.ClientID, "client-id", "", "the client id the provider issued to Sesame")
	fl.StringVar(&f.secretFile, "client-secret-file", "", `file holding the client secret ("-": read it from stdin)`)
	fl.StringSliceVar(&f.spec.Scopes, "scope", nil, "scopes to ask for (default: the preset's, or openid,email,profile)")
	fl.StringArrayVar(&f.claims, "claim", nil, "map a claim: NAME=UPSTREAM_CLAIM for subject, email, email_verified, name, groups; repeatable")
	fl.StringVar(&f.spec.Icon, "icon", "", "button icon: an https URL or a data:image/svg+xml URI")
	fl.StringVar(&f.spec.Provisioning, "provisioning", "", "create (default: new identities with a verified address get an account when sign-up is open) or link (existing accounts only)")
	fl.StringArrayVar(&f.groups, "group", nil, "map an upstream group to a Sesame group, synced at every sign-in: UPSTREAM=SESAME; repeatable")
	fl.StringSliceVar(&f.spec.Domains, "domain", nil, "email domains sent straight to this provider from the login page")
	fl.BoolVar(&f.spec.LocalMethods, "local-methods", false, "let users of --domain still use Sesame's own sign-in methods")
	fl.BoolVar(&f.spec.PassAMR, "pass-amr", false, "trust the provider's amr and acr in the sign-in")
	fl.BoolVar(&f.spec.Disabled, "disabled", false, "configured but not offered")
	fl.BoolVar(&f.asJSON, "json", false, "print the provider as JSON")
}

// resolve reads the secret and the KEY=VALUE flags into the spec.
func (f *upstreamFlags) resolve(in io.Reader) error {
	var err error
	if f.spec.Claims, err = pairs("--claim", f.claims); err != nil {
		return err
	}
	if f.spec.GroupMap, err = pairs("--group", f.groups); err != nil {
		return err
	}
	switch f.secretFile {
	case "":
	case "-":
		b, err := io.ReadAll(io.LimitReader(in, 64<<10))
		if err != nil {
			return fmt.Errorf("read the client secret from stdin: %w", err)
		}
		f.spec.ClientSecret = strings.TrimSpace(string(b))
	default:
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return usageError(fmt.Errorf("--client-secret-file: %w", err))
		}
		f.spec.ClientSecret = strings.TrimSpace(string(b))
	}
	return nil
}

func pairs(flag string, vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			return nil, usageError(fmt.Errorf("%s %q: want KEY=VALUE", flag, v))
		}
		out[k] = val
	}
	return out, nil
}

func upstreamErr(id string, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("upstream provider %s not found", id)
	}
	// A refused setting is bad input, like a bad flag (exit 2).
	if p, ok := errors.AsType[*console.Problem](err); ok && p.Status == http.StatusUnprocessableEntity {
		return usageError(err)
	}
	return err
}

func (c *cli) upstreamAddCmd() *cobra.Command {
	var f upstreamFlags
	cmd := &cobra.Command{
		Use:   "add [--preset NAME] --client-id ID --client-secret-file FILE [flags]",
		Short: "Add an upstream identity provider",
		Example: `  sesame upstream add --preset google --client-id 123.apps.googleusercontent.com --client-secret-file google.secret
  sesame upstream add --id acme --name "Acme SSO" --issuer https://sso.acme.example --client-id sesame \
    --client-secret-file - --domain acme.example --provisioning link < acme.secret`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.resolve(cmd.InOrStdin()); err != nil {
				return err
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Upstreams.Create(ctx, f.spec)
				if err != nil {
					return upstreamErr(f.spec.ID, err)
				}
				if f.asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Added upstream provider %s (%s). Its redirect URI at the provider: ISSUER%s\n", v.ID, v.Name, upstream.CallbackPath)
				if p, ok := upstream.Presets[f.spec.Preset]; ok && p.Hint != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "Note: %s.\n", p.Hint)
				}
				return nil
			})
		},
	}
	f.bind(cmd, true)
	return cmd
}

func (c *cli) upstreamListCmd() *cobra.Command {
	return listCmd(c, "List upstream identity providers", func(ctx context.Context, svc *console.Services) ([]console.UpstreamView, error) {
		return svc.Upstreams.List(ctx)
	}, table[console.UpstreamView]{
		empty:  "No upstream providers yet. Add one with: sesame upstream add --preset google --client-id ID --client-secret-file FILE",
		header: "ID\tNAME\tKIND\tISSUER\tDOMAINS\tSTATE",
		row: func(w io.Writer, v console.UpstreamView) {
			state := "enabled"
			if v.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, v.Kind, orDash(v.Issuer), orDash(strings.Join(v.Domains, " ")), state)
		},
	})
}

func (c *cli) upstreamShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an upstream identity provider (never its client secret)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Upstreams.Get(ctx, args[0])
				if err != nil {
					return upstreamErr(args[0], err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "id:            %s\nname:          %s\nkind:          %s\nissuer:        %s\nclient id:     %s\n", v.ID, v.Name, v.Kind, orDash(v.Issuer), v.ClientID)
				fmt.Fprintf(w, "client secret: %s\nscopes:        %s\nclaims:        %s\n", map[bool]string{true: "stored (sealed)", false: "-"}[v.HasSecret],
					orDash(strings.Join(v.Scopes, " ")), orDash(kv(v.Claims)))
				fmt.Fprintf(w, "provisioning:  %s\ngroups:        %s\ndomains:       %s\nlocal methods: %v\npass amr:      %v\ndisabled:      %v\n",
					v.Provisioning, orDash(kv(v.GroupMap)), orDash(strings.Join(v.Domains, " ")), v.LocalMethods, v.PassAMR, v.Disabled)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the provider as JSON")
	return cmd
}

func kv(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func (c *cli) upstreamUpdateCmd() *cobra.Command {
	var f upstreamFlags
	cmd := &cobra.Command{
		Use:   "update ID [flags]",
		Short: "Change an upstream provider: the flags given replace those settings, the others stay",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.resolve(cmd.InOrStdin()); err != nil {
				return err
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cur, err := svc.Upstreams.Get(ctx, args[0])
				if err != nil {
					return upstreamErr(args[0], err)
				}
				spec := cur.Spec
				fl := cmd.Flags()
				set := func(name string, apply func()) {
					if fl.Changed(name) {
						apply()
					}
				}
				set("name", func() { spec.Name = f.spec.Name })
				set("kind", func() { spec.Kind = f.spec.Kind })
				set("issuer", func() { spec.Issuer = f.spec.Issuer })
				set("client-id", func() { spec.ClientID = f.spec.ClientID })
				set("client-secret-file", func() { spec.ClientSecret = f.spec.ClientSecret })
				set("scope", func() { spec.Scopes = f.spec.Scopes })
				set("claim", func() { spec.Claims = f.spec.Claims })
				set("icon", func() { spec.Icon = f.spec.Icon })
				set("provisioning", func() { spec.Provisioning = f.spec.Provisioning })
				set("group", func() { spec.GroupMap = f.spec.GroupMap })
				set("domain", func() { spec.Domains = f.spec.Domains })
				set("local-methods", func() { spec.LocalMethods = f.spec.LocalMethods })
				set("pass-amr", func() { spec.PassAMR = f.spec.PassAMR })
				set("disabled", func() { spec.Disabled = f.spec.Disabled })
				v, err := svc.Upstreams.Update(ctx, args[0], spec)
				if err != nil {
					return upstreamErr(args[0], err)
				}
				if f.asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Updated upstream provider %s.\n", v.ID)
				return nil
			})
		},
	}
	f.bind(cmd, false)
	return cmd
}

func (c *cli) upstreamDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an upstream provider and unlink every identity of it",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				if err := svc.Upstreams.Delete(ctx, args[0]); err != nil {
					return upstreamErr(args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted upstream provider %s; its linked identities no longer sign anyone in.\n", args[0])
				return nil
			})
		},
	}
}
