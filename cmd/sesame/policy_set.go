package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store"
)

// policySetCmd changes the passkey rules of the global policy. A stricter
// rule is previewed with the console's lockout preview (console.Policies.
// Preview, the same one the policies page and POST /policies/preview use)
// and refused without --yes when it leaves anyone without a passkey that
// signs in, as the admin API refuses it without confirm_lockout=true.
func (c *cli) policySetCmd() *cobra.Command {
	var (
		synced, mode, uv, attestation string
		allow, deny                   []string
		suspend, dryRun, yes, asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "set [flags]",
		Short: "Change the global passkey policy; --dry-run shows who it would lock out",
		Long: `Change the passkey rules of the global policy; only the flags given change.
A repeatable flag replaces the whole list (--aaguid-allow= empties it).

Before saving, the change is previewed: people who sign in with a passkey today
and would have none that qualifies under the new rules are listed. With anyone
on that list the change is refused unless --yes is given. --dry-run prints the
preview and saves nothing.`,
		Example: `  sesame policy set --synced-passkeys block --dry-run
  sesame policy set --synced-passkeys block --yes
  sesame policy set --attestation direct --aaguid-allow cb69481e-8ff7-4039-93ec-0a2729a154a8 --aaguid-allow-mode grace`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			changed := false
			for _, n := range []string{"synced-passkeys", "aaguid-allow", "aaguid-deny", "aaguid-allow-mode", "user-verification", "attestation", "suspend-compromised-passkeys"} {
				changed = changed || fs.Changed(n)
			}
			if !changed {
				return usageError(errors.New("nothing to set: give the rules to change (see sesame policy set --help)"))
			}
			return c.withServices(cmd, func(ctx context.Context, svc *console.Services, _ *store.Store) error {
				p, err := svc.Policies.Current(ctx)
				if err != nil {
					return err
				}
				setChanged(fs, "synced-passkeys", &p.SyncedPasskeys, synced)
				setChanged(fs, "aaguid-allow", &p.AAGUIDAllow, nonEmpty(allow))
				setChanged(fs, "aaguid-deny", &p.AAGUIDDeny, nonEmpty(deny))
				setChanged(fs, "aaguid-allow-mode", &p.AAGUIDAllowMode, mode)
				setChanged(fs, "user-verification", &p.UserVerification, uv)
				setChanged(fs, "attestation", &p.Attestation, attestation)
				setChanged(fs, "suspend-compromised-passkeys", &p.SuspendCompromisedPasskeys, suspend)
				p = p.Normalize()
				if err := svc.Policies.Validate(p); err != nil {
					return cliProblem(err)
				}
				l, err := svc.Policies.Preview(ctx, p)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if dryRun {
					if asJSON {
						return writeJSON(out, l)
					}
					printLockout(out, l)
					fmt.Fprintln(out, "Dry run: nothing saved.")
					return nil
				}
				if l.Count > 0 && !yes {
					printLockout(cmd.ErrOrStderr(), l)
					return fmt.Errorf("not saved: this locks %d %s out; check the list, then add --yes to save anyway (or use --aaguid-allow-mode grace / --synced-passkeys grace to warn first)",
						l.Count, plural(l.Count, "person", "people"))
				}
				saved, err := svc.Policies.Update(ctx, p)
				if err != nil {
					return cliProblem(err)
				}
				if asJSON {
					return writeJSON(out, saved)
				}
				fmt.Fprintf(out, "Policy saved. Every server applies it within %s.\n", policy.CacheTTL)
				if l.Count > 0 {
					fmt.Fprintf(out, "%d %s now without a passkey that signs in (confirmed with --yes).\n", l.Count, plural(l.Count, "person is", "people are"))
				}
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&synced, "synced-passkeys", "", "passkeys that may sync between devices: allow, block (refused at sign-up and sign-in) or grace (accepted, each use warned and recorded)")
	fs.StringArrayVar(&allow, "aaguid-allow", nil, "the only authenticator models (AAGUIDs) accepted (repeatable; needs --attestation direct); --aaguid-allow= accepts every model")
	fs.StringArrayVar(&deny, "aaguid-deny", nil, "authenticator models (AAGUIDs) always refused (repeatable); --aaguid-deny= empties the list")
	fs.StringVar(&mode, "aaguid-allow-mode", "", "what the allow list does to another model: enforce (refused) or grace (accepted, each use warned and recorded)")
	fs.StringVar(&uv, "user-verification", "", "passkey user verification: required, preferred or discouraged")
	fs.StringVar(&attestation, "attestation", "", "attestation asked for at enrolment: none, indirect or direct")
	fs.BoolVar(&suspend, "suspend-compromised-passkeys", false, "suspend credentials whose model the FIDO metadata reports compromised or revoked; =false lets them sign in")
	fs.BoolVar(&dryRun, "dry-run", false, "print who the change would lock out; save nothing")
	fs.BoolVarP(&yes, "yes", "y", false, "save even when the change locks people out")
	fs.BoolVar(&asJSON, "json", false, "print the preview (--dry-run) or the saved policy as JSON")
	return cmd
}

// nonEmpty drops empty entries, so --aaguid-allow= means an empty list.
func nonEmpty(l []string) []string {
	out := []string{}
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// printLockout writes who a policy change would lock out.
func printLockout(w io.Writer, l console.Lockout) {
	if l.Count == 0 {
		fmt.Fprintln(w, "Nobody would be locked out.")
		return
	}
	fmt.Fprintf(w, "%d %s would be left without a passkey that signs in:\n", l.Count, plural(l.Count, "person", "people"))
	for _, u := range l.Users {
		fmt.Fprintf(w, "  %s\t%s\n", u.Email, u.ID)
	}
	if more := l.Count - int64(len(l.Users)); more > 0 {
		fmt.Fprintf(w, "  … and %d more\n", more)
	}
}

// plural is one or many by n.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
