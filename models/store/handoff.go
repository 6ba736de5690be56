package store

import (
	"maps"
	"slices"
	"time"

	"github.com/sesame-idp/sesame/internal/takeonce"
	"github.com/sesame-idp/sesame/models"
)

// A sign-in that answers an authorization writes the new session and
// marks the interaction (StartLoginSession); a moment later the browser
// returns to the authorization, which reads the same interaction with
// that session and its user (InteractionWithSession). The replica that
// wrote them keeps them for that one read, so a resume that reaches it
// reads nothing: one statement less per code flow. A resume that reaches
// another replica reads the database, as before.
//
// The memory cannot see what other replicas did meanwhile: the
// interaction spent by a resume elsewhere, the session ended by a
// sign-out, the user disabled by an admin. The write that acts on the
// read checks all three in its own statement (CompleteAuthorization), and
// a read that came from here says so (InteractionRead.Remembered), so the
// caller reads again when that check refuses.

// handoffSize bounds the entries; each is taken by the resume that
// follows within a second, so few are held at a time.
const handoffSize = 1024

// handoffTTL is how long an entry may wait for its resume: a browser
// comes back at once, and one that does not reads the database later.
const handoffTTL = time.Minute

type handoff struct {
	read        models.InteractionRead
	sessionHash string
}

// handoffs holds the reads StartLoginSession leaves for the resume, by
// interaction id.
type handoffs struct {
	kept *takeonce.Cache[string, handoff]
}

func newHandoffs() *handoffs {
	return &handoffs{kept: takeonce.New[string, handoff](handoffSize, handoffTTL, Now)}
}

// remember keeps what st wrote, when it marked an interaction it was
// given whole, with the session's user.
func (h *handoffs) remember(st *models.SessionStart) {
	if !st.InteractionMarked || st.Interaction == nil || st.Owner == nil || st.Interaction.ID != st.InteractionID ||
		st.Owner.ID != st.Session.UserID {
		return
	}
	in, ls, owner := *st.Interaction, *st.Session, *st.Owner
	in.LoginSessionID = ls.ID
	// The caller keeps using its values: the entry has its own copies of
	// what a reader might change.
	in.Scopes, ls.AMR, owner.Attributes = slices.Clone(in.Scopes), slices.Clone(ls.AMR), maps.Clone(owner.Attributes)
	h.kept.Put(in.ID, handoff{read: models.InteractionRead{Interaction: &in, Session: &ls, Owner: &owner, Remembered: true},
		sessionHash: ls.TokenHash})
}

// take removes and returns the read kept for interaction id, if the
// browser asking holds its session (sessionHash) and it is still usable;
// each entry is taken at most once.
func (h *handoffs) take(id, sessionHash string) (*models.InteractionRead, bool) {
	e, ok := h.kept.Take(id)
	now := Now()
	if !ok || sessionHash == "" || e.sessionHash != sessionHash ||
		e.read.Interaction.Usable(now) != nil || !e.read.Session.ExpiresAt.After(now) {
		return nil, false
	}
	return &e.read, true
}

// forget drops the entry of interaction id: the interaction changed.
func (h *handoffs) forget(id string) { h.kept.Forget(id) }

// forgetUser drops the entries of a user whose row changed.
func (h *handoffs) forgetUser(userID string) {
	h.kept.ForgetIf(func(e handoff) bool { return e.read.Owner.ID == userID })
}
