package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-jose/go-jose/v3"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/ory/fosite"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sesame-idp/sesame/internal/httpx"
)

// jwksFetcher resolves a private_key_jwt client's jwks_uri (RFC 7523 §3,
// OIDC Core §9) for fosite. The URL is the registrant's choice, so every
// fetch goes through the guarded outbound client (internal/httpx): no
// internal address unless the operator allows its network, one attempt of
// at most 5 s, at most 64 KiB, no redirects. fosite's strategy keeps the
// keys cached for an hour and refetches once when an assertion names an
// unknown kid.
//
// A failed fetch is the client's problem, not the server's: it becomes
// invalid_client (fosite would answer server_error), and its cause is
// logged here, never sent to the client.
type jwksFetcher struct {
	inner fosite.JWKSFetcherStrategy
	rc    *retryablehttp.Client
	log   *slog.Logger
	// tracer spans each resolution under the token request's span, so a
	// trace shows whether fosite's cache answered or the outbound
	// transport's GET (its child) went out.
	tracer trace.Tracer
}

var _ fosite.JWKSFetcherStrategy = (*jwksFetcher)(nil)

func newJWKSFetcher(hc *http.Client, log *slog.Logger, tracer trace.Tracer) *jwksFetcher {
	if tracer == nil {
		tracer = noop.NewTracerProvider().Tracer("")
	}
	if hc == nil {
		hc = httpx.OutboundClient(httpx.OutboundOptions{})
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	// One attempt: retries with back-off would hold the token request for
	// tens of seconds and multiply what each request makes Sesame fetch.
	rc.RetryMax = 0
	rc.Logger = nil
	return &jwksFetcher{inner: fosite.NewDefaultJWKSFetcherStrategy(fosite.JWKSFetcherWithHTTPClient(rc)), rc: rc, log: log, tracer: tracer}
}

// http is the guarded client in fosite's type, for fosite's other fetches.
func (f *jwksFetcher) http() *retryablehttp.Client { return f.rc }

func (f *jwksFetcher) Resolve(ctx context.Context, location string, ignoreCache bool) (*jose.JSONWebKeySet, error) {
	ctx, span := f.tracer.Start(ctx, "resolve client jwks_uri", trace.WithAttributes(attribute.String("url.full", location), attribute.Bool("sesame.ignore_cache", ignoreCache)))
	defer span.End()
	set, err := f.inner.Resolve(ctx, location, ignoreCache)
	if err == nil {
		return set, nil
	}
	span.SetStatus(codes.Error, "fetch failed")
	cause := err.Error()
	if rfc := new(fosite.RFC6749Error); errors.As(err, &rfc) && rfc.DebugField != "" {
		cause = rfc.DebugField
	}
	f.log.WarnContext(ctx, "fetch client jwks_uri", "jwks_uri", location, "err", cause)
	return nil, fosite.ErrInvalidClient.WithHint("The client's public keys could not be fetched from its jwks_uri.").WithWrap(err)
}
