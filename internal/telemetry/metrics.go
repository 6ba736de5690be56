package telemetry

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesame-idp/sesame/internal/buildinfo"
	"github.com/sesame-idp/sesame/internal/httpx"
)

// Namespace prefixes every metric Sesame defines.
const Namespace = "sesame"

// PathMetrics is where metrics are served, on the main listener (behind
// metrics_token) and on metrics_listen.
const PathMetrics = "/metrics"

// Metrics holds the server's own registry and the instruments that code
// paths update. Its methods are safe for concurrent use; a nil *Metrics
// records nothing, so components built without one need no checks.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	signIns     *prometheus.CounterVec
	authEvents  *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	tokenErrors *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
}

// NewMetrics returns a registry with Sesame's instruments, the Go runtime
// and process collectors, and sesame_build_info.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route pattern and status code.",
	}, []string{"method", "route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by method and route pattern.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "http_requests_in_flight",
		Help: "HTTP requests being answered.",
	})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "sign_ins_total",
		Help: "Sign-in attempts (login events), by method, client (empty outside an authorization) and result.",
	}, []string{"method", "client", "result"})
	m.authEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "auth_events_total",
		Help: "Auth events of the hosted pages (login, register, request, approve, verify_email, …), by method, event and result.",
	}, []string{"method", "event", "result"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "tokens_issued_total",
		Help: "Successful token endpoint responses, by grant type and client.",
	}, []string{"grant_type", "client"})
	m.tokenErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "token_errors_total",
		Help: "Refused token requests, by grant type and OAuth error code.",
	}, []string{"grant_type", "error"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "rate_limit_hits_total",
		Help: "Attempts refused by a rate limit, by limit (the key's kind, e.g. passlink:email).",
	}, []string{"limit"})
	bi := buildinfo.Get()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels describe the running build.",
	}, []string{"version", "commit", "go_version", "platform"})
	build.WithLabelValues(bi.Version, bi.Commit, bi.GoVersion, bi.Platform).Set(1)
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.signIns, m.authEvents, m.tokens, m.tokenErrors, m.rateLimited, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the server's registry, for collectors of other components.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// methods are the HTTP methods counted by name; any other is "other" (the
// method is the client's to choose, and a label must stay bounded).
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions}

func methodLabel(m string) string {
	if slices.Contains(methods, m) {
		return m
	}
	return "other"
}

// routeLabel is the request's route pattern; a request that matched no
// route is "(unmatched)", its path unread (it may carry a secret).
func routeLabel(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return "(unmatched)"
}

// Middleware counts and times every request by its route pattern (RED).
// Place it first, so that the time of every other middleware counts.
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		ctx := c.Request.Context() // later middleware swaps in one it cancels
		c.Next()
		method, route := methodLabel(c.Request.Method), routeLabel(c)
		status := c.Writer.Status()
		if status >= 500 && httpx.ClientGone(ctx) {
			// Not the server's failure: kept out of the 5xx rate.
			status = httpx.StatusClientClosed
		}
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	}
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. With a non-empty token it requires "Authorization: Bearer
// token" and answers 401 otherwise.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AuthEvent counts one auth event of the hosted pages; a "login" event is
// also a sign-in, counted by client. client must be a client the provider
// knows (the interaction's), or empty.
func (m *Metrics) AuthEvent(method, event, result, client string) {
	if m == nil {
		return
	}
	m.authEvents.WithLabelValues(method, event, result).Inc()
	if event == "login" {
		m.signIns.WithLabelValues(method, client, result).Inc()
	}
}

// grantTypes are the grant types counted by name; anything else a client
// sends is "other".
var grantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}

func grantLabel(g string) string {
	switch {
	case slices.Contains(grantTypes, g):
		return g
	case g == "":
		return "none"
	}
	return "other"
}

// TokenIssued counts a successful token response to an authenticated
// client.
func (m *Metrics) TokenIssued(grantType, client string) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(grantLabel(grantType), client).Inc()
}

// TokenRefused counts a refused token request by its OAuth error code
// (RFC 6749 §5.2: a fixed set, plus the few fosite adds).
func (m *Metrics) TokenRefused(grantType, errorCode string) {
	if m == nil {
		return
	}
	if len(errorCode) > 40 || strings.ContainsFunc(errorCode, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) {
		errorCode = "other"
	}
	m.tokenErrors.WithLabelValues(grantLabel(grantType), errorCode).Inc()
}

// RateLimited counts an attempt refused by the limit on key; only the
// key's kind (its first two colon-separated parts, "passlink:email") is a
// label, never the address or IP after it.
func (m *Metrics) RateLimited(key string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(LimitKind(key)).Inc()
}

// LimitKind is the kind of a rate-limit key: "passlink:email" of
// "passlink:email:someone@example.com".
func LimitKind(key string) string {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) < 3 {
		return "other"
	}
	return parts[0] + ":" + parts[1]
}
