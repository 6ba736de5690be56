package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// The group commands go through the console's Groups service: the same
// rules and audit log as the console and the admin API.

// groupErr turns a store miss into a message naming the group.
func groupErr(name string, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("group %s not found", name)
	}
	return err
}

func (c *cli) groupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "group",
		Aliases: []string{"groups"},
		Short:   "Create groups and manage their members (the groups claim and clients' allowed groups)",
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.groupListCmd(), c.groupCreateCmd(), c.groupShowCmd(), c.groupUpdateCmd(), c.groupDeleteCmd(),
		c.groupAddCmd(), c.groupRemoveCmd())
	return cmd
}

func (c *cli) groupListCmd() *cobra.Command {
	return listCmd(c, "List groups with their member counts", func(ctx context.Context, svc *console.Services) ([]console.GroupView, error) {
		return allPages(func(off, limit int) ([]console.GroupView, bool, error) {
			return svc.Groups.List(ctx, "", off, limit)
		})
	}, table[console.GroupView]{
		empty:  `No groups yet. Create one with: sesame group create staff --description "Everyone on the payroll"`,
		header: "NAME\tMEMBERS\tDESCRIPTION",
		row: func(w io.Writer, g console.GroupView) {
			fmt.Fprintf(w, "%s\t%d\t%s\n", g.Name, g.MemberCount, orDash(oneLine(g.Description)))
		},
	})
}

func (c *cli) groupCreateCmd() *cobra.Command {
	var description string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "create NAME [--description TEXT]",
		Short:   "Create a group",
		Example: `  sesame group create staff --description "Everyone on the payroll"`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				g, err := svc.Groups.Create(ctx, console.GroupSpec{Name: args[0], Description: description})
				if err != nil {
					return cliProblem(err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), g)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created group %s.\n", g.Name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the group as JSON")
	return cmd
}

// groupDetail is a group with its members, as group show prints it.
type groupDetail struct {
	console.GroupView
	Members []userView `json:"members"`
}

func (c *cli) groupShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a group and its members",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				g, err := svc.Groups.Get(ctx, args[0])
				if err != nil {
					return groupErr(args[0], err)
				}
				members, err := allPages(func(off, limit int) ([]console.UserView, bool, error) {
					return svc.Groups.Members(ctx, args[0], off, limit)
				})
				if err != nil {
					return groupErr(args[0], err)
				}
				d := groupDetail{GroupView: *g, Members: make([]userView, 0, len(members))}
				for i := range members {
					d.Members = append(d.Members, userViewOf(userFromView(&members[i])))
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, d)
				}
				fmt.Fprintf(out, "name:         %s\ndescription:  %s\nmembers:      %d\n", d.Name, orDash(oneLine(d.Description)), len(d.Members))
				if len(d.Members) == 0 {
					return nil
				}
				fmt.Fprintln(out)
				return printList(out, false, d.Members, table[userView]{header: "ID\tEMAIL\tNAME", row: func(w io.Writer, m userView) {
					fmt.Fprintf(w, "%s\t%s\t%s\n", m.ID, m.Email, orDash(oneLine(m.Name)))
				}})
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the group and its members as JSON")
	return cmd
}

func (c *cli) groupUpdateCmd() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "update NAME --description TEXT",
		Short: "Change a group's description (names are fixed: tokens and clients refer to them)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("description") {
				return usageError(errors.New("--description is required"))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				if _, err := svc.Groups.Update(ctx, args[0], console.GroupSpec{Description: description}); err != nil {
					return groupErr(args[0], cliProblem(err))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Updated group %s.\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	return cmd
}

func (c *cli) groupDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete NAME [--yes]",
		Short: "Delete a group and its memberships",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				name := args[0]
				g, err := svc.Groups.Get(ctx, name)
				if err != nil {
					return groupErr(name, err)
				}
				locked, err := svc.Groups.ClientsAllowing(ctx, name)
				if err != nil {
					return err
				}
				if !yes {
					q := fmt.Sprintf("Delete group %s and its %d membership(s)?", name, g.MemberCount)
					if len(locked) > 0 {
						q = fmt.Sprintf("Delete group %s? %d client(s) allow it (%s): its members lose access there.", name, len(locked), oneLine(fmt.Sprint(locked)))
					}
					ok, err := confirm(cmd, q)
					if err != nil || !ok {
						return err
					}
				}
				if err := svc.Groups.Delete(ctx, name); err != nil {
					return groupErr(name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted group %s.\n", name)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (c *cli) groupAddCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "add-member NAME USER_ID|EMAIL...",
		Short:   "Add users to a group (their next token carries it)",
		Example: `  sesame group add-member staff ada@example.com bob@example.com`,
		Args:    usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				for _, ref := range args[1:] {
					u, err := svc.Groups.AddMember(ctx, args[0], ref)
					if err != nil {
						return fmt.Errorf("add %s to %s: %w", ref, args[0], groupErr(args[0], cliProblem(err)))
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Added %s to %s.\n", u.Email, args[0])
				}
				return nil
			})
		},
	}
}

func (c *cli) groupRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove-member NAME USER_ID|EMAIL...",
		Short: "Remove users from a group (their next token lacks it)",
		Args:  usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, st *store.Store) error {
				for _, ref := range args[1:] {
					u, err := findUser(ctx, st, ref)
					if err != nil {
						return err
					}
					if err := svc.Groups.RemoveMember(ctx, args[0], u.ID); err != nil {
						return fmt.Errorf("remove %s from %s: %w", ref, args[0], groupErr(args[0], cliProblem(err)))
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Removed %s from %s.\n", u.Email, args[0])
				}
				return nil
			})
		},
	}
}

// cliProblem turns a console problem into a plain message: its detail or
// its field errors ("name: another group has this name"). Validation
// problems stay usage errors (exit 2).
func cliProblem(err error) error {
	p, ok := errors.AsType[*console.Problem](err)
	if !ok {
		return err
	}
	msg := p.Detail
	for _, fe := range p.Errors {
		if msg != "" {
			msg += "\n"
		}
		msg += fe.Field + ": " + fe.Message
	}
	if msg == "" {
		msg = p.Title
	}
	if p.Status == 422 {
		return usageError(errors.New(msg))
	}
	return errors.New(msg)
}
