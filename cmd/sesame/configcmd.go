package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/server"
)

func (c *cli) configCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets masked",
		Long: `Print the effective configuration (defaults, config file, environment and
flags combined) as YAML, with secrets masked. The output is a valid config
file. Problems that would stop "sesame serve" are listed on stderr and make
the command exit with status 2.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), c.getenv)
			if err != nil {
				return usageError(err)
			}
			if err := cfg.Masked().WriteYAML(cmd.OutOrStdout()); err != nil {
				return err
			}
			if err := server.ValidateConfig(cfg); err != nil {
				return usageError(fmt.Errorf("invalid configuration:\n%s", indentAll(err.Error())))
			}
			return nil
		},
	}
}
