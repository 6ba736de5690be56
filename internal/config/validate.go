package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// minSecretLen keeps the system secret in the range where key derivation gets
// at least 192 bits even from base64 text.
const minSecretLen = 32

// check is one row of Validate's table: msg is reported when bad is true.
type check struct {
	bad bool
	msg string
}

// Validate checks the configuration and reports every problem at once, each
// prefixed with the setting's flag name, so an operator can fix them in a
// single pass. Validate does no I/O (it does not open the secret files —
// secret.ReadFiles does — or the database); those failures surface when
// the server starts. Settings whose
// rules belong to a component (the argon2id costs, password-argon2-*: the
// password method's) are checked by that component; server.ValidateConfig
// runs both.
func (c Config) Validate() error {
	issuer, listen := c.issuerProblem(), c.listenProblem()
	checks := []check{
		{issuer != "", "issuer: " + issuer},
		{listen != "", "listen: " + listen},
		{c.DataDir == "", "data-dir: must not be empty"},
		{!validDatabaseURL(c.DatabaseURL), "database-url: must be empty (embedded SQLite in data-dir) or start with postgres://, postgresql://, sqlite:// or file:"},
		{c.SystemSecret != "" && utf8.RuneCountInString(c.SystemSecret) < minSecretLen, fmt.Sprintf("system-secret: must be at least %d characters (generate one with: openssl rand -base64 48)", minSecretLen)},
		// Outside dev a generated secret would be lost with the container,
		// making stored data undecryptable, so require an explicit one.
		{!c.Dev && c.SystemSecret == "" && c.SystemSecretFile == "", "system-secret: required outside --dev (set SESAME_SYSTEM_SECRET or --system-secret-file; generate one with: openssl rand -base64 48)"},
		{!slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel), fmt.Sprintf("log-level: must be debug, info, warn or error (got %q)", c.LogLevel)},
		{!slices.Contains([]string{"json", "text"}, c.LogFormat), fmt.Sprintf("log-format: must be json or text (got %q)", c.LogFormat)},
		{c.DBMaxOpenConns < 1, fmt.Sprintf("db-max-open-conns: must be at least 1 (got %d)", c.DBMaxOpenConns)},
		{c.DBMaxIdleConns < 0 || c.DBMaxIdleConns > c.DBMaxOpenConns, fmt.Sprintf("db-max-idle-conns: must be between 0 and db-max-open-conns (%d) (got %d)", c.DBMaxOpenConns, c.DBMaxIdleConns)},
		outside("db-retry-max-delay", c.DBRetryMaxDelay, time.Second, 10*time.Minute),
		outside("request-timeout", c.RequestTimeout, time.Second, 5*time.Minute),
		outside("access-token-ttl", c.AccessTokenTTL, time.Minute, 24*time.Hour),
		outside("refresh-token-ttl", c.RefreshTokenTTL, time.Hour, 8760*time.Hour),
		// Longer than a retry needs would let a stolen spent token pass
		// unnoticed (RFC 9700 §4.14.2).
		outside("refresh-token-reuse-interval", c.RefreshTokenReuseInterval, 0, time.Minute),
		// Beyond a few minutes it is not skew but a broken clock, and a
		// revoked-by-expiry token would live on.
		outside("clock-skew-leeway", c.ClockSkewLeeway, 0, 5*time.Minute),
		outside("id-token-ttl", c.IDTokenTTL, time.Minute, 24*time.Hour),
		// RFC 6749 §4.1.2 recommends a maximum authorization code lifetime
		// of 10 minutes.
		outside("auth-code-ttl", c.AuthCodeTTL, 10*time.Second, 10*time.Minute),
		outside("login-session-ttl", c.LoginSessionTTL, 5*time.Minute, 8760*time.Hour),
		outside("interaction-ttl", c.InteractionTTL, time.Minute, time.Hour),
		// RFC 8628 §6.1: user codes are short, so they must not live long.
		outside("device-code-ttl", c.DeviceCodeTTL, time.Minute, 30*time.Minute),
		outside("device-poll-interval", c.DevicePollInterval, time.Second, time.Minute),
		// RFC 9126 §2.2: short-lived; the browser uses it at once.
		outside("pushed-authorization-request-ttl", c.PushedAuthorizationRequestTTL, 10*time.Second, 10*time.Minute),
		{c.DevicePollInterval%time.Second != 0, fmt.Sprintf("device-poll-interval: must be whole seconds (got %s)", short(c.DevicePollInterval))},
		{c.RequirePushedAuthorizationRequests && !c.PushedAuthorizationRequests, "require-pushed-authorization-requests: needs pushed-authorization-requests on"},
		// Rotating more often than hourly would outpace clients' JWKS caches.
		{c.KeyRotationPeriod < 0 || (c.KeyRotationPeriod > 0 && c.KeyRotationPeriod < time.Hour), fmt.Sprintf("key-rotation-period: must be 0 (disabled) or at least 1h (got %s)", short(c.KeyRotationPeriod))},
		{c.ShutdownTimeout < 0, fmt.Sprintf("shutdown-timeout: must not be negative (got %s)", short(c.ShutdownTimeout))},
		{c.ShutdownDrainDelay < 0 || c.ShutdownDrainDelay > time.Minute, fmt.Sprintf("shutdown-drain-delay: must be between 0 and 1m (got %s)", short(c.ShutdownDrainDelay))},
		{!slices.Contains([]string{"required", "preferred", "discouraged"}, c.UserVerification), fmt.Sprintf("user-verification: must be required, preferred or discouraged (got %q)", c.UserVerification)},
		{!slices.Contains([]string{"none", "direct"}, c.Attestation), fmt.Sprintf("attestation: must be none or direct (got %q)", c.Attestation)},
		{len(c.AAGUIDAllow) > 0 && c.Attestation != "direct", "aaguid-allow: needs attestation direct (an authenticator's model is only known from its attestation)"},
		{c.RPID != "" && strings.ContainsAny(c.RPID, ":/ "), fmt.Sprintf("rp-id: must be a host name such as example.com (got %q)", c.RPID)},
		{c.smtpHostProblem() != "", "smtp-host: " + c.smtpHostProblem()},
		{c.SMTPPort < 1 || c.SMTPPort > 65535, fmt.Sprintf("smtp-port: must be between 1 and 65535 (got %d)", c.SMTPPort)},
		{!slices.Contains([]string{"starttls", "tls", "none"}, c.SMTPTLS), fmt.Sprintf("smtp-tls: must be starttls, tls or none (got %q)", c.SMTPTLS)},
		// Mail (sign-in links) and credentials in clear text are only
		// acceptable to a relay on this machine.
		{c.SMTPTLS == "none" && c.SMTPHost != "" && !isLoopbackHost(c.SMTPHost), fmt.Sprintf("smtp-tls: none is allowed only for localhost, 127.0.0.1 or ::1 (smtp-host is %q)", c.SMTPHost)},
		{c.SMTPPassword != "" && c.SMTPUsername == "", "smtp-password: set smtp-username too (without a user name no authentication happens)"},
		{strings.ContainsAny(c.SMTPUsername, "\r\n"), "smtp-username: must not contain line breaks"},
		{c.mailFromProblem() != "", "mail-from: " + c.mailFromProblem()},
		outside("passlink-ttl", c.PasslinkTTL, time.Minute, time.Hour),
		{c.MDSURL != "" && !isHTTPURL(c.MDSURL), fmt.Sprintf("mds-url: must be an http:// or https:// URL such as https://mds3.fidoalliance.org/ (got %q)", c.MDSURL)},
		outside("mds-refresh", c.MDSRefresh, time.Second, 720*time.Hour),
		outside("mds-stale-grace", c.MDSStaleGrace, 0, 8760*time.Hour),
		outside("account-deletion-grace", c.AccountDeletionGrace, time.Hour, 90*24*time.Hour),
		{c.PasslinkRateEmail < 1 || c.PasslinkRateEmail > 1000, fmt.Sprintf("passlink-rate-email: must be between 1 and 1000 (got %d)", c.PasslinkRateEmail)},
		{c.PasslinkRateIP < 1 || c.PasslinkRateIP > 100000, fmt.Sprintf("passlink-rate-ip: must be between 1 and 100000 (got %d)", c.PasslinkRateIP)},
		outside("console-idle-timeout", c.ConsoleIdleTimeout, time.Minute, 12*time.Hour),
		{!slices.Contains([]string{"offer", "notice", "none"}, c.SignupUnknownMail), fmt.Sprintf("signup-unknown-mail: must be offer, notice or none (got %q)", c.SignupUnknownMail)},
		// Less than a day would empty the activity list and the console's
		// live feed between two looks; 0 means keep.
		retention("auth-event-retention", c.AuthEventRetention),
		retention("audit-retention", c.AuditRetention),
		{c.MetricsListen != "" && listenProblem(c.MetricsListen) != "", "metrics-listen: " + listenProblem(c.MetricsListen)},
		{c.MetricsListen != "" && c.MetricsListen == c.Listen, "metrics-listen: must differ from listen (the main listener serves /metrics itself when metrics-token is set)"},
		{c.MetricsToken != "" && utf8.RuneCountInString(c.MetricsToken) < 16, "metrics-token: must be at least 16 characters (generate one with: openssl rand -base64 24)"},
		{c.TracingEndpoint != "" && !isHTTPURL(c.TracingEndpoint), fmt.Sprintf("tracing-endpoint: must be an http:// or https:// URL such as http://otel-collector:4318/v1/traces (got %q)", c.TracingEndpoint)},
		{!slices.Contains(RegistrationModes, c.Registration), fmt.Sprintf("registration: must be off, protected or open (got %q)", c.Registration)},
		{len(c.RegistrationGrantTypes) == 0, "registration-grant-type: at least one is required"},
		{len(c.RegistrationRedirectSchemes) == 0, "registration-redirect-scheme: at least one is required"},
		{c.RegistrationMaxRedirectURIs < 1 || c.RegistrationMaxRedirectURIs > 50, fmt.Sprintf("registration-max-redirect-uris: must be between 1 and 50 (got %d)", c.RegistrationMaxRedirectURIs)},
		{c.RegistrationRateIP < 1 || c.RegistrationRateIP > 100000, fmt.Sprintf("registration-rate-ip: must be between 1 and 100000 (got %d)", c.RegistrationRateIP)},
		{c.PasswordMinLength < 8 || c.PasswordMinLength > 64, fmt.Sprintf("password-min-length: must be between 8 and 64 (got %d)", c.PasswordMinLength)},
	}
	checks = append(checks, c.secretSourceProblems()...)
	var errs []error
	for _, chk := range checks {
		if chk.bad {
			errs = append(errs, errors.New(chk.msg))
		}
	}
	for _, o := range c.RPOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("rp-origin: %q must be an origin such as https://login.example.com", o))
		}
	}
	for _, list := range [][]string{c.AAGUIDAllow, c.AAGUIDDeny} {
		for _, a := range list {
			if !validUUID(a) {
				errs = append(errs, fmt.Errorf("aaguid: %q is not a UUID", a))
			}
		}
	}
	for _, g := range c.RegistrationGrantTypes {
		if !slices.Contains(RegistrationGrantTypes, g) {
			errs = append(errs, fmt.Errorf("registration-grant-type: unsupported %q (allowed: %s)", g, strings.Join(RegistrationGrantTypes, ", ")))
		}
	}
	for _, sc := range c.RegistrationRedirectSchemes {
		if !slices.Contains(RegistrationRedirectSchemes, sc) {
			errs = append(errs, fmt.Errorf("registration-redirect-scheme: unsupported %q (allowed: %s)", sc, strings.Join(RegistrationRedirectSchemes, ", ")))
		}
	}
	for _, p := range c.OutboundAllowCIDRs {
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("outbound-allow-cidr: %q is not a CIDR such as 10.0.0.0/8 or fd00::/8", p))
		}
	}
	for _, p := range c.TrustedProxies {
		if !validIPOrCIDR(p) {
			errs = append(errs, fmt.Errorf("trusted-proxy: %q is not an IP address or CIDR", p))
		}
	}
	return errors.Join(errs...)
}

