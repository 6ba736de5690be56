package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// The webhook commands go through the console's Webhooks service: the
// same rules and audit log as the console and the admin API. The running
// server delivers what they queue at its next poll.

func webhookErr(id string, err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("webhook %s not found", id)
	}
	return cliProblem(err)
}

func (c *cli) webhookCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "webhook",
		Aliases: []string{"webhooks"},
		Short:   "Register webhook endpoints and read their delivery logs (docs/webhooks.md)",
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(c.webhookListCmd(), c.webhookEventsCmd(), c.webhookCreateCmd(), c.webhookShowCmd(), c.webhookUpdateCmd(),
		c.webhookSetEnabledCmd(true), c.webhookSetEnabledCmd(false), c.webhookRotateCmd(), c.webhookDeleteCmd(),
		c.webhookDeliveriesCmd(), c.webhookRedeliverCmd())
	return cmd
}

func (c *cli) webhookListCmd() *cobra.Command {
	return listCmd(c, "List webhook endpoints", func(ctx context.Context, svc *console.Services) ([]console.WebhookView, error) {
		return svc.Webhooks.List(ctx)
	}, table[console.WebhookView]{
		empty:  "No webhook endpoints yet. Register one with: sesame webhook create https://hooks.example.com/sesame --event user.created",
		header: "ID\tSTATE\tURL\tEVENTS",
		row: func(w io.Writer, v console.WebhookView) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.ID, webhookState(v), v.URL, strings.Join(v.EventTypes, ","))
		},
	})
}

func webhookState(w console.WebhookView) string {
	switch {
	case !w.Enabled:
		return "disabled"
	case w.FailingSince != nil:
		return "failing since " + w.FailingSince.Format(time.RFC3339)
	}
	return "enabled"
}

func (c *cli) webhookEventsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "events",
		Short: "List the event types an endpoint can subscribe to",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, e := range models.WebhookCatalogue {
				fmt.Fprintf(tw, "%s\t%s\n", e.Type, e.Description)
			}
			return tw.Flush()
		},
	}
}

// webhookFlags are the settable fields of create and update.
type webhookFlags struct {
	events      []string
	description string
}

func (f *webhookFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.events, "event", nil, "event type to send (repeatable or comma-separated; see sesame webhook events)")
	cmd.Flags().StringVar(&f.description, "description", "", "what the endpoint is for")
}

func (c *cli) webhookCreateCmd() *cobra.Command {
	var f webhookFlags
	var disabled, asJSON bool
	cmd := &cobra.Command{
		Use:     "create URL --event TYPE...",
		Short:   "Register an endpoint; prints its signing secret once",
		Example: `  sesame webhook create https://crm.example.com/hooks/sesame --event user.created --event user.deleted`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				enabled := !disabled
				w, err := svc.Webhooks.Create(ctx, console.WebhookSpec{URL: args[0], Description: f.description, EventTypes: f.events, Enabled: &enabled})
				if err != nil {
					return cliProblem(err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, w)
				}
				fmt.Fprintf(out, "Registered webhook %s.\nSigning secret (shown once; keep it in your receiver's secret store):\n%s\n", w.ID, w.Secret)
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&disabled, "disabled", false, "register it disabled")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the endpoint with its secret as JSON")
	return cmd
}

func (c *cli) webhookShowCmd() *cobra.Command {
	return c.webhookIDCmd("show ID", "Show an endpoint as JSON", func(ctx context.Context, svc *console.Services, id string) (string, error) {
		w, err := svc.Webhooks.Get(ctx, id)
		if err != nil {
			return "", err
		}
		b, err := json.MarshalIndent(w, "", "  ")
		return string(b), err
	})
}

func (c *cli) webhookUpdateCmd() *cobra.Command {
	var f webhookFlags
	var url string
	cmd := &cobra.Command{
		Use:   "update ID [--url URL] [--event TYPE...] [--description TEXT]",
		Short: "Change an endpoint's URL, event types or description (unset flags keep theirs)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				w, err := svc.Webhooks.Get(ctx, args[0])
				if err != nil {
					return webhookErr(args[0], err)
				}
				spec := console.WebhookSpec{URL: w.URL, Description: w.Description, EventTypes: w.EventTypes}
				if cmd.Flags().Changed("url") {
					spec.URL = url
				}
				if cmd.Flags().Changed("event") {
					spec.EventTypes = f.events
				}
				if cmd.Flags().Changed("description") {
					spec.Description = f.description
				}
				if _, err := svc.Webhooks.Update(ctx, w.ID, spec); err != nil {
					return cliProblem(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Updated webhook %s.\n", w.ID)
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&url, "url", "", "the endpoint's new URL")
	return cmd
}

// webhookIDCmd is a command on one endpoint: run does the work and
// returns what to print.
func (c *cli) webhookIDCmd(use, short string, run func(ctx context.Context, svc *console.Services, id string) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				out, err := run(ctx, svc, args[0])
				if err != nil {
					return webhookErr(args[0], err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), out)
				return nil
			})
		},
	}
}

func (c *cli) webhookSetEnabledCmd(enabled bool) *cobra.Command {
	use, short, done := "disable ID", "Disable an endpoint: nothing more is queued for it", "Disabled"
	if enabled {
		use, short, done = "enable ID", "Enable an endpoint (also one disabled automatically)", "Enabled"
	}
	return c.webhookIDCmd(use, short, func(ctx context.Context, svc *console.Services, id string) (string, error) {
		_, err := svc.Webhooks.SetEnabled(ctx, id, enabled)
		return done + " webhook " + id + ".", err
	})
}

func (c *cli) webhookRotateCmd() *cobra.Command {
	return c.webhookIDCmd("rotate-secret ID", "Replace an endpoint's signing secret at once; prints the new one once",
		func(ctx context.Context, svc *console.Services, id string) (string, error) {
			secret, err := svc.Webhooks.RotateSecret(ctx, id)
			return "New signing secret for " + id + " (shown once):\n" + secret, err
		})
}

func (c *cli) webhookDeleteCmd() *cobra.Command {
	return c.webhookIDCmd("delete ID", "Delete an endpoint and its delivery log",
		func(ctx context.Context, svc *console.Services, id string) (string, error) {
			return "Deleted webhook " + id + ".", svc.Webhooks.Delete(ctx, id)
		})
}

func (c *cli) webhookDeliveriesCmd() *cobra.Command {
	var status string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deliveries ID",
		Short: "Show an endpoint's delivery log, newest first",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				list, err := svc.Webhooks.Deliveries(ctx, args[0], status, limit)
				if err != nil {
					return webhookErr(args[0], err)
				}
				return printList(cmd.OutOrStdout(), asJSON, list, table[console.WebhookDeliveryView]{
					header: "ID\tEVENT\tSTATUS\tATTEMPTS\tCODE\tLATENCY\tCREATED\tLAST ERROR",
					row: func(w io.Writer, d console.WebhookDeliveryView) {
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%dms\t%s\t%s\n", d.ID, d.EventType, d.Status, d.Attempts, d.ResponseCode,
							d.LatencyMS, d.CreatedAt.Format(time.RFC3339), orDash(oneLine(d.LastError)))
					}})
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only pending, sent or failed")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (up to 100)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (c *cli) webhookRedeliverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver ID DELIVERY",
		Short: "Queue a sent or failed delivery again (same webhook-id)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				if _, err := svc.Webhooks.Redeliver(ctx, args[0], args[1]); err != nil {
					return webhookErr(args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Queued delivery %s again.\n", args[1])
				return nil
			})
		},
	}
}
