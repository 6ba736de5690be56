package console

import (
	"context"

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

// CLIActor is the actor for the sesame command line.
func CLIActor() Actor { return Actor{Kind: models.ActorCLI, Label: "sesame CLI"} }
