package console

import (
	"context"
	"os"
	"os/user"

	"github.com/sesame-idp/sesame/models"
)

// Actor is who performs an admin action, for authorization and the audit
// log.
type Actor struct {
	// Kind is models.ActorUser, ActorClient, ActorCLI or ActorSystem.
	Kind string
	// ID is the user id, client id, or "" for the CLI and the system.
	ID string
	// Label is what people read in the audit log: an email, a client name.
	Label     string
	IP        string
	UserAgent string
	// SessionID is the console login session (user actors only).
	SessionID string
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; without one it is the system.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: models.ActorSystem, Label: "system"}
}

// CLIActor is the actor for the sesame command line: "cli:" and the
// operating system user who ran it, as the audit log shows it.
func CLIActor() Actor {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = "unknown"
	}
	return Actor{Kind: models.ActorCLI, Label: "cli:" + name}
}
