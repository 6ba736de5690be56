// Package loadgen drives Sesame's hot paths over HTTP the way a browser
// and an app do, with a software passkey authenticator (virtualwebauthn)
// standing in for navigator.credentials: passkey sign-up, passkey sign-in,
// the authorization-code flow with PKCE and a passkey, refresh and
// introspection. cmd/sesame-load runs it under concurrent load on
// loopback; the service benchmarks (server/flow_bench_test.go) run it
// against servertest, so both measure the same requests.
//
// It holds no Sesame internals: only URLs, JSON and form bodies, so it
// exercises exactly what a real client sends.
package loadgen
