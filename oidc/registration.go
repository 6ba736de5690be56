package oidc

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Dynamic client registration (RFC 7591) and management (RFC 7592): the
// HTTP side of clients.Registrar, which owns the rules (modes, initial
// access tokens, limits, validation, audit). The endpoint exists only
// while the live policy's registration mode is protected or open (404
// otherwise, and discovery names it only then). Every request, whatever
// its answer, counts against a per-IP hourly limit that holds across
// replicas (internal/ratelimit). Errors are RFC 7591 §3.2.2's JSON;
// a bad token is 401 with a Bearer challenge (RFC 6750 §3).

// PathRegister is the registration endpoint; a client's
// registration_client_uri is PathRegister + "/" + client_id.
const PathRegister = "/oauth2/register"

// registrationWindow is the rate limit's window.
const registrationWindow = time.Hour

func (p *Provider) mountRegistration(r gin.IRouter) {
	if p.registrar == nil {
		return
	}
	r.POST(PathRegister, p.handleRegister)
	r.GET(PathRegister+"/:id", p.handleRegistrationRead)
	r.PUT(PathRegister+"/:id", p.handleRegistrationUpdate)
	r.DELETE(PathRegister+"/:id", p.handleRegistrationDelete)
}

// registrationGate answers what every registration request gets first:
// 404 while registration is off, 429 over the per-IP limit. It reports
// whether the request may go on.
func (p *Provider) registrationGate(c *gin.Context) bool {
	ctx := c.Request.Context()
	pol, err := p.registrar.Mode(ctx)
	if err != nil {
		p.registrationError(c, err)
		return false
	}
	if p.failures == nil {
		return true
	}
	ok, retry, err := p.failures.Allow(ctx, "register:ip:"+c.ClientIP(), pol.RegistrationRateIP, registrationWindow)
	if err != nil {
		p.registrationError(c, err)
		return false
	}
	if !ok {
		c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		c.JSON(http.StatusTooManyRequests, gin.H{"error": "temporarily_unavailable", "error_description": "Too many registration requests from this address; try again later."})
		return false
	}
	return true
}

// readMetadata decodes a registration request's JSON body (unknown
// members ignored, RFC 7591 §2).
func (p *Provider) readMetadata(c *gin.Context) (clients.Metadata, bool) {
	var m clients.Metadata
	if err := (httpx.JSONReader{}).Decode(c.Request, &m); err != nil {
		desc := "The body must be a JSON object of client metadata (Content-Type: application/json)."
		if errors.Is(err, httpx.ErrInvalidJSON) {
			desc = "The client metadata is not valid JSON of the registered types: " + err.Error()
		}
		p.registrationError(c, &clients.RegistrationError{Status: http.StatusBadRequest, Code: clients.ErrCodeInvalidClientMetadata, Description: desc})
		return m, false
	}
	return m, true
}

// bearer is the request's bearer token ("" for none).
func bearer(r *http.Request) string {
	s, t, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(s, "Bearer") {
		return ""
	}
	return strings.TrimSpace(t)
}

func (p *Provider) handleRegister(c *gin.Context) {
	if !p.registrationGate(c) {
		return
	}
	m, ok := p.readMetadata(c)
	if !ok {
		return
	}
	info, err := p.registrar.Register(c.Request.Context(), bearer(c.Request), m, c.ClientIP())
	if err != nil {
		p.registrationError(c, err)
		return
	}
	p.InvalidateClient(info.ClientID) // the union of web origins (cors.go)
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusCreated, info)
}

func (p *Provider) handleRegistrationRead(c *gin.Context) {
	if !p.registrationGate(c) {
		return
	}
	info, err := p.registrar.Read(c.Request.Context(), c.Param("id"), bearer(c.Request))
	if err != nil {
		p.registrationError(c, err)
		return
	}
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, info)
}

func (p *Provider) handleRegistrationUpdate(c *gin.Context) {
	if !p.registrationGate(c) {
		return
	}
	ctx := c.Request.Context()
	// The token first: a stranger learns nothing of the body's problems.
	if _, err := p.registrar.Client(ctx, c.Param("id"), bearer(c.Request)); err != nil {
		p.registrationError(c, err)
		return
	}
	m, ok := p.readMetadata(c)
	if !ok {
		return
	}
	info, err := p.registrar.Update(ctx, c.Param("id"), bearer(c.Request), m, c.ClientIP())
	if err != nil {
		p.registrationError(c, err)
		return
	}
	p.InvalidateClient(info.ClientID)
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, info)
}

func (p *Provider) handleRegistrationDelete(c *gin.Context) {
	if !p.registrationGate(c) {
		return
	}
	id := c.Param("id")
	if err := p.registrar.Delete(c.Request.Context(), id, bearer(c.Request), c.ClientIP()); err != nil {
		p.registrationError(c, err)
		return
	}
	p.InvalidateClient(id)
	c.Status(http.StatusNoContent)
}

// registrationError writes err as RFC 7591 §3.2.2 JSON: the registrar's
// refusals with their status and code, 404 while registration is off, 503
// during a database outage, and 500 (logged) for anything else.
func (p *Provider) registrationError(c *gin.Context, err error) {
	ctx := c.Request.Context()
	var re *clients.RegistrationError
	switch {
	case errors.As(err, &re):
		if re.Status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		c.JSON(re.Status, gin.H{"error": re.Code, "error_description": re.Description})
	case errors.Is(err, clients.ErrRegistrationOff):
		c.JSON(http.StatusNotFound, gin.H{"error": "not_found", "error_description": "Dynamic client registration is not enabled here."})
	case httpx.Outage(c, err):
		p.log.WarnContext(ctx, "registration: database unavailable", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "temporarily_unavailable", "error_description": "The service is briefly unavailable; retry in a few seconds."})
	default:
		p.log.ErrorContext(ctx, "registration", "path", httpx.RoutePath(c), "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error", "error_description": "The registration could not be completed."})
	}
	c.Abort()
}
