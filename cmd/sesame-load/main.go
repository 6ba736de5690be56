// Command sesame-load measures a running Sesame's hot paths under
// concurrent load, on loopback only, with a software passkey
// authenticator (internal/loadgen) standing in for people's browsers:
//
//	clientcredentials  the token endpoint, client_credentials grant
//	signup             passkey sign-up (sign-up page, options, verify)
//	signin             passkey sign-in (options + verify)
//	codeflow           the whole authorization-code flow with PKCE and a
//	                   passkey sign-in, ending in the token exchange
//	refresh            refresh-token grant (rotating)
//	introspect         token introspection of an access token
//	device             a device's start (RFC 8628 device authorization)
//	                   and its first poll, answered authorization_pending
//	jwt                client_credentials for an API whose tokens are
//	                   RFC 9068 JWTs (-resource), each verified as the API
//	                   does, against the JWKS fetched once
//	all                each of the above in turn (jwt only with -resource)
//
// and, for the side-by-side figures against Ory Hydra (-issuer is Hydra's
// public URL, -hydra-admin its admin URL; the load generator plays the
// login-and-consent app through the admin API, accepting every challenge):
//
//	hydra-codeflow     Hydra's authorization-code flow with PKCE: authorize,
//	                   login and consent challenges read and accepted, the
//	                   code exchanged
//	hydra-introspect   introspection at Hydra's admin API
//
// (clientcredentials runs against Hydra as it is.)
//
// It prints the rate, p50/p90/p99 latency and errors of each, and, given
// the server's process id (-pid) and its PostgreSQL database (-pg), the
// CPU time the server and the database spent per operation and the
// server's peak RSS — figures that stay comparable on a shared machine.
//
//	go run ./cmd/sesame serve --dev --require-verified-email=false &
//	go run ./cmd/sesame client create --name load --grant-type client_credentials \
//	    --grant-type authorization_code --grant-type refresh_token \
//	    --grant-type urn:ietf:params:oauth:grant-type:device_code \
//	    --redirect-uri http://127.0.0.1:9/cb --skip-consent --json
//	go run ./cmd/sesame-load -op all -client-id ID -client-secret SECRET -c 8 -d 15s -pid $(pgrep -n sesame)
//
// Sign-ups must not wait for a mailed code (require_verified_email off).
// -pg counts every backend of the server's database: give the server a
// database of its own, or the same application_name in both URLs.
// The loops are bounded in time and count, and every target (the issuer,
// the database) must be a loopback address, so it cannot be pointed at
// someone else.
package main

import (
	"context"
	"database/sql"
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

	_ "github.com/jackc/pgx/v5/stdlib" // the -pg connection

	"github.com/sesame-idp/sesame/internal/loadgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sesame-load:", err)
		os.Exit(1)
	}
}

// ops are the operations, in the order "all" runs them.
var ops = []string{"clientcredentials", "signup", "signin", "codeflow", "refresh", "introspect", "device", "jwt"}

// hydraOps run against Ory Hydra (-hydra-admin), never in "all".
var hydraOps = []string{"hydra-codeflow", "hydra-introspect"}

// needsClient: the operations that need the confidential client.
var needsClient = map[string]bool{"clientcredentials": true, "codeflow": true, "refresh": true, "introspect": true, "device": true, "jwt": true,
	"hydra-codeflow": true, "hydra-introspect": true}

