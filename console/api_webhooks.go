package console

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// The admin API's webhooks (webhooks.go): endpoints addressed by id, their
// delivery log, manual redelivery. A secret is in an answer only when it
// was just made (create, rotate-secret).

func (c *Console) mountWebhookAPI(r gin.IRouter) {
	r.GET("/webhooks/event-types", c.api(c.apiWebhookEventTypes))
	r.GET("/webhooks", c.api(c.apiListWebhooks))
	r.POST("/webhooks", c.api(c.apiCreateWebhook))
	r.GET("/webhooks/:id", c.api(c.apiGetWebhook))
	r.PUT("/webhooks/:id", c.api(c.apiUpdateWebhook))
	r.DELETE("/webhooks/:id", c.api(c.apiDeleteWebhook))
	r.POST("/webhooks/:id/enable", c.api(c.apiSetWebhookEnabled(true)))
	r.POST("/webhooks/:id/disable", c.api(c.apiSetWebhookEnabled(false)))
	r.POST("/webhooks/:id/rotate-secret", c.api(c.apiRotateWebhookSecret))
	r.GET("/webhooks/:id/deliveries", c.api(c.apiWebhookDeliveries))
	r.GET("/webhooks/:id/deliveries/:delivery", c.api(c.apiWebhookDelivery))
	r.POST("/webhooks/:id/deliveries/:delivery/redeliver", c.api(c.apiRedeliverWebhook))
}

func (c *Console) apiWebhookEventTypes(g *gin.Context) error {
	g.JSON(http.StatusOK, gin.H{"items": c.Webhooks.Catalogue()})
	return nil
}

func (c *Console) apiListWebhooks(g *gin.Context) error {
	items, err := c.Webhooks.List(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[WebhookView]{Items: items})
	return nil
}

func (c *Console) apiCreateWebhook(g *gin.Context) error {
	var spec WebhookSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	v, err := c.Webhooks.Create(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/webhooks/"+v.ID)
	g.JSON(http.StatusCreated, v)
	return nil
}

func (c *Console) apiGetWebhook(g *gin.Context) error {
	return answer(g)(c.Webhooks.Get(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiUpdateWebhook(g *gin.Context) error {
	var spec WebhookSpec
	if err := decode(g, &spec); err != nil {
		return err
	}
	return answer(g)(c.Webhooks.Update(g.Request.Context(), g.Param("id"), spec))
}

func (c *Console) apiDeleteWebhook(g *gin.Context) error {
	return noContent(g, c.Webhooks.Delete(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiSetWebhookEnabled(enabled bool) apiHandler {
	return func(g *gin.Context) error {
		return answer(g)(c.Webhooks.SetEnabled(g.Request.Context(), g.Param("id"), enabled))
	}
}

func (c *Console) apiRotateWebhookSecret(g *gin.Context) error {
	secret, err := c.Webhooks.RotateSecret(g.Request.Context(), g.Param("id"))
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, gin.H{"secret": secret})
	return nil
}

func (c *Console) apiWebhookDeliveries(g *gin.Context) error {
	limit := 0
	if v := g.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeliveryLog {
			return invalid("limit", "a number from 1 to %d", maxDeliveryLog)
		}
		limit = n
	}
	items, err := c.Webhooks.Deliveries(g.Request.Context(), g.Param("id"), g.Query("status"), limit)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[WebhookDeliveryView]{Items: items})
	return nil
}

func (c *Console) apiWebhookDelivery(g *gin.Context) error {
	return answer(g)(c.Webhooks.Delivery(g.Request.Context(), g.Param("id"), g.Param("delivery")))
}

func (c *Console) apiRedeliverWebhook(g *gin.Context) error {
	v, err := c.Webhooks.Redeliver(g.Request.Context(), g.Param("id"), g.Param("delivery"))
	if err != nil {
		return err
	}
	g.JSON(http.StatusAccepted, v)
	return nil
}
