package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-idp/sesame/internal/telemetry"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestTracingRequestStoreAndOutboundSpans: with tracing on, a token
// request that carries a W3C traceparent becomes a server span continuing
// the caller's trace, named by its route; the SQL statements it runs are
// client spans descending from it (through fosite's own spans, which
// fosite makes with the provider of the span in the context), and so is
// the resolution of the client's jwks_uri (private_key_jwt), whose HTTP
// GET is a client span of the outbound transport under it. No span name
// or attribute carries the client assertion.
func TestTracingRequestStoreAndOutboundSpans(t *testing.T) {
	servertest.EachDialect(t, tracingSpans)
}

func tracingSpans(t *testing.T, opts ...servertest.Option) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	priv := clientKey(t, "RS256")
	jwks := publicJWKS(t, priv)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(jwks) }))
	t.Cleanup(srv.Close)

	env := servertest.NewTraced(t, tr, append(opts, servertest.AllowOutbound("127.0.0.0/8"))...)
	id, _ := env.CreateClient(clients.Spec{
		Name: "Traced Machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"},
		TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: "https://jwks.example.test/jwks",
	})
	m, err := env.Store.GetClient(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m.JWKSURI = srv.URL + "/jwks"
	if err := env.Store.UpdateClient(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	exp.Reset()

	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	assertion := clientAssertion(t, priv, id, env.Issuer+"/oauth2/token")
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"},
		"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion}}
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || out["access_token"] == nil {
		t.Fatalf("token: %d %v", resp.StatusCode, out)
	}

	spans := exp.GetSpans()
	var server *tracetest.SpanStub
	for i := range spans {
		if spans[i].Name == "POST /oauth2/token" {
			server = &spans[i]
		}
	}
	if server == nil {
		t.Fatalf("no server span named after the route among %d spans", len(spans))
	}
	if server.SpanKind != trace.SpanKindServer || server.SpanContext.TraceID().String() != traceID ||
		server.Parent.SpanID().String() != callerSpan || !server.Parent.IsRemote() {
		t.Fatalf("server span %s (kind %v) trace %s parent %s: want the caller's trace and span as its remote parent",
			server.Name, server.SpanKind, server.SpanContext.TraceID(), server.Parent.SpanID())
	}
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	// under reports whether s descends from the span want (parent links
	// within the exported spans).
	under := func(s tracetest.SpanStub, want trace.SpanID) bool {
		for i := 0; i < 20; i++ {
			p := s.Parent.SpanID()
			if p == want {
				return true
			}
			next, ok := byID[p]
			if !ok {
				return false
			}
			s = next
		}
		return false
	}
	var store, resolve, fetch int
	var resolveID trace.SpanID
	for _, s := range spans {
		if s.Name == "resolve client jwks_uri" {
			resolveID = s.SpanContext.SpanID()
		}
	}
	for _, s := range spans {
		switch {
		case strings.HasPrefix(s.Name, "store "):
			if !under(s, server.SpanContext.SpanID()) || s.SpanKind != trace.SpanKindClient || s.SpanContext.TraceID() != server.SpanContext.TraceID() {
				t.Errorf("store span %q (parent %s) does not descend from the request's span %s", s.Name, s.Parent.SpanID(), server.SpanContext.SpanID())
			}
			store++
		case s.Name == "resolve client jwks_uri":
			if !under(s, server.SpanContext.SpanID()) {
				t.Errorf("jwks_uri span (parent %s) does not descend from the request's span", s.Parent.SpanID())
			}
			resolve++
		case strings.HasPrefix(s.Name, "HTTP GET "):
			if s.SpanKind != trace.SpanKindClient || s.Parent.SpanID() != resolveID {
				t.Errorf("outbound span %q kind %v parent %s, want a client span under the jwks_uri resolution", s.Name, s.SpanKind, s.Parent.SpanID())
			}
			fetch++
		}
	}
	if store < 3 || resolve != 1 || fetch != 1 {
		t.Fatalf("spans of the request: %d store, %d jwks_uri resolutions, %d outbound GETs; want ≥3, 1, 1", store, resolve, fetch)
	}
	for _, s := range spans {
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.Emit(), assertion) || strings.Contains(s.Name, assertion) {
				t.Fatalf("span %q attribute %s carries the client assertion", s.Name, a.Key)
			}
		}
	}
}
