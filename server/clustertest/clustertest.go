// Package clustertest runs Sesame as an operator does: several real
// `sesame serve` processes on one PostgreSQL database, behind a small
// round-robin reverse proxy on loopback whose URL is the issuer. Unlike
// servertest.Env.Replica (replicas inside the test process), these are
// separate processes: they can be killed with SIGKILL, they share nothing
// but the database, and each may run on its own (offset) clock.
//
// The binary is built once per test run (go build into a temporary
// directory) with the sesame_testclock tag, which is the only way a
// replica's clock can be offset (SESAME_TEST_CLOCK_OFFSET); release builds
// ignore that variable.
//
// The proxy adds ReplicaHeader to every response, naming the replica that
// answered; a request carrying PinHeader goes to the named replica. A
// replica that refuses connections (killed or stopped) is skipped, as a
// load balancer's health check would.
package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
)

// ReplicaHeader names the replica that answered a request (r0, r1, …).
const ReplicaHeader = "X-Sesame-Replica"

// PinHeader, on a request to the proxy, sends it to the named replica.
const PinHeader = "X-Clustertest-Replica"

// ClockOffsetEnv is read only by binaries built with the sesame_testclock
// tag: a Go duration added to that replica's clock.
const ClockOffsetEnv = "SESAME_TEST_CLOCK_OFFSET"

// Options shape a cluster.
type Options struct {
	// Replicas is the number of processes (default 2).
	Replicas int
	// ClockOffsets, by replica index, offset each replica's clock.
	ClockOffsets []time.Duration
	// Env is extra environment (SESAME_*=…) for every replica.
	Env []string
	// Stats has each replica serve its goroutine count and heap on a
	// loopback port of its own (Cluster.Stats), for the soak test.
	Stats bool
}

// Cluster is a running set of replicas on one database.
type Cluster struct {
	T testing.TB
	// Issuer is the proxy's URL: http://localhost:PORT.
	Issuer string
	// Store is a connection pool of the test's own on the cluster's
	// database (a fresh schema), for fixtures and checks.
	Store *store.Store
	// Secret is the replicas' system secret.
	Secret []byte
	// SMTP receives the replicas' mail.
	SMTP     *mailtest.Server
	Replicas []*Replica

	dbURL string
	next  atomic.Uint64
	proxy *http.Server
}

// Replica is one `sesame serve` process.
type Replica struct {
	Name string
	// Addr is the replica's own listen address (127.0.0.1:PORT).
	Addr string
	env  []string
	log  string
	// stats is the replica's stats address ("" without Options.Stats).
	stats string
	cmd   *exec.Cmd
	done  chan struct{}
	// down is set when the replica refused a connection or was stopped.
	down atomic.Bool
}

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Main runs the package's tests and removes the binary built for them;
// call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// Binary builds the sesame binary (with the sesame_testclock tag) once per
// test run and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "sesame-clustertest-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "sesame")
		cmd := exec.Command("go", "build", "-tags", "sesame_testclock", "-o", build.bin, "github.com/sesame-idp/sesame/cmd/sesame")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("clustertest: %v", build.err)
	}
	return build.bin
}

