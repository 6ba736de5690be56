package console

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/upstream"
)

// The admin API's upstream identity providers (upstreams.go), addressed
// by id. The client secret is write-only.

func (c *Console) apiListUpstreams(g *gin.Context) error {
	items, err := c.Upstreams.List(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[UpstreamView]{Items: items})
	return nil
}

func (c *Console) apiCreateUpstream(g *gin.Context) error {
	var spec upstream.Spec
	if err := decode(g, &spec); err != nil {
		return err
	}
	v, err := c.Upstreams.Create(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/upstreams/"+url.PathEscape(v.ID))
	g.JSON(http.StatusCreated, v)
	return nil
}

func (c *Console) apiGetUpstream(g *gin.Context) error {
	return answer(g)(c.Upstreams.Get(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiUpdateUpstream(g *gin.Context) error {
	var spec upstream.Spec
	if err := decode(g, &spec); err != nil {
		return err
	}
	return answer(g)(c.Upstreams.Update(g.Request.Context(), g.Param("id"), spec))
}

func (c *Console) apiDeleteUpstream(g *gin.Context) error {
	return noContent(g, c.Upstreams.Delete(g.Request.Context(), g.Param("id")))
}
