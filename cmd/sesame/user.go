package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// userView is a user as the CLI shows it in JSON.
type userView struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	Username      string    `json:"username,omitempty"`
	Disabled      bool      `json:"disabled"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func userFromView(v *console.UserView) *models.User {
	var username *string
	if v.Username != "" {
		username = &v.Username
	}
	return &models.User{Username: username, ID: v.ID, Email: v.Email, EmailVerified: v.EmailVerified, DisplayName: v.DisplayName,
		Disabled: v.Disabled, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

func userViewOf(u *models.User) userView {
	v := userView{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.DisplayName, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Username != nil {
		v.Username = *u.Username
	}
	return v
}

// findUser looks a user up by id, or by address when ref contains "@".
func findUser(ctx context.Context, st *store.Store, ref string) (*models.User, error) {
	var (
		u   *models.User
		err error
	)
	if strings.Contains(ref, "@") {
		u, err = st.GetUserByEmail(ctx, ref)
	} else {
		u, err = st.GetUser(ctx, ref)
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("user %s not found", ref)
	}
	return u, err
}

// withUser runs fn with the services and the user ref names (an id, or an
// address when it contains "@").
func (c *cli) withUser(cmd *cobra.Command, ref string, fn func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error) error {
	return c.withServices(cmd, func(ctx context.Context, svc *console.Services, st *store.Store) error {
		u, err := findUser(ctx, st, ref)
		if err != nil {
			return err
		}
		return fn(ctx, svc, st, u)
	})
}

func (c *cli) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, list, show and disable users; set their profiles",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.userCreateCmd(), c.userListCmd(), c.userShowCmd(), c.userDisableCmd(), c.userProfileCmd(), c.userGroupsCmd(),
		c.userUpdateCmd(), c.userRevokeCmd(false), c.userRevokeCmd(true), c.userRecoveryCodesCmd(), c.userEventsCmd(), c.userImportCmd(), c.userExportCmd(), c.userCancelDeletionCmd())
	return cmd
}

func (c *cli) userCreateCmd() *cobra.Command {
	var email, name string
	var verified, asJSON bool
	cmd := &cobra.Command{
		Use:     "create --email ADDRESS [--name NAME] [--verified]",
		Short:   "Create a user",
		Example: `  sesame user create --email ada@example.com --name "Ada Lovelace" --verified`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email = strings.TrimSpace(email)
			if email == "" {
				return usageError(errors.New("--email is required"))
			}
			if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
				return usageError(fmt.Errorf("--email: %q is not an e-mail address", email))
			}
			name = strings.TrimSpace(name)
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				v, err := svc.Users.Create(ctx, email, name, verified)
				if err != nil {
					if errors.Is(err, models.ErrAlreadyExists) {
						return fmt.Errorf("a user with e-mail %s already exists", email)
					}
					return err
				}
				u := userFromView(v)
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), userViewOf(u))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created user %s (%s).\n", u.ID, u.Email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address (required, unique regardless of case)")
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().BoolVar(&verified, "verified", false, "mark the address as verified")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

func (c *cli) userListCmd() *cobra.Command {
	var asJSON bool
	var q console.UserQuery
	cmd := &cobra.Command{
		Use:   "list [--admins] [--disabled] [--unverified] [--search TEXT]",
		Short: "List users, with their last sign-in and credentials",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				type row struct {
					userView
					Admin        bool       `json:"admin"`
					LastSignInAt *time.Time `json:"last_sign_in_at"`
					Credentials  int64      `json:"credentials"`
				}
				rows := []row{}
				for offset := 0; offset <= console.MaxOffset; offset += console.MaxLimit {
					items, more, err := svc.Users.List(ctx, q, offset, console.MaxLimit)
					if err != nil {
						return err
					}
					for i := range items {
						rows = append(rows, row{userView: userViewOf(userFromView(&items[i].UserView)), Admin: items[i].Admin,
							LastSignInAt: items[i].LastSignInAt, Credentials: items[i].Credentials})
					}
					if !more {
						break
					}
				}
				return printList(cmd.OutOrStdout(), asJSON, rows, table[row]{empty: "No users match.",
					header: "ID\tEMAIL\tVERIFIED\tSTATUS\tADMIN\tLAST SIGN-IN\tKEYS\tNAME",
					row: func(w io.Writer, u row) {
						last := "never"
						if u.LastSignInAt != nil {
							last = u.LastSignInAt.UTC().Format("2006-01-02 15:04")
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", u.ID, u.Email, yesNo(u.EmailVerified), status(u.Disabled), yesNo(u.Admin),
							last, u.Credentials, orDash(oneLine(u.Name)))
					}})
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().BoolVar(&q.Admins, "admins", false, "only admins")
	cmd.Flags().BoolVar(&q.Disabled, "disabled", false, "only disabled users")
	cmd.Flags().BoolVar(&q.Unverified, "unverified", false, "only users whose address is unproven")
	cmd.Flags().StringVar(&q.Query, "search", "", "only users whose address or name contains TEXT")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func status(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "active"
}

func (c *cli) userShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show USER_ID|EMAIL",
		Short: "Show a user",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				u, err := findUser(ctx, st, args[0])
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, userViewOf(u))
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "id:\t%s\n", u.ID)
				fmt.Fprintf(tw, "email:\t%s\n", u.Email)
				fmt.Fprintf(tw, "email_verified:\t%s\n", yesNo(u.EmailVerified))
				fmt.Fprintf(tw, "name:\t%s\n", orDash(oneLine(u.DisplayName)))
				fmt.Fprintf(tw, "username:\t%s\n", orDash(userViewOf(u).Username))
				fmt.Fprintf(tw, "status:\t%s\n", status(u.Disabled))
				fmt.Fprintf(tw, "created_at:\t%s\n", u.CreatedAt.UTC().Format(time.RFC3339))
				fmt.Fprintf(tw, "updated_at:\t%s\n", u.UpdatedAt.UTC().Format(time.RFC3339))
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

func (c *cli) userDisableCmd() *cobra.Command {
	var enable, asJSON bool
	cmd := &cobra.Command{
		Use:   "disable USER_ID|EMAIL [--enable]",
		Short: "Disable a user (signing them out everywhere), or enable them again",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withUser(cmd, args[0], func(ctx context.Context, svc *console.Services, st *store.Store, u *models.User) error {
				// The console's rules hold here too: e.g. the last enabled
				// admin cannot be disabled.
				if _, err := svc.Users.SetDisabled(ctx, u.ID, !enable); err != nil {
					return err
				}
				u, err := st.GetUser(ctx, u.ID)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, userViewOf(u))
				}
				if enable {
					fmt.Fprintf(out, "Enabled user %s (%s).\n", u.ID, u.Email)
				} else {
					fmt.Fprintf(out, "Disabled user %s (%s); their login sessions are revoked.\n", u.ID, u.Email)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the user again instead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}
