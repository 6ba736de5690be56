//go:build sesame_testclock

package main

import (
	"fmt"
	"os"
	"time"
)

// replicaClockOffset offsets this process's server clock by
// SESAME_TEST_CLOCK_OFFSET (a Go duration such as -90s). It exists only in
// binaries built with the sesame_testclock tag, which server/clustertest
// builds to run replicas with skewed clocks; release builds never read the
// variable.
func replicaClockOffset() (time.Duration, error) {
	v := os.Getenv("SESAME_TEST_CLOCK_OFFSET")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("SESAME_TEST_CLOCK_OFFSET: %w", err)
	}
	return d, nil
}
