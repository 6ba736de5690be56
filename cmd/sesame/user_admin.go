package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// The console's everyday user actions on the command line: edit, sign
// out everywhere, withdraw app grants, the sign-in history, and the admin
// role. They go through the same services (rules and audit) as the
// console and the admin API.

func (c *cli) userUpdateCmd() *cobra.Command {
	var email, name string
	var verified, unverified, asJSON bool
	cmd := &cobra.Command{
		Use:   "update USER_ID|EMAIL [--email ADDRESS] [--name NAME] [--verified|--unverified]",
		Short: "Change a user's address, display name or verified state",
		Long: `Change a user's address, display name or verified state; only the flags given change.

A new address is unverified unless --verified is given too: the user is asked
to prove it at their next sign-in.`,
		Example: `  sesame user update ada@example.com --email ada@lovelace.example --name "Ada King"`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if verified && unverified {
				return usageError(fmt.Errorf("--verified and --unverified exclude each other"))
			}
			var up console.UserUpdate
			if cmd.Flags().Changed("email") {
				up.Email = &email
			}
			if cmd.Flags().Changed("name") {
				up.DisplayName = &name
			}
			if verified || unverified {
				up.EmailVerified = &verified
			}
			if up == (console.UserUpdate{}) {
				return usageError(fmt.Errorf("nothing to change: give --email, --name, --verified or --unverified"))
			}
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				v, err := svc.Users.Update(ctx, u.ID, up)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), userViewOf(userFromView(v)))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Updated user %s: %s, verified %s, name %s.\n", v.ID, v.Email, yesNo(v.EmailVerified), orDash(oneLine(v.DisplayName)))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "new address")
	cmd.Flags().StringVar(&name, "name", "", "new display name (empty clears it)")
	cmd.Flags().BoolVar(&verified, "verified", false, "mark the address as proven")
	cmd.Flags().BoolVar(&unverified, "unverified", false, "mark the address as unproven")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

// userRevokeCmd is "sign-out" (sessions and tokens) or "revoke-grants"
// (consents and tokens).
func (c *cli) userRevokeCmd(grants bool) *cobra.Command {
	use, short := "sign-out USER_ID|EMAIL", "Sign a user out everywhere (sessions and tokens) without disabling them"
	if grants {
		use, short = "revoke-grants USER_ID|EMAIL", "Withdraw a user's app grants (consents) and revoke their tokens, keeping their sessions"
	}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				var (
					r   *console.Revoked
					err error
				)
				if grants {
					r, err = svc.Users.RevokeGrants(ctx, u.ID)
				} else {
					r, err = svc.Users.SignOutEverywhere(ctx, u.ID)
				}
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				switch {
				case asJSON:
					return writeJSON(out, r)
				case grants:
					fmt.Fprintf(out, "Withdrew %d app grant(s) of %s and revoked their tokens; they stay signed in.\n", r.Grants, u.Email)
				default:
					fmt.Fprintf(out, "Ended %d session(s) of %s and revoked their tokens; they may sign in again.\n", r.Sessions, u.Email)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (c *cli) userEventsCmd() *cobra.Command {
	var result, method, client string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "events USER_ID|EMAIL [--result success|failure] [--method METHOD] [--client CLIENT_ID] [--limit N]",
		Short:   "Show a user's sign-in history, newest first",
		Example: `  sesame user events ada@example.com --result failure`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				h, err := svc.Users.History(ctx, u.ID, console.HistoryQuery{Result: result, Method: method, ClientID: client}, limit)
				if err != nil {
					return usageError(err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, h)
				}
				return printList(out, false, h.Items, table[console.EventView]{empty: fmt.Sprintf("No sign-ins of %s match.", u.Email),
					header: "TIME (UTC)\tEVENT\tRESULT\tMETHOD\tCLIENT\tIP",
					row: func(w io.Writer, e console.EventView) {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.DateTime), e.Event, resultOf(e.Result, e.Reason), console.MethodName(e.Method), orDash(e.ClientID), orDash(e.IP))
					}})
			})
		},
	}
	cmd.Flags().StringVar(&result, "result", "", "success or failure")
	cmd.Flags().StringVar(&method, "method", "", "passkey, passlink or password_security_key")
	cmd.Flags().StringVar(&client, "client", "", "only sign-ins to this client")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (1-100)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// adminRoleCmd grants ("grant") or takes ("revoke") the admin role.
func (c *cli) adminRoleCmd(grant bool) *cobra.Command {
	use, short := "revoke USER_ID|EMAIL", "Take the admin role from a user (never the last enabled admin)"
	if grant {
		use, short = "grant USER_ID|EMAIL", "Make a user an admin"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				v, err := svc.Users.SetAdmin(ctx, u.ID, grant)
				if err != nil {
					return err
				}
				if v.Admin {
					fmt.Fprintf(cmd.OutOrStdout(), "%s is an admin; they sign in to the console with a passkey or a password and security key.\n", v.Email)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s is no longer an admin.\n", v.Email)
				}
				return nil
			})
		},
	}
}

// userCancelDeletionCmd withdraws a user's own deletion request during
// its grace period.
func (c *cli) userCancelDeletionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "cancel-deletion USER_ID|EMAIL",
		Short: "Withdraw a user's own request to delete their account (during its grace period)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				v, err := svc.Users.CancelDeletion(ctx, u.ID)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), v)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "The deletion %s asked for is cancelled; the account stays.\n", v.Email)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

// userRecoveryCodesCmd shows how many recovery codes a user has left, or
// invalidates them all (--invalidate).
func (c *cli) userRecoveryCodesCmd() *cobra.Command {
	var invalidate, asJSON bool
	cmd := &cobra.Command{
		Use:   "recovery-codes USER_ID|EMAIL",
		Short: "Show how many recovery codes a user has left, or invalidate them (--invalidate)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				out := cmd.OutOrStdout()
				if invalidate {
					r, err := svc.Users.InvalidateRecoveryCodes(ctx, u.ID)
					if err != nil {
						return err
					}
					if asJSON {
						return writeJSON(out, r)
					}
					fmt.Fprintf(out, "Invalidated %d unused recovery code(s) of %s; they can create new ones on their account page.\n", r.Invalidated, u.Email)
					return nil
				}
				n, err := st.CountRecoveryCodes(ctx, u.ID)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(out, map[string]any{"user_id": u.ID, "recovery_codes": n})
				}
				fmt.Fprintf(out, "%s has %d unused recovery code(s).\n", u.Email, n)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&invalidate, "invalidate", false, "invalidate every recovery code of the user (audited)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
