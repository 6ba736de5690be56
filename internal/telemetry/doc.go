// Package telemetry is Sesame's operational instrumentation: Prometheus
// metrics on a registry the server owns (metrics.go, collectors.go) and
// OpenTelemetry tracing, off by default (tracing.go, gorm.go).
//
// Labels are bounded by construction: routes are gin's patterns
// ("/passlink/:token", never the raw path, which carries bearer secrets),
// methods and grant types are clamped to known sets, client ids come only
// from requests the provider has validated (so they are bounded by the
// registered clients), and no metric carries a user id, an address, an IP
// or a token. Spans follow the same rule: a server span names its route
// pattern and never records the URL's path or query.
//
// The package imports no Sesame package: the server hands it what it
// observes through small funcs and interfaces.
package telemetry
