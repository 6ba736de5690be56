package authn

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/templates"
)

// loginView is the login page's data.
type loginView struct {
	Interaction string
	LoginHint   string
	CSRF        string
	// Methods are the sign-in methods this client allows and Sesame offers.
	Methods []string
}

// handleLogin shows the sign-in page for an interaction. The page offers
// only the methods that exist and that the client's policy allows.
func (h *Handler) handleLogin(c *gin.Context) {
	in, client, err := h.interaction(c, c.Query("interaction"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	view := loginView{
		Interaction: in.ID,
		LoginHint:   in.LoginHint,
		CSRF:        h.sessions.CSRFToken(c.Writer, c.Request),
	}
	if err := h.pages.Render(c.Writer, http.StatusOK, "login", templates.Page{
		Title:   "Sign in to " + client.Name,
		AppName: client.Name,
		Data:    view,
	}); err != nil {
		h.fail(c, err)
	}
}
