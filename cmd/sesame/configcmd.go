package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/server"
)

func (c *cli) configCmd() *cobra.Command {
	var checkOnly bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets masked (--check: validate it)",
		Long: `Print the effective configuration (defaults, config file, environment and
flags combined) as YAML, with secrets masked. The output is a valid config
file. Problems that would stop "sesame serve" are listed on stderr.

With --check only "configuration ok" is printed: the configuration is validated
as serve would, secret files included (present, private, not empty), and
the command exits with status 2 when anything is wrong, 0 otherwise; for
deploy pipelines and init containers.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), c.getenv)
			if err != nil {
				return usageError(err)
			}
			if checkOnly {
				var errs []error
				resolved, err := secret.ReadFiles(cfg)
				if err != nil {
					errs = append(errs, err)
					resolved = cfg
				}
				if err := server.ValidateConfig(resolved); err != nil {
					errs = append(errs, err)
				}
				if err := errors.Join(errs...); err != nil {
					return usageError(fmt.Errorf("invalid configuration:\n%s", indentAll(err.Error())))
				}
				fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
				return nil
			}
			if err := cfg.Masked().WriteYAML(cmd.OutOrStdout()); err != nil {
				return err
			}
			// Printing is the job here: problems are reported, not fatal.
			if err := server.ValidateConfig(cfg); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "sesame: this configuration would not start (check it with sesame config --check):\n%s\n", indentAll(err.Error()))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&checkOnly, "check", false, "validate only, secret files included; exit 2 when invalid")
	return cmd
}
