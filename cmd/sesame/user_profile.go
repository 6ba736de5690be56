package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// profileFlags are the profile fields as flags: only those given change.
type profileFlags struct {
	username, givenName, familyName, locale, picture, attributes string
	set, unset                                                   []string
}

// apply copies the given flags onto p.
func (f *profileFlags) apply(cmd *cobra.Command, p *console.ProfileSpec) error {
	fs := cmd.Flags()
	setChanged(fs, "username", &p.Username, f.username)
	setChanged(fs, "given-name", &p.GivenName, f.givenName)
	setChanged(fs, "family-name", &p.FamilyName, f.familyName)
	setChanged(fs, "locale", &p.Locale, f.locale)
	setChanged(fs, "picture", &p.Picture, f.picture)
	if fs.Changed("attributes") {
		p.Attributes = json.RawMessage(f.attributes)
	}
	if len(f.set) == 0 && len(f.unset) == 0 {
		return nil
	}
	attrs := map[string]json.RawMessage{}
	if len(p.Attributes) > 0 && string(p.Attributes) != "null" {
		if err := json.Unmarshal(p.Attributes, &attrs); err != nil {
			return usageError(fmt.Errorf("--attributes: must be a JSON object: %w", err))
		}
	}
	for _, kv := range f.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError(fmt.Errorf("--attribute %q: use KEY=VALUE", kv))
		}
		// A JSON value (number, list, object, true) as such; anything
		// else is a string.
		if !json.Valid([]byte(v)) {
			b, _ := json.Marshal(v)
			v = string(b)
		}
		attrs[k] = json.RawMessage(v)
	}
	for _, k := range f.unset {
		delete(attrs, k)
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	p.Attributes = b
	return nil
}

func (f *profileFlags) changed(cmd *cobra.Command) bool {
	for _, n := range []string{"username", "given-name", "family-name", "locale", "picture", "attributes", "attribute", "unset-attribute"} {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

func (c *cli) userProfileCmd() *cobra.Command {
	var f profileFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "profile USER_ID|EMAIL [flags]",
		Short: "Show or change a user's profile: username, names, locale, picture and attributes",
		Long: `Without flags, prints the profile. Flags change only what they name; the
rest stays. Attributes are released as claims by custom scopes: a JSON
object of at most 4 KiB whose keys never shadow a registered claim (sub,
email, groups, ...).`,
		Example: `  sesame user profile ada@example.com --username ada --given-name Ada --family-name Lovelace --locale en-GB
  sesame user profile ada@example.com --attribute department=R&D --attribute 'roles=["editor","admin"]'
  sesame user profile ada@example.com --unset-attribute department
  sesame user profile ada@example.com --attributes '{}'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				p, err := svc.Users.Profile(ctx, u.ID)
				if err != nil {
					return err
				}
				if f.changed(cmd) {
					if err := f.apply(cmd, p); err != nil {
						return err
					}
					if p, err = svc.Users.SetProfile(ctx, u.ID, *p); err != nil {
						return cliProblem(err)
					}
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, p)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "user:\t%s (%s)\n", u.Email, u.ID)
				fmt.Fprintf(tw, "username:\t%s\n", orDash(p.Username))
				fmt.Fprintf(tw, "given_name:\t%s\n", orDash(p.GivenName))
				fmt.Fprintf(tw, "family_name:\t%s\n", orDash(p.FamilyName))
				fmt.Fprintf(tw, "locale:\t%s\n", orDash(p.Locale))
				fmt.Fprintf(tw, "picture:\t%s\n", orDash(p.Picture))
				fmt.Fprintf(tw, "attributes:\t%s\n", p.Attributes)
				return tw.Flush()
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.username, "username", "", "username for preferred_username: lower-case letters, digits and . _ - (empty clears it)")
	fl.StringVar(&f.givenName, "given-name", "", "given name (the given_name claim)")
	fl.StringVar(&f.familyName, "family-name", "", "family name (the family_name claim)")
	fl.StringVar(&f.locale, "locale", "", "BCP 47 language tag, such as en-GB")
	fl.StringVar(&f.picture, "picture", "", "https URL of the user's picture")
	fl.StringVar(&f.attributes, "attributes", "", "replace all attributes with this JSON object")
	fl.StringArrayVar(&f.set, "attribute", nil, "set one attribute, KEY=VALUE (repeatable); VALUE is JSON when it parses as JSON, else a string")
	fl.StringArrayVar(&f.unset, "unset-attribute", nil, "remove one attribute (repeatable)")
	fl.BoolVar(&asJSON, "json", false, "print the profile as JSON")
	return cmd
}

func (c *cli) userGroupsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "groups USER_ID|EMAIL",
		Short: "List the groups a user belongs to",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				names, err := svc.Groups.UserGroups(ctx, u.ID)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, names)
				}
				if len(names) == 0 {
					fmt.Fprintf(out, "%s is in no group. Add them with: sesame group add-member GROUP %s\n", u.Email, u.Email)
					return nil
				}
				fmt.Fprintln(out, strings.Join(names, "\n"))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
