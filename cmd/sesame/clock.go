//go:build !sesame_testclock

package main

import "time"

// replicaClock is the server's clock: nil, the real one. Only a binary
// built with the sesame_testclock tag (server/clustertest's) can offset it.
func replicaClock() (func() time.Time, error) { return nil, nil }
