package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models/store"
)

// formatOf is --format, or the file's extension (.csv, .jsonl, .ndjson).
func formatOf(flag, path string) (string, error) {
	if flag == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			flag = console.FormatCSV
		case ".jsonl", ".ndjson":
			flag = console.FormatJSONL
		}
	}
	if flag != console.FormatCSV && flag != console.FormatJSONL {
		return "", usageError(fmt.Errorf("--format: csv or jsonl (or a file ending in .csv or .jsonl)"))
	}
	return flag, nil
}

func (c *cli) userImportCmd() *cobra.Command {
	var format string
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "import FILE [--format csv|jsonl] [--dry-run]",
		Short: "Create or update users from a CSV or JSON Lines file (idempotent)",
		Long: `Create or update users from a CSV file (a header row naming the columns) or a
JSON Lines file (one object a line), with the columns or fields email (required), name,
verified, groups (existing groups, separated by ";" in CSV; added, never removed) and
attributes (a JSON object; replaces the user's). "-" reads standard input.

Users are matched by address, regardless of case: the same file imported twice changes
nothing the second time. Every row is checked and reported on its own; --dry-run reports
what would happen without writing. The exit status is 1 when a row was invalid.`,
		Example: `  sesame user import staff.csv --dry-run
  sesame user export --format jsonl > users.jsonl && sesame user import users.jsonl`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := formatOf(format, args[0])
			if err != nil {
				return err
			}
			var in io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return usageError(err)
				}
				defer file.Close()
				in = file
			}
			rows, err := console.ParseImport(in, f)
			if err != nil {
				return usageError(err)
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				rep, err := svc.Users.Import(ctx, rows, dryRun)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					if err := writeJSON(out, rep); err != nil {
						return err
					}
				} else {
					printImport(out, rep)
				}
				if rep.Invalid > 0 {
					return fmt.Errorf("%d invalid row(s) were not imported", rep.Invalid)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from the file name)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check and report, write nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printImport(w io.Writer, rep *console.ImportReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tEMAIL\tRESULT\tPROBLEM")
	for _, r := range rep.Rows {
		var probs []string
		for _, fe := range r.Errors {
			probs = append(probs, fe.Field+": "+fe.Message)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Row, orDash(oneLine(r.Email)), r.Action, orDash(strings.Join(probs, "; ")))
	}
	_ = tw.Flush()
	verb := "Imported"
	if rep.DryRun {
		verb = "Dry run, nothing written"
	}
	fmt.Fprintf(w, "%s: %d created, %d updated, %d unchanged, %d invalid.\n", verb, rep.Created, rep.Updated, rep.Unchanged, rep.Invalid)
}

func (c *cli) userExportCmd() *cobra.Command {
	var format, output string
	var q console.UserQuery
	cmd := &cobra.Command{
		Use:   "export [--format csv|jsonl] [--output FILE] [--admins] [--disabled] [--unverified] [--search TEXT]",
		Short: "Write users as CSV or JSON Lines (what import reads back)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format == "" && !strings.HasSuffix(output, ".jsonl") && !strings.HasSuffix(output, ".ndjson") {
				format = console.FormatCSV
			}
			f, err := formatOf(format, output)
			if err != nil {
				return err
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				out := cmd.OutOrStdout()
				if output != "" && output != "-" {
					file, err := os.OpenFile(output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
					if err != nil {
						return usageError(err)
					}
					defer file.Close()
					out = file
				}
				return svc.Users.Export(ctx, out, q, f)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from --output's name, else csv)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE (mode 0600) instead of standard output")
	cmd.Flags().BoolVar(&q.Admins, "admins", false, "only admins")
	cmd.Flags().BoolVar(&q.Disabled, "disabled", false, "only disabled users")
	cmd.Flags().BoolVar(&q.Unverified, "unverified", false, "only users whose address is unproven")
	cmd.Flags().StringVar(&q.Query, "search", "", "only users whose address or name contains TEXT")
	return cmd
}
