package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOutboundControlRefusesInternalAddresses_CWE918: the dialer hook
// refuses every loopback, private, link-local (cloud metadata included),
// CGNAT, multicast and unspecified address, in any spelling, and lets
// public addresses and allowed networks through.
func TestOutboundControlRefusesInternalAddresses_CWE918(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tc := range []struct {
		network, addr string
		allow         []netip.Prefix
		ok            bool
	}{
		{"tcp4", "127.0.0.1:443", nil, false},
		{"tcp4", "127.8.9.10:80", nil, false},
		{"tcp4", "10.0.0.1:443", nil, false},
		{"tcp4", "10.255.1.2:8080", nil, false},
		{"tcp4", "172.16.5.4:443", nil, false},
		{"tcp4", "192.168.1.1:443", nil, false},
		{"tcp4", "169.254.169.254:80", nil, false}, // cloud metadata
		{"tcp4", "100.64.0.1:443", nil, false},     // CGNAT
		{"tcp4", "100.127.255.254:443", nil, false},
		{"tcp4", "0.0.0.0:443", nil, false},
		{"tcp4", "0.1.2.3:443", nil, false},
		{"tcp4", "224.0.0.1:443", nil, false},
		{"tcp4", "255.255.255.255:443", nil, false},
		{"tcp6", "[::1]:443", nil, false},
		{"tcp6", "[::]:443", nil, false},
		{"tcp6", "[::ffff:127.0.0.1]:443", nil, false}, // IPv4-mapped loopback
		{"tcp6", "[::ffff:169.254.169.254]:80", nil, false},
		{"tcp6", "[fe80::1%eth0]:443", nil, false},
		{"tcp6", "[fd00:ec2::254]:80", nil, false}, // AWS IPv6 metadata (fc00::/7)
		{"tcp6", "[fc00::1]:443", nil, false},
		{"tcp6", "[ff02::1]:443", nil, false},
		{"tcp6", "[64:ff9b::7f00:1]:443", nil, false}, // NAT64 of 127.0.0.1
		{"udp4", "8.8.8.8:53", nil, false},
		// Public addresses.
		{"tcp4", "93.184.215.14:443", nil, true},
		{"tcp4", "100.128.0.1:443", nil, true}, // just past CGNAT
		{"tcp4", "172.32.0.1:443", nil, true},  // just past 172.16/12
		{"tcp6", "[2606:4700:4700::1111]:443", nil, true},
		// The operator's allow-list opens exactly its networks.
		{"tcp4", "127.0.0.1:443", loopback, true},
		{"tcp6", "[::ffff:127.0.0.1]:443", loopback, true},
		{"tcp4", "10.0.0.1:443", loopback, false},
		{"tcp6", "[::1]:443", loopback, false},
		{"tcp4", "10.20.3.4:443", []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}, true},
		{"tcp4", "10.21.3.4:443", []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}, false},
	} {
		err := OutboundControl(tc.allow)(tc.network, tc.addr, nil)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s %s (allow %v): refused: %v", tc.network, tc.addr, tc.allow, err)
		case !tc.ok && !errors.Is(err, ErrOutboundAddress):
			t.Errorf("%s %s (allow %v): got %v, want %v", tc.network, tc.addr, tc.allow, err, ErrOutboundAddress)
		}
	}
}

// counted is a test server that counts the requests it answers.
func counted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestOutboundClientRefusesLoopbackUnlessAllowed: a server on 127.0.0.1 is
// never reached by default, by IP or by a name that resolves to it, and is
// reached once its network is allowed.
func TestOutboundClientRefusesLoopbackUnlessAllowed(t *testing.T) {
	srv, hits := counted(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"keys":[]}`) })
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, u := range []string{srv.URL, "http://localhost" + port} {
		_, err := OutboundClient(OutboundOptions{}).Get(u)
		if !errors.Is(err, ErrOutboundAddress) {
			t.Errorf("GET %s: got %v, want %v", u, err, ErrOutboundAddress)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server answered %d requests, want none", n)
	}

	allowed := OutboundClient(OutboundOptions{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	resp, err := allowed.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with 127.0.0.0/8 allowed: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(body) != `{"keys":[]}` {
		t.Fatalf("body %q, %v", body, err)
	}
}

// TestOutboundClientBoundsBodies: a body over the limit is refused, whether
// its length is declared or streamed; one of exactly the limit is read.
func TestOutboundClientBoundsBodies(t *testing.T) {
	const limit = 1 << 10
	var size atomic.Int64
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("stream") {
			// No Content-Length: chunked.
			for range size.Load() {
				_, _ = w.Write([]byte("a"))
				if f, ok := w.(http.Flusher); ok && r.URL.Query().Get("stream") == "flush" {
					f.Flush()
				}
			}
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("a", int(size.Load()))))
	})
	c := OutboundClient(OutboundOptions{MaxBody: limit, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	read := func(u string) (int, error) {
		resp, err := c.Get(u)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	for _, q := range []string{"", "?stream=flush"} {
		size.Store(limit)
		if n, err := read(srv.URL + q); err != nil || n != limit {
			t.Errorf("body of exactly the limit (%q): %d bytes, %v", q, n, err)
		}
		size.Store(limit + 1)
		if _, err := read(srv.URL + q); !errors.Is(err, ErrOutboundTooLarge) {
			t.Errorf("body one byte over the limit (%q): got %v, want %v", q, err, ErrOutboundTooLarge)
		}
	}
	if DefaultOutboundMaxBody != 64<<10 {
		t.Errorf("default body limit %d, want 64 KiB", DefaultOutboundMaxBody)
	}
}

// TestOutboundClientFollowsNoRedirect: a redirect is an error, and its
// target is never asked (it could be internal, or plain http).
func TestOutboundClientFollowsNoRedirect(t *testing.T) {
	target, hits := counted(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") })
	from, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/jwks", http.StatusFound)
	})
	c := OutboundClient(OutboundOptions{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	resp, err := c.Get(from.URL)
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, ErrOutboundRedirect) {
		t.Fatalf("GET a redirect: got %v, want %v", err, ErrOutboundRedirect)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect target answered %d requests, want none", n)
	}
}

// TestOutboundClientTimesOut: a server that never answers costs at most the
// timeout.
func TestOutboundClientTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv, _ := counted(t, func(http.ResponseWriter, *http.Request) { <-release })
	defer close(release)
	c := OutboundClient(OutboundOptions{Timeout: 200 * time.Millisecond, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	start := time.Now()
	resp, err := c.Get(srv.URL)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("a server that never answers: no error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %v, want about 200ms", d)
	}
	if DefaultOutboundTimeout != 5*time.Second {
		t.Errorf("default timeout %v, want 5s", DefaultOutboundTimeout)
	}
}
