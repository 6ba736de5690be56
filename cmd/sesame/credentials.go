package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func (c *cli) credentialsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Inspect registered passkeys and security keys",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.credentialsHealthCmd(), c.credentialSuspendCmd(true), c.credentialSuspendCmd(false))
	return cmd
}

// credentialSuspendCmd suspends a credential (a lost device, a suspected
// copy: it signs nobody in, nothing is deleted) or lifts a suspension,
// through the console's Users service: the same checks and audit entry as
// the user page's buttons and POST …/credentials/{id}/suspend.
func (c *cli) credentialSuspendCmd(suspend bool) *cobra.Command {
	use, short := "suspend CREDENTIAL_ID", "Suspend a credential: it signs nobody in until the suspension is lifted"
	if !suspend {
		use, short = "unsuspend CREDENTIAL_ID", "Lift a credential's suspension (refused while its model is reported compromised and the policy suspends such credentials)"
	}
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: "  sesame credentials health --user USER_ID\n  sesame credentials " + use,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, st *store.Store) error {
				cr, err := st.GetCredential(ctx, id)
				if errors.Is(err, models.ErrNotFound) {
					return fmt.Errorf("credential %s not found (see sesame credentials health --user USER_ID)", id)
				}
				if err != nil {
					return err
				}
				if suspend {
					err = svc.Users.SuspendCredential(ctx, cr.UserID, id)
				} else {
					err = svc.Users.LiftCredentialSuspension(ctx, cr.UserID, id)
				}
				if err != nil {
					return cliProblem(err)
				}
				what := "Suspended"
				if !suspend {
					what = "Lifted the suspension of"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s credential %s (%s) of user %s.\n", what, id, orDash(oneLine(cr.Name)), cr.UserID)
				return nil
			})
		},
	}
}

func (c *cli) credentialsHealthCmd() *cobra.Command {
	var finding, user string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "health [--finding FINDING [--user USER_ID]] [--json]",
		Short: "Count credentials by health finding, or list those with one finding",
		Long: `Without --finding, counts every finding: possibly cloned, compromised model,
model not allowed by the policy's AAGUID lists, never used, unused for 90 days,
synced and device-bound. With --finding, lists the credentials that have it
and their users.`,
		Example: "  sesame credentials health\n  sesame credentials health --finding stale --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				out := cmd.OutOrStdout()
				if finding == "" && user == "" {
					sum, err := svc.Health.Summary(ctx)
					if err != nil {
						return err
					}
					if asJSON {
						return writeJSON(out, sum)
					}
					tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "FINDING\tCREDENTIALS\tUSERS\tWHAT")
					for _, it := range sum.Items {
						n := fmt.Sprint(it.Credentials)
						if !it.Checked {
							n = "not checked"
						}
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", it.Finding, n, it.Users, it.Title)
					}
					fmt.Fprintf(tw, "total\t%d\t%d\t\n", sum.Credentials, sum.Users)
					return tw.Flush()
				}
				rows := []console.CredentialHealthView{}
				q := console.HealthListQuery{Finding: finding, UserID: user, Limit: console.MaxLimit}
				for {
					l, err := svc.Health.List(ctx, q)
					if err != nil {
						return usageError(err)
					}
					rows = append(rows, l.Items...)
					if !l.HasMore {
						break
					}
					q.Cursor = l.NextCursor
				}
				return printList(out, asJSON, rows, table[console.CredentialHealthView]{empty: "No credential matches.",
					header: "USER\tCREDENTIAL\tMODEL\tLAST USED\tFINDINGS\tID",
					row: func(w io.Writer, r console.CredentialHealthView) {
						last := "never"
						if r.LastUsedAt != nil {
							last = r.LastUsedAt.UTC().Format("2006-01-02 15:04")
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\n", r.Email, orDash(oneLine(r.Name)), orDash(r.Model), last, r.Findings, r.ID)
					}})
			})
		},
	}
	cmd.Flags().StringVar(&finding, "finding", "", "clone_warning, compromised_model, denied_model, never_used, stale, synced or device_bound")
	cmd.Flags().StringVar(&user, "user", "", "only this user's credentials (a user id)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
