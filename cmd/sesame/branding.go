package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/branding"
	"github.com/sesame-idp/sesame/models/store"
)

// Branding: the product name, colours, logo, links and stylesheet of
// every page and mail (the console's Branding page, the API's /branding).

func (c *cli) brandingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "branding",
		Short: "Set the product name, colours, logo, links and stylesheet pages and mails show",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.brandingShowCmd(), c.brandingSetCmd(), c.brandingLogoCmd())
	return cmd
}

func printBranding(cmd *cobra.Command, v console.BrandingView, asJSON bool) error {
	out := cmd.OutOrStdout()
	if asJSON {
		return writeJSON(out, v)
	}
	logo := "-"
	if v.Logo != nil {
		logo = fmt.Sprintf("%s, %d bytes", v.Logo.Type, v.Logo.Size)
	}
	css := "-"
	if v.CustomCSS != "" {
		css = fmt.Sprintf("%d bytes", len(v.CustomCSS))
	}
	fmt.Fprintf(out, "Product:       %s\nPrimary colour: %s\nAccent colour:  %s\nLogo:          %s\nSupport link:  %s\nPrivacy link:  %s\nCustom CSS:    %s\n",
		v.Product, orDash(v.PrimaryColor), orDash(v.AccentColor), logo, orDash(v.SupportURL), orDash(v.PrivacyURL), css)
	for _, w := range v.Warnings {
		fmt.Fprintln(out, "Note: "+w)
	}
	return nil
}

func (c *cli) brandingShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the branding",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Branding.Get(ctx)
				if err != nil {
					return err
				}
				return printBranding(cmd, v, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the branding as JSON")
	return cmd
}

func (c *cli) brandingSetCmd() *cobra.Command {
	var (
		in      branding.Settings
		cssFile string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "set [--product-name NAME] [--primary-color #RRGGBB] [--accent-color #RRGGBB] [--support-url URL] [--privacy-url URL] [--css-file FILE]",
		Short: "Change branding settings (the flags given; the others stay)",
		Long: `Change the branding settings named by flags; the others keep their values
(an empty value clears one: --primary-color ""). Colours are refused, with
their contrast ratio, when text would be hard to read: the primary colour
needs 4.5:1 against the pages' white background, the accent 3:1.`,
		Example: `  sesame branding set --product-name "Acme ID" --primary-color "#0f766e" --support-url https://help.acme.example
  sesame branding set --css-file brand.css
  sesame branding set --css-file ""    # remove the custom stylesheet`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			css := ""
			if cmd.Flags().Changed("css-file") && cssFile != "" {
				b, err := readLimited(cmd, cssFile, branding.MaxCSSBytes)
				if err != nil {
					return err
				}
				css = string(b)
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				cur, err := svc.Branding.Get(ctx)
				if err != nil {
					return err
				}
				s := cur.Settings
				f := cmd.Flags()
				for name, pair := range map[string][2]*string{
					"product-name": {&s.ProductName, &in.ProductName}, "primary-color": {&s.PrimaryColor, &in.PrimaryColor},
					"accent-color": {&s.AccentColor, &in.AccentColor}, "support-url": {&s.SupportURL, &in.SupportURL},
					"privacy-url": {&s.PrivacyURL, &in.PrivacyURL},
				} {
					if f.Changed(name) {
						*pair[0] = *pair[1]
					}
				}
				if f.Changed("css-file") {
					s.CustomCSS = css
				}
				v, err := svc.Branding.Update(ctx, s)
				if err != nil {
					return cliProblem(err)
				}
				if !asJSON {
					fmt.Fprintln(cmd.OutOrStdout(), "Branding saved. Pages show it within 10 seconds on every replica.")
				}
				return printBranding(cmd, v, asJSON)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.ProductName, "product-name", "", `the name pages and mails show ("Secured by …"; empty: Sesame)`)
	f.StringVar(&in.PrimaryColor, "primary-color", "", "buttons and links, #rrggbb")
	f.StringVar(&in.AccentColor, "accent-color", "", "the tile behind an app's initial and the console's mark, #rrggbb")
	f.StringVar(&in.SupportURL, "support-url", "", `the "Help" link in the pages' footer (https or mailto:)`)
	f.StringVar(&in.PrivacyURL, "privacy-url", "", `the "Privacy" link in the pages' footer (https)`)
	f.StringVar(&cssFile, "css-file", "", `a stylesheet served after Sesame's own (at most 32 KiB, no @import; "-" reads stdin, "" removes it)`)
	f.BoolVar(&asJSON, "json", false, "print the branding as JSON")
	return cmd
}

func (c *cli) brandingLogoCmd() *cobra.Command {
	var (
		remove bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "logo FILE | --remove",
		Short: "Upload the logo (PNG, JPEG, GIF, WebP or SVG without script, at most 48 KiB) or remove it",
		Example: `  sesame branding logo acme.svg
  sesame branding logo --remove`,
		Args: func(cmd *cobra.Command, args []string) error {
			if remove {
				return noArgs(cmd, args)
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			if !remove {
				var err error
				if data, err = readLimited(cmd, args[0], branding.MaxLogoBytes); err != nil {
					return err
				}
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				var v console.BrandingView
				var err error
				if remove {
					v, err = svc.Branding.RemoveLogo(ctx)
				} else {
					v, err = svc.Branding.SetLogo(ctx, data)
				}
				if err != nil {
					return cliProblem(err)
				}
				return printBranding(cmd, v, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the logo")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the branding as JSON")
	return cmd
}

// readLimited reads path ("-": stdin) up to limit bytes, refusing more.
func readLimited(cmd *cobra.Command, path string, limit int) ([]byte, error) {
	var r io.Reader = cmd.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageError(err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, usageError(fmt.Errorf("%s is larger than %d KiB", path, limit>>10))
	}
	return b, nil
}
