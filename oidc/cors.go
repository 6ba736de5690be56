package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/oidc/clients"
)

// CORS for the endpoints a browser app calls with fetch (discovery, JWKS,
// token, userinfo, revocation, introspection): one module, so every
// endpoint answers the same way.
//
//   - Access-Control-Allow-Origin echoes an allowed origin and is never
//     "*"; Access-Control-Allow-Credentials is never sent (no endpoint here
//     reads cookies), so a page can read answers but never ride a session.
//   - Whose origins: the client's of the request when it is known (the
//     client_id of a token or revocation request, the client of a bearer
//     token), otherwise — discovery, JWKS, preflights, which carry no
//     client — the union of every enabled client's origins, cached like
//     clients and dropped when one changes (InvalidateClient).
//   - Introspection is for resource servers: only confidential clients
//     that registered origins of their own get CORS there.
//   - Hosted pages, the authorization and logout endpoints (navigations)
//     and the console never get CORS headers: they are not mounted here.
//   - Every answer says Vary: Origin, since it depends on it (and
//     discovery and JWKS are cacheable).

// corsMaxAge is how long (seconds) a browser may reuse a preflight's
// answer; Chromium caps it at 7200.
const corsMaxAge = "600"

// corsAllowHeaders are the request headers a page may send beyond the
// CORS-safelisted ones: a bearer token or Basic credentials, and a JSON or
// form Content-Type.
const corsAllowHeaders = "Authorization, Content-Type, DPoP"

// corsRoute is one endpoint's CORS rule: the methods it serves and which
// clients' origins may call it when no client is known.
type corsRoute struct {
	path    string
	methods []string
	// introspect limits the origins of an unknown caller to those of
	// clients that may introspect from a browser.
	introspect bool
}

var corsRoutes = []corsRoute{
	{path: PathDiscovery, methods: []string{http.MethodGet}},
	{path: PathJWKS, methods: []string{http.MethodGet}},
	{path: PathToken, methods: []string{http.MethodPost}},
	{path: PathPAR, methods: []string{http.MethodPost}},
	{path: PathUserinfo, methods: []string{http.MethodGet, http.MethodPost}},
	{path: PathRevoke, methods: []string{http.MethodPost}},
	{path: PathIntrospect, methods: []string{http.MethodPost}, introspect: true},
}

// mountCORS answers the preflights of the CORS endpoints.
func (p *Provider) mountCORS(r gin.IRouter) {
	for _, rt := range corsRoutes {
		r.OPTIONS(rt.path, p.preflight(rt))
	}
}

// preflight answers OPTIONS (Fetch §4.8): 204 with the endpoint's methods
// and headers for an allowed origin that asks for one of its methods, a
// plain 204 (which the browser reads as a refusal) otherwise.
func (p *Provider) preflight(rt corsRoute) gin.HandlerFunc {
	methods := strings.Join(rt.methods, ", ")
	allow := methods + ", OPTIONS"
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Allow", allow)
		h.Add("Vary", "Origin")
		h.Set("Cache-Control", "no-store")
		origin, method := c.GetHeader("Origin"), c.GetHeader("Access-Control-Request-Method")
		if origin != "" && slices.Contains(rt.methods, method) && p.originKnown(c.Request.Context(), origin, rt.introspect) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
		}
		c.Status(http.StatusNoContent)
	}
}

// corsAnyClient lets the request's origin read the answer when some
// enabled client registered it (discovery, JWKS, and userinfo errors,
// where no client is known).
func (p *Provider) corsAnyClient(c *gin.Context) {
	c.Writer.Header().Add("Vary", "Origin")
	if o := c.GetHeader("Origin"); o != "" && p.originKnown(c.Request.Context(), o, false) {
		setAllowOrigin(c, o)
	}
}

// corsForClient lets the request's origin read the answer when the client
// the request names allows it. Token and revocation requests name their
// client in the body (public clients) or in HTTP Basic credentials; the
// claim is not verified here, since an allowed origin only lets a page
// read an answer the request gets anyway.
func (p *Provider) corsForClient(c *gin.Context, introspect bool) {
	c.Writer.Header().Add("Vary", "Origin")
	origin := c.GetHeader("Origin")
	if origin == "" {
		return
	}
	id := c.Request.PostForm.Get("client_id")
	if user, _, ok := c.Request.BasicAuth(); ok {
		// RFC 6749 §2.3.1: the Basic user name is form-encoded.
		if u, err := url.QueryUnescape(user); err == nil {
			id = u
		}
	}
	if id == "" {
		return
	}
	fc, err := p.GetClient(c.Request.Context(), id)
	if err != nil {
		return
	}
	if cl, ok := fc.(*Client); ok && (!introspect || !cl.m.Public) && slices.Contains(cl.origins, origin) {
		setAllowOrigin(c, origin)
	}
}

// corsKeepForClient withdraws the origin that corsAnyClient allowed when
// the bearer token's client does not allow it: a page reads another app's
// token's answers from nowhere but that app's origins.
func corsKeepForClient(c *gin.Context, fc fosite.Client) {
	h := c.Writer.Header()
	o := h.Get("Access-Control-Allow-Origin")
	if o == "" {
		return
	}
	if cl, ok := fc.(*Client); !ok || !slices.Contains(cl.origins, o) {
		h.Del("Access-Control-Allow-Origin")
		h.Del("Access-Control-Expose-Headers")
	}
}

func setAllowOrigin(c *gin.Context, origin string) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	// Bearer and client errors explain themselves in WWW-Authenticate.
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, DPoP-Nonce")
}

// originSet is the union of the enabled clients' origins at one moment.
type originSet struct {
	all        map[string]struct{}
	introspect map[string]struct{} // of confidential clients only
	loaded     time.Time
}

// originCache holds the current originSet. It is loaded on demand and
// lives as long as a cached client (the other replicas' changes reach it
// within ClientCacheTTL); InvalidateClient drops it at once. Reads take no
// lock: a preflight costs a map lookup.
type originCache struct {
	set atomic.Pointer[originSet]
	gen atomic.Uint64 // bumped by invalidate; a load started before does not stick
}

func (oc *originCache) invalidate() {
	oc.gen.Add(1)
	oc.set.Store(nil)
}

// originKnown reports whether some enabled client allows origin
// (introspect: some confidential client). A store that cannot be read
// allows nothing: CORS fails closed.
func (p *Provider) originKnown(ctx context.Context, origin string, introspect bool) bool {
	set, err := p.origins(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "cors: clients' origins not read", "err", err)
		return false
	}
	m := set.all
	if introspect {
		m = set.introspect
	}
	_, ok := m[origin]
	return ok
}

func (p *Provider) origins(ctx context.Context) (*originSet, error) {
	oc := &p.originCache
	if s := oc.set.Load(); s != nil && time.Since(s.loaded) < p.cfg.ClientCacheTTL {
		return s, nil
	}
	gen := oc.gen.Load()
	// Concurrent loads on a cold cache are few and give the same answer.
	list, err := p.st.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	s := &originSet{all: map[string]struct{}{}, introspect: map[string]struct{}{}, loaded: time.Now()}
	for i := range list {
		m := &list[i]
		if m.Disabled {
			continue
		}
		for _, o := range clients.WebOrigins(m) {
			s.all[o] = struct{}{}
			if !m.Public {
				s.introspect[o] = struct{}{}
			}
		}
	}
	oc.set.Store(s)
	if oc.gen.Load() != gen { // changed while loading: load again next time
		oc.set.CompareAndSwap(s, nil)
	}
	return s, nil
}