// issuerProblem returns why the issuer is unusable, or "".
func (c Config) issuerProblem() string {
	const base = "must be an absolute https URL (http is allowed only for localhost, 127.0.0.1 or ::1)"
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return base
	}
	// One rule regardless of --dev: plain http anywhere but loopback would
	// leak tokens on the wire.
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return base
	}
	if u.User != nil {
		return "must not contain user info"
	}
	// OpenID Connect Discovery §3 forbids query and fragment components.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.Issuer, "#") {
		return "must not contain a query or fragment"
	}
	// Discovery appends "/.well-known/openid-configuration"; a trailing
	// slash would produce a double slash and an iss mismatch.
	if strings.HasSuffix(c.Issuer, "/") {
		return "must not end with a slash"
	}
	return ""
}

// smtpHostProblem returns why the SMTP host is unusable, or "". The port
// has its own setting, so host:port is refused rather than guessed at.
func (c Config) smtpHostProblem() string {
	h := c.SMTPHost
	switch {
	case h == "":
		return ""
	case strings.ContainsAny(h, " \t\r\n/@"):
		return fmt.Sprintf("must be a host name or IP address (got %q)", h)
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Sprintf("must be a host name without a port; set the port with smtp-port (got %q)", h)
	}
	return ""
}

// mailFromProblem returns why the From address is unusable, or "".
func (c Config) mailFromProblem() string {
	if strings.ContainsAny(c.MailFrom, "\r\n") {
		return "must not contain line breaks"
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return fmt.Sprintf("must be an address such as \"Example Login <login@example.com>\" (got %q: %v)", c.MailFrom, err)
	}
	return ""
}

