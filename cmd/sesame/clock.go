//go:build !sesame_testclock

package main

import "time"

// replicaClockOffset is 0: the real clock. Only a binary built with the
// sesame_testclock tag (server/clustertest's) can offset it.
func replicaClockOffset() (time.Duration, error) { return 0, nil }
