package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// The admin API's initial access tokens for dynamic client registration
// (registration.go). A token's value is in one answer only: the one that
// minted it. Revoking asks for a fresh step-up (step).

func (c *Console) mountRegistrationAPI(r gin.IRouter, step gin.HandlerFunc) {
	r.GET("/registration/initial-tokens", c.api(c.apiListInitialTokens))
	r.POST("/registration/initial-tokens", c.api(c.apiMintInitialToken))
	r.GET("/registration/initial-tokens/:id", c.api(c.apiGetInitialToken))
	r.POST("/registration/initial-tokens/:id/revoke", step, c.api(c.apiRevokeInitialToken))
}

func (c *Console) apiListInitialTokens(g *gin.Context) error {
	items, err := c.Registration.List(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[InitialTokenView]{Items: items})
	return nil
}

func (c *Console) apiMintInitialToken(g *gin.Context) error {
	var spec InitialTokenSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	t, err := c.Registration.Mint(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/registration/initial-tokens/"+t.ID)
	g.JSON(http.StatusCreated, t)
	return nil
}

func (c *Console) apiGetInitialToken(g *gin.Context) error {
	return answer(g)(c.Registration.Get(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiRevokeInitialToken(g *gin.Context) error {
	return answer(g)(c.Registration.Revoke(g.Request.Context(), g.Param("id")))
}
