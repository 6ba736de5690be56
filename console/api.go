package console

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// APIPrefix is where the admin API lives.
const APIPrefix = "/api/admin/v1"

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the admin API's OpenAPI 3 document (JSON).
func OpenAPI() []byte { return bytes.Clone(openAPIDoc) }

// List is the envelope of every listing.
type List[T any] struct {
	Items []T `json:"items"`
	// HasMore says another page follows; NextOffset or NextCursor fetch it.
	HasMore    bool   `json:"has_more"`
	NextOffset *int   `json:"next_offset,omitempty"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// apiHandler is a thin handler: parse, call a service, answer.
type apiHandler func(g *gin.Context) error

func (c *Console) api(fn apiHandler) gin.HandlerFunc {
	return func(g *gin.Context) {
		if err := fn(g); err != nil {
			c.abort(g, toProblem(err))
		}
	}
}

func (c *Console) mountAPI(r gin.IRouter) {
	r.Use(c.apiAuth())
	step := c.RequireStepUp()
	r.GET("/openapi.json", func(g *gin.Context) { g.Data(http.StatusOK, "application/json", openAPIDoc) })

	r.GET("/clients", c.api(c.apiListClients))
	r.POST("/clients", c.api(c.apiCreateClient))
	r.GET("/clients/:id", c.api(c.apiGetClient))
	r.PUT("/clients/:id", c.api(c.apiUpdateClient))
	r.POST("/clients/:id/rotate-secret", c.api(c.apiRotateClientSecret))
	r.POST("/clients/:id/disable", c.api(c.apiSetClientDisabled(true)))
	r.POST("/clients/:id/enable", c.api(c.apiSetClientDisabled(false)))
	r.DELETE("/clients/:id", step, c.api(c.apiDeleteClient))

	r.GET("/users", c.api(c.apiListUsers))
	r.POST("/users", c.api(c.apiAddUser))
	r.GET("/users/export", c.api(c.apiExportUsers))
	r.POST("/users/import", c.api(c.apiImportUsers))
	r.GET("/users/:id", c.api(c.apiGetUser))
	r.PATCH("/users/:id", c.api(c.apiUpdateUser))
	r.GET("/users/:id/events", c.api(c.apiUserEvents))
	r.POST("/users/:id/revoke-sessions", c.api(c.apiRevokeSessions))
	r.POST("/users/:id/revoke-grants", c.api(c.apiRevokeGrants))
	r.POST("/users/:id/cancel-deletion", c.api(c.apiCancelDeletion))
	r.POST("/users/:id/disable", c.api(c.apiDisableUser))
	r.POST("/users/:id/enable", c.api(c.apiEnableUser))
	r.POST("/users/:id/grant-admin", step, c.api(c.apiGrantAdmin))
	r.POST("/users/:id/passlink", c.api(c.apiSendPasslink))
	r.POST("/users/:id/revoke-admin", step, c.api(c.apiRevokeAdmin))
	r.DELETE("/users/:id", step, c.api(c.apiDeleteUser))
	r.DELETE("/users/:id/credentials/:cred", step, c.api(c.apiRemoveCredential))
	r.DELETE("/users/:id/recovery-codes", step, c.api(c.apiInvalidateRecoveryCodes))
	r.PUT("/users/:id/profile", c.api(c.apiSetProfile))
	r.GET("/users/:id/groups", c.api(c.apiUserGroups))
	r.POST("/admin-invites", c.api(c.apiInvite))

	r.GET("/scopes", c.api(c.apiListScopes))
	r.POST("/scopes", c.api(c.apiCreateScope))
	r.GET("/scopes/:name", c.api(c.apiGetScope))
	r.PUT("/scopes/:name", c.api(c.apiUpdateScope))
	r.DELETE("/scopes/:name", c.api(c.apiDeleteScope))
	r.GET("/upstreams", c.api(c.apiListUpstreams))
	r.POST("/upstreams", c.api(c.apiCreateUpstream))
	r.GET("/upstreams/:id", c.api(c.apiGetUpstream))
	r.PUT("/upstreams/:id", c.api(c.apiUpdateUpstream))
	r.DELETE("/upstreams/:id", c.api(c.apiDeleteUpstream))
	r.GET("/resources", c.api(c.apiListResources))
	r.POST("/resources", c.api(c.apiCreateResource))
	r.GET("/resources/:name", c.api(c.apiGetResource))
	r.PUT("/resources/:name", c.api(c.apiUpdateResource))
	r.DELETE("/resources/:name", c.api(c.apiDeleteResource))

	r.GET("/groups", c.api(c.apiListGroups))
	r.POST("/groups", c.api(c.apiCreateGroup))
	r.GET("/groups/:name", c.api(c.apiGetGroup))
	r.PUT("/groups/:name", c.api(c.apiUpdateGroup))
	r.DELETE("/groups/:name", c.api(c.apiDeleteGroup))
	r.GET("/groups/:name/members", c.api(c.apiGroupMembers))
	r.POST("/groups/:name/members", c.api(c.apiAddGroupMember))
	r.DELETE("/groups/:name/members/:user", c.api(c.apiRemoveGroupMember))

	r.GET("/keys", c.api(c.apiListKeys))
	r.POST("/keys/rotate", step, c.api(c.apiRotateKeys))

	r.GET("/policies", c.api(c.apiGetPolicy))
	r.PUT("/policies", c.api(c.apiPutPolicy))
	c.mountLockoutAPI(r, step)

	c.mountWebhookAPI(r)
	c.mountRegistrationAPI(r, step)
	c.mountBrandingAPI(r)
	r.GET("/credentials", c.api(c.apiListCredentials))
	r.GET("/credentials/health", c.api(c.apiCredentialHealth))

	r.GET("/audit", c.api(c.apiListAudit))
	r.GET("/audit/export", c.api(c.apiExportAudit))
	r.GET("/events", c.api(c.apiListEvents))
	r.GET("/events/export", c.api(c.apiExportEvents))

	if c.stats != nil {
		r.GET("/stats/headline", c.api(c.apiStatsHeadline))
		r.GET("/stats/dashboard", c.api(c.apiStatsDashboard))
		r.GET("/stats/funnel", c.api(c.apiStatsFunnel))
		r.GET("/stats/drilldown", c.api(c.apiStatsDrilldown))
	}
}

// --- parameters ---

// page reads limit and offset, bounded.
func page(g *gin.Context) (offset, limit int, err error) {
	if v := g.Query("limit"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 || n > MaxLimit {
			return 0, 0, invalid("limit", "a number from 1 to %d", MaxLimit)
		}
		limit = n
	}
	if v := g.Query("offset"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 || n > MaxOffset {
			return 0, 0, invalid("offset", "a number from 0 to %d", MaxOffset)
		}
		offset = n
	}
	return offset, ClampLimit(limit), nil
}

func query(g *gin.Context, name string) (string, error) {
	v := g.Query(name)
	if len(v) > MaxQueryLen {
		return "", invalid(name, "at most %d characters", MaxQueryLen)
	}
	return v, nil
}

// search answers one page of a search: the q, offset and limit
// parameters in, a List out.
func search[T any](g *gin.Context, find func(ctx context.Context, q string, offset, limit int) ([]T, bool, error)) error {
	offset, limit, err := page(g)
	if err != nil {
		return err
	}
	q, err := query(g, "q")
	if err != nil {
		return err
	}
	items, more, err := find(g.Request.Context(), q, offset, limit)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, listOf(items, more, offset, limit))
	return nil
}

// answer makes the answer of a service's (v, err): v with 200 OK, or err.
func answer(g *gin.Context) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		g.JSON(http.StatusOK, v)
		return nil
	}
}

// noContent answers 204 No Content, or returns err.
func noContent(g *gin.Context, err error) error {
	if err != nil {
		return err
	}
	g.Status(http.StatusNoContent)
	return nil
}

func listOf[T any](items []T, more bool, offset, limit int) List[T] {
	l := List[T]{Items: items, HasMore: more}
	if more {
		n := offset + limit
		l.NextOffset = &n
	}
	return l
}

// decode reads a JSON body strictly: unknown fields are errors, so a typo
// is not silently ignored. apiAuth has checked the origin and the CSRF
// header of console sessions already; bearer callers have neither.
func decode(g *gin.Context, v any) error {
	if err := (httpx.JSONReader{MaxBytes: 64 << 10, Strict: true}).Decode(g.Request, v); err != nil {
		return jsonProblem(err)
	}
	return nil
}

// --- clients ---

func (c *Console) apiListClients(g *gin.Context) error {
	registered, err := query(g, "registered")
	if err != nil {
		return err
	}
	return search(g, func(ctx context.Context, q string, offset, limit int) ([]ClientView, bool, error) {
		return c.Clients.List(ctx, ClientQuery{Query: q, Registered: registered}, offset, limit)
	})
}

// clientWithSecret is a client plus its secret, present exactly once:
// in the answer that created or rotated it.
type clientWithSecret struct {
	*ClientView
	Secret string `json:"client_secret,omitempty"`
}

func (c *Console) apiCreateClient(g *gin.Context) error {
	var spec clients.Spec
	if err := decode(g, &spec); err != nil {
		return err
	}
	v, secret, err := c.Clients.Create(g.Request.Context(), spec)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/clients/"+v.ID)
	g.JSON(http.StatusCreated, clientWithSecret{ClientView: v, Secret: secret})
	return nil
}

func (c *Console) apiGetClient(g *gin.Context) error {
	return answer(g)(c.Clients.Get(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiUpdateClient(g *gin.Context) error {
	var spec clients.Spec
	if err := decode(g, &spec); err != nil {
		return err
	}
	if err := c.clientLockout(g, g.Param("id"), spec); err != nil {
		return err
	}
	rotate := g.Query("rotate_secret") == "true"
	v, secret, err := c.Clients.Update(g.Request.Context(), g.Param("id"), spec, rotate)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, clientWithSecret{ClientView: v, Secret: secret})
	return nil
}

func (c *Console) apiRotateClientSecret(g *gin.Context) error {
	secret, err := c.Clients.RotateSecret(g.Request.Context(), g.Param("id"))
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, gin.H{"client_id": g.Param("id"), "client_secret": secret})
	return nil
}

func (c *Console) apiSetClientDisabled(disabled bool) func(*gin.Context) error {
	return func(g *gin.Context) error {
		return answer(g)(c.Clients.SetDisabled(g.Request.Context(), g.Param("id"), disabled))
	}
}

func (c *Console) apiDeleteClient(g *gin.Context) error {
	return noContent(g, c.Clients.Delete(g.Request.Context(), g.Param("id")))
}

// --- users ---

func (c *Console) apiGetUser(g *gin.Context) error {
	return answer(g)(c.Users.Show(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiDisableUser(g *gin.Context) error {
	// Disabling an admin is destructive for the console itself.
	admin, err := c.Users.IsAdmin(g.Request.Context(), g.Param("id"))
	if err != nil {
		return err
	}
	if admin && !c.steppedUp(g) {
		return ErrStepUpRequired
	}
	return answer(g)(c.Users.SetDisabled(g.Request.Context(), g.Param("id"), true))
}

func (c *Console) apiEnableUser(g *gin.Context) error {
	return answer(g)(c.Users.SetDisabled(g.Request.Context(), g.Param("id"), false))
}

func (c *Console) apiGrantAdmin(g *gin.Context) error {
	return answer(g)(c.Users.SetAdmin(g.Request.Context(), g.Param("id"), true))
}

func (c *Console) apiRevokeAdmin(g *gin.Context) error {
	return answer(g)(c.Users.SetAdmin(g.Request.Context(), g.Param("id"), false))
}

func (c *Console) apiDeleteUser(g *gin.Context) error {
	return noContent(g, c.Users.Delete(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiInvalidateRecoveryCodes(g *gin.Context) error {
	return answer(g)(c.Users.InvalidateRecoveryCodes(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiRemoveCredential(g *gin.Context) error {
	return noContent(g, c.Users.RemoveCredential(g.Request.Context(), g.Param("id"), g.Param("cred")))
}

func (c *Console) apiInvite(g *gin.Context) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := decode(g, &req); err != nil {
		return err
	}
	link, err := Invite(g.Request.Context(), c.st, c.cfg.Issuer, req.Email)
	if err != nil {
		return err
	}
	g.JSON(http.StatusCreated, gin.H{"email": strings.TrimSpace(req.Email), "url": link, "expires_at": clock.Now().UTC().Add(InviteTTL)})
	return nil
}

// --- keys ---

func (c *Console) apiListKeys(g *gin.Context) error {
	l, err := c.Keys.List(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, gin.H{"items": l})
	return nil
}

func (c *Console) apiRotateKeys(g *gin.Context) error {
	var req struct {
		Alg string `json:"alg"`
	}
	if g.Request.ContentLength != 0 {
		if err := decode(g, &req); err != nil {
			return err
		}
	}
	l, err := c.Keys.Rotate(g.Request.Context(), req.Alg)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, gin.H{"items": l})
	return nil
}

// --- policies ---

type policyResponse struct {
	policy.Policy
	RestartRequired []string `json:"restart_required"`
}

func (c *Console) apiGetPolicy(g *gin.Context) error {
	p, err := c.Policies.Current(g.Request.Context())
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, policyResponse{Policy: p, RestartRequired: RestartRequired})
	return nil
}

func (c *Console) apiPutPolicy(g *gin.Context) error {
	var p policy.Policy
	if err := decode(g, &p); err != nil {
		return err
	}
	if err := c.policyLockout(g, p); err != nil {
		return err
	}
	saved, err := c.Policies.Update(g.Request.Context(), p)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, policyResponse{Policy: saved, RestartRequired: RestartRequired})
	return nil
}

// --- audit ---

// auditQuery reads the audit log's filters and date range.
func auditQuery(g *gin.Context) (AuditQuery, error) {
	var q AuditQuery
	var err error
	for name, dst := range map[string]*string{"actor_id": &q.ActorID, "action": &q.Action, "target_type": &q.TargetType, "target_id": &q.TargetID} {
		if *dst, err = query(g, name); err != nil {
			return q, err
		}
	}
	return q, timeRange(g, &q.Since, &q.Until)
}

// timeRange reads the since and until parameters (RFC 3339).
func timeRange(g *gin.Context, since, until *time.Time) error {
	for name, dst := range map[string]*time.Time{"since": since, "until": until} {
		if v := g.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return invalid(name, "an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
			*dst = t
		}
	}
	return nil
}

func (c *Console) apiListAudit(g *gin.Context) error {
	_, limit, err := page(g)
	if err != nil {
		return err
	}
	q, err := auditQuery(g)
	if err != nil {
		return err
	}
	q.Limit, q.Cursor = limit, g.Query("cursor")
	p, err := c.Audit.List(g.Request.Context(), q)
	if err != nil {
		return err
	}
	items := make([]auditView, len(p.Items))
	for i, e := range p.Items {
		items[i] = auditViewOf(e)
	}
	g.JSON(http.StatusOK, List[auditView]{Items: items, HasMore: p.NextCursor != "", NextCursor: p.NextCursor})
	return nil
}

type auditActor struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Label string `json:"label"`
}

type auditView struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	Actor      auditActor      `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
}

func rawOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// --- statistics (the stats service of stats.go) ---

func (c *Console) apiStatsHeadline(g *gin.Context) error {
	return answer(g)(c.stats.Headline(g.Request.Context()))
}

func (c *Console) apiStatsDashboard(g *gin.Context) error {
	name := g.DefaultQuery("range", "24h")
	r := RangeByName(name)
	if r.Name != name {
		return invalid("range", "one of 1h, 24h, 7d, 30d")
	}
	return answer(g)(c.stats.Dashboard(g.Request.Context(), r))
}
