package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/sesame-idp/sesame/authn/upstream"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/internal/webhook"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
)

// Exit codes.
const (
	exitFailure = 1
	exitUsage   = 2 // bad flags, arguments or configuration
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or configuration problem (exit 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

func exitCode(err error) int {
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	// A rejected client setting is bad input, like a bad flag.
	if _, ok := errors.AsType[*clients.ValidationError](err); ok {
		return exitUsage
	}
	return exitFailure
}

// run executes the CLI and returns the process exit code. Errors are
// printed here, once, as plain messages (no usage dump).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	root := (&cli{getenv: getenv}).rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "sesame: "+indentRest(err.Error()))
	return exitCode(err)
}

// indentRest indents every line but the first, so multi-line errors
// (several joined problems) read as one block.
func indentRest(s string) string {
	lines := strings.Split(s, "\n")
	for i := 1; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], " ") {
			lines[i] = "  " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// cli holds what the commands share; tests replace getenv.
type cli struct {
	getenv func(string) string
}

// newRootCmd returns the sesame command reading the real environment.
func newRootCmd() *cobra.Command { return (&cli{getenv: os.Getenv}).rootCmd() }

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sesame",
		Short: "Sesame, a passwordless OpenID Connect provider",
		Long: `Sesame is an OpenID Connect provider for passkeys, e-mailed sign-in links and
password + security key sign-in.

Start it on your machine with:
  sesame serve --dev

Settings come from flags, SESAME_* environment variables and an optional
YAML file (--config); every command reads the same ones.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Without a subcommand, show help rather than doing anything.
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	// --config applies to every command; each command adds the setting
	// flags it uses (settingFlags).
	config.RegisterFlags(root.PersistentFlags(), "config")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
	})
	root.AddCommand(
		c.serveCmd(),
		c.configCmd(),
		c.migrateCmd(),
		c.clientCmd(),
		c.scopeCmd(),
		c.upstreamCmd(),
		c.resourceCmd(),
		c.userCmd(),
		c.credentialsCmd(),
		c.groupCmd(),
		c.webhookCmd(),
		c.registrationCmd(),
		c.brandingCmd(),
		c.eventsCmd(),
		c.policyCmd(),
		c.keysCmd(),
		c.adminCmd(),
		c.healthcheckCmd(),
		c.versionCmd(),
	)
	for _, sub := range root.Commands() {
		names, ok := settingFlags[sub.Name()]
		if !ok {
			continue
		}
		if names == nil { // every setting (--config is the root's)
			names = slices.DeleteFunc(config.FlagNames(), func(n string) bool { return n == "config" })
		}
		// Persistent, so that "client create" shows client's.
		config.RegisterFlags(sub.PersistentFlags(), names...)
	}
	return root
}

// Setting flags by command (beyond --config): serve and config take every
// setting; the admin commands only those that find and open the database,
// and the secret where they hash or decrypt with it. Settings without a
// flag here still come from the environment and the config file. A
// command missing from the map has no setting flags (version).
var (
	dbFlags      = []string{"data-dir", "database-url", "database-url-file", "dev", "migrate", "db-max-open-conns", "db-max-idle-conns", "log-level"}
	secretFlags  = []string{"system-secret", "system-secret-file"}
	settingFlags = map[string][]string{
		"serve":       nil,
		"config":      nil,
		"migrate":     dbFlags,
		"client":      slices.Concat(dbFlags, secretFlags),
		"scope":       dbFlags,
		"upstream":    slices.Concat(dbFlags, secretFlags),
		"resource":    dbFlags,
		"user":        dbFlags,
		"group":       dbFlags,
		"webhook":     slices.Concat(dbFlags, secretFlags, []string{"outbound-allow-cidr"}),
		"credentials": dbFlags,
		"branding":    dbFlags,
		"events":      dbFlags,
		// The secret: tokens are stored as its HMAC.
		"registration": slices.Concat(dbFlags, secretFlags),
		"keys":         slices.Concat(dbFlags, secretFlags, []string{"key-rotation-period", "id-token-ttl", "access-token-ttl"}),
		"admin":        slices.Concat(dbFlags, []string{"issuer"}),
		"healthcheck":  {"listen"},
		"policy":       dbFlags,
	}
)

// Argument validators whose errors are usage errors (exit 2).
var noArgs = usageArgs(cobra.NoArgs)

func exactArgs(n int) cobra.PositionalArgs { return usageArgs(cobra.ExactArgs(n)) }

func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError(fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
		}
		return nil
	}
}

// loadConfig reads the effective configuration for an admin command,
// reads the secrets given as files, and validates it. Commands that do not
// use the system secret (everything but keys) are validated as in dev
// mode, which only relaxes the rule that a secret must be configured: an
// operator can list clients without holding the secret.
//
// With no database and no secret configured, an admin command uses the
// dev data directory when serve --dev has made one (its generated secret
// exists): "sesame keys list" right after "sesame serve --dev" works
// without repeating --dev.
func (c *cli) loadConfig(cmd *cobra.Command, needSecret bool) (config.Config, error) {
	return c.load(cmd, needSecret, true)
}

// loadServeConfig is loadConfig for serve, which never guesses dev mode.
func (c *cli) loadServeConfig(cmd *cobra.Command) (config.Config, error) {
	return c.load(cmd, true, false)
}

func (c *cli) load(cmd *cobra.Command, needSecret, adoptDev bool) (config.Config, error) {
	cfg, err := config.Load(cmd.Flags(), c.getenv)
	if err != nil {
		return config.Config{}, usageError(err)
	}
	if cfg, err = secret.ReadFiles(cfg); err != nil {
		return config.Config{}, usageError(fmt.Errorf("invalid configuration:\n%s", indentAll(err.Error())))
	}
	if adoptDev && usesDevDataDir(cfg) {
		cfg.Dev = true
		fmt.Fprintf(cmd.ErrOrStderr(), "sesame: no database or system secret configured; using the dev data directory %s (as serve --dev)\n", cfg.DataDir)
	}
	check := cfg
	if !needSecret {
		check.Dev = true
	}
	if err := server.ValidateConfig(check); err != nil {
		return config.Config{}, usageError(fmt.Errorf("invalid configuration:\n%s", indentAll(err.Error())))
	}
	return cfg, nil
}

// usesDevDataDir reports whether cfg configures neither a database nor a
// system secret while the data directory holds the secret serve --dev
// generated: the set-up a developer's admin commands mean.
func usesDevDataDir(cfg config.Config) bool {
	if cfg.Dev || cfg.DatabaseURL != "" || cfg.SystemSecret != "" || cfg.SystemSecretFile != "" {
		return false
	}
	fi, err := os.Stat(cfg.SecretFilePath())
	return err == nil && fi.Mode().IsRegular()
}

func indentAll(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// newLogger builds the configured slog logger on w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// cliLogger is the logger of the admin commands: human-readable text on
// stderr whatever log-format says (that setting is for the server's logs).
func cliLogger(cfg config.Config, w io.Writer) *slog.Logger {
	cfg.LogFormat = "text"
	return newLogger(cfg, w)
}

// dsn is the database the configuration selects.
func dsn(cfg config.Config) string {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL
	}
	return cfg.SQLitePath()
}

// openStore opens the configured database and, when migrate is set and the
// configuration allows it, applies pending migrations, so admin commands
// work on a fresh data directory.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool) (*store.Store, error) {
	st, err := store.Open(ctx, dsn(cfg), store.Options{
		MaxOpenConns: cfg.DBMaxOpenConns,
		MaxIdleConns: cfg.DBMaxIdleConns,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	if migrate && cfg.Migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// withStore loads the configuration, opens the store and runs fn.
func (c *cli) withStore(cmd *cobra.Command, fn func(ctx context.Context, st *store.Store) error) error {
	cfg, err := c.loadConfig(cmd, false)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	st, err := openStore(ctx, cfg, cliLogger(cfg, cmd.ErrOrStderr()), true)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st)
}

// withServices runs fn with the console's services over the configured
// store, acting as "cli:<os user>": the CLI goes through the same rules
// and the same audit log as the console and the admin API, never around
// them. st is for reads only. Other processes' client caches expire by
// their TTL.
func (c *cli) withServices(cmd *cobra.Command, fn func(ctx context.Context, svc *console.Services, st *store.Store) error) error {
	cfg, err := c.loadConfig(cmd, false)
	if err != nil {
		return err
	}
	log := cliLogger(cfg, cmd.ErrOrStderr())
	ctx := cmd.Context()
	// New client secrets are hashed under a key from the system secret, as
	// the server derives it; without a configured secret the other
	// commands still work and making a secret says what is missing.
	var secrets *clients.Secrets
	var box *webhook.Box
	var upBox *upstream.Box
	if sec, err := secret.Resolve(cfg, log); err == nil {
		if upBox, err = server.UpstreamBox(sec); err != nil {
			return err
		}
		if secrets, err = server.ClientSecrets(sec, nil); err != nil {
			return err
		}
		if box, err = server.WebhookBox(sec); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := console.NewServices(st, cfg, policy.New(st, cfg), secrets, nil, nil, log)
	if upBox != nil {
		// Each server refetches a changed provider's discovery within
		// minutes.
		svc.Upstreams.SetUpstreamBox(upBox, nil)
	}
	if box != nil {
		// The server's deliverer picks new messages up at its next poll.
		svc.Webhooks.SetWebhookDelivery(box, nil)
	}
	return fn(console.WithActor(ctx, console.CLIActor()), svc, st)
}
