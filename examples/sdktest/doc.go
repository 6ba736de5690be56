// Package sdktest runs the Go SDK (sdk/go) against a real Sesame started
// in the test (server/servertest), on SQLite and PostgreSQL.
package sdktest
