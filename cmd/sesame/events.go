package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models/store"
)

// "sesame events": the console's Sign-ins page and the admin API's GET
// /events and /events/export on the command line, through the same
// service (console.Events).

func (c *cli) eventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Search and export the sign-in events of every user",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.eventsListCmd(), c.eventsExportCmd())
	return cmd
}

// eventFlags are the filters both subcommands take.
type eventFlags struct {
	q            console.EventSearch
	since, until string
}

func (f *eventFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.q.User, "user", "", "only this user's events (ID or email address)")
	cmd.Flags().StringVar(&f.q.ClientID, "client", "", "only sign-ins to this client")
	cmd.Flags().StringVar(&f.q.Method, "method", "", "passkey, passlink or password_security_key")
	cmd.Flags().StringVar(&f.q.Result, "result", "", "success or failure")
	cmd.Flags().StringVar(&f.q.Event, "event", "", "only this kind of event (login, register, …)")
	cmd.Flags().StringVar(&f.since, "since", "", "from this time (RFC 3339, or a date: its start in UTC)")
	cmd.Flags().StringVar(&f.until, "until", "", "up to this time, exclusive (RFC 3339, or a date: up to its end in UTC)")
}

// query checks the time flags and returns the search.
func (f *eventFlags) query() (console.EventSearch, error) {
	q := f.q
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
		endOf   bool
	}{{"--since", f.since, &q.Since, false}, {"--until", f.until, &q.Until, true}} {
		if t.v == "" {
			continue
		}
		if v, err := time.Parse(time.RFC3339, t.v); err == nil {
			*t.dst = v
			continue
		}
		d, err := time.Parse(time.DateOnly, t.v)
		if err != nil {
			return q, usageError(fmt.Errorf("%s: an RFC 3339 time such as 2026-01-02T15:04:05Z, or a date such as 2026-01-02", t.flag))
		}
		if t.endOf {
			d = d.AddDate(0, 0, 1)
		}
		*t.dst = d
	}
	return q, nil
}

// badInput marks the service's 422 as a usage error (exit status 2).
func badInput(err error) error {
	if p, ok := errors.AsType[*console.Problem](err); ok && p.Status == http.StatusUnprocessableEntity {
		return usageError(err)
	}
	return err
}

func (c *cli) eventsListCmd() *cobra.Command {
	var f eventFlags
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list [--user USER] [--client CLIENT_ID] [--method METHOD] [--result success|failure] [--since TIME] [--until TIME] [--limit N]",
		Short:   "Show sign-in events, newest first",
		Example: `  sesame events list --result failure --since 2026-12-01`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := f.query()
			if err != nil {
				return err
			}
			q.Limit = limit
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Events.Search(ctx, q)
				if err != nil {
					return badInput(err)
				}
				out := cmd.OutOrStdout()
				err = printList(out, asJSON, p.Items, table[console.SignInEvent]{empty: "No sign-in events match.",
					header: "TIME (UTC)\tUSER\tEVENT\tRESULT\tMETHOD\tCLIENT\tIP",
					row: func(w io.Writer, e console.SignInEvent) {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.DateTime), orDash(cmpOr(e.Email, e.UserID)), e.Event, resultOf(e.Result, e.Reason),
							console.MethodName(e.Method), orDash(e.ClientID), orDash(e.IP))
					}})
				if err != nil || asJSON || len(p.Items) == 0 {
					return err
				}
				if p.NextCursor != "" {
					fmt.Fprintf(out, "More events are older; narrow with --until %s, or export them all with \"sesame events export\".\n",
						p.Items[len(p.Items)-1].At.Format(time.RFC3339Nano))
				}
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (1-100)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (c *cli) eventsExportCmd() *cobra.Command {
	var f eventFlags
	var format, output string
	cmd := &cobra.Command{
		Use:     "export [--format csv|jsonl] [--output FILE] [filters]",
		Short:   "Write the sign-in events the filters select as CSV or JSON Lines, newest first",
		Example: `  sesame events export --since 2026-11-01 --until 2026-11-30 --output november.jsonl`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := f.query()
			if err != nil {
				return err
			}
			if format == "" && !strings.HasSuffix(output, ".jsonl") && !strings.HasSuffix(output, ".ndjson") {
				format = console.FormatCSV
			}
			fm, err := formatOf(format, output)
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
				return badInput(svc.Events.Export(ctx, out, q, fm))
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from --output's name, else csv)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE (mode 0600) instead of standard output")
	return cmd
}
