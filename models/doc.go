// Package models holds Sesame's persistent entities (gorm models) and the
// sentinel errors every layer uses to talk about them. It has no behaviour of
// its own: reading and writing happens in models/store.
package models
