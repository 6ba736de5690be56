package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models/store"
)

// table is how a list command prints its items without --json: the
// empty line instead of a table when there are none ("" prints the bare
// header), else the header (tab-separated columns) and a row per item.
type table[T any] struct {
	empty  string
	header string
	// row writes one item's tab-separated line, newline included.
	row func(w io.Writer, item T)
}

// printList prints items as every list command does: a JSON array with
// --json, else the table t.
func printList[T any](out io.Writer, asJSON bool, items []T, t table[T]) error {
	if asJSON {
		return writeJSON(out, items)
	}
	if len(items) == 0 && t.empty != "" {
		fmt.Fprintln(out, t.empty)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, t.header)
	for _, it := range items {
		t.row(tw, it)
	}
	return tw.Flush()
}

// listCmd is a "list" command of the common shape: no arguments, the
// items read through the console's services (load), printed by
// printList; --json prints a JSON array.
func listCmd[T any](c *cli, short string, load func(ctx context.Context, svc *console.Services) ([]T, error), t table[T]) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				items, err := load(ctx, svc)
				if err != nil {
					return err
				}
				return printList(cmd.OutOrStdout(), asJSON, items, t)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// resultOf is a sign-in's result with its reason, if any.
func resultOf(result, reason string) string {
	if reason != "" {
		return result + " (" + reason + ")"
	}
	return result
}
