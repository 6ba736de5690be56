// Command sesame-load measures a running Sesame's token endpoint under
// concurrent load, on loopback only. It registers nothing: give it a
// confidential client allowed client_credentials.
//
//	go run ./cmd/sesame serve --dev &
//	go run ./cmd/sesame client create --name load --grant-type client_credentials --json
//	go run ./cmd/sesame-load -client-id ID -client-secret SECRET -c 16 -d 10s
//
// The loop is bounded in time and count and refuses any target that is
// not a loopback address, so it cannot be pointed at someone else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sesame-load:", err)
		os.Exit(1)
	}
}

type result struct {
	requests, failures int64
	elapsed            time.Duration
	latencies          []time.Duration
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sesame-load", flag.ContinueOnError)
	issuer := fs.String("issuer", "http://localhost:8080", "Sesame's issuer (must be on loopback)")
	id := fs.String("client-id", "", "client id (client_credentials)")
	secret := fs.String("client-secret", "", "client secret")
	conc := fs.Int("c", 16, "concurrent workers (1-256)")
	dur := fs.Duration("d", 10*time.Second, "duration (at most 5m)")
	max := fs.Int64("n", 1_000_000, "at most this many requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *secret == "" {
		return errors.New("-client-id and -client-secret are required")
	}
	if *conc < 1 || *conc > 256 || *dur <= 0 || *dur > 5*time.Minute || *max < 1 {
		return errors.New("-c must be 1..256, -d at most 5m, -n at least 1")
	}
	tokenURL, err := loopbackTokenURL(*issuer)
	if err != nil {
		return err
	}
	res := load(tokenURL, *id, *secret, *conc, *dur, *max)
	report(out, res, *conc)
	return nil
}

// loopbackTokenURL refuses anything but a loopback host.
func loopbackTokenURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("issuer %q is not an http(s) URL", issuer)
	}
	host := u.Hostname()
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("resolve %s: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("refusing %s: load is only sent to loopback addresses", host)
		}
	}
	return strings.TrimRight(issuer, "/") + "/oauth2/token", nil
}

func load(tokenURL, id, secret string, conc int, dur time.Duration, max int64) result {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, IdleConnTimeout: 30 * time.Second}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil && sent.Add(1) <= max {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{requests: int64(len(lat)), failures: failed.Load(), elapsed: time.Since(start), latencies: lat}
}

func report(out io.Writer, r result, conc int) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(float64(len(r.latencies)-1)*p)]
	}
	fmt.Fprintf(out, "client_credentials, %d workers, %s\n", conc, r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  requests: %d (%.0f/s), failures: %d\n", r.requests, float64(r.requests)/r.elapsed.Seconds(), r.failures)
	fmt.Fprintf(out, "  latency:  p50 %s  p90 %s  p99 %s  max %s\n",
		pct(0.5).Round(time.Microsecond), pct(0.9).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}
