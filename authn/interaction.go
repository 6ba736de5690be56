package authn

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
)

// The interaction a request names is read once per request, with its
// client: the pages check it, completeSignIn marks it and the events take
// their client id from it, all from the same copy.

// loadedInteraction is what the store said about one interaction (and its
// client), kept for the rest of the request.
type loadedInteraction struct {
	in        *models.Interaction
	err       error
	client    *models.Client
	clientErr error
}

// interactionKey keys the loaded interactions in the gin context.
const interactionKey = "authn.interactions"

// requestInteraction loads the interaction id and its client, once per
// request. The interaction may be set with an error (consumed, expired).
func (h *Handler) requestInteraction(c *gin.Context, id string) *loadedInteraction {
	memo, _ := c.Get(interactionKey)
	loaded, _ := memo.(map[string]*loadedInteraction)
	if li, ok := loaded[id]; ok {
		return li
	}
	li := &loadedInteraction{}
	if hash := h.sessions.SessionHash(c.Request); hash != "" && !currentUserRead(c) {
		// A page that names an interaction also asks who is signed in (its
		// language, the account it offers): both in one read.
		var read *models.InteractionRead
		read, li.err = h.st.InteractionWithSession(c.Request.Context(), id, hash)
		if read != nil { // nil when the interaction is unknown
			li.in = read.Interaction
			h.memoCurrentUser(c, read.Session, read.Owner)
		}
	} else {
		li.in, li.err = h.st.GetInteraction(c.Request.Context(), id)
	}
	return h.memoInteraction(c, id, li)
}

// readInteraction gives requestInteraction an interaction this request
// has read with another statement (a passkey's finish reads it with its
// ceremony), so it is not read again.
func (h *Handler) readInteraction(c *gin.Context, in *models.Interaction) {
	li := &loadedInteraction{in: in}
	if err := in.Usable(clock.Now()); err != nil {
		li.err = fmt.Errorf("interaction %s: %w", in.ID, err)
	}
	h.memoInteraction(c, in.ID, li)
}

// memoInteraction completes li with its client and keeps it for the rest
// of the request.
func (h *Handler) memoInteraction(c *gin.Context, id string, li *loadedInteraction) *loadedInteraction {
	if li.in != nil {
		li.client, li.clientErr = h.st.GetClient(c.Request.Context(), li.in.ClientID)
	}
	memo, _ := c.Get(interactionKey)
	loaded, _ := memo.(map[string]*loadedInteraction)
	if loaded == nil {
		loaded = map[string]*loadedInteraction{}
		c.Set(interactionKey, loaded)
	}
	loaded[id] = li
	return li
}

// interaction loads the interaction named in the request and checks it
// belongs to this browser.
func (h *Handler) interaction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	if id == "" || len(id) > 64 {
		return nil, nil, errInteractionGone
	}
	li := h.requestInteraction(c, id)
	switch err := li.err; {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrExpired), errors.Is(err, models.ErrConsumed):
		return nil, nil, errInteractionGone
	case err != nil:
		return nil, nil, err
	}
	in := li.in
	if !h.sessions.SameBrowser(c.Request, in.BrowserHash) {
		return nil, nil, errPage(http.StatusForbidden, "errors.other_browser")
	}
	if errors.Is(li.clientErr, models.ErrNotFound) {
		return nil, nil, errInteractionGone
	}
	if li.clientErr != nil {
		return nil, nil, li.clientErr
	}
	// Any page of this sign-in may hold the form whose POST ends at the
	// app; let that redirect pass CSP form-action.
	allowRedirect(c, in, li.client)
	return in, li.client, nil
}

// liveInteraction is the interaction id of this request when it is still
// waiting (neither consumed nor expired), or nil.
func (h *Handler) liveInteraction(c *gin.Context, id string) *models.Interaction {
	if id == "" {
		return nil
	}
	if li := h.requestInteraction(c, id); li.err == nil {
		return li.in
	}
	return nil
}

// methodAllowed reports whether the interaction's client allows method.
// Without an interaction (signing in to the account page) every method is.
func (h *Handler) methodAllowed(c *gin.Context, interactionID, method string) (*models.Interaction, *models.Client, error) {
	if interactionID == "" {
		return nil, nil, nil
	}
	in, client, err := h.interaction(c, interactionID)
	if err != nil {
		return nil, nil, err
	}
	if !clientAllows(client, method) {
		return nil, nil, errPage(http.StatusForbidden, "errors.method_not_allowed")
	}
	return in, client, nil
}

func clientAllows(c *models.Client, method string) bool {
	return len(c.AllowedLoginMethods) == 0 || c.AllowedLoginMethods.Has(method)
}

// interactionID is the id of in, or "" without one.
func interactionID(in *models.Interaction) string {
	if in == nil {
		return ""
	}
	return in.ID
}

// appLogo is the logo the hosted pages show for client (none without one).
func appLogo(client *models.Client) string {
	if client == nil {
		return ""
	}
	return client.LogoURI
}
