package authn

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
)

// Assurance levels above phr (models/acr.go) are reached only with a
// passkey of the right kind. When an app asks for one and the person is
// signed in below it, the login page becomes a step-up page for that
// account: the passkey button asks for the account's qualifying passkeys
// only (allowCredentials filtered by passkey.CanReach), or, when the
// account has none, the page says so and offers to add one, which signs
// in with the new passkey at the level it reaches. A sign-in that ends
// below the level (a synced passkey picked for a device-bound request)
// starts its session and comes back to this page instead of the app.

// requiredACR is the level the interaction asks for (its acr_values,
// already raised to the client's minimum by oidc), or "" for none.
func requiredACR(in *models.Interaction) string {
	if in == nil {
		return ""
	}
	return models.ACRRequired(strings.Fields(in.ACRValues))
}

// passkeyLevel reports whether level is one only a passkey reaches.
func passkeyLevel(level string) bool {
	return models.ACRAtLeast(level, models.ACRUserVerified)
}

// levelKey is the catalogue key that describes a level for the person
// asked to reach it.
func levelKey(level string) string {
	switch level {
	case models.ACRUserVerified:
		return "level.user_verified"
	case models.ACRDeviceBound:
		return "level.device_bound"
	case models.ACRAttested:
		return "level.attested"
	case models.ACRPhishingResistant:
		return "level.phishing_resistant"
	}
	return "level.stronger"
}

// stepUp is a signed-in person who must reach a passkey level.
type stepUp struct {
	user       *models.User
	level      string
	qualifying int
}

// clientModels is the enforced AAGUID allow list of client c (nil when
// it has none, or only in grace mode): its sign-ins need a passkey of one
// of these models, attested (passkey/models.go), as a passkey level does.
func clientModels(c *models.Client) []string {
	if c == nil || c.AAGUIDAllowMode == policy.ModelGrace {
		return nil
	}
	return c.AAGUIDAllow
}

// stepUpFor returns the step-up of the interaction, or nil when it asks
// for no passkey level and its client for no authenticator model, or
// nobody is signed in below that.
func (h *Handler) stepUpFor(c *gin.Context, in *models.Interaction) (*stepUp, error) {
	level := requiredACR(in)
	var client *models.Client
	if in != nil {
		client = h.requestInteraction(c, in.ID).client
	}
	allow := clientModels(client)
	if !passkeyLevel(level) && len(allow) == 0 {
		return nil, nil
	}
	ls, u, err := h.currentUser(c)
	if err != nil || ls == nil {
		return nil, err
	}
	levelMet := !passkeyLevel(level) || models.ACRAtLeast(ls.ACR, level)
	if levelMet && (len(allow) == 0 || slices.Contains(allow, ls.AAGUID)) {
		return nil, nil
	}
	creds, err := h.st.ListUserCredentials(c.Request.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	o := clientPasskeyOptions(in, client)
	su := &stepUp{user: u, level: level}
	for i := range creds {
		if (!passkeyLevel(level) || passkey.CanReach(&creds[i], level)) && creds[i].Kind == models.CredentialPasskey &&
			h.passkeys.ModelQualifies(c.Request.Context(), o, &creds[i]) {
			su.qualifying++
		}
	}
	return su, nil
}

// holdBelowLevel keeps the interaction open when s reaches less than the
// passkey level it asks for: the browser goes back to the login page,
// now a step-up page, rather than to the app (which would only send it
// back).
func (h *Handler) holdBelowLevel(c *gin.Context, s *signIn) {
	if s.interactionID == "" || s.holdInteraction != "" {
		return
	}
	in := h.liveInteraction(c, s.interactionID)
	if level := requiredACR(in); passkeyLevel(level) && !models.ACRAtLeast(s.acr, level) {
		s.holdInteraction = "/login?" + url.Values{"interaction": {in.ID}}.Encode()
	}
}

// modelWords names an app's approved authenticator models for the person
// asked to use one: their names from the FIDO metadata or the bundled
// list, at most three, never bare AAGUIDs.
func (h *Handler) modelWords(c *gin.Context, aaguids []string) string {
	var names []string
	for _, a := range aaguids {
		if n := h.passkeys.ModelName(c.Request.Context(), a); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	t := h.tr(c)
	switch {
	case len(names) == 0:
		return t.T("level.model")
	case len(names) > 3:
		return t.T("level.model_such_as", "names", strings.Join(names[:3], ", "))
	}
	return t.T("level.model_named", "names", strings.Join(names, ", "))
}