type options struct {
	issuer      string
	op          string
	client      loadgen.Client
	conc        int
	dur         time.Duration
	max         int64
	pid         int
	pg          string
	pgSameApp   bool
	workersSeed string
	resource    string
	hydraAdmin  string
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sesame-load", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.issuer, "issuer", "http://localhost:8080", "Sesame's issuer (must be on loopback)")
	fs.StringVar(&o.op, "op", "clientcredentials", "operation: "+strings.Join(ops, ", ")+" or all")
	fs.StringVar(&o.client.ID, "client-id", "", "confidential client id (client_credentials, authorization_code, refresh_token grants)")
	fs.StringVar(&o.client.Secret, "client-secret", "", "client secret")
	fs.StringVar(&o.client.RedirectURI, "redirect-uri", "http://127.0.0.1:9/cb", "the client's registered redirect URI (never contacted)")
	fs.IntVar(&o.conc, "c", 16, "concurrent workers (1-256)")
	fs.DurationVar(&o.dur, "d", 10*time.Second, "duration of each operation's run (at most 5m)")
	fs.Int64Var(&o.max, "n", 1_000_000, "at most this many operations per run")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, for its CPU per operation and peak RSS (same machine)")
	fs.StringVar(&o.resource, "resource", "", "a registered API (resource URI) whose access tokens are JWTs, for -op jwt")
	fs.StringVar(&o.hydraAdmin, "hydra-admin", "", "Ory Hydra's admin URL (loopback), for -op hydra-codeflow and hydra-introspect")
	fs.StringVar(&o.pg, "pg", "", "the server's PostgreSQL database URL (loopback), for the database's CPU per operation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.conc < 1 || o.conc > 256 || o.dur <= 0 || o.dur > 5*time.Minute || o.max < 1 {
		return errors.New("-c must be 1..256, -d at most 5m, -n at least 1")
	}
	todo := []string{o.op}
	if o.op == "all" {
		todo = slices.DeleteFunc(slices.Clone(ops), func(op string) bool { return op == "jwt" && o.resource == "" })
	}
	for _, op := range todo {
		if op == "jwt" && o.resource == "" {
			return errors.New("-resource is required for jwt")
		}
		if !slices.Contains(ops, op) && !slices.Contains(hydraOps, op) {
			return fmt.Errorf("unknown -op %q", op)
		}
		if slices.Contains(hydraOps, op) {
			if o.hydraAdmin == "" {
				return fmt.Errorf("-hydra-admin is required for %s", op)
			}
			if _, err := loopbackTokenURL(o.hydraAdmin); err != nil {
				return fmt.Errorf("-hydra-admin: %w", err)
			}
		}
		if needsClient[op] && (o.client.ID == "" || o.client.Secret == "") {
			return fmt.Errorf("-client-id and -client-secret are required for %s", op)
		}
	}
	if _, err := loopbackTokenURL(o.issuer); err != nil {
		return err
	}
	var db *sql.DB
	if o.pg != "" {
		u, err := url.Parse(o.pg)
		if err != nil {
			return fmt.Errorf("-pg: %w", err)
		}
		if err := loopbackHost(u.Hostname()); err != nil {
			return fmt.Errorf("-pg: %w", err)
		}
		// With an application_name in the URL, only the backends carrying
		// it are the server's; without, every backend of the database is.
		o.pgSameApp = u.Query().Get("application_name") != ""
		if db, err = sql.Open("pgx", o.pg); err != nil {
			return fmt.Errorf("-pg: %w", err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
	}
	if o.pid != 0 {
		if _, err := loadgen.ProcessCPU(o.pid); err != nil {
			return fmt.Errorf("-pid: %w", err)
		}
	}
	tr := &http.Transport{MaxIdleConns: o.conc * 2, MaxIdleConnsPerHost: o.conc * 2, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	o.workersSeed = loadgenSeed()
	for _, op := range todo {
		res, err := measure(o, op, tr, db)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		report(out, res, o.conc)
	}
	return nil
}

func loadgenSeed() string { return fmt.Sprintf("%x", time.Now().UnixNano()) }

// loopbackTokenURL refuses anything but a loopback host.
func loopbackTokenURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("issuer %q is not an http(s) URL", issuer)
	}
	if err := loopbackHost(u.Hostname()); err != nil {
		return "", err
	}
	return strings.TrimRight(issuer, "/") + "/oauth2/token", nil
}

// loopbackHost refuses a host that resolves to anything but loopback.
func loopbackHost(host string) error {
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("resolve %s: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("refusing %s: load is only sent to loopback addresses", host)
		}
	}
	return nil
}