// listenProblem returns why the listen address is unusable, or "".
func (c Config) listenProblem() string { return listenProblem(c.Listen) }

// listenProblem returns why addr cannot be listened on, or "".
func listenProblem(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("must be host:port, e.g. :8080 or 127.0.0.1:8080 (got %q)", addr)
	}
	// Named ports (":http") are legal for net.Listen, so only range-check
	// numeric ones.
	if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
		return fmt.Sprintf("port must be between 0 and 65535 (got %q)", addr)
	}
	return ""
}

// isHTTPURL reports whether s is an absolute http or https URL.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func validDatabaseURL(s string) bool {
	if s == "" {
		return true
	}
	for _, prefix := range []string{"postgres://", "postgresql://", "sqlite://", "file:"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return rest != ""
		}
	}
	return false
}

func validIPOrCIDR(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// retention checks a keep-for duration: 0 (keep for good) or at least a day.
func retention(name string, d time.Duration) check {
	return check{d < 0 || (d > 0 && d < 24*time.Hour), fmt.Sprintf("%s: must be 0 (keep for good) or at least 24h (got %s)", name, short(d))}
}

// outside builds a range check with a message naming the limits.
func outside(name string, d, lo, hi time.Duration) check {
	return check{d < lo || d > hi, fmt.Sprintf("%s: must be between %s and %s (got %s)", name, short(lo), short(hi), short(d))}
}

// short formats durations the way people write them ("1h", not "1h0m0s").
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// Dynamic client registration modes (Config.Registration).
const (
	RegistrationOff       = "off"
	RegistrationProtected = "protected"
	RegistrationOpen      = "open"
)

// RegistrationModes are the values of Config.Registration.
var RegistrationModes = []string{RegistrationOff, RegistrationProtected, RegistrationOpen}

// RegistrationGrantTypes are the grant types registration-grant-type may
// name (oidc/clients spells the same values).
var RegistrationGrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"}

// RegistrationRedirectSchemes are the values of registration-redirect-scheme.
var RegistrationRedirectSchemes = []string{"https", "http", "private-use"}
