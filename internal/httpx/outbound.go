package httpx

// Outbound fetches. Some URLs Sesame fetches are chosen by others: a
// client's jwks_uri (private_key_jwt) names any host its registrant likes.
// Unguarded, a registration could make Sesame probe its own loopback, the
// cloud metadata service (169.254.169.254) or internal admin ports, and
// read the answer back through error messages or timing (SSRF, CWE-918).
//
// OutboundClient refuses every internal address at connect time, in the
// dialer's Control hook: the address checked is the one the socket is
// about to connect to, after name resolution, so a name that resolves to a
// public address when validated and to 127.0.0.1 when fetched (DNS
// rebinding) is refused all the same. It also bounds time and size and
// follows no redirect.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Outbound limits by default.
const (
	// DefaultOutboundTimeout bounds a whole exchange: connect, TLS,
	// headers and body.
	DefaultOutboundTimeout = 5 * time.Second
	// DefaultOutboundMaxBody bounds a response body (after any
	// decompression): a JWK Set is a few KiB.
	DefaultOutboundMaxBody = 64 << 10
)

// Errors of the outbound client (wrapped; match with errors.Is).
var (
	ErrOutboundAddress  = errors.New("outbound address refused")
	ErrOutboundTooLarge = errors.New("outbound response too large")
	ErrOutboundRedirect = errors.New("outbound redirect not followed")
)

// OutboundOptions configure OutboundClient; zero values take the defaults.
type OutboundOptions struct {
	// Allow lists internal networks that may be reached all the same (the
	// operator's outbound_allow_cidrs), e.g. 10.20.0.0/16 for an internal
	// client's JWKS host. Empty refuses every internal address.
	Allow []netip.Prefix
	// Timeout bounds each exchange (DefaultOutboundTimeout).
	Timeout time.Duration
	// MaxBody bounds each response body (DefaultOutboundMaxBody).
	MaxBody int64
	// RootCAs replaces the system roots (nil: the system's).
	RootCAs *x509.CertPool
}

// internalNets are refused unless allowed: besides what netip's predicates
// name (loopback, RFC 1918 and fc00::/7, link-local, multicast,
// unspecified), the ranges that reach this host or a private network by
// another spelling.
var internalNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network": 0.0.0.0 connects to the local host
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT (RFC 6598), often a cloud's internal range
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking (RFC 2544), used inside networks
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and 255.255.255.255
	netip.MustParsePrefix("::/96"),          // IPv4-compatible (deprecated) and ::, ::1
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated), still routed inside some networks
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: would reach any IPv4 address, internal ones too
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
}

// OutboundAddressAllowed reports whether ip may be connected to: a public
// address, or one inside an allowed network.
func OutboundAddressAllowed(ip netip.Addr, allow []netip.Prefix) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return false
	}
	for _, p := range internalNets {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// OutboundControl is a net.Dialer Control hook that refuses to connect to
// an internal address (see OutboundAddressAllowed) unless allowed. It sees
// the resolved address of each connection attempt, so it holds against DNS
// rebinding and against every address a name resolves to.
func OutboundControl(allow []netip.Prefix) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return fmt.Errorf("%w: network %s", ErrOutboundAddress, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrOutboundAddress, address, err)
		}
		if !OutboundAddressAllowed(ap.Addr(), allow) {
			return fmt.Errorf("%w: %s is an internal address (outbound_allow_cidrs can allow its network)", ErrOutboundAddress, ap.Addr().Unmap())
		}
		return nil
	}
}

// OutboundClient returns the HTTP client for fetches from URLs others
// chose: internal addresses refused at connect time, no proxy (the proxy
// would be what is dialled and checked, not the target), no redirects, a
// bounded exchange time and body size.
func OutboundClient(o OutboundOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultOutboundTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultOutboundMaxBody
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: OutboundControl(o.Allow)}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs},
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
	}
	return &http.Client{
		Transport: &limitBodies{next: tr, max: o.MaxBody},
		Timeout:   o.Timeout,
		// A redirect could lead anywhere (http, another host): the
		// registered URL must answer itself.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w (to %s)", ErrOutboundRedirect, req.URL.Redacted())
		},
	}
}

// limitBodies refuses a response whose declared length is over max and
// fails the read of a body that grows past it.
type limitBodies struct {
	next http.RoundTripper
	max  int64
}

func (l *limitBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > l.max {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes declared, at most %d", ErrOutboundTooLarge, resp.ContentLength, l.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.max, max: l.max}
	return resp, nil
}

// limitedBody reads at most max bytes and fails, rather than truncating
// silently, when there is more.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// One byte more than allowed tells a body of exactly max from a
	// longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		b.err = err
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.err = fmt.Errorf("%w: more than %d bytes", ErrOutboundTooLarge, b.max)
	return n, b.err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
