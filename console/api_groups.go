package console

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// The admin API's groups and profiles (groups.go, profile.go): groups
// are addressed by name, members by user id.

func (c *Console) apiListGroups(g *gin.Context) error {
	return search(g, c.Groups.List)
}

func (c *Console) apiCreateGroup(g *gin.Context) error {
	var spec GroupSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	v, err := c.Groups.Create(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/groups/"+url.PathEscape(v.Name))
	g.JSON(http.StatusCreated, v)
	return nil
}

func (c *Console) apiGetGroup(g *gin.Context) error {
	return answer(g)(c.Groups.Get(g.Request.Context(), g.Param("name")))
}

func (c *Console) apiUpdateGroup(g *gin.Context) error {
	var spec GroupSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	return answer(g)(c.Groups.Update(g.Request.Context(), g.Param("name"), spec))
}

func (c *Console) apiDeleteGroup(g *gin.Context) error {
	return noContent(g, c.Groups.Delete(g.Request.Context(), g.Param("name")))
}

func (c *Console) apiGroupMembers(g *gin.Context) error {
	offset, limit, err := page(g)
	if err != nil {
		return err
	}
	items, more, err := c.Groups.Members(g.Request.Context(), g.Param("name"), offset, limit)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, listOf(items, more, offset, limit))
	return nil
}

func (c *Console) apiAddGroupMember(g *gin.Context) error {
	var req struct {
		// User is a user id or an email address.
		User string `json:"user"`
	}
	if err := decode(g, &req); err != nil {
		return err
	}
	v, err := c.Groups.AddMember(g.Request.Context(), g.Param("name"), req.User)
	if err != nil {
		return err
	}
	g.JSON(http.StatusCreated, v)
	return nil
}

func (c *Console) apiRemoveGroupMember(g *gin.Context) error {
	return noContent(g, c.Groups.RemoveMember(g.Request.Context(), g.Param("name"), g.Param("user")))
}

func (c *Console) apiUserGroups(g *gin.Context) error {
	names, err := c.Groups.UserGroups(g.Request.Context(), g.Param("id"))
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, gin.H{"items": names})
	return nil
}

func (c *Console) apiSetProfile(g *gin.Context) error {
	var spec ProfileSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	return answer(g)(c.Users.SetProfile(g.Request.Context(), g.Param("id"), spec))
}