// result is one operation's run.
type result struct {
	op                string
	ops, failures     int64
	firstErr          error
	elapsed           time.Duration
	latencies         []time.Duration
	serverCPU, dbCPU  time.Duration
	peakRSS, rss      int64 // bytes
	serverCPUMeasured bool
	dbCPUMeasured     bool
}

// worker is one simulated person (or app) with what its operation needs.
type worker struct {
	b       *loadgen.Browser
	refresh string
	access  string
	id, n   int
	api     *loadgen.APIVerifier
}

// subject is the worker's person at Hydra.
func (w *worker) subject(o options) string { return fmt.Sprintf("load-%s-%d", o.workersSeed, w.id) }

// setup prepares a worker for op: a person signed up with a passkey for
// the sign-in operations, tokens for refresh and introspection.
func setup(ctx context.Context, o options, op string, tr http.RoundTripper, i int) (*worker, error) {
	w := &worker{id: i}
	switch op {
	case "clientcredentials":
		return w, nil
	case "hydra-codeflow", "hydra-introspect":
		var err error
		if w.b, err = loadgen.NewBrowser(o.issuer, tr, nil); err != nil {
			return nil, err
		}
		if op == "hydra-introspect" {
			tok, err := w.b.HydraCodeFlow(ctx, o.hydraAdmin, o.client, w.subject(o))
			if err != nil {
				return nil, err
			}
			w.access = tok.AccessToken
		}
		return w, nil
	case "device", "jwt":
		var err error
		if w.b, err = loadgen.NewBrowser(o.issuer, tr, nil); err != nil {
			return nil, err
		}
		if op == "jwt" {
			w.api, err = loadgen.NewAPIVerifier(ctx, &http.Client{Transport: tr, Timeout: 10 * time.Second}, o.issuer, o.resource)
		}
		return w, err
	}
	key, err := loadgen.NewPasskey()
	if err != nil {
		return nil, err
	}
	if w.b, err = loadgen.NewBrowser(o.issuer, tr, key); err != nil {
		return nil, err
	}
	if op == "signup" {
		return w, nil
	}
	if err := w.b.OpenSignup(ctx); err != nil {
		return nil, err
	}
	if _, err := w.b.SignUp(ctx, "", fmt.Sprintf("load-%s-%s-%d@example.com", o.workersSeed, op, i), "Load Person"); err != nil {
		return nil, err
	}
	switch op {
	case "signin":
		return w, w.b.OpenLogin(ctx)
	case "refresh", "introspect":
		tok, err := w.b.CodeFlow(ctx, o.client)
		if err != nil {
			return nil, err
		}
		w.refresh, w.access = tok.RefreshToken, tok.AccessToken
	}
	return w, nil
}

// do runs one operation.
func (w *worker) do(ctx context.Context, o options, op string, tr http.RoundTripper, cc *http.Client, tokenURL, ccBody string) error {
	switch op {
	case "clientcredentials":
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(ccBody))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(o.client.ID), url.QueryEscape(o.client.Secret))
		resp, err := cc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("token endpoint: status %d", resp.StatusCode)
		}
		return nil
	case "signup":
		key, err := loadgen.NewPasskey()
		if err != nil {
			return err
		}
		b, err := loadgen.NewBrowser(o.issuer, tr, key)
		if err != nil {
			return err
		}
		if err := b.OpenSignup(ctx); err != nil {
			return err
		}
		w.n++
		_, err = b.SignUp(ctx, "", fmt.Sprintf("new-%s-%d-%d@example.com", o.workersSeed, w.id, w.n), "New Person")
		return err
	case "signin":
		_, err := w.b.SignIn(ctx, "")
		return err
	case "codeflow":
		_, err := w.b.CodeFlow(ctx, o.client)
		return err
	case "refresh":
		tok, err := w.b.Refresh(ctx, o.client, w.refresh)
		if err == nil {
			w.refresh = tok.RefreshToken
		}
		return err
	case "introspect":
		return w.b.Introspect(ctx, o.client, w.access)
	case "device":
		code, err := w.b.DeviceStart(ctx, o.client)
		if err != nil {
			return err
		}
		return w.b.DevicePoll(ctx, o.client, code)
	case "jwt":
		tok, err := w.b.ClientCredentials(ctx, o.client, o.resource)
		if err != nil {
			return err
		}
		return w.api.Verify(tok.AccessToken)
	case "hydra-codeflow":
		_, err := w.b.HydraCodeFlow(ctx, o.hydraAdmin, o.client, w.subject(o))
		return err
	case "hydra-introspect":
		return w.b.HydraIntrospect(ctx, o.hydraAdmin, w.access)
	}
	return fmt.Errorf("unknown operation %q", op)
}

