package authn

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
)

// signIn is an authentication a method finished: who, how (amr, acr) and
// what to record. completeSignIn turns it into a login session.
type signIn struct {
	user *models.User
	// method is the models.Method* recorded on the event.
	method string
	amr    []string
	acr    string
	// interactionID is the authorization waiting for this sign-in ("" for
	// the account page or the console).
	interactionID string
	// event is the event recorded ("login" unless set), with reason and
	// aaguid.
	event  string
	reason string
	aaguid string
	// strong: a passkey or password + security key sign-in; without an
	// interaction it may return to the console (login_return.go).
	strong bool
	// holdInteraction, when set, is where to go instead of handing the
	// interaction back: it stays open for a stronger sign-in.
	holdInteraction string
	// credentialID is the passkey used (or created, at sign-up): the one
	// that survives a proof of the address (verify_email.go).
	credentialID string
	// model is the passkey's attested model (passkey.AttestedModel): what
	// an app's AAGUID allow list asks of the session.
	model string
	// verified: the address question is settled for this sign-in (proven
	// or skipped on the verification page); never hold it again.
	verified bool
	// finish, when set, is a passkey sign-in (passkey.Service.VerifyLogin)
	// whose ceremony's spend and passkey's use are still to be written:
	// with the session, which they gate, or on their own when the sign-in
	// is held (writeUse).
	finish *passkey.Result
}

// completeSignIn is the end of every sign-in, whatever the method: it
// starts the login session, records the event, marks the interaction and
// says where the browser goes next.
func (h *Handler) completeSignIn(c *gin.Context, s signIn) (string, error) {
	// A domain bound to an upstream may keep its people off Sesame's own
	// methods (upstream_handlers.go).
	if err := h.localRefused(c, s); err != nil {
		return "", err
	}
	// An unproven address may have to be proven first: then no session
	// starts and the interaction waits (verify_email.go).
	if next, held, err := h.holdForProof(c, s); held || err != nil {
		return next, err
	}
	h.holdBelowLevel(c, &s)
	h.forgetCurrentUser(c)
	event := s.event
	if event == "" {
		event = "login"
	}
	// The event and the interaction's mark are written with the session
	// (one statement on PostgreSQL). An interaction held open for a
	// stronger sign-in is not marked.
	ev := h.event(c, authEvent{method: s.method, userID: s.user.ID, interactionID: s.interactionID, name: event,
		reason: s.reason, aaguid: s.aaguid})
	var mark string
	if s.holdInteraction == "" {
		mark = s.interactionID
	}
	l := websession.Login{UserID: s.user.ID, AMR: s.amr, ACR: s.acr, AuthTime: clock.Now(), AAGUID: s.model, Event: ev, InteractionID: mark}
	if s.finish != nil {
		l.Ceremony, l.Use = s.finish.Ceremony, s.finish.Use
		// The interaction as the passkey's verify read it: kept, with the
		// session and the user, for the resume (models.SessionStart).
		if in := s.finish.Interaction; mark != "" && in != nil && in.ID == mark {
			l.Interaction, l.User = in, s.user
		}
	}
	started, err := h.sessions.Start(c.Request.Context(), c.Writer, c.Request, l)
	if err != nil {
		return "", err
	}
	h.counted(ev)
	h.saveLocale(c, s.user)
	// A proof of the account links the upstream identity waiting for it.
	h.finishUpstreamLink(c, s)
	switch {
	case s.holdInteraction != "":
		return s.holdInteraction, nil
	case s.strong && s.interactionID == "":
		// login_return.go: the console's (or account's) return path.
		if r := safeReturn(h.sessions.TakeReturn(c.Writer, c.Request)); r != "" {
			return r, nil
		}
	case started.InteractionMarked:
		return h.resumeURL(s.interactionID), nil
	}
	// The interaction expired meanwhile: the user is signed in all the
	// same; the account page says so.
	return "/account", nil
}

// writeUse writes the ceremony's spend and the passkey's use of a
// sign-in that starts no session (held for a proof of the address): they
// are spent all the same. A refusal is passkey.UseRefused's.
func (h *Handler) writeUse(c *gin.Context, s *signIn) error {
	if s.finish == nil {
		return nil
	}
	if err := h.passkeys.RecordUse(c.Request.Context(), s.finish); err != nil {
		return err
	}
	s.finish = nil
	return nil
}

// inTx runs fn with the request's context carrying one transaction, so the
// writes of a sign-in's end — the spent ceremony, the credential's
// counter, the login session, the auth event and the marked interaction —
// commit together: one commit instead of one per row, and never a partial
// sign-in. fn's refusals that must stick (a spent ceremony, a clone flag)
// are returned through its own variables with fn returning nil, so they
// commit; an error fn returns rolls everything back.
func (h *Handler) inTx(c *gin.Context, fn func() error) error {
	req := c.Request
	defer func() { c.Request = req }()
	return h.st.WithTx(req.Context(), func(ctx context.Context) error {
		c.Request = req.WithContext(ctx)
		return fn()
	})
}
