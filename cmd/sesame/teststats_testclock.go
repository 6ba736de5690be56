//go:build sesame_testclock

package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"runtime"
)

// With SESAME_TEST_STATS_ADDR set, a binary built with the
// sesame_testclock tag (server/clustertest's) serves its goroutine count
// and heap there, for the soak test (TestSoak) to see they stay flat;
// ?gc=1 collects first. Release builds have no such listener.
func init() {
	addr := os.Getenv("SESAME_TEST_STATS_ADDR")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("gc") == "1" {
				runtime.GC()
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			_ = json.NewEncoder(w).Encode(map[string]uint64{
				"goroutines": uint64(runtime.NumGoroutine()), "heap_alloc": m.HeapAlloc, "heap_sys": m.HeapSys,
			})
		}))
	}()
}