func measure(o options, op string, tr *http.Transport, db *sql.DB) (result, error) {
	setupCtx, cancelSetup := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelSetup()
	workers := make([]*worker, o.conc)
	for i := range workers {
		w, err := setup(setupCtx, o, op, tr, i)
		if err != nil {
			return result{}, fmt.Errorf("set up worker %d: %w", i, err)
		}
		workers[i] = w
	}
	tokenURL, _ := loopbackTokenURL(o.issuer)
	ccBody := url.Values{"grant_type": {"client_credentials"}}.Encode()
	cc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	res := result{op: op}
	cpu0, db0 := cpuNow(o, db)
	ctx, cancel := context.WithTimeout(context.Background(), o.dur)
	defer cancel()
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range workers {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1024)
			var firstErr error
			for ctx.Err() == nil && sent.Add(1) <= o.max {
				t0 := time.Now()
				err := w.do(ctx, o, op, tr, cc, tokenURL, ccBody)
				if err != nil {
					if ctx.Err() != nil {
						break // cut off by the deadline: not a failure
					}
					failed.Add(1)
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, local...)
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ops, res.failures = int64(len(res.latencies)), failed.Load()
	cpu1, db1 := cpuNow(o, db)
	if o.pid != 0 && cpu0 >= 0 && cpu1 >= 0 {
		res.serverCPU, res.serverCPUMeasured = cpu1-cpu0, true
		res.peakRSS, _ = loadgen.PeakRSS(o.pid)
		res.rss = currentRSS(o.pid)
	}
	if db0 != nil && db1 != nil {
		res.dbCPU, res.dbCPUMeasured = loadgen.CPUDelta(db0, db1), true
	}
	return res, nil
}

// cpuNow reads the server's CPU time (-1 when not asked for or
// unreadable) and its database backends' (nil likewise).
func cpuNow(o options, db *sql.DB) (server time.Duration, database map[int]time.Duration) {
	server = -1
	if o.pid != 0 {
		if d, err := loadgen.ProcessCPU(o.pid); err == nil {
			server = d
		}
	}
	if db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if d, err := loadgen.BackendCPU(ctx, db, o.pgSameApp); err == nil {
			database = d
		}
	}
	return server, database
}

// currentRSS is pid's resident memory now (VmRSS), in bytes; 0 if unknown.
func currentRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func report(out io.Writer, r result, conc int) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(float64(len(r.latencies)-1)*p)]
	}
	rate := float64(r.ops) / r.elapsed.Seconds()
	fmt.Fprintf(out, "%s, %d workers, %s\n", r.op, conc, r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  ops: %d (%.0f/s), errors: %d\n", r.ops, rate, r.failures)
	fmt.Fprintf(out, "  latency:  p50 %s  p90 %s  p99 %s  max %s\n",
		pct(0.5).Round(time.Microsecond), pct(0.9).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	if r.ops > 0 && r.serverCPUMeasured {
		fmt.Fprintf(out, "  server:   cpu %.2f ms/op, peak rss %d MB (now %d MB)\n",
			float64(r.serverCPU)/float64(r.ops)/1e6, r.peakRSS>>20, r.rss>>20)
	}
	if r.ops > 0 && r.dbCPUMeasured {
		fmt.Fprintf(out, "  database: cpu %.2f ms/op\n", float64(r.dbCPU)/float64(r.ops)/1e6)
	}
	if r.firstErr != nil {
		fmt.Fprintf(out, "  first error: %v\n", r.firstErr)
	}
}
