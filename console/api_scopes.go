package console

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/oidc/clients"
)

// The admin API's custom scopes (scopes.go), addressed by name. Custom
// scopes are few: the listing is one page.

func (c *Console) apiListScopes(g *gin.Context) error {
	items, err := c.Scopes.List(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[ScopeView]{Items: items})
	return nil
}

func (c *Console) apiCreateScope(g *gin.Context) error {
	var spec clients.ScopeSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	v, err := c.Scopes.Create(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/scopes/"+url.PathEscape(v.Name))
	g.JSON(http.StatusCreated, v)
	return nil
}

func (c *Console) apiGetScope(g *gin.Context) error {
	return answer(g)(c.Scopes.Get(g.Request.Context(), g.Param("name")))
}

func (c *Console) apiUpdateScope(g *gin.Context) error {
	var spec clients.ScopeSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	return answer(g)(c.Scopes.Update(g.Request.Context(), g.Param("name"), spec))
}

func (c *Console) apiDeleteScope(g *gin.Context) error {
	return noContent(g, c.Scopes.Delete(g.Request.Context(), g.Param("name")))
}
