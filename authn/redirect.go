package authn

import (
	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
)

// allowRedirect lets a page's form submission end at the client: the
// browser applies CSP form-action to every redirect after a form POST, and
// a POST that finishes an interaction redirects (via the provider) to the
// client's redirect URI on another origin, which the provider stored on
// the interaction.
func allowRedirect(c *gin.Context, in *models.Interaction, client *models.Client) {
	if in.RedirectURI != "" {
		httpx.AllowFormAction(c, in.RedirectURI)
		return
	}
	// An interaction parked before the redirect URI was stored: any of the
	// client's.
	for _, ru := range client.RedirectURIs {
		httpx.AllowFormAction(c, ru)
	}
}
