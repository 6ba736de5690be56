package console

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/oidc/clients"
)

// The admin API's resources (resources.go), addressed by name. Resources
// are few: the listing is one page.

func (c *Console) apiListResources(g *gin.Context) error {
	items, err := c.Resources.List(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[ResourceView]{Items: items})
	return nil
}

func (c *Console) apiCreateResource(g *gin.Context) error {
	var spec clients.ResourceSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	v, err := c.Resources.Create(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/resources/"+url.PathEscape(v.Name))
	g.JSON(http.StatusCreated, v)
	return nil
}

func (c *Console) apiGetResource(g *gin.Context) error {
	return answer(g)(c.Resources.Get(g.Request.Context(), g.Param("name")))
}

func (c *Console) apiUpdateResource(g *gin.Context) error {
	var spec clients.ResourceSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	return answer(g)(c.Resources.Update(g.Request.Context(), g.Param("name"), spec))
}

func (c *Console) apiDeleteResource(g *gin.Context) error {
	return noContent(g, c.Resources.Delete(g.Request.Context(), g.Param("name")))
}
