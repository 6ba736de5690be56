package main

import (
	"context"
	"fmt"
	"path"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models/store"
)

func (c *cli) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or list database migrations",
		Long: `Apply or list database migrations. "sesame serve" applies pending migrations
at start unless --migrate=false; operators who migrate in a separate deploy
step run "sesame migrate up" instead.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withMigrationStore(cmd, func(ctx context.Context, st *store.Store) error {
				db, err := st.SQLDB()
				if err != nil {
					return err
				}
				res, err := migrations.Up(ctx, db, st.Dialect())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if len(res) == 0 {
					fmt.Fprintln(out, "The database is up to date.")
					return nil
				}
				for _, r := range res {
					fmt.Fprintf(out, "applied %05d %s (%s)\n", r.Source.Version, path.Base(r.Source.Path), r.Duration.Round(time.Millisecond))
				}
				return nil
			})
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withMigrationStore(cmd, func(ctx context.Context, st *store.Store) error {
				db, err := st.SQLDB()
				if err != nil {
					return err
				}
				p, err := migrations.Provider(db, st.Dialect())
				if err != nil {
					return err
				}
				list, err := p.Status(ctx)
				if err != nil {
					return fmt.Errorf("migration status: %w", err)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "VERSION\tFILE\tSTATE\tAPPLIED AT\n")
				for _, m := range list {
					at := "-"
					if !m.AppliedAt.IsZero() {
						at = m.AppliedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", m.Source.Version, path.Base(m.Source.Path), m.State, at)
				}
				return tw.Flush()
			})
		},
	}
	cmd.AddCommand(up, status)
	return cmd
}

// withMigrationStore opens the store without migrating it: the migrate
// commands decide themselves.
func (c *cli) withMigrationStore(cmd *cobra.Command, fn func(ctx context.Context, st *store.Store) error) error {
	cfg, err := c.loadConfig(cmd, false)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	st, err := openStore(ctx, cfg, cliLogger(cfg, cmd.ErrOrStderr()), false)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st)
}