// Start builds (once) and starts a cluster on a fresh PostgreSQL schema
// (storetest.OpenPostgresURL: skipped without TEST_DATABASE_URL, failed
// when SESAME_REQUIRE_POSTGRES is set), migrated by the test, and waits
// until every replica is ready. Everything stops when the test ends.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Replicas <= 0 {
		o.Replicas = 2
	}
	st, dbURL := storetest.OpenPostgresURL(t)
	bin := Binary(t)
	smtp := mailtest.Start(t)

	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	_, port, _ := net.SplitHostPort(pl.Addr().String())
	c := &Cluster{
		T: t, Issuer: "http://localhost:" + port, Store: st, dbURL: dbURL, SMTP: smtp,
		Secret: []byte("clustertest-system-secret-0123456789-abcdefghijklmnop"),
	}
	for i := range o.Replicas {
		// The port is free again for the process; nothing else on this
		// machine asks for a specific port in between.
		addr := freeAddr(t)
		r := &Replica{Name: "r" + strconv.Itoa(i), Addr: addr, log: filepath.Join(t.TempDir(), "replica.log")}
		r.env = append(baseEnv(), c.replicaEnv(addr)...)
		if i < len(o.ClockOffsets) && o.ClockOffsets[i] != 0 {
			r.env = append(r.env, ClockOffsetEnv+"="+o.ClockOffsets[i].String())
		}
		if o.Stats {
			r.stats = freeAddr(t)
			r.env = append(r.env, "SESAME_TEST_STATS_ADDR="+r.stats)
		}
		r.env = append(r.env, o.Env...)
		c.Replicas = append(c.Replicas, r)
	}
	c.proxy = &http.Server{Handler: c.proxyHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.proxy.Serve(pl) }()
	t.Cleanup(func() { _ = c.proxy.Close() })
	// Registered after the store's cleanups, so the processes end before
	// the schema is dropped.
	t.Cleanup(func() {
		for _, r := range c.Replicas {
			r.stop(syscall.SIGKILL)
		}
		if t.Failed() {
			for _, r := range c.Replicas {
				t.Logf("--- log of %s (last lines)\n%s", r.Name, tail(r.log, 40))
			}
		}
	})
	for _, r := range c.Replicas {
		c.launch(r, bin)
	}
	for _, r := range c.Replicas {
		c.waitReady(r)
	}
	return c
}

// baseEnv is the test's environment without any Sesame setting, so a
// developer's SESAME_* variables do not leak into the replicas.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SESAME_") || k == "DATABASE_URL" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (c *Cluster) replicaEnv(addr string) []string {
	return []string{
		"SESAME_ISSUER=" + c.Issuer,
		"SESAME_LISTEN=" + addr,
		"SESAME_DATABASE_URL=" + c.dbURL,
		"SESAME_SYSTEM_SECRET=" + string(c.Secret),
		"SESAME_MIGRATE=false",
		"SESAME_LOG_LEVEL=info",
		"SESAME_SHUTDOWN_DRAIN_DELAY=0s",
		"SESAME_SHUTDOWN_TIMEOUT=5s",
		"SESAME_SMTP_HOST=" + c.SMTP.Host(),
		"SESAME_SMTP_PORT=" + strconv.Itoa(c.SMTP.Port()),
		"SESAME_SMTP_TLS=none",
		"SESAME_RP_NAME=Clustertest",
		"SESAME_DATA_DIR=" + c.T.TempDir(),
	}
}

func (c *Cluster) launch(r *Replica, bin string) {
	c.T.Helper()
	f, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.T.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		c.T.Fatalf("start %s: %v", r.Name, err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(r.done)
	}()
	r.down.Store(false)
}

