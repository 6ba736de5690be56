package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server"
)

func (c *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the OpenID Connect provider",
		Long: `Run the OpenID Connect provider.

On your machine, "sesame serve --dev" keeps everything in ./data: a SQLite
database and a generated system secret. In production set an https issuer
and a system secret (SESAME_SYSTEM_SECRET or --system-secret-file), and
optionally DATABASE_URL=postgres://... for PostgreSQL.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadServeConfig(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			log := newLogger(cfg, cmd.ErrOrStderr())
			// The one process-wide logger: packages that fall back to
			// slog.Default log in the configured format too.
			slog.SetDefault(log)
			sec, err := secret.Resolve(cfg, log)
			if err != nil {
				return usageError(err)
			}
			if ip, lp, bad := cfg.IssuerPortMismatch(); bad {
				log.Warn("issuer port differs from the listen port", "issuer", cfg.Issuer, "issuer_port", ip, "listen_port", lp)
			}
			printBanner(cmd.ErrOrStderr(), cfg)
			// Migrations run in openStore unless --migrate=false. A
			// database that is not reachable yet is waited for: alive,
			// not ready, retrying with back-off (server.Boot).
			open := func(ctx context.Context) (*store.Store, error) { return openStore(ctx, cfg, log, true) }
			offset, err := replicaClockOffset()
			if err != nil {
				return usageError(err)
			}
			return server.Boot(ctx, server.Deps{Config: cfg, Secret: sec, Logger: log, ClockOffset: offset}, open, func(srv *server.Server) {
				if !cfg.Dev {
					return
				}
				// First run: no admin yet, so print a link that makes one.
				link, err := console.EnsureSetupLink(ctx, srv.Store(), cfg.Issuer)
				if err != nil {
					log.Warn("admin setup link", "err", err)
				} else if link != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "No admin yet. Open this one-time link to become the first admin (24 hours):\n  %s\n\n", link)
				}
			})
		},
	}
}

// printBanner tells a person what is running and what to do next.
func printBanner(w io.Writer, cfg config.Config) {
	mode := ""
	if cfg.Dev {
		mode = " in dev mode (not for production)"
	}
	fmt.Fprintf(w, "\nSesame is starting%s\n", mode)
	fmt.Fprintf(w, "  issuer:    %s\n", cfg.Issuer)
	fmt.Fprintf(w, "  listening: %s\n", cfg.Listen)
	fmt.Fprintf(w, "  database:  %s\n", describeDB(cfg))
	fmt.Fprintf(w, "  discovery: %s/.well-known/openid-configuration\n", cfg.Issuer)
	fmt.Fprintf(w, "  sign in:   %s/login  (create an account there with a passkey)\n", cfg.Issuer)
	fmt.Fprintf(w, "  console:   %s/console\n", cfg.Issuer)
	if ip, lp, bad := cfg.IssuerPortMismatch(); bad {
		fmt.Fprintf(w, "\nWARNING: the issuer is on port %s but Sesame listens on port %s: the links above and\nevery redirect lead nowhere. Set the issuer to match, e.g. --issuer http://localhost:%s\n", ip, lp, lp)
	}
	if cfg.Dev {
		extra := ""
		if cfg.DatabaseURL == "" && cfg.DataDir != config.Default().DataDir {
			extra = " --data-dir " + shellQuote(cfg.DataDir)
		}
		fmt.Fprintf(w, "\nNext step, register an app:\n  go run ./cmd/sesame client create%s --name \"My app\" --redirect-uri http://localhost:3000/callback\n", extra)
	}
	fmt.Fprintln(w)
}

// describeDB names the database without its password.
func describeDB(cfg config.Config) string {
	if cfg.UsesPostgres() {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			return "PostgreSQL"
		}
		db := strings.TrimPrefix(u.Path, "/")
		switch {
		case u.Host != "" && db != "":
			return "PostgreSQL " + u.Host + "/" + db
		case u.Host != "":
			return "PostgreSQL " + u.Host
		case db != "":
			return "PostgreSQL database " + db
		}
		return "PostgreSQL"
	}
	path := cfg.SQLitePath()
	if cfg.DatabaseURL != "" {
		path = strings.TrimPrefix(strings.TrimPrefix(cfg.DatabaseURL, "sqlite://"), "file:")
		path, _, _ = strings.Cut(path, "?")
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "SQLite " + path
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