// waitReady polls the replica's /readyz until it answers 200.
func (c *Cluster) waitReady(r *Replica) {
	c.T.Helper()
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-r.done:
			c.T.Fatalf("%s exited before it was ready:\n%s", r.Name, tail(r.log, 40))
		default:
		}
		resp, err := hc.Get("http://" + r.Addr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.T.Fatalf("%s not ready after 60 s (%v):\n%s", r.Name, err, tail(r.log, 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends replica i with SIGKILL (no shutdown, no drain) and waits for
// the process to be gone.
func (c *Cluster) Kill(i int) { c.Replicas[i].stop(syscall.SIGKILL) }

// Stop ends replica i with SIGTERM (graceful shutdown) and waits.
func (c *Cluster) Stop(i int) { c.Replicas[i].stop(syscall.SIGTERM) }

// Restart starts a stopped or killed replica again and waits until ready.
func (c *Cluster) Restart(i int) {
	c.T.Helper()
	r := c.Replicas[i]
	r.stop(syscall.SIGKILL)
	c.launch(r, Binary(c.T))
	c.waitReady(r)
}

func (r *Replica) stop(sig syscall.Signal) {
	if r.cmd == nil {
		return
	}
	r.down.Store(true)
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// freeAddr is a loopback address with a port free right now.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Stats is a replica's runtime as its stats listener (Options.Stats) and
// /proc see it.
type Stats struct {
	Goroutines int
	// HeapAlloc is the live heap after a collection.
	HeapAlloc uint64
	// RSS is the process's resident set (VmRSS).
	RSS uint64
}

// Stats collects replica i's garbage and reports its goroutines, live
// heap and resident memory.
func (c *Cluster) Stats(i int) (Stats, error) {
	r := c.Replicas[i]
	if r.stats == "" {
		return Stats{}, errors.New("cluster started without Options.Stats")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + r.stats + "/?gc=1")
	if err != nil {
		return Stats{}, err
	}
	defer resp.Body.Close()
	var v struct {
		Goroutines int    `json:"goroutines"`
		HeapAlloc  uint64 `json:"heap_alloc"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return Stats{}, err
	}
	st := Stats{Goroutines: v.Goroutines, HeapAlloc: v.HeapAlloc}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		return Stats{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			st.RSS = kb << 10
		}
	}
	return st, nil
}

// Log returns what replica i wrote so far.
func (c *Cluster) Log(i int) string {
	b, _ := os.ReadFile(c.Replicas[i].log)
	return string(b)
}

// DatabaseURL is the URL of the cluster's schema.
func (c *Cluster) DatabaseURL() string { return c.dbURL }

// CreateClient registers a client as the CLI would; it returns the id and
// the plain secret.
func (c *Cluster) CreateClient(spec clients.Spec) (string, string) {
	c.T.Helper()
	secrets, err := server.ClientSecrets(c.Secret, nil)
	if err != nil {
		c.T.Fatalf("client secrets: %v", err)
	}
	cl, secret, err := clients.NewService(c.Store, secrets).Create(context.Background(), spec)
	if err != nil {
		c.T.Fatalf("create client: %v", err)
	}
	return cl.ID, secret
}

// proxyHandler is the round-robin load balancer in front of the replicas.
func (c *Cluster) proxyHandler() http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Host stays the public one (the issuer's), as behind a real
			// load balancer; the transport picks the replica.
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "replica"
			pr.Out.Host = pr.In.Host
		},
		Transport: &balancer{c: c, base: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		}},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "clustertest proxy: "+err.Error())
		},
	}
}

type balancer struct {
	c    *Cluster
	base *http.Transport
}

// RoundTrip sends the request to the next live replica (or the pinned
// one) and names it in ReplicaHeader. A refused connection marks the
// replica down and moves on: nothing reached it, so the retry is safe.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	pin := req.Header.Get(PinHeader)
	req.Header.Del(PinHeader)
	rs := b.c.Replicas
	var lastErr error
	for range len(rs) {
		r := b.pick(pin)
		if r == nil {
			break
		}
		out := req.Clone(req.Context())
		out.URL.Host = r.Addr
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		resp, err := b.base.RoundTrip(out)
		if err == nil {
			resp.Header.Set(ReplicaHeader, r.Name)
			return resp, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.ECONNREFUSED) || pin != "" {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		r.down.Store(true)
	}
	if lastErr == nil {
		lastErr = errors.New("no live replica")
	}
	return nil, lastErr
}

func (b *balancer) pick(pin string) *Replica {
	rs := b.c.Replicas
	if pin != "" {
		for _, r := range rs {
			if r.Name == pin {
				return r
			}
		}
		return nil
	}
	for range len(rs) {
		r := rs[b.c.next.Add(1)%uint64(len(rs))]
		if !r.down.Load() {
			return r
		}
	}
	return nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// URL is u resolved against the issuer (the proxy).
func (c *Cluster) URL(u string) string {
	base, _ := url.Parse(c.Issuer)
	ref, err := url.Parse(u)
	if err != nil {
		return u
	}
	return base.ResolveReference(ref).String()
}
